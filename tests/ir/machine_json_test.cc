// The JSON form of a machine: exact round trips, stable bytes, strict and clear validation.
#include <gtest/gtest.h>

#include <string>

#include "common/time_text.h"
#include "engine/ir/machine.h"
#include "tests/ir/builders.h"

namespace rf::ir {
namespace {

using namespace test;  // NOLINT

constexpr std::int64_t kSecond = 1000;
constexpr std::int64_t kHour = 3600 * kSecond;

State Named(const char* name, State::Kind kind, int line) {
  State s;
  s.name = name;
  s.kind = kind;
  s.line = line;
  return s;
}

// A machine that uses every state kind, every expression kind and nested regions.
Machine EveryKind() {
  Machine m;
  m.name = "refund_order";
  m.version = 3;
  m.description = "Refunds an order, \"carefully\" — with accents: café";
  m.uses = {"shop", "payments"};
  m.inputs = {{"order_id", "text", false}, {"amount", "money", false}, {"note", "text", true}};
  Schedule sched;
  sched.cron = "0 2 * * *";
  sched.time_zone = "Europe/Paris";
  sched.input = {{"order_id", Str("nightly")}, {"amount", Num("0.00")}};
  m.schedules.push_back(sched);

  Region& r = m.main;
  r.start = "load";

  State load = Named("load", State::Kind::kStep, 10);
  load.call.connector = "shop";
  load.call.operation = "get_order";
  load.call.args = {{"id", Path("input.order_id")}, {"fields", ListE({Str("lines"), Str("total")})}};
  load.call.side_effects = false;
  load.save_as = "order";
  load.timeout = Duration{30 * kSecond};
  load.retry.max_attempts = 5;
  load.retry.first_wait = Duration{2 * kSecond};
  load.retry.multiplier = "1.5";
  load.retry.max_wait = Duration{60 * kSecond};
  load.retry.jitter = true;
  load.retry.on_kinds = {"timeout", "unavailable", "conflict"};
  load.on_error = {{{"not_found"}, "missing"}, {{}, "broken"}};
  load.undo = Call{"shop", "release_order", {{"id", Path("input.order_id")}}, true, "orders"};
  load.next = "route";
  r.states.push_back(load);

  State route = Named("route", State::Kind::kDecide, 20);
  route.when.emplace_back(
      Bin("and", Bin(">", Path("order.total"), Num("500.00")),
          Un("not", Bin("in", Str("vip"), Field(Index(Path("order.customers"), Num("0")), "tags")))),
      "approve");
  route.when.emplace_back(Bin("==", Fn("count", {Path("order.lines")}), Num("0")), "broken");
  route.when.emplace_back(Bin("<", Un("-", Path("order.balance")), Bin("%", Num("7"), Num("-2.5"))),
                          "pause");
  route.otherwise = "pause";
  r.states.push_back(route);

  State pause = Named("pause", State::Kind::kWait, 30);
  pause.wait_kind = State::WaitKind::kDuration;
  pause.wait_for = Duration{2 * kHour + 30 * 60 * kSecond};
  pause.next = "until";
  r.states.push_back(pause);

  State until = Named("until", State::Kind::kWait, 31);
  until.wait_kind = State::WaitKind::kUntil;
  until.until = Bin("+", Fn("now"), Lit(Value(Duration{-kHour})));
  until.next = "payment";
  r.states.push_back(until);

  State payment = Named("payment", State::Kind::kWait, 32);
  payment.wait_kind = State::WaitKind::kEvent;
  payment.event = "payment_received";
  payment.event_key = "order_id";
  payment.key_value = Path("input.order_id");
  payment.within = Duration{7 * 24 * kHour};
  payment.on_timeout = "broken";
  payment.save_event_as = "paid";
  payment.next = "approve";
  r.states.push_back(payment);

  State approve = Named("approve", State::Kind::kApproval, 40);
  approve.role = "store_manager";
  approve.title = Text({Str("Refund "), Path("input.amount"), Str(" for {order} "), Path("input.order_id")});
  approve.details = Text({Str("Lines: "), Fn("count", {Path("order.lines")})});
  approve.deadline = Duration{48 * kHour};
  approve.escalate_to = "regional_manager";
  approve.on_approve = "work";
  approve.on_reject = "rejected";
  approve.save_decision_as = "decision";
  r.states.push_back(approve);

  // parallel → branch with a for each whose body holds a step and a set.
  State work = Named("work", State::Kind::kParallel, 50);
  auto restock = std::make_shared<Region>();
  restock->start = "each_line";
  State each = Named("each_line", State::Kind::kForEach, 52);
  each.item = "line";
  each.list = Path("order.lines");
  each.concurrency = 4;
  each.body = std::make_shared<Region>();
  each.body->start = "put_back";
  State put_back = Named("put_back", State::Kind::kStep, 53);
  put_back.call.connector = "shop";
  put_back.call.operation = "restock";
  put_back.call.args = {{"sku", Path("line.sku")}, {"qty", Path("line.qty")}};
  put_back.call.writes = "stock";
  put_back.next = "count_it";
  each.body->states.push_back(put_back);
  State count_it = Named("count_it", State::Kind::kSet, 54);
  count_it.assignments = {{"restocked", Bin("+", Fn("coalesce", {N("restocked"), Num("0")}), Num("1"))}};
  each.body->states.push_back(count_it);
  restock->states.push_back(each);
  work.branches.emplace_back("restock", restock);
  auto pay = std::make_shared<Region>();
  pay->start = "refund";
  State refund = Named("refund", State::Kind::kStep, 60);
  refund.call.connector = "payments";
  refund.call.operation = "refund";
  refund.call.args = {{"amount", Fn("round", {Bin("*", Path("input.amount"), Num("1.0"))})},
                      {"meta", RecordE({{"z", Lit(Value(*ParseTime("2026-11-27T06:35:20.123Z")))},
                                        {"a", Bool(true)},
                                        {"m", Null()}})}};
  pay->states.push_back(refund);
  work.branches.emplace_back("pay", pay);
  work.next = "done";
  r.states.push_back(work);

  State set = Named("missing", State::Kind::kSet, 70);
  set.assignments = {{"reason", Str("not found")},
                     {"constant", Lit(Value(List{Value(Dec("1.10")), Value(Record{{"k", Value(Duration{500})}})}))}};
  set.next = "broken";
  r.states.push_back(set);

  State done = Named("done", State::Kind::kFinish, 80);
  done.message = Text({Str("Refunded "), Path("input.amount")});
  r.states.push_back(done);
  r.states.push_back(Named("rejected", State::Kind::kFinish, 81));
  State broken = Named("broken", State::Kind::kFail, 90);
  broken.message = Str("order could not be refunded \\ {sorry}");
  r.states.push_back(broken);
  return m;
}

TEST(MachineJson, RoundTripIsByteIdentical) {
  Machine m = EveryKind();
  std::string first = ToJson(m);
  Result<Machine> back = MachineFromJson(first);
  ASSERT_TRUE(back.ok()) << back.status().message() << "\n" << first;
  EXPECT_EQ(ToJson(*back), first);
  // The compact form round-trips too and reads back to the same machine.
  std::string compact = ToJson(m, false);
  EXPECT_EQ(compact.find('\n'), std::string::npos);
  Result<Machine> back2 = MachineFromJson(compact);
  ASSERT_TRUE(back2.ok()) << back2.status().message();
  EXPECT_EQ(ToJson(*back2), first);
  EXPECT_EQ(ToJson(*back2, false), compact);
}

TEST(MachineJson, RoundTripKeepsEveryField) {
  Result<Machine> back = MachineFromJson(ToJson(EveryKind()));
  ASSERT_TRUE(back.ok()) << back.status().message();
  const Machine& m = *back;
  EXPECT_EQ(m.name, "refund_order");
  EXPECT_EQ(m.version, 3);
  EXPECT_EQ(m.description, EveryKind().description);
  EXPECT_EQ(m.uses, (std::vector<std::string>{"shop", "payments"}));
  ASSERT_EQ(m.inputs.size(), 3u);
  EXPECT_TRUE(m.inputs[2].optional);
  EXPECT_EQ(m.inputs[1].type, "money");
  ASSERT_EQ(m.schedules.size(), 1u);
  EXPECT_EQ(m.schedules[0].time_zone, "Europe/Paris");
  ASSERT_EQ(m.schedules[0].input.size(), 2u);
  EXPECT_EQ(m.schedules[0].input[1].first, "amount");

  const State* load = m.main.Find("load");
  ASSERT_NE(load, nullptr);
  EXPECT_EQ(load->kind, State::Kind::kStep);
  EXPECT_EQ(load->line, 10);
  EXPECT_FALSE(load->call.side_effects);
  ASSERT_EQ(load->call.args.size(), 2u);
  EXPECT_EQ(load->call.args[0].first, "id");
  EXPECT_EQ(load->call.args[1].first, "fields");
  EXPECT_EQ(load->timeout, Duration{30 * kSecond});
  EXPECT_EQ(load->retry.max_attempts, 5);
  EXPECT_EQ(load->retry.first_wait, Duration{2 * kSecond});
  EXPECT_EQ(load->retry.multiplier, "1.5");
  EXPECT_EQ(load->retry.max_wait, Duration{60 * kSecond});
  EXPECT_TRUE(load->retry.jitter);
  EXPECT_EQ(load->retry.on_kinds, (std::vector<std::string>{"timeout", "unavailable", "conflict"}));
  ASSERT_EQ(load->on_error.size(), 2u);
  EXPECT_EQ(load->on_error[0].kinds, std::vector<std::string>{"not_found"});
  EXPECT_TRUE(load->on_error[1].kinds.empty());
  ASSERT_TRUE(load->undo.has_value());
  EXPECT_EQ(load->undo->operation, "release_order");
  EXPECT_EQ(load->undo->writes, "orders");

  const State* route = m.main.Find("route");
  ASSERT_NE(route, nullptr);
  ASSERT_EQ(route->when.size(), 3u);
  EXPECT_EQ(ExprToText(route->when[0].first), "order.total > 500 and not \"vip\" in order.customers[0].tags");
  EXPECT_EQ(ExprToText(route->when[2].first), "-order.balance < 7 % -2.5");
  EXPECT_EQ(route->otherwise, "pause");
  // Literal numbers keep their exact value.
  EXPECT_EQ(route->when[0].first->args[0]->args[1]->value, Value(Dec("500")));

  EXPECT_EQ(m.main.Find("pause")->wait_for, Duration{2 * kHour + 30 * 60 * kSecond});
  EXPECT_EQ(ExprToText(m.main.Find("until")->until), "now() + -1h");
  const State* payment = m.main.Find("payment");
  EXPECT_EQ(payment->wait_kind, State::WaitKind::kEvent);
  EXPECT_EQ(payment->event_key, "order_id");
  EXPECT_EQ(payment->within, Duration{7 * 24 * kHour});
  EXPECT_EQ(payment->on_timeout, "broken");
  EXPECT_EQ(payment->save_event_as, "paid");

  const State* approve = m.main.Find("approve");
  EXPECT_EQ(ExprToText(approve->title), R"("Refund {input.amount} for \{order\} {input.order_id}")");
  EXPECT_EQ(approve->deadline, Duration{48 * kHour});
  EXPECT_EQ(approve->escalate_to, "regional_manager");
  EXPECT_EQ(approve->save_decision_as, "decision");

  const State* work = m.main.Find("work");
  ASSERT_EQ(work->branches.size(), 2u);
  EXPECT_EQ(work->branches[0].first, "restock");
  const State* each = work->branches[0].second->Find("each_line");
  ASSERT_NE(each, nullptr);
  EXPECT_EQ(each->concurrency, 4);
  EXPECT_EQ(each->item, "line");
  ASSERT_NE(each->body, nullptr);
  EXPECT_EQ(each->body->start, "put_back");
  EXPECT_EQ(each->body->Find("put_back")->call.writes, "stock");
  EXPECT_TRUE(each->body->Find("put_back")->call.side_effects);
  EXPECT_EQ(each->body->Find("count_it")->next, "");
  const State* refund = work->branches[1].second->Find("refund");
  ASSERT_NE(refund, nullptr);
  const ExprPtr& meta = refund->call.args[1].second;
  EXPECT_EQ(meta->keys, (std::vector<std::string>{"z", "a", "m"}));  // source order kept
  EXPECT_EQ(meta->args[0]->value, Value(*ParseTime("2026-11-27T06:35:20.123Z")));

  const State* missing = m.main.Find("missing");
  EXPECT_EQ(missing->assignments[1].second->value,
            Value(List{Value(Dec("1.1")), Value(Record{{"k", Value(Duration{500})}})}));
  EXPECT_EQ(ExprToText(m.main.Find("broken")->message), R"("order could not be refunded \\ \{sorry\}")");
  EXPECT_EQ(m.main.Find("rejected")->message, nullptr);
}

TEST(MachineJson, GoldenBytesOmitDefaults) {
  Machine m;
  m.name = "hello";
  m.version = 1;
  m.main.start = "greet";
  State greet = Named("greet", State::Kind::kStep, 4);
  greet.call.connector = "mail";
  greet.call.operation = "send";
  greet.call.args = {{"total", Bin("+", Num("0.10"), Num("19.99"))}, {"to", Path("input.email")}};
  greet.next = "done";
  m.main.states.push_back(greet);
  m.main.states.push_back(Named("done", State::Kind::kFinish, 0));
  const char* expected = R"({
  "format": "retailflow.machine",
  "format_version": 1,
  "name": "hello",
  "version": 1,
  "main": {
    "start": "greet",
    "states": [
      {
        "name": "greet",
        "kind": "step",
        "line": 4,
        "call": {
          "connector": "mail",
          "operation": "send",
          "args": {
            "total": {
              "op": "+",
              "left": {
                "num": "0.1"
              },
              "right": {
                "num": "19.99"
              }
            },
            "to": {
              "field": "email",
              "of": {
                "name": "input"
              }
            }
          }
        },
        "next": "done"
      },
      {
        "name": "done",
        "kind": "finish"
      }
    ]
  }
})";
  EXPECT_EQ(ToJson(m), expected);
  EXPECT_EQ(ToJson(m, false),
            R"({"format":"retailflow.machine","format_version":1,"name":"hello","version":1,"main":{"start":"greet",)"
            R"("states":[{"name":"greet","kind":"step","line":4,"call":{"connector":"mail","operation":"send",)"
            R"("args":{"total":{"op":"+","left":{"num":"0.1"},"right":{"num":"19.99"}},"to":{"field":"email",)"
            R"("of":{"name":"input"}}}},"next":"done"},{"name":"done","kind":"finish"}]}})");
}

