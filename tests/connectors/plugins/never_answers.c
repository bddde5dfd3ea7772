/* A plugin with an operation that never answers (`hang`); it logs the cancels it receives.
 * `echo` answers at once, so the same instance can prove it still works. */
#define DESCRIBE_JSON \
  "{\"description\": \"hangs\", \"operations\": [{\"name\": \"hang\", \"side_effects\": false}," \
  " {\"name\": \"echo\", \"side_effects\": false}]}"
#include "common_c.h"

static void test_invoke(rf_plugin* plugin, const char* call_json, rf_call* call) {
  (void)plugin;
  if (strstr(call_json, "\"operation\":\"hang\"") != NULL) return; /* the bug under test */
  g_host->complete(call, 1, NULL, NULL, "{\"echoed\": true}");
}
static void test_cancel(rf_plugin* plugin, rf_call* call) {
  (void)plugin;
  (void)call;
  g_host->log(g_host->host_context, RF_LOG_INFO, "cancel received");
}
