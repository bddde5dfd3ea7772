/* A plugin whose describe is not a valid catalog description (an unknown field type). */
#define DESCRIBE_JSON \
  "{\"operations\": [{\"name\": \"lookup\", \"input\": [{\"name\": \"id\", \"type\": \"texxt\"}]}]}"
#include "common_c.h"

static void test_invoke(rf_plugin* plugin, const char* call_json, rf_call* call) {
  (void)plugin;
  (void)call_json;
  g_host->complete(call, 1, NULL, NULL, "{}");
}
static void test_cancel(rf_plugin* plugin, rf_call* call) {
  (void)plugin;
  (void)call;
}
