// The key layout of format 2 (state/FORMAT.md): builders and parsers. PrepareFormat and the
// migration from format 1 live in format.cc.
#include "state/keys.h"

#include <vector>

namespace rf::state::keys {

namespace {

void AppendEscaped(std::string& out, std::string_view part) {
  for (char c : part) {
    if (c == '%') {
      out += "%25";
    } else if (c == '/') {
      out += "%2F";
    } else {
      out.push_back(c);
    }
  }
}

// Zero-padded decimal; negative numbers are written as 0 (times and counters are never negative).
void AppendPadded(std::string& out, std::int64_t v, int width) {
  std::string digits = std::to_string(v < 0 ? 0 : v);
  if (static_cast<int>(digits.size()) < width) out.append(static_cast<size_t>(width) - digits.size(), '0');
  out += digits;
}

// `fixed` then the escaped parts, each followed by '/' except the last.
std::string Build(std::string_view fixed, std::initializer_list<std::string_view> parts) {
  std::string k(fixed);
  bool first = true;
  for (std::string_view p : parts) {
    if (!first) k.push_back('/');
    first = false;
    AppendEscaped(k, p);
  }
  return k;
}

// The parts of `key` after `fixed`, split at '/'; nullopt unless there are exactly `n`.
std::optional<std::vector<std::string_view>> Split(std::string_view key, std::string_view fixed, size_t n) {
  if (key.substr(0, fixed.size()) != fixed) return std::nullopt;
  std::string_view rest = key.substr(fixed.size());
  std::vector<std::string_view> parts;
  parts.reserve(n);
  while (true) {
    size_t slash = rest.find('/');
    parts.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    if (parts.size() == n) return std::nullopt;
    rest.remove_prefix(slash + 1);
  }
  if (parts.size() != n) return std::nullopt;
  return parts;
}

// Decimal digits, at least `min_width` of them, that fit an int64.
std::optional<std::int64_t> Number(std::string_view s, size_t min_width) {
  if (s.empty() || s.size() < min_width || s.size() > 18) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// An unescaped id part that may not be empty.
std::optional<std::string> Id(std::string_view part) {
  if (part.empty()) return std::nullopt;
  return Unescape(part);
}

constexpr int kVersionWidth = 8;
constexpr int kSeqWidth = 10;
constexpr int kDueWidth = 15;
constexpr int kCounterWidth = 6;
constexpr int kArrivalWidth = 13;

}  // namespace

std::string Escape(std::string_view part) {
  std::string out;
  out.reserve(part.size());
  AppendEscaped(out, part);
  return out;
}

std::optional<std::string> Unescape(std::string_view part) {
  std::string out;
  out.reserve(part.size());
  for (size_t i = 0; i < part.size(); ++i) {
    char c = part[i];
    if (c == '/') return std::nullopt;
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    std::string_view code = part.substr(i + 1, 2);
    if (code == "25") {
      out.push_back('%');
    } else if (code == "2F") {
      out.push_back('/');
    } else {
      return std::nullopt;
    }
    i += 2;
  }
  return out;
}

std::string MetaFormat() { return "meta/format"; }

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last != 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return end;
}

// ---- definitions

std::string Definition(std::string_view workflow, int version) {
  std::string k = Build("def/", {workflow});
  k.push_back('/');
  AppendPadded(k, version, kVersionWidth);
  return k;
}
std::string DefinitionPrefix() { return "def/"; }
std::string DefinitionPrefix(std::string_view workflow) { return Build("def/", {workflow, ""}); }
std::optional<DefinitionKey> ParseDefinition(std::string_view key) {
  auto p = Split(key, "def/", 2);
  if (!p) return std::nullopt;
  auto wf = Unescape((*p)[0]);
  auto v = Number((*p)[1], kVersionWidth);
  if (!wf || !v || *v > 0x7fffffff) return std::nullopt;
  return DefinitionKey{std::move(*wf), static_cast<int>(*v)};
}
std::string DefinitionLatest(std::string_view workflow) { return Build("deflatest/", {workflow}); }

// ---- instances

std::string Instance(std::string_view instance_id) { return Build("inst/", {instance_id}); }
std::string InstancePrefix() { return "inst/"; }
std::optional<std::string> ParseInstance(std::string_view key) {
  auto p = Split(key, "inst/", 1);
  if (!p) return std::nullopt;
  return Id((*p)[0]);
}

std::string History(std::string_view instance_id, std::int64_t seq) {
  std::string k = HistoryPrefix(instance_id);
  AppendPadded(k, seq, kSeqWidth);
  return k;
}
std::string HistoryPrefix(std::string_view instance_id) { return Build("hist/", {instance_id, ""}); }

std::string BusinessKey(std::string_view workflow, std::string_view business_key) {
  return Build("bkey/", {workflow, business_key});
}
std::string BusinessKeyPrefix(std::string_view workflow) { return Build("bkey/", {workflow, ""}); }
std::optional<BusinessKeyKey> ParseBusinessKey(std::string_view key) {
  auto p = Split(key, "bkey/", 2);
  if (!p) return std::nullopt;
  auto wf = Unescape((*p)[0]);
  auto bk = Unescape((*p)[1]);
  if (!wf || !bk) return std::nullopt;
  return BusinessKeyKey{std::move(*wf), std::move(*bk)};
}

std::string StatusIndex(std::string_view status, std::string_view instance_id) {
  return Build("idx/status/", {status, instance_id});
}
std::string StatusIndexPrefix() { return "idx/status/"; }
std::string StatusIndexPrefix(std::string_view status) { return Build("idx/status/", {status, ""}); }
std::string WorkflowIndex(std::string_view workflow, std::string_view instance_id) {
  return Build("idx/workflow/", {workflow, instance_id});
}
std::string WorkflowIndexPrefix(std::string_view workflow) { return Build("idx/workflow/", {workflow, ""}); }
std::optional<std::string> IndexedInstance(std::string_view key, std::string_view prefix) {
  auto p = Split(key, prefix, 1);
  if (!p) return std::nullopt;
  return Id((*p)[0]);
}

std::string DeadLetter(std::string_view instance_id) { return Build("dead/", {instance_id}); }
std::string DeadLetterPrefix() { return "dead/"; }
std::optional<std::string> ParseDeadLetter(std::string_view key) {
  auto p = Split(key, "dead/", 1);
  if (!p) return std::nullopt;
  return Id((*p)[0]);
}

// ---- timers

std::string Timer(Time due, std::string_view instance_id, std::int64_t n) {
  std::string k = "timer/";
  AppendPadded(k, due.ms, kDueWidth);
  k.push_back('/');
  AppendEscaped(k, instance_id);
  k.push_back('/');
  AppendPadded(k, n, kCounterWidth);
  return k;
}
std::string TimerPrefix() { return "timer/"; }
std::string TimersDueBy(Time now) {
  std::string k = "timer/";
  AppendPadded(k, now.ms < 0 ? 0 : now.ms + 1, kDueWidth);
  return k;
}
std::optional<TimerKey> ParseTimer(std::string_view key) {
  auto p = Split(key, "timer/", 3);
  if (!p) return std::nullopt;
  auto due = Number((*p)[0], kDueWidth);
  auto id = Id((*p)[1]);
  auto n = Number((*p)[2], kCounterWidth);
  if (!due || !id || !n) return std::nullopt;
  return TimerKey{Time{*due}, std::move(*id), *n};
}

// ---- outbox

std::string Outbox(std::string_view instance_id, std::string_view invocation_id) {
  return Build("outbox/", {instance_id, invocation_id});
}
std::string OutboxPrefix() { return "outbox/"; }
std::string OutboxPrefix(std::string_view instance_id) { return Build("outbox/", {instance_id, ""}); }

// ---- human tasks

std::string Task(std::string_view task_id) { return Build("task/", {task_id}); }
std::string TaskPrefix() { return "task/"; }
std::string OpenTask(std::string_view role, std::string_view task_id) { return Build("taskopen/", {role, task_id}); }
std::string OpenTaskPrefix() { return "taskopen/"; }
std::string OpenTaskPrefix(std::string_view role) { return Build("taskopen/", {role, ""}); }
std::optional<OpenTaskKey> ParseOpenTask(std::string_view key) {
  auto p = Split(key, "taskopen/", 2);
  if (!p) return std::nullopt;
  auto role = Unescape((*p)[0]);
  auto task = Id((*p)[1]);
  if (!role || !task) return std::nullopt;
  return OpenTaskKey{std::move(*role), std::move(*task)};
}

// ---- event subscriptions

std::string Subscription(std::string_view event, std::string_view key, std::string_view instance_id,
                         std::int64_t thread) {
  std::string k = Build("sub/", {event, key, instance_id, ""});
  AppendPadded(k, thread, kCounterWidth);
  return k;
}
std::string SubscriptionPrefix() { return "sub/"; }
std::string SubscriptionPrefix(std::string_view event) { return Build("sub/", {event, ""}); }
std::string SubscriptionPrefix(std::string_view event, std::string_view key) {
  return Build("sub/", {event, key, ""});
}
std::optional<SubscriptionKey> ParseSubscription(std::string_view key) {
  auto p = Split(key, "sub/", 4);
  if (!p) return std::nullopt;
  auto event = Unescape((*p)[0]);
  auto k = Unescape((*p)[1]);
  auto id = Id((*p)[2]);
  auto thread = Number((*p)[3], kCounterWidth);
  if (!event || !k || !id || !thread) return std::nullopt;
  return SubscriptionKey{std::move(*event), std::move(*k), std::move(*id), *thread};
}

// ---- early events

std::string BufferedEvent(std::string_view event, std::string_view key, Time arrival, std::int64_t seq) {
  std::string k = BufferedEventPrefix(event, key);
  AppendPadded(k, arrival.ms, kArrivalWidth);
  k.push_back('-');
  AppendPadded(k, seq, kCounterWidth);
  return k;
}
std::string BufferedEventPrefix() { return "evbuf/"; }
std::string BufferedEventPrefix(std::string_view event, std::string_view key) {
  return Build("evbuf/", {event, key, ""});
}
std::optional<BufferedEventKey> ParseBufferedEvent(std::string_view key) {
  auto p = Split(key, "evbuf/", 3);
  if (!p) return std::nullopt;
  auto event = Unescape((*p)[0]);
  auto k = Unescape((*p)[1]);
  std::string_view last = (*p)[2];
  size_t dash = last.find('-');
  if (!event || !k || dash == std::string_view::npos) return std::nullopt;
  auto arrival = Number(last.substr(0, dash), kArrivalWidth);
  auto seq = Number(last.substr(dash + 1), kCounterWidth);
  if (!arrival || !seq) return std::nullopt;
  return BufferedEventKey{std::move(*event), std::move(*k), Time{*arrival}, *seq};
}

// ---- schedules

std::string ScheduleSlot(std::string_view workflow, std::size_t index) {
  return Build("sched/", {workflow, std::to_string(index)});
}
std::string ScheduleSlotPrefix() { return "sched/"; }
std::optional<ScheduleSlotKey> ParseScheduleSlot(std::string_view key) {
  auto p = Split(key, "sched/", 2);
  if (!p) return std::nullopt;
  auto wf = Unescape((*p)[0]);
  auto index = Number((*p)[1], 1);
  // Plain decimal: a leading zero would be a second spelling of the same slot.
  if (!wf || !index || ((*p)[1].size() > 1 && (*p)[1][0] == '0')) return std::nullopt;
  return ScheduleSlotKey{std::move(*wf), static_cast<std::size_t>(*index)};
}

// ---- the service's own records

std::string AuthToken(std::string_view token_hash) { return Build("auth/token/", {token_hash}); }
std::string AuthTokenPrefix() { return "auth/token/"; }
std::optional<std::string> ParseAuthToken(std::string_view key) {
  auto p = Split(key, "auth/token/", 1);
  if (!p) return std::nullopt;
  return Id((*p)[0]);
}

std::string WebhookDelivery(std::string_view source, std::string_view delivery_id) {
  return Build("webhook/", {source, delivery_id});
}
std::string WebhookDeliveryPrefix() { return "webhook/"; }
std::optional<WebhookDeliveryKey> ParseWebhookDelivery(std::string_view key) {
  auto p = Split(key, "webhook/", 2);
  if (!p) return std::nullopt;
  auto source = Unescape((*p)[0]);
  auto id = Unescape((*p)[1]);
  if (!source || !id) return std::nullopt;
  return WebhookDeliveryKey{std::move(*source), std::move(*id)};
}

}  // namespace rf::state::keys