TEST(MachineJson, OutputIsDeterministic) {
  std::string a = ToJson(EveryKind());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ToJson(EveryKind()), a);
}

TEST(MachineJson, ExprToJsonEncodings) {
  EXPECT_EQ(ExprToJson(Num("12.50")), R"({"num":"12.5"})");
  EXPECT_EQ(ExprToJson(Num("123456789012345678901234567890.123456")),
            R"({"num":"123456789012345678901234567890.123456"})");
  EXPECT_EQ(ExprToJson(Str("x")), R"({"lit":"x"})");
  EXPECT_EQ(ExprToJson(Null()), R"({"lit":null})");
  EXPECT_EQ(ExprToJson(Bool(false)), R"({"lit":false})");
  EXPECT_EQ(ExprToJson(Dur(90 * 60 * kSecond)), R"({"duration":"1h30m"})");
  EXPECT_EQ(ExprToJson(Dur(-250)), R"({"duration":"-250ms"})");
  EXPECT_EQ(ExprToJson(Lit(Value(*ParseTime("2026-11-27T06:35:20Z")))), R"({"time":"2026-11-27T06:35:20Z"})");
  EXPECT_EQ(ExprToJson(Lit(Value(List{Value(1), Value("a")}))), R"({"lit_list":[{"num":"1"},{"lit":"a"}]})");
  EXPECT_EQ(ExprToJson(Lit(Value(Record{{"k", Value(Dec("0.5"))}}))), R"({"lit_record":{"k":{"num":"0.5"}}})");
  EXPECT_EQ(ExprToJson(N("input")), R"({"name":"input"})");
  EXPECT_EQ(ExprToJson(Index(N("a"), Num("0"))), R"({"index":{"num":"0"},"of":{"name":"a"}})");
  EXPECT_EQ(ExprToJson(Fn("now")), R"({"call":"now"})");
  EXPECT_EQ(ExprToJson(Fn("abs", {Num("-1")})), R"({"call":"abs","args":[{"num":"-1"}]})");
  EXPECT_EQ(ExprToJson(Un("not", Bool(true))), R"({"unary":"not","arg":{"lit":true}})");
  EXPECT_EQ(ExprToJson(Text({Str("Hi "), N("name")})), R"({"interpolate":["Hi ",{"name":"name"}]})");
  EXPECT_EQ(ExprToJson(ListE({})), R"({"list":[]})");
  EXPECT_EQ(ExprToJson(RecordE({{"b", Num("1")}, {"a", Num("2")}})), R"({"record":{"b":{"num":"1"},"a":{"num":"2"}}})");
  EXPECT_EQ(ExprToJson(nullptr), "null");
}

