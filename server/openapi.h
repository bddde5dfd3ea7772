// The OpenAPI 3.0 document of the API, generated from its route table (server/router.h): paths,
// typed parameters, bodies, every status a route answers, roles (x-roles) and the schemas.
#pragma once

#include <string>
#include <vector>

#include "server/router.h"

namespace rf::server {

std::string OpenApiDocument(const std::vector<Route>& routes);

}  // namespace rf::server
