// Authorization header values → bearer credentials (server/auth.h BearerToken), without sockets.
#include <gtest/gtest.h>

#include "server/auth.h"

namespace rf::server {
namespace {

TEST(BearerToken, TakesTheToken68OfABearerCredential) {
  EXPECT_EQ(BearerToken("Bearer rf_abc-DEF.123_~+/"), "rf_abc-DEF.123_~+/");
  EXPECT_EQ(BearerToken("bearer tok"), "tok");
  EXPECT_EQ(BearerToken("BEARER tok"), "tok");  // the scheme is case-insensitive (RFC 9110 §11.1)
  EXPECT_EQ(BearerToken("Bearer   tok  "), "tok");
  EXPECT_EQ(BearerToken("Bearer dG9rZW4="), "dG9rZW4=");
}

TEST(BearerToken, RefusesAnythingElse) {
  for (const char* v : {"", "Bearer", "Bearer ", "Bearer    ", "Basic dXNlcjpwdw==", "Bearertok", "Bearer\ttok",
                        "Bearer to ken", "Bearer tok,other", "Bearer t\"k", "Bearer ===", "Bearer a=b",
                        "Bearer t\xc3\xa9k", "Token tok"})
    EXPECT_EQ(BearerToken(v), "") << v;
}

}  // namespace
}  // namespace rf::server
