/* A plugin that answers every call twice (first {"n": 1}, then {"n": 2}); the host must keep the
 * first answer and ignore the second. */
#define DESCRIBE_JSON "{\"operations\": [{\"name\": \"twice\", \"side_effects\": false}]}"
#include "common_c.h"

static void test_invoke(rf_plugin* plugin, const char* call_json, rf_call* call) {
  (void)plugin;
  (void)call_json;
  g_host->complete(call, 1, NULL, NULL, "{\"n\": 1}");
  g_host->complete(call, 1, NULL, NULL, "{\"n\": 2}");
}
static void test_cancel(rf_plugin* plugin, rf_call* call) {
  (void)plugin;
  (void)call;
}
