// The connectors of a scenario run (private to testing/): every call is answered from the
// scenario's `answer` lines, else from the catalog's declared outputs, and logged.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "dsl/catalog.h"
#include "engine/connector.h"
#include "testing/scenario.h"

namespace rf::testing {

struct LoggedCall {
  std::string op;  // "connector.operation"
  Value input;
  int attempt = 1;
  bool undo = false;
  Time at;
};

// True when `v` at the dotted `path` of `input` equals `expected` (numbers by value, otherwise by
// their text when kinds differ: a money field matches 600).
bool InputMatches(const Value& input, const std::string& path, const Value& expected);
bool SameValue(const Value& a, const Value& b);

class ScriptedConnector : public engine::Connector {
 public:
  // `answers` and `catalog` must outlive the connector. `now` reads the virtual clock.
  ScriptedConnector(const std::vector<Answer>& answers, const dsl::Catalog& catalog, std::function<Time()> now);
  void Invoke(const engine::Invocation& call, std::function<void(engine::CallResult)> done) override;

  std::vector<LoggedCall> calls() const;
  // The first call that had no answer at all (empty when every call was answered).
  std::string unanswered() const;

 private:
  engine::CallResult Answer(const engine::Invocation& call);

  const std::vector<testing::Answer>& answers_;
  const dsl::Catalog& catalog_;
  std::function<Time()> now_;
  mutable std::mutex mu_;
  std::vector<int> used_;  // per answer line: calls it answered
  std::vector<LoggedCall> calls_;
  std::string unanswered_;
};

}  // namespace rf::testing
