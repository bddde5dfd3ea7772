// fraud: deterministic return-fraud scoring, an example connector plugin (connector `fraud` of
// workflows/connectors/retail.json). Operation `score_return` scores a store return from 0
// (clean) to 100 (almost certainly fraud) with the rules below, each of which adds points and a
// human-readable reason. Pure: the same input (and reference time) always gives the same score.
//
//   amount      >= 1000: +30   >= 500: +20   >= 200: +10
//   sold_at     in the future: +25;  returned the day of the sale: +10;  after 25 days: +15
//   reason      empty, "other" or "unknown": +15;  mentions no receipt: +20;  changed mind: +5
//   customer    no customer_ref: +20;  customer_ref on the settings' watchlist: +40
//
// Settings: {"watchlist": ["C-666", ...],  // customer references to treat with suspicion
//            "now": "2026-11-27T12:00:00Z"} // reference time for "days since sale"; default
//                                           // the system clock (set it for reproducible demos)
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <optional>
#include <retailflow/connector_plugin.hpp>
#include <set>
#include <stdexcept>
#include <string>

namespace {

namespace rfp = retailflow::plugin;
using nlohmann::json;

constexpr std::int64_t kDayMs = 86400000;

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// "2026-11-27", "2026-11-27T06:35:20Z", "2026-11-27T06:35:20.123+01:00" → epoch milliseconds.
std::optional<std::int64_t> ParseIsoTime(const std::string& s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, n = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
  std::int64_t ms = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * kDayMs;
  if (s.size() == 10) return ms;
  if (s[10] != 'T' && s[10] != ' ') return std::nullopt;
  if (std::sscanf(s.c_str() + 11, "%2d:%2d:%2d%n", &h, &mi, &sec, &n) != 3 || n != 8)
    return std::nullopt;
  ms += ((h * 60LL + mi) * 60 + sec) * 1000;
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    std::int64_t frac = 0, scale = 100;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, scale /= 10)
      frac += (s[i] - '0') * scale;
    ms += frac;
  }
  if (i == s.size()) return std::nullopt;  // a time without a zone is ambiguous
  if (s[i] == 'Z' && i + 1 == s.size()) return ms;
  int oh = 0, om = 0;
  if ((s[i] == '+' || s[i] == '-') &&
      std::sscanf(s.c_str() + i + 1, "%2d:%2d%n", &oh, &om, &n) == 2 && i + 1 + n == s.size()) {
    std::int64_t off = (oh * 60LL + om) * 60000;
    return s[i] == '+' ? ms - off : ms + off;
  }
  return std::nullopt;
}

// Whole cents of a money amount given as a JSON number or decimal text (digits beyond cents are
// cut off: the rules compare against whole amounts only).
std::optional<std::int64_t> Cents(const json& v) {
  std::string text;
  if (v.is_number()) {
    text = v.dump();
  } else if (v.is_string()) {
    text = v.get<std::string>();
  } else {
    return std::nullopt;
  }
  std::int64_t units = 0, cents = 0;
  size_t i = 0;
  bool negative = !text.empty() && text[0] == '-';
  if (negative) ++i;
  if (i >= text.size() || text[i] < '0' || text[i] > '9') return std::nullopt;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    units = units * 10 + (text[i] - '0');
    if (units > 1000000000000LL) return std::nullopt;
  }
  if (i < text.size() && text[i] == '.') {
    int digits = 0;
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
      if (digits++ < 2) cents = cents * 10 + (text[i] - '0');
    if (digits == 1) cents *= 10;
  }
  if (i != text.size()) return std::nullopt;  // exponents and junk
  std::int64_t total = units * 100 + cents;
  return negative ? -total : total;
}

// The member `key` of object `o`, or nullptr.
const json* Member(const json& o, const char* key) {
  if (!o.is_object()) return nullptr;
  auto it = o.find(key);
  return it == o.end() ? nullptr : &*it;
}

