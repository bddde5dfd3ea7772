// Registration of the built-in connector types: "http", "webhook" and (when built) "odoo".
#pragma once

#include "connectors/connector_instance.h"

namespace rf::connectors {

// Adds the built-in factories to `factories` (an existing entry of the same name is replaced).
void AddBuiltinFactories(FactoryMap& factories);

}  // namespace rf::connectors