// ------------------------------------------------------------------------------ rejection

std::string Doc(const std::string& states, const std::string& extra = "") {
  return R"({"format": "retailflow.machine", "format_version": 1, "name": "w", "version": 1)" + extra +
         R"(, "main": {"start": "a", "states": )" + states + "}}";
}

const char* kStepA = R"({"name": "a", "kind": "step", "call": {"connector": "c", "operation": "o"}})";

std::string Error(const std::string& json) {
  Result<Machine> r = MachineFromJson(json);
  EXPECT_FALSE(r.ok()) << json;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  return r.status().message();
}

#define EXPECT_CONTAINS(haystack, needle)                                                 \
  do {                                                                                    \
    std::string h_ = (haystack);                                                          \
    EXPECT_NE(h_.find(needle), std::string::npos) << "message: " << h_;                   \
  } while (0)

TEST(MachineJson, MinimalDocumentIsAccepted) {
  Result<Machine> r = MachineFromJson(Doc(std::string("[") + kStepA + "]"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->main.states[0].retry.max_attempts, 1);
  EXPECT_EQ(r->main.states[0].retry.on_kinds, RetryPolicy{}.on_kinds);
  EXPECT_TRUE(r->main.states[0].call.side_effects);
}

TEST(MachineJson, RejectsDocumentsThatAreNotMachines) {
  EXPECT_CONTAINS(Error("{not json"), "not valid JSON");
  EXPECT_CONTAINS(Error(""), "not valid JSON");
  EXPECT_CONTAINS(Error("[1, 2]"), "expected an object, got an array");
  EXPECT_CONTAINS(Error(R"({"name": "w"})"), "missing field 'format'");
  EXPECT_CONTAINS(Error(R"({"format": "retailflow.workflow", "format_version": 1})"),
                  "format: expected \"retailflow.machine\", got \"retailflow.workflow\"");
  EXPECT_CONTAINS(Error(R"({"format": "retailflow.machine", "format_version": 2})"),
                  "format_version: unsupported version 2 (this engine reads version 1)");
  EXPECT_CONTAINS(Error(R"({"format": "retailflow.machine", "format_version": "1"})"),
                  "format_version: expected an integer, got a string");
  EXPECT_CONTAINS(Error(R"({"format": "retailflow.machine"})"), "missing field 'format_version'");
}

TEST(MachineJson, RejectsMissingAndMistypedFields) {
  EXPECT_CONTAINS(Error(R"({"format": "retailflow.machine", "format_version": 1, "version": 1,
                            "main": {"start": "", "states": []}})"),
                  "missing field 'name'");
  EXPECT_CONTAINS(Error(R"({"format": "retailflow.machine", "format_version": 1, "name": "w", "version": 1})"),
                  "missing field 'main'");
  EXPECT_CONTAINS(Error(R"({"format": "retailflow.machine", "format_version": 1, "name": "w", "version": 1.5,
                            "main": {"start": "", "states": []}})"),
                  "version: expected an integer, got a number");
  EXPECT_CONTAINS(Error(Doc(R"([{"name": "a"}])")), "main.states[0]: missing field 'kind'");
  EXPECT_CONTAINS(Error(Doc(R"([{"name": "a", "kind": "step"}])")), "main.states[0]: missing field 'call'");
  EXPECT_CONTAINS(Error(Doc(R"([{"name": "a", "kind": "step", "call": {"connector": "c"}}])")),
                  "main.states[0].call: missing field 'operation'");
  EXPECT_CONTAINS(Error(Doc(R"([{"name": 5, "kind": "finish"}])")),
                  "main.states[0].name: expected a string, got a number");
  EXPECT_CONTAINS(Error(Doc(R"({"a": 1})")), "main.states: expected an array, got an object");
  EXPECT_CONTAINS(Error(Doc(std::string("[") + kStepA + "]", R"(, "inputs": [{"name": "x"}])")),
                  "inputs[0]: missing field 'type'");
  EXPECT_CONTAINS(Error(Doc(std::string("[") + kStepA + "]", R"(, "inputs": [{"name": "x", "type": "integer"}])")),
                  "inputs[0].type: unknown type 'integer'");
  EXPECT_CONTAINS(Error(Doc(std::string("[") + kStepA + "]", R"(, "schedules": [{"cron": "* * * * *"}])")),
                  "schedules[0]: missing field 'time_zone'");
  EXPECT_CONTAINS(Error(Doc(R"([{"name": "a", "kind": "wait", "wait": "event", "event": "e"}])")),
                  "main.states[0]: missing field 'event_key'");
  EXPECT_CONTAINS(Error(Doc(R"([{"name": "a", "kind": "wait", "wait": "duration", "for": "soon"}])")),
                  "main.states[0].for: not a duration: \"soon\"");
  EXPECT_CONTAINS(Error(Doc(R"([{"name": "a", "kind": "wait", "wait": "forever"}])")),
                  "main.states[0].wait: unknown wait kind 'forever'");
}

