// rf_plugin_check: the contract test of a connector plugin, for plugin authors.
//
//   rf_plugin_check LIB.so [--settings JSON] [--calls FILE] [--timeout DURATION]
//
// Loads the library as retailflow does, checks its description against the catalog rules,
// invokes every operation (with the inputs of --calls, or a sample built from the declared input
// fields), and checks that each call is answered exactly once, in time, with a known error kind
// or an object output that has the declared output fields. It also sends a call whose deadline
// has already passed (it must still be answered exactly once) and shuts the plugin down.
// --calls FILE: {"operation": [{"input": {...}, "expect": {"ok": true|false, "error_kind": "…",
// "output": {...}}}, ...], ...}; every "expect" member is optional.
// Exit code: 0 every check passed, 1 a check failed, 2 bad usage or the plugin was refused.
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/time_text.h"
#include "connectors/plugin.h"
#include "engine/clock.h"
#include "engine/ir/machine.h"

namespace {

using nlohmann::json;
using rf::connectors::PluginConnector;
namespace fs = std::filesystem;

int failures = 0;

void Pass(const std::string& what) { std::cout << "PASS  " << what << "\n"; }
void Fail(const std::string& what) {
  std::cout << "FAIL  " << what << "\n";
  ++failures;
}

// The check's deployment clock: the plugin is loaded with it, and the calls' deadlines are on it.
const rf::engine::SystemClock kClock{};

rf::Time WallNow() { return kClock.Now(); }

json SampleValue(const std::string& type) {
  if (type == "text") return "sample";
  if (type == "number") return 1;
  if (type == "money") return 10.5;
  if (type == "bool") return true;
  if (type == "time") return rf::FormatTime(WallNow());
  if (type == "duration") return "1m";
  if (type == "list") return json::array();
  if (type == "record") return json::object();
  return "sample";
}

json SampleInput(const json& op) {
  json in = json::object();
  for (const auto& f : op.value("input", json::array()))
    in[f["name"].get<std::string>()] = SampleValue(f.value("type", "any"));
  return in;
}

// Collects every answer of one call. Shared with the callback: a call the plugin never answers
// is answered by the host at shutdown, after the check has moved on.
struct Answers : std::enable_shared_from_this<Answers> {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<rf::engine::CallResult> got;
  std::function<void(rf::engine::CallResult)> Callback() {
    return [self = shared_from_this()](rf::engine::CallResult r) {
      std::lock_guard lock(self->mu);
      self->got.push_back(std::move(r));
      self->cv.notify_all();
    };
  }
  // Waits for the first answer until `limit`, then `grace` more for duplicates.
  size_t Wait(std::chrono::milliseconds limit, std::chrono::milliseconds grace) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, limit, [&] { return !got.empty(); });
    if (got.empty()) return 0;
    cv.wait_for(lock, grace, [&] { return got.size() > 1; });
    return got.size();
  }
};

void CheckOne(PluginConnector& plugin, const json& op, const json& input, const json& expect,
              std::chrono::milliseconds timeout, int n) {
  const std::string name = op["name"].get<std::string>();
  const std::string what = name + " #" + std::to_string(n) + " " + input.dump();
  auto value = rf::Value::FromJson(input.dump());
  if (!value.ok() || !value->is_record()) {
    Fail(what + ": the input is not a JSON object");
    return;
  }
  rf::engine::Invocation call;
  call.instance_id = "check-instance";
  call.invocation_id = "check-" + name + "-" + std::to_string(n);
  call.idempotency_key = "check-key-" + name + "-" + std::to_string(n);
  call.correlation_id = "rf_plugin_check";
  call.connector = "checked";
  call.operation = name;
  call.input = *value;
  call.deadline = rf::Time{WallNow().ms + timeout.count()};
  const std::uint64_t ignored_before = plugin.ignored_completions();
  auto answers_ptr = std::make_shared<Answers>();
  Answers& answers = *answers_ptr;
  plugin.Invoke(call, answers.Callback());
  size_t count = answers.Wait(timeout, std::chrono::milliseconds(200));
  if (count == 0) {
    Fail(what + ": no answer by the deadline (" +
         rf::FormatDuration(rf::Duration{timeout.count()}) + ")");
    plugin.Cancel(call.invocation_id);
    return;
  }
  std::lock_guard lock(answers.mu);
  const auto& r = answers.got.front();
  if (count > 1 || plugin.ignored_completions() != ignored_before) {
    Fail(what + ": answered more than once");
  } else {
    Pass(what + ": answered exactly once (" + (r.ok ? "ok" : r.error_kind + ": " + r.message) +
         ")");
  }
  if (!r.ok && r.message.find("(unknown error kind") != std::string::npos)
    Fail(what + ": " + r.message);
  if (r.ok) {
    for (const auto& f : op.value("output", json::array())) {
      if (r.output.Find(f["name"].get<std::string>()) == nullptr && f.value("required", true))
        Fail(what + ": output lacks the declared field \"" + f["name"].get<std::string>() + "\"");
    }
  }
  if (expect.is_object()) {
    if (expect.contains("ok") && expect["ok"].get<bool>() != r.ok)
      Fail(what + ": expected ok=" + expect["ok"].dump() + ", got " + (r.ok ? "ok" : r.error_kind));
    if (expect.contains("error_kind") && expect["error_kind"] != r.error_kind)
      Fail(what + ": expected error kind " + expect["error_kind"].dump() + ", got \"" +
           r.error_kind + "\"");
    if (expect.contains("output")) {
      json got = json::parse(r.output.ToJson());
      for (const auto& [k, v] : expect["output"].items()) {
        if (!got.contains(k) || got[k] != v)
          Fail(what + ": expected output " + k + " = " + v.dump() + ", got " +
               (got.contains(k) ? got[k].dump() : "nothing"));
      }
    }
  }
}

