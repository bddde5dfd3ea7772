// Registration of the built-in connector types.
#include "connectors/builtin/builtin.h"

#include "connectors/builtin/http_connector.h"
#include "connectors/builtin/webhook_connector.h"

// The odoo connector is written separately; it is registered when its header is present.
// Caveat: ccache's direct mode does not notice a header that __has_include found missing and that
// appeared later; if "odoo" is missing from the factories, rebuild this file with CCACHE_DISABLE=1.
#if __has_include("connectors/builtin/odoo_connector.h")
#include "connectors/builtin/odoo_connector.h"
#define RF_HAVE_ODOO_CONNECTOR 1
#endif

namespace rf::connectors {

void AddBuiltinFactories(FactoryMap& factories) {
  factories["http"] = &MakeHttpConnector;
  factories["webhook"] = &MakeWebhookConnector;
#ifdef RF_HAVE_ODOO_CONNECTOR
  factories["odoo"] = [](const InstanceConfig& config, boost::asio::io_context& io) {
    return MakeOdooConnector(config, io);
  };
#endif
}

}  // namespace rf::connectors