TEST(MachineJson, RejectsBadKindsAndUnknownFields) {
  std::string states = std::string("[") + kStepA + ", " + R"({"name": "b", "kind": "finish"}, )" +
                       R"({"name": "c", "kind": "fail"}, {"name": "d", "kind": "stepp"}])";
  EXPECT_CONTAINS(Error(Doc(states)), "main.states[3].kind: unknown kind 'stepp'");
  EXPECT_CONTAINS(Error(Doc(R"([{"name": "a", "kind": "finish", "next": "a"}])")),
                  "main.states[0]: unknown field 'next' in a finish state");
  EXPECT_CONTAINS(Error(Doc(std::string("[") + kStepA + "]", R"(, "author": "me")")),
                  "unknown field 'author' in a machine");
  EXPECT_CONTAINS(Error(Doc(R"([{"name": "a", "kind": "step", "call": {"connector": "c", "operation": "o"},
                                 "retry": {"max_attempts": 0}}])")),
                  "main.states[0].retry.max_attempts: integer 0 out of range");
  EXPECT_CONTAINS(Error(Doc(R"([{"name": "a", "kind": "step", "call": {"connector": "c", "operation": "o"},
                                 "retry": {"multiplier": "double"}}])")),
                  "main.states[0].retry.multiplier: expected a positive decimal");
  EXPECT_CONTAINS(Error(Doc(R"([{"name": "a", "kind": "step", "call": {"connector": "c", "operation": "o"},
                                 "on_error": [{"kinds": ["timeoutt"], "target": "a"}]}])")),
                  "main.states[0].on_error[0].kinds[0]: unknown error kind 'timeoutt'");
}

