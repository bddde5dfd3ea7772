/* A plugin whose init fails (as one would on bad settings), with a reason. */
#include <retailflow/connector_abi.h>
#include <string.h>

RF_CONNECTOR_EXPORT int rf_connector_init(uint32_t host_abi_version, const rf_host_api* host,
                                          const char* settings_json, rf_plugin_api* plugin_api,
                                          char* error_buf, size_t error_buf_size) {
  (void)host_abi_version;
  (void)host;
  (void)settings_json;
  plugin_api->abi_version = RF_CONNECTOR_ABI_VERSION;
  strncpy(error_buf, "settings.endpoint is required", error_buf_size - 1);
  return RF_INIT_FAILED;
}
