// The loader over real .so files: each broken plugin is refused (or contained) with a message
// that names the file and the reason; answers arriving late, twice or from another thread are
// handled as the ABI promises.
#include <functional>
#include <sstream>

#include "connectors/plugin.h"
#include "connectors/resilience.h"
#include "engine/clock.h"
#include "tests/connectors/test_util.h"

namespace rf::connectors::testing {
namespace {

InstanceConfig Config(const std::string& name, LogCapture* log = nullptr,
                      nlohmann::json settings = nlohmann::json::object()) {
  InstanceConfig c;
  c.name = name;
  c.type = "plugin";
  c.settings = std::move(settings);
  if (log != nullptr) c.log = log->Fn();
  return c;
}

Status LoadError(const std::string& library, nlohmann::json settings = nlohmann::json::object()) {
  auto p = LoadPlugin(Config("probe", nullptr, std::move(settings)), library);
  EXPECT_FALSE(p.ok()) << library << " was accepted";
  return p.ok() ? Status::Ok() : p.status();
}

std::unique_ptr<PluginConnector> Load(const std::string& library, LogCapture* log = nullptr,
                                      nlohmann::json settings = nlohmann::json::object()) {
  auto p = LoadPlugin(Config("probe", log, std::move(settings)), library);
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? std::move(*p) : nullptr;
}

TEST(PluginLoader, MissingFileIsRefusedNamingIt) {
  Status s = LoadError("/nonexistent/dir/nothing.so");
  EXPECT_NE(s.message().find("/nonexistent/dir/nothing.so"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("does not exist"), std::string::npos) << s.message();
}

TEST(PluginLoader, ResolveSearchesPluginDirsThenBaseDir) {
  std::filesystem::path fraud(RF_FRAUD_PLUGIN);
  auto found = ResolvePluginLibrary("fraud_plugin.so", {"/nonexistent", fraud.parent_path()},
                                    "/also/nonexistent");
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(std::filesystem::canonical(fraud), std::filesystem::canonical(*found));

  auto from_base = ResolvePluginLibrary("fraud_plugin.so", {}, fraud.parent_path());
  ASSERT_TRUE(from_base.ok()) << from_base.status().message();

  auto missing = ResolvePluginLibrary("nope.so", {"/plugins/a"}, "/etc/rf");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/plugins/a/nope.so"), std::string::npos);
  EXPECT_NE(missing.status().message().find("/etc/rf/nope.so"), std::string::npos);
}

TEST(PluginLoader, NotALibraryIsRefused) {
  Status s = LoadError(std::string(RF_SOURCE_DIR) + "/tests/connectors/plugins/common_c.h");
  EXPECT_NE(s.message().find("cannot be loaded"), std::string::npos) << s.message();
}

TEST(PluginLoader, MissingEntryPointIsRefused) {
  Status s = LoadError(RF_TEST_PLUGIN_MISSING_SYMBOL);
  EXPECT_NE(s.message().find("missing_symbol.so"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("does not export rf_connector_init"), std::string::npos)
      << s.message();
}

TEST(PluginLoader, WrongAbiVersionIsRefusedSayingBothVersions) {
  Status s = LoadError(RF_TEST_PLUGIN_WRONG_ABI);
  EXPECT_NE(s.message().find("wrong_abi.so"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("speaks connector ABI version 2"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("this retailflow speaks version 1"), std::string::npos) << s.message();
}

TEST(PluginLoader, FailingInitIsRefusedWithThePluginsReason) {
  Status s = LoadError(RF_TEST_PLUGIN_INIT_FAILS);
  EXPECT_NE(s.message().find("init_fails.so failed to initialise"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("settings.endpoint is required"), std::string::npos) << s.message();
}

TEST(PluginLoader, InvalidDescriptionIsRefused) {
  Status s = LoadError(RF_TEST_PLUGIN_BAD_DESCRIBE);
  EXPECT_NE(s.message().find("bad_describe.so"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("unknown type \"texxt\""), std::string::npos) << s.message();
}

TEST(PluginLoader, ExceptionFromConstructorBecomesInitFailure) {
  Status s = LoadError(RF_TEST_PLUGIN_THROWS, {{"refuse", true}});
  EXPECT_NE(s.message().find("refused by its settings"), std::string::npos) << s.message();
}

TEST(PluginLoader, DescribeCarriesConfiguredNameAndOperations) {
  auto p = Load(RF_FRAUD_PLUGIN);
  ASSERT_TRUE(p);
  nlohmann::json d = p->Describe();
  EXPECT_EQ("probe", d["name"]);
  EXPECT_EQ("probe", d["system"]);
  ASSERT_EQ(1u, d["operations"].size());
  EXPECT_EQ("score_return", d["operations"][0]["name"]);
}

TEST(PluginLoader, ExceptionFromInvokeBecomesInternalError) {
  LogCapture log;
  auto p = Load(RF_TEST_PLUGIN_THROWS, &log);
  ASSERT_TRUE(p);
  Answers answers;
  p->Invoke(MakeCall("c1", "boom"), answers.Callback(1));
  auto r = answers.Get(1);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ("internal", r->error_kind);
  EXPECT_NE(r->message.find("boom: the plugin failed"), std::string::npos) << r->message;

  // Thrown after answering: the answer stands, the exception is logged.
  p->Invoke(MakeCall("c2", "answer_then_throw"), answers.Callback(2));
  auto r2 = answers.Get(2);
  ASSERT_TRUE(r2);
  EXPECT_TRUE(r2->ok);
  EXPECT_TRUE(log.Contains("thrown after answering")) << log.All();

  // A Responder dropped unanswered answers `internal`.
  p->Invoke(MakeCall("c3", "drop"), answers.Callback(3));
  auto r3 = answers.Get(3);
  ASSERT_TRUE(r3);
  EXPECT_EQ("internal", r3->error_kind);
  EXPECT_NE(r3->message.find("without answering"), std::string::npos) << r3->message;
  EXPECT_EQ(0u, p->outstanding());
}

TEST(PluginLoader, SecondCompletionIsIgnoredAndLogged) {
  LogCapture log;
  auto p = Load(RF_TEST_PLUGIN_DOUBLE_COMPLETE, &log);
  ASSERT_TRUE(p);
  Answers answers;
  p->Invoke(MakeCall("c1", "twice"), answers.Callback(1));
  auto r = answers.Get(1);
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->ok) << r->message;
  EXPECT_EQ(Value(1), *r->output.Find("n"));
  EXPECT_EQ(1, answers.Count(1));
  EXPECT_EQ(1u, p->ignored_completions());
  EXPECT_TRUE(log.Contains("ignored an answer")) << log.All();
}

TEST(PluginLoader, CompletionFromAnotherThread) {
  auto p = Load(RF_TEST_PLUGIN_OTHER_THREAD);
  ASSERT_TRUE(p);
  Answers answers;
  for (int i = 0; i < 8; ++i)
    p->Invoke(
        MakeCall("c" + std::to_string(i), "later", Value::FromJson(R"({"delay_ms": 5})").value()),
        answers.Callback(i));
  std::ostringstream me;
  me << std::hash<std::thread::id>()(std::this_thread::get_id());
  for (int i = 0; i < 8; ++i) {
    auto r = answers.Get(i);
    ASSERT_TRUE(r) << i;
    ASSERT_TRUE(r->ok) << r->message;
    EXPECT_NE(me.str(), r->output.Find("thread")->as_text());
    EXPECT_NE(std::this_thread::get_id(), answers.ThreadOf(i));
    EXPECT_EQ(1, answers.Count(i));
  }
  EXPECT_EQ(0u, p->outstanding());
  p->Shutdown();  // joins the plugin's threads
}

// The ABI speaks wall-clock time: a host on a clock far from the wall clock (here the start of
// 2026) hands a plugin the same real instants, on the system clock, as its deadlines.
TEST(PluginLoader, DeadlinesReachThePluginOnTheWallClock) {
  engine::ManualClock clock(Time{1'767'225'600'000});  // 2026-01-01T00:00:00Z
  InstanceConfig config = Config("probe");
  config.clock = &clock;
  auto p = LoadPlugin(config, RF_TEST_PLUGIN_DEADLINE_ECHO);
  ASSERT_TRUE(p.ok()) << p.status().message();
  auto call = MakeCall("c1", "echo");
  call.deadline = Time{clock.Now().ms + 60'000};
  call.previous_attempt_deadline = Time{clock.Now().ms + 30'000};
  auto wall = [] { return engine::SystemClock().Now().ms; };
  std::int64_t before = wall();
  Answers answers;
  (*p)->Invoke(call, answers.Callback(1));
  auto r = answers.Get(1);
  std::int64_t after = wall();
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->ok) << r->message;
  auto got = [&](const char* field) {
    auto n = r->output.Find(field)->as_number().ToInt64();
    EXPECT_TRUE(n.has_value()) << field;
    return n.value_or(0);
  };
  EXPECT_GE(got("deadline_ms"), before + 60'000);
  EXPECT_LE(got("deadline_ms"), after + 60'000);
  EXPECT_GE(got("previous_attempt_deadline_ms"), before + 30'000);
  EXPECT_LE(got("previous_attempt_deadline_ms"), after + 30'000);
  (*p)->Shutdown();
}

TEST(PluginLoader, ShutdownAnswersCallsThePluginLeftOpen) {
  LogCapture log;
  auto p = Load(RF_TEST_PLUGIN_NEVER_ANSWERS, &log);
  ASSERT_TRUE(p);
  Answers answers;
  p->Invoke(MakeCall("c1", "hang"), answers.Callback(1));
  p->Invoke(MakeCall("c2", "echo"), answers.Callback(2));
  ASSERT_TRUE(answers.Get(2));
  EXPECT_EQ(1u, p->outstanding());
  EXPECT_EQ(0u, answers.Count(1));
  p->Shutdown();
  auto r = answers.Get(1);
  ASSERT_TRUE(r);
  EXPECT_EQ("unavailable", r->error_kind);
  // After shutdown, calls are refused at once.
  p->Invoke(MakeCall("c3", "echo"), answers.Callback(3));
  auto r3 = answers.Get(3);
  ASSERT_TRUE(r3);
  EXPECT_EQ("unavailable", r3->error_kind);
}

TEST(PluginLoader, NeverAnsweredCallTimesOutAndItsLateAnswerIsDropped) {
  IoThread io;
  LogCapture log;
  auto p = Load(RF_TEST_PLUGIN_NEVER_ANSWERS, &log);
  ASSERT_TRUE(p);
  PluginConnector* plugin = p.get();
  auto limits = ParseLimits({{"timeout", "30ms"}});
  ASSERT_TRUE(limits.ok());
  ResilientConnector c("hanger", std::move(p), *limits, io.io());
  Answers answers;
  c.Invoke(MakeCall("c1", "hang"), answers.Callback(1));
  auto r = answers.Get(1);
  ASSERT_TRUE(r);
  EXPECT_EQ("timeout", r->error_kind);
  EXPECT_NE(r->message.find("did not answer hang within 30ms"), std::string::npos) << r->message;
  EXPECT_TRUE(WaitUntil([&] { return log.Contains("cancel received"); })) << log.All();
  // The plugin still holds the call; shutting down answers it, and that late answer is dropped.
  EXPECT_EQ(1u, plugin->outstanding());
  c.Shutdown();
  EXPECT_EQ(1, answers.Count(1));
  auto counters = c.Counters();
  EXPECT_EQ(1u, counters.late_answers);
  EXPECT_EQ(1u, counters.errors["timeout"]);
  EXPECT_EQ(0u, counters.in_flight);
}

TEST(PluginLoader, FactoryResolvesTheLibraryAgainstPluginDirs) {
  boost::asio::io_context io;
  InstanceConfig c = Config("fraud");
  c.library = "fraud_plugin.so";
  c.plugin_dirs = {std::filesystem::path(RF_FRAUD_PLUGIN).parent_path()};
  auto made = PluginFactory()(c, io);
  ASSERT_TRUE(made.ok()) << made.status().message();
  EXPECT_EQ("fraud", (*made)->Describe()["name"]);

  c.library = "missing_plugin.so";
  auto missing = PluginFactory()(c, io);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing_plugin.so not found"), std::string::npos)
      << missing.status().message();
}

}  // namespace
}  // namespace rf::connectors::testing