TEST(MachineJson, RejectsBrokenRegions) {
  EXPECT_CONTAINS(Error(Doc(std::string("[") + kStepA + ", " + kStepA + "]")),
                  "main.states[1].name: duplicate state name 'a' (also main.states[0])");
  EXPECT_CONTAINS(Error(Doc(R"([{"name": "a", "kind": "step", "call": {"connector": "c", "operation": "o"},
                                 "next": "nowhere"}])")),
                  "main.states[0].next: no state 'nowhere' in this region");
  EXPECT_CONTAINS(Error(Doc(R"([{"name": "b", "kind": "finish"}])")), "main.start: no state 'a' in this region");
  EXPECT_CONTAINS(Error(Doc(R"([{"name": "a", "kind": "decide", "when": [{"if": {"lit": true}, "then": "zz"}]}])")),
                  "main.states[0].when[0].then: no state 'zz' in this region");
  // A nested region cannot jump to a state of the outer region.
  EXPECT_CONTAINS(Error(Doc(R"([{"name": "a", "kind": "for_each", "item": "x", "list": {"name": "l"},
                                 "body": {"start": "s", "states": [{"name": "s", "kind": "set", "next": "a"}]}}])")),
                  "main.states[0].body.states[0].next: no state 'a' in this region");
  EXPECT_CONTAINS(Error(Doc(R"([{"name": "a", "kind": "parallel", "branches": [
                                 {"name": "x", "start": "", "states": []}, {"name": "x", "start": "", "states": []}]}])")),
                  "main.states[0].branches[1].name: duplicate branch name 'x'");
  EXPECT_CONTAINS(Error(Doc(R"([{"name": "a", "kind": "parallel", "branches": [
                                 {"name": "x", "start": "q", "states": [{"name": "q", "kind": "oops"}]}]}])")),
                  "main.states[0].branches[0].states[0].kind: unknown kind 'oops'");
}

