#include "dsl/catalog.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace rf::dsl {

const std::vector<std::string>& KnownTypes() {
  static const std::vector<std::string> types = {"text", "number", "money", "bool", "time",
                                                 "duration", "list", "record", "any"};
  return types;
}

bool IsKnownType(std::string_view t) {
  const auto& k = KnownTypes();
  return std::find(k.begin(), k.end(), t) != k.end();
}

const FieldSpec* OperationSpec::FindInput(std::string_view n) const {
  for (const auto& f : input)
    if (f.name == n) return &f;
  return nullptr;
}

const FieldSpec* OperationSpec::FindOutput(std::string_view n) const {
  for (const auto& f : output)
    if (f.name == n) return &f;
  return nullptr;
}

const OperationSpec* ConnectorSpec::Find(std::string_view op) const {
  for (const auto& o : operations)
    if (o.name == op) return &o;
  return nullptr;
}

const ConnectorSpec* Catalog::Find(std::string_view connector) const {
  auto it = connectors_.find(connector);
  return it == connectors_.end() ? nullptr : &it->second;
}

std::vector<std::string> Catalog::ConnectorNames() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : connectors_) out.push_back(name);
  return out;
}

namespace {

Result<std::vector<FieldSpec>> Fields(const nlohmann::json& j, const std::string& where) {
  std::vector<FieldSpec> out;
  if (j.is_null()) return out;
  if (!j.is_array()) return Status::InvalidArgument(where + ": must be a list of fields");
  for (size_t i = 0; i < j.size(); ++i) {
    const auto& f = j[i];
    std::string at = where + "[" + std::to_string(i) + "]";
    if (!f.is_object() || !f.contains("name") || !f["name"].is_string())
      return Status::InvalidArgument(at + ": a field needs a \"name\"");
    FieldSpec s;
    s.name = f["name"].get<std::string>();
    s.type = f.value("type", std::string("any"));
    if (!IsKnownType(s.type))
      return Status::InvalidArgument(at + ": unknown type \"" + s.type + "\"");
    s.required = f.value("required", true);
    s.description = f.value("description", std::string());
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

Status Catalog::AddJson(std::string_view json_text, std::string_view origin) {
  const std::string where(origin);
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json_text, nullptr, true, /*ignore_comments=*/true);
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(where + ": not valid JSON: " + e.what());
  }
  try {
    if (!doc.is_object()) return Status::InvalidArgument(where + ": must be a JSON object");
    std::string format = doc.value("format", std::string());
    if (format != "retailflow.catalog/1")
      return Status::InvalidArgument(where + ": \"format\" must be \"retailflow.catalog/1\"");
    std::map<std::string, ConnectorSpec, std::less<>> added;
    const nlohmann::json connector_list = doc.value("connectors", nlohmann::json::array());
    for (const auto& c : connector_list) {
      if (!c.is_object() || !c.contains("name") || !c["name"].is_string())
        return Status::InvalidArgument(where + ": every connector needs a \"name\"");
      ConnectorSpec spec;
      spec.name = c["name"].get<std::string>();
      spec.system = c.value("system", spec.name);
      spec.description = c.value("description", std::string());
      const std::string cw = where + ": connector " + spec.name;
      if (connectors_.count(spec.name) != 0 || added.count(spec.name) != 0)
        return Status::InvalidArgument(cw + " is declared twice");
      const nlohmann::json operation_list = c.value("operations", nlohmann::json::array());
      for (const auto& o : operation_list) {
        if (!o.is_object() || !o.contains("name") || !o["name"].is_string())
          return Status::InvalidArgument(cw + ": every operation needs a \"name\"");
        OperationSpec op;
        op.name = o["name"].get<std::string>();
        op.description = o.value("description", std::string());
        auto in = Fields(o.value("input", nlohmann::json()), cw + "." + op.name + ".input");
        if (!in.ok()) return in.status();
        auto out = Fields(o.value("output", nlohmann::json()), cw + "." + op.name + ".output");
        if (!out.ok()) return out.status();
        op.input = std::move(*in);
        op.input_declared = o.contains("input");
        op.output = std::move(*out);
        op.side_effects = o.value("side_effects", true);
        op.writes = o.value("writes", std::string());
        op.compensable = o.value("compensable", true);
        if (spec.Find(op.name) != nullptr)
          return Status::InvalidArgument(cw + ": operation " + op.name + " is declared twice");
        spec.operations.push_back(std::move(op));
      }
      added.emplace(spec.name, std::move(spec));
    }
    std::map<std::string, std::string, std::less<>> owners;
    const nlohmann::json owner_map = doc.value("owners", nlohmann::json::object());
    for (const auto& [entity, system] : owner_map.items()) {
      if (!system.is_string())
        return Status::InvalidArgument(where + ": owners." + entity + " must name a system");
      auto known = owners_.find(entity);
      if (known != owners_.end() && known->second != system.get<std::string>())
        return Status::InvalidArgument(where + ": owners." + entity + " says " +
                                       system.get<std::string>() + " but another catalog says " +
                                       known->second);
      owners[entity] = system.get<std::string>();
    }
    for (auto& [n, s] : added) connectors_.emplace(n, std::move(s));
    for (auto& [e, s] : owners) owners_[e] = s;
    return Status::Ok();
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(where + ": " + e.what());
  }
}

}  // namespace rf::dsl