int Usage() {
  std::cerr << "usage: rf_plugin_check LIB.so [--settings JSON] [--calls FILE] "
               "[--timeout DURATION]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string library, settings_text = "{}", calls_file;
  std::chrono::milliseconds timeout(2000);
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--settings" || a == "--calls" || a == "--timeout") {
      const char* v = next();
      if (v == nullptr) return Usage();
      if (a == "--settings") settings_text = v;
      if (a == "--calls") calls_file = v;
      if (a == "--timeout") {
        auto d = rf::ParseDuration(v);
        if (!d || d->ms <= 0) return Usage();
        timeout = std::chrono::milliseconds(d->ms);
      }
    } else if (a == "-h" || a == "--help") {
      Usage();
      return 0;
    } else if (library.empty() && a.rfind("--", 0) != 0) {
      library = a;
    } else {
      return Usage();
    }
  }
  if (library.empty()) return Usage();

  rf::connectors::InstanceConfig config;
  config.name = "checked";
  config.type = "plugin";
  config.clock = &kClock;
  try {
    config.settings = json::parse(settings_text, nullptr, true, true);
  } catch (const json::exception& e) {
    std::cerr << "rf_plugin_check: --settings is not valid JSON: " << e.what() << "\n";
    return 2;
  }
  json calls = json::object();
  if (!calls_file.empty()) {
    std::ifstream in(calls_file);
    std::stringstream text;
    text << in.rdbuf();
    try {
      calls = json::parse(text.str(), nullptr, true, true);
    } catch (const json::exception& e) {
      std::cerr << "rf_plugin_check: " << calls_file << " is not valid JSON: " << e.what() << "\n";
      return 2;
    }
  }
  config.log = [](rf::connectors::LogLevel, const std::string&, const std::string& m) {
    std::cout << "log   " << m << "\n";
  };

  auto loaded = rf::connectors::LoadPlugin(config, fs::absolute(library));
  if (!loaded.ok()) {
    std::cout << "FAIL  load: " << loaded.status().message() << "\n";
    return 2;
  }
  Pass("loaded " + library + " (ABI version, init, describe valid by the catalog rules)");
  PluginConnector& plugin = **loaded;
  json description = plugin.Describe();
  if (description["operations"].empty()) Fail("describe declares no operations");

  for (const auto& op : description["operations"]) {
    const std::string name = op["name"].get<std::string>();
    int n = 0;
    if (calls.contains(name) && calls[name].is_array()) {
      for (const auto& c : calls[name])
        CheckOne(plugin, op, c.value("input", json::object()), c.value("expect", json()), timeout,
                 ++n);
    } else {
      CheckOne(plugin, op, SampleInput(op), json(), timeout, ++n);
    }
    // A call whose deadline has passed must still be answered, exactly once.
    rf::engine::Invocation late;
    late.invocation_id = "check-late-" + name;
    late.idempotency_key = late.invocation_id;
    late.operation = name;
    late.input = rf::Value::FromJson(SampleInput(op).dump()).value();
    late.deadline = rf::Time{WallNow().ms - 1000};
    const std::uint64_t ignored_before = plugin.ignored_completions();
    auto answers = std::make_shared<Answers>();
    plugin.Invoke(late, answers->Callback());
    size_t count = answers->Wait(timeout, std::chrono::milliseconds(200));
    if (plugin.ignored_completions() != ignored_before) ++count;
    if (count == 1) {
      Pass(name + ": a call past its deadline is answered exactly once");
    } else {
      Fail(name + ": a call past its deadline got " + std::to_string(count) + " answers" +
           (count == 0 ? " by the timeout" : ""));
      if (count == 0) plugin.Cancel(late.invocation_id);
    }
  }
  plugin.Shutdown();
  Pass("shutdown returned");
  std::cout << (failures == 0 ? "OK: every check passed\n"
                              : std::to_string(failures) + " check(s) failed\n");
  return failures == 0 ? 0 : 1;
}