TEST(MachineJson, RejectsBadExpressions) {
  auto with_cond = [](const std::string& cond) {
    return Doc(R"([{"name": "a", "kind": "decide", "when": [{"if": )" + cond + R"(, "then": "a"}]}])");
  };
  EXPECT_CONTAINS(Error(with_cond(R"({"lit": 12.5})")),
                  "main.states[0].when[0].if.lit: expected null, true, false or a string, got a number");
  EXPECT_CONTAINS(Error(with_cond(R"({"num": 12.5})")), "main.states[0].when[0].if.num: expected a string");
  EXPECT_CONTAINS(Error(with_cond(R"({"num": "12,5"})")), "not a decimal number: \"12,5\"");
  EXPECT_CONTAINS(Error(with_cond(R"({"time": "tomorrow"})")), "not an ISO-8601 time: \"tomorrow\"");
  EXPECT_CONTAINS(Error(with_cond(R"({"op": "^", "left": {"lit": 1}, "right": {"lit": 2}})")),
                  "main.states[0].when[0].if.op: unknown operator '^'");
  EXPECT_CONTAINS(Error(with_cond(R"({"op": "+", "left": {"num": "1"}})")),
                  "main.states[0].when[0].if: missing field 'right'");
  EXPECT_CONTAINS(Error(with_cond(R"({"unary": "!", "arg": {"lit": true}})")), "unknown unary operator '!'");
  EXPECT_CONTAINS(Error(with_cond(R"({"name": "x", "lit": 1})")), "expression has both 'lit' and 'name'");
  EXPECT_CONTAINS(Error(with_cond(R"({"nam": "x"})")), "main.states[0].when[0].if: not an expression");
  EXPECT_CONTAINS(Error(with_cond(R"({"name": "x", "extra": 1})")),
                  "unknown field 'extra' in an expression of form 'name'");
  EXPECT_CONTAINS(Error(with_cond("null")), "main.states[0].when[0].if: expected an expression, got null");
  EXPECT_CONTAINS(Error(with_cond(R"({"list": [{"num": "1"}, 7]})")),
                  "main.states[0].when[0].if.list[1]: expected an object, got a number");
  EXPECT_CONTAINS(Error(with_cond(R"({"lit_list": [{"name": "x"}]})")), "expected a literal value");
  EXPECT_CONTAINS(Error(with_cond(R"({"record": {"a": {"num": "1"}, "a": {"num": "2"}}})")),
                  "duplicate key 'a'");
  // Deeply nested expressions are refused, not overflowed.
  std::string deep;
  for (int i = 0; i < 600; ++i) deep += R"({"unary": "not", "arg": )";
  deep += R"({"lit": true})";
  for (int i = 0; i < 600; ++i) deep += "}";
  EXPECT_CONTAINS(Error(with_cond(deep)), "nested more than 500 levels deep");
}

