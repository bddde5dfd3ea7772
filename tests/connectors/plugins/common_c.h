/* Shared boilerplate of the small C test plugins: one operation set, no state. Each plugin
 * defines DESCRIBE_JSON and test_invoke(). */
#include <retailflow/connector_abi.h>
#include <stdlib.h>
#include <string.h>

static const rf_host_api* g_host;

static void test_invoke(rf_plugin* plugin, const char* call_json, rf_call* call);
static void test_cancel(rf_plugin* plugin, rf_call* call);

static char* test_describe(rf_plugin* plugin) {
  (void)plugin;
  size_t n = strlen(DESCRIBE_JSON) + 1;
  char* out = (char*)malloc(n);
  if (out != NULL) memcpy(out, DESCRIBE_JSON, n);
  return out;
}
static void test_shutdown(rf_plugin* plugin) { (void)plugin; }
static void test_free_string(rf_plugin* plugin, char* text) {
  (void)plugin;
  free(text);
}

RF_CONNECTOR_EXPORT int rf_connector_init(uint32_t host_abi_version, const rf_host_api* host,
                                          const char* settings_json, rf_plugin_api* plugin_api,
                                          char* error_buf, size_t error_buf_size) {
  (void)settings_json;
  plugin_api->abi_version = RF_CONNECTOR_ABI_VERSION;
  plugin_api->struct_size = sizeof(rf_plugin_api);
  if (host_abi_version != RF_CONNECTOR_ABI_VERSION) {
    strncpy(error_buf, "ABI 1 only", error_buf_size - 1);
    return RF_INIT_ABI_MISMATCH;
  }
  g_host = host;
  plugin_api->plugin = NULL;
  plugin_api->describe = test_describe;
  plugin_api->invoke = test_invoke;
  plugin_api->cancel = test_cancel;
  plugin_api->shutdown = test_shutdown;
  plugin_api->free_string = test_free_string;
  return RF_INIT_OK;
}
