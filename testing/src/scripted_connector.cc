#include "testing/src/scripted_connector.h"

namespace rf::testing {

bool SameValue(const Value& a, const Value& b) {
  if (a == b) return true;
  if (a.kind() != b.kind() && !a.is_record() && !a.is_list() && !b.is_record() && !b.is_list())
    return a.ToDisplayString() == b.ToDisplayString();
  return false;
}

bool InputMatches(const Value& input, const std::string& path, const Value& expected) {
  const Value* v = &input;
  size_t start = 0;
  while (v != nullptr && start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    v = v->Find(part);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return v != nullptr && SameValue(*v, expected);
}

namespace {
Value Sample(const dsl::FieldSpec& f, Time now) {
  const std::string& t = f.type;
  if (t == "number" || t == "money") return Value(std::int64_t{0});
  if (t == "bool") return Value(false);
  if (t == "time") return Value(now);
  if (t == "duration") return Value(Duration{0});
  if (t == "list") return Value(List{});
  if (t == "record") return Value(Record{});
  return Value(f.name);
}
}  // namespace

ScriptedConnector::ScriptedConnector(const std::vector<testing::Answer>& answers, const dsl::Catalog& catalog,
                                     std::function<Time()> now)
    : answers_(answers), catalog_(catalog), now_(std::move(now)), used_(answers.size(), 0) {}

void ScriptedConnector::Invoke(const engine::Invocation& call, std::function<void(engine::CallResult)> done) {
  engine::CallResult r = Answer(call);
  done(std::move(r));
}

engine::CallResult ScriptedConnector::Answer(const engine::Invocation& call) {
  std::lock_guard lock(mu_);
  const std::string op = call.connector + "." + call.operation;
  const bool undo = call.idempotency_key.size() > 5 &&
                    call.idempotency_key.compare(call.idempotency_key.size() - 5, 5, ":undo") == 0;
  calls_.push_back(LoggedCall{op, call.input, call.attempt, undo, now_()});
  // The first line for this operation whose `for` matches; lines without `for` match any call.
  // A line with `for` is preferred over one without, whatever their order.
  int chosen = -1;
  for (int pass = 0; pass < 2 && chosen < 0; ++pass) {
    for (size_t i = 0; i < answers_.size(); ++i) {
      const auto& a = answers_[i];
      if (a.connector.text != call.connector || a.operation.text != call.operation) continue;
      if (pass == 0 && a.when.empty()) continue;
      if (pass == 1 && !a.when.empty()) continue;
      bool all = true;
      for (const auto& m : a.when) {
        auto v = EvaluateConstant(m.value, now_());
        if (!v.ok() || !InputMatches(call.input, m.path.text, *v)) all = false;
      }
      if (all) {
        chosen = static_cast<int>(i);
        break;
      }
    }
  }
  if (chosen >= 0) {
    const auto& a = answers_[static_cast<size_t>(chosen)];
    int n = used_[static_cast<size_t>(chosen)]++;
    const Outcome* o = nullptr;
    for (size_t k = 0; k < a.outcomes.size(); ++k) {
      bool last = k + 1 == a.outcomes.size();
      int count = a.outcomes[k].count > 0 ? a.outcomes[k].count : 1;
      if (last && a.outcomes[k].count == 0) count = 1 << 30;
      if (n < count || last) {
        o = &a.outcomes[k];
        break;
      }
      n -= count;
    }
    if (o == nullptr) return engine::CallResult::Failure("internal", "the scenario's answer has no outcome");
    if (!o->ok) return engine::CallResult::Failure(o->error_kind, o->message.empty() ? o->error_kind + " (scripted)" : o->message);
    auto v = EvaluateConstant(o->value, now_());
    if (!v.ok()) return engine::CallResult::Failure("internal", v.status().message());
    return engine::CallResult::Success(*v);
  }
  // No answer: the catalog's declared outputs give a default (texts are the field's name).
  const dsl::ConnectorSpec* c = catalog_.Find(call.connector);
  const dsl::OperationSpec* spec = c ? c->Find(call.operation) : nullptr;
  if (spec != nullptr && !spec->output.empty()) {
    Record out;
    for (const auto& f : spec->output) out[f.name] = Sample(f, now_());
    return engine::CallResult::Success(Value(std::move(out)));
  }
  // An undo's answer is never read: it succeeds unless the scenario says otherwise.
  if (undo) return engine::CallResult::Success(Value(Record{}));
  if (unanswered_.empty()) unanswered_ = op;
  return engine::CallResult::Failure("internal", "the scenario gives no answer for " + op + " and the catalog declares no outputs");
}

std::vector<LoggedCall> ScriptedConnector::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

std::string ScriptedConnector::unanswered() const {
  std::lock_guard lock(mu_);
  return unanswered_;
}

}  // namespace rf::testing
