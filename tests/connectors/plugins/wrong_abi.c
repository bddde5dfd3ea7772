/* A plugin built for a future ABI version (2): it refuses the host's version and says which one
 * it implements, as the ABI asks. */
#include <retailflow/connector_abi.h>
#include <string.h>

RF_CONNECTOR_EXPORT int rf_connector_init(uint32_t host_abi_version, const rf_host_api* host,
                                          const char* settings_json, rf_plugin_api* plugin_api,
                                          char* error_buf, size_t error_buf_size) {
  (void)host;
  (void)settings_json;
  plugin_api->abi_version = 2;
  plugin_api->struct_size = sizeof(rf_plugin_api);
  if (host_abi_version != 2) {
    strncpy(error_buf, "built for connector ABI 2", error_buf_size - 1);
    return RF_INIT_ABI_MISMATCH;
  }
  return RF_INIT_OK;
}
