// Provisional implementation of state/keys.h, replaced by the keys module's full version (escaping
// and parsing identical; PrepareFormat with the format-1 migration lands with it).
#include "state/keys.h"

#include <charconv>

#include "state/state_store.h"

namespace rf::state::keys {

namespace {
std::string Pad(std::int64_t v, int width) {
  std::string s = std::to_string(v < 0 ? 0 : v);
  if (static_cast<int>(s.size()) < width) s.insert(0, static_cast<size_t>(width) - s.size(), '0');
  return s;
}
std::optional<std::int64_t> Number(std::string_view s) {
  std::int64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}
std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) out += p;
  return out;
}
}  // namespace

std::string Escape(std::string_view part) {
  std::string out;
  out.reserve(part.size());
  for (char c : part) {
    if (c == '%') out += "%25";
    else if (c == '/') out += "%2F";
    else out.push_back(c);
  }
  return out;
}

std::optional<std::string> Unescape(std::string_view part) {
  std::string out;
  for (size_t i = 0; i < part.size(); ++i) {
    if (part[i] != '%') {
      out.push_back(part[i]);
      continue;
    }
    if (part.substr(i, 3) == "%25") out.push_back('%');
    else if (part.substr(i, 3) == "%2F") out.push_back('/');
    else return std::nullopt;
    i += 2;
  }
  return out;
}

std::string MetaFormat() { return "meta/format"; }

Status PrepareFormat(StateStore* store) {
  std::string v;
  Status s = store->Get(MetaFormat(), &v);
  if (s.ok()) {
    if (v == std::to_string(kFormatVersion)) return Status::Ok();
    return Status::FailedPrecondition("the store was written by format " + v + "; this binary reads format " +
                                      std::to_string(kFormatVersion));
  }
  if (s.code() != Status::Code::kNotFound) return s;
  WriteBatch b;
  b.Put(MetaFormat(), std::to_string(kFormatVersion));
  return store->Commit(b);
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) != 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return end;
}

std::string Definition(std::string_view wf, int version) { return Cat({"def/", Escape(wf), "/", Pad(version, 8)}); }
std::string DefinitionPrefix() { return "def/"; }
std::string DefinitionLatest(std::string_view wf) { return Cat({"deflatest/", Escape(wf)}); }

std::string Instance(std::string_view id) { return Cat({"inst/", id}); }
std::string InstancePrefix() { return "inst/"; }
std::string History(std::string_view id, std::int64_t seq) { return Cat({"hist/", id, "/", Pad(seq, 10)}); }
std::string HistoryPrefix(std::string_view id) { return Cat({"hist/", id, "/"}); }
std::string BusinessKey(std::string_view wf, std::string_view bk) { return Cat({"bkey/", Escape(wf), "/", Escape(bk)}); }
std::string StatusIndex(std::string_view st, std::string_view id) { return Cat({StatusIndexPrefix(st), id}); }
std::string StatusIndexPrefix(std::string_view st) { return Cat({"idx/status/", Escape(st), "/"}); }
std::string WorkflowIndex(std::string_view wf, std::string_view id) { return Cat({WorkflowIndexPrefix(wf), id}); }
std::string WorkflowIndexPrefix(std::string_view wf) { return Cat({"idx/workflow/", Escape(wf), "/"}); }
std::string_view IndexedInstance(std::string_view key, std::string_view prefix) {
  return key.size() >= prefix.size() ? key.substr(prefix.size()) : std::string_view();
}
std::string DeadLetter(std::string_view id) { return Cat({"dead/", id}); }
std::string DeadLetterPrefix() { return "dead/"; }

std::string Timer(Time due, std::string_view id, std::int64_t n) {
  return Cat({"timer/", Pad(due.ms, 15), "/", id, "/", Pad(n, 6)});
}
std::string TimerPrefix() { return "timer/"; }
std::string TimersDueBy(Time now) { return Cat({"timer/", Pad(now.ms + 1, 15)}); }
std::optional<TimerKey> ParseTimer(std::string_view key) {
  if (key.substr(0, 6) != "timer/") return std::nullopt;
  std::string_view rest = key.substr(6);
  size_t a = rest.find('/');
  size_t b = rest.rfind('/');
  if (a == std::string_view::npos || b == a) return std::nullopt;
  auto due = Number(rest.substr(0, a));
  auto n = Number(rest.substr(b + 1));
  if (!due || !n) return std::nullopt;
  return TimerKey{Time{*due}, std::string(rest.substr(a + 1, b - a - 1)), *n};
}

std::string Outbox(std::string_view id, std::string_view inv) { return Cat({"outbox/", id, "/", inv}); }
std::string OutboxPrefix() { return "outbox/"; }
std::string OutboxPrefix(std::string_view id) { return Cat({"outbox/", id, "/"}); }

std::string Task(std::string_view task_id) { return Cat({"task/", task_id}); }
std::string TaskPrefix() { return "task/"; }
std::string OpenTask(std::string_view role, std::string_view task_id) { return Cat({OpenTaskPrefix(role), task_id}); }
std::string OpenTaskPrefix() { return "taskopen/"; }
std::string OpenTaskPrefix(std::string_view role) { return Cat({"taskopen/", Escape(role), "/"}); }
std::optional<std::string> ParseOpenTask(std::string_view key) {
  if (key.substr(0, 9) != "taskopen/") return std::nullopt;
  size_t slash = key.find('/', 9);
  if (slash == std::string_view::npos) return std::nullopt;
  return std::string(key.substr(slash + 1));
}

std::string Subscription(std::string_view ev, std::string_view key, std::string_view id, std::int64_t thread) {
  return Cat({SubscriptionPrefix(ev, key), id, "/", Pad(thread, 6)});
}
std::string SubscriptionPrefix(std::string_view ev, std::string_view key) {
  return Cat({"sub/", Escape(ev), "/", Escape(key), "/"});
}
std::optional<SubscriptionKey> ParseSubscription(std::string_view key) {
  size_t b = key.rfind('/');
  if (b == std::string_view::npos || b == 0) return std::nullopt;
  size_t a = key.rfind('/', b - 1);
  if (a == std::string_view::npos) return std::nullopt;
  auto thread = Number(key.substr(b + 1));
  if (!thread) return std::nullopt;
  return SubscriptionKey{std::string(key.substr(a + 1, b - a - 1)), *thread};
}

std::string BufferedEvent(std::string_view ev, std::string_view key, Time arrival, std::int64_t seq) {
  return Cat({BufferedEventPrefix(ev, key), Pad(arrival.ms, 13), "-", Pad(seq, 6)});
}
std::string BufferedEventPrefix() { return "evbuf/"; }
std::string BufferedEventPrefix(std::string_view ev, std::string_view key) {
  return Cat({"evbuf/", Escape(ev), "/", Escape(key), "/"});
}

std::string ScheduleSlot(std::string_view wf, std::size_t index) {
  return Cat({"sched/", Escape(wf), "/", std::to_string(index)});
}
std::string ScheduleSlotPrefix() { return "sched/"; }

std::string AuthToken(std::string_view name) { return Cat({"auth/token/", Escape(name)}); }
std::string AuthTokenPrefix() { return "auth/token/"; }
std::optional<std::string> ParseAuthToken(std::string_view key) {
  if (key.substr(0, 11) != "auth/token/") return std::nullopt;
  return Unescape(key.substr(11));
}
std::string WebhookDelivery(std::string_view source, std::string_view id) {
  return Cat({"webhook/", Escape(source), "/", Escape(id)});
}
std::string WebhookDeliveryPrefix() { return "webhook/"; }

}  // namespace rf::state::keys