std::string TextMember(const json& o, const char* key) {
  const json* v = Member(o, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

class FraudConnector : public rfp::Connector {
 public:
  explicit FraudConnector(const json& settings) {
    if (const json* list = Member(settings, "watchlist")) {
      if (!list->is_array())
        throw std::invalid_argument("settings.watchlist must be a list of customer references");
      for (const auto& c : *list) {
        if (!c.is_string())
          throw std::invalid_argument("settings.watchlist must hold customer references (text)");
        watchlist_.insert(c.get<std::string>());
      }
    }
    if (const json* now = Member(settings, "now")) {
      auto t = now->is_string() ? ParseIsoTime(now->get<std::string>()) : std::nullopt;
      if (!t) throw std::invalid_argument("settings.now must be an ISO-8601 time with a zone");
      now_ms_ = *t;
    }
  }

  json Describe() override {
    return json::parse(R"({
      "description": "Return fraud scoring (an example plugin, examples/plugins/fraud).",
      "operations": [{
        "name": "score_return",
        "description": "Score a return between 0 (clean) and 100 (almost certainly fraud).",
        "side_effects": false,
        "input": [
          {"name": "customer_ref", "type": "text", "required": false},
          {"name": "store_id", "type": "text"},
          {"name": "amount", "type": "money"},
          {"name": "sold_at", "type": "time"},
          {"name": "reason", "type": "text"}
        ],
        "output": [
          {"name": "score", "type": "number"},
          {"name": "reasons", "type": "list"}
        ]
      }]})");
  }

  void Invoke(const rfp::Call& call, rfp::Responder respond) override {
    if (call.operation != "score_return") {
      respond.Fail(RF_ERROR_REJECTED, "fraud has no operation \"" + call.operation + "\"");
      return;
    }
    const json& in = call.input;
    const json* amount = Member(in, "amount");
    auto cents = amount != nullptr ? Cents(*amount) : std::nullopt;
    if (!cents) {
      respond.Fail(RF_ERROR_REJECTED, "amount is required and must be a money amount");
      return;
    }
    std::optional<std::int64_t> sold = ParseIsoTime(TextMember(in, "sold_at"));
    if (!sold) {
      respond.Fail(RF_ERROR_REJECTED, "sold_at is required and must be an ISO-8601 time");
      return;
    }
    const std::string reason = Lower(TextMember(in, "reason"));
    const std::string customer = TextMember(in, "customer_ref");

    int score = 0;
    json reasons = json::array();
    auto add = [&](int points, const std::string& why) {
      score += points;
      reasons.push_back(why);
    };
    if (*cents >= 100000) {
      add(30, "amount over 1000");
    } else if (*cents >= 50000) {
      add(20, "amount over 500");
    } else if (*cents >= 20000) {
      add(10, "amount over 200");
    }
    const std::int64_t now = now_ms_ ? *now_ms_ : WallClockMs();
    if (*sold > now) {
      add(25, "sale time is in the future");
    } else {
      std::int64_t days = (now - *sold) / kDayMs;
      if (days == 0) {
        add(10, "returned on the day of the sale");
      } else if (days > 25) {
        add(15, "late in the return window (" + std::to_string(days) + " days)");
      }
    }
    if (reason.empty() || reason == "other" || reason == "unknown") {
      add(15, "no clear reason given");
    } else if (reason.find("no receipt") != std::string::npos ||
               reason.find("no_receipt") != std::string::npos) {
      add(20, "no receipt");
    } else if (reason.find("changed mind") != std::string::npos ||
               reason.find("changed_mind") != std::string::npos) {
      add(5, "changed mind");
    }
    if (customer.empty()) {
      add(20, "anonymous customer");
    } else if (watchlist_.count(customer) != 0) {
      add(40, "customer on watchlist");
    }
    respond.Ok({{"score", std::min(score, 100)}, {"reasons", reasons}});
  }

 private:
  static std::int64_t WallClockMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  std::set<std::string> watchlist_;
  std::optional<std::int64_t> now_ms_;
};

}  // namespace

RF_CONNECTOR_PLUGIN(FraudConnector)
