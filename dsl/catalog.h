// The connector catalog: which operations each connector offers, their input and output fields,
// whether they have side effects and which business entity they write. The checker verifies
// every `call` against it. Format (docs/language.md, "Connector catalogs"):
//
//   {"format": "retailflow.catalog/1",
//    "connectors": [{"name": "pos", "system": "pos", "description": "...",
//       "operations": [{"name": "get_sale", "description": "...",
//          "input":  [{"name": "id", "type": "text", "required": true}],
//          "output": [{"name": "total", "type": "money"}],
//          "side_effects": false, "writes": "", "compensable": true}]}],
//    "owners": {"stock": "inventory", "accounting": "odoo"}}
//
// `owners` maps a business entity to the system of record that owns it; a step that writes an
// entity through a connector of another system is flagged. Parsing only: cli/ and server/ find
// and read the files.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace rf::dsl {

struct FieldSpec {
  std::string name;
  std::string type = "any";  // text number money bool time duration list record any
  bool required = true;
  std::string description;
};

struct OperationSpec {
  std::string name;
  std::string description;
  std::vector<FieldSpec> input;
  bool input_declared = true;     // false when the catalog has no "input" list: any argument goes
  std::vector<FieldSpec> output;  // empty = not declared (any field accepted)
  bool side_effects = true;
  std::string writes;             // entity written, e.g. "stock"; empty = none
  // False for effects that cannot be taken back (a message sent): the checker then does not ask
  // for an `undo` on steps that call it.
  bool compensable = true;
  const FieldSpec* FindInput(std::string_view n) const;
  const FieldSpec* FindOutput(std::string_view n) const;
};

struct ConnectorSpec {
  std::string name;
  std::string system;  // system of record it talks to ("odoo", "inventory", "pos", ...)
  std::string description;
  std::vector<OperationSpec> operations;
  const OperationSpec* Find(std::string_view op) const;
};

class Catalog {
 public:
  // Adds the connectors of one catalog document; `origin` names it in errors. A connector
  // declared twice is an error.
  Status AddJson(std::string_view json_text, std::string_view origin);

  const ConnectorSpec* Find(std::string_view connector) const;
  std::vector<std::string> ConnectorNames() const;
  const std::map<std::string, std::string, std::less<>>& owners() const { return owners_; }
  bool empty() const { return connectors_.empty(); }

 private:
  std::map<std::string, ConnectorSpec, std::less<>> connectors_;
  std::map<std::string, std::string, std::less<>> owners_;
};

// The types a catalog field may declare.
bool IsKnownType(std::string_view t);
const std::vector<std::string>& KnownTypes();

}  // namespace rf::dsl