// A stored or posted machine of a million brackets: nlohmann's parser and destructor do not
// recurse, and the reader stops at kMaxDepth, so this is an error, not a stack overflow.
TEST(MachineJson, HugelyNestedDocumentsAreRefusedWithoutOverflow) {
  std::string arrays = std::string(500000, '[') + std::string(500000, ']');
  EXPECT_FALSE(MachineFromJson(arrays).ok());
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += R"({"a": )";
  objects += "1" + std::string(100000, '}');
  EXPECT_FALSE(MachineFromJson(objects).ok());
  std::string good = ToJson(EveryKind(), false);
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += R"({"unary": "not", "arg": )";
  deep += R"({"lit": true})" + std::string(100000, '}');
  size_t at = good.find(R"("main")");
  ASSERT_NE(at, std::string::npos);
  Result<Machine> r = MachineFromJson(good.substr(0, at) + R"("x": )" + deep + "," + good.substr(at));
  EXPECT_FALSE(r.ok());
}

TEST(MachineJson, NeverThrowsOnTruncatedOrMangledInput) {
  std::string good = ToJson(EveryKind(), false);
  for (size_t n = 0; n < good.size(); n += 7) {
    Result<Machine> r = MachineFromJson(std::string_view(good).substr(0, n));
    EXPECT_FALSE(r.ok());
  }
  // Flip characters one at a time: every outcome is a Status, and a success still round-trips.
  for (size_t i = 0; i < good.size(); i += 11) {
    std::string bad = good;
    bad[i] = bad[i] == 'a' ? '"' : 'a';
    Result<Machine> r = MachineFromJson(bad);
    if (r.ok()) {
      EXPECT_TRUE(MachineFromJson(ToJson(*r)).ok());
    }
  }
}

}  // namespace
}  // namespace rf::ir
