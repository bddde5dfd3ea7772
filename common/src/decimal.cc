#include "common/decimal.h"

#include <boost/multiprecision/cpp_int.hpp>
#include <compare>
#include <cstddef>
#include <ios>
#include <limits>
#include <string>
#include <utility>

namespace rf {

namespace {

using Rep = boost::multiprecision::number<boost::multiprecision::cpp_dec_float<38>,
                                          boost::multiprecision::et_off>;
using BigInt = boost::multiprecision::cpp_int;

// Values keep at most this many significant digits; longer results are rounded half-even.
// (cpp_dec_float<38> guarantees 38 digits; the guard digits it keeps beyond that are not exact
// after a multiplication, so they are never shown or compared.)
constexpr std::int64_t kSignificantDigits = 38;

// Parse rejects a non-zero number when the power of ten of its first significant digit is outside
// -1000..1000 (so 1e1000 and 1e-1000 are accepted, 1e1001 and 1e-1001 are not). Zero is accepted
// with any exponent.
constexpr std::int64_t kMaxParseExponent = 1000;

// A decimal split into its exact parts: value = (neg ? -1 : 1) * digits * 10^exp, where `digits`
// has no leading or trailing zeros ("0" with exp 0 and neg false for zero).
struct Parts {
  bool neg = false;
  std::string digits = "0";
  std::int64_t exp = 0;
  bool zero() const { return digits == "0"; }
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Strips leading and trailing zeros from `digits` (adjusting exp) and normalises zero.
Parts Normalize(bool neg, std::string digits, std::int64_t exp) {
  std::size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return Parts{};
  digits.erase(0, first);
  std::size_t last = digits.find_last_not_of('0');
  exp += static_cast<std::int64_t>(digits.size() - 1 - last);
  digits.erase(last + 1);
  return Parts{neg, std::move(digits), exp};
}

// Exact digits of a cpp_dec_float value. All stored digits are printed (precision 0 means "all"
// for cpp_dec_float), so nothing is rounded here.
Parts Decompose(const Rep& r) {
  if (r.is_zero()) return Parts{};
  const std::string s = r.str(0, std::ios_base::scientific);
  std::size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
    neg = s[i] == '-';
    ++i;
  }
  std::string digits;
  std::int64_t frac_digits = 0;
  bool after_point = false;
  for (; i < s.size() && (IsDigit(s[i]) || s[i] == '.'); ++i) {
    if (s[i] == '.') {
      after_point = true;
      continue;
    }
    digits.push_back(s[i]);
    if (after_point) ++frac_digits;
  }
  std::int64_t exp = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool exp_neg = false;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
      exp_neg = s[i] == '-';
      ++i;
    }
    for (; i < s.size() && IsDigit(s[i]); ++i) exp = exp * 10 + (s[i] - '0');
    if (exp_neg) exp = -exp;
  }
  if (digits.empty()) return Parts{};  // Not finite; cannot happen for parsed values.
  return Normalize(neg, std::move(digits), exp - frac_digits);
}

Rep Compose(const Parts& p) {
  if (p.zero()) return Rep(0);
  std::string text;
  text.reserve(p.digits.size() + 24);
  if (p.neg) text.push_back('-');
  text += p.digits;
  text.push_back('e');
  text += std::to_string(p.exp);
  return Rep(text.c_str());
}

// Adds one to a string of decimal digits ("199" -> "200", "" -> "1", "99" -> "100").
std::string Increment(std::string digits) {
  for (std::size_t i = digits.size(); i-- > 0;) {
    if (digits[i] == '9') {
      digits[i] = '0';
    } else {
      ++digits[i];
      return digits;
    }
  }
  digits.insert(digits.begin(), '1');
  return digits;
}

// Rounds half-even to `places` decimal places, exactly, on the digit string.
Parts RoundParts(const Parts& p, int places) {
  if (p.zero() || p.exp >= -static_cast<std::int64_t>(places)) return p;
  const std::int64_t drop = -static_cast<std::int64_t>(places) - p.exp;  // > 0
  const auto len = static_cast<std::int64_t>(p.digits.size());
  if (drop > len) return Parts{};  // |value| < 0.1 * 10^-places: rounds to zero.
  std::string kept = p.digits.substr(0, static_cast<std::size_t>(len - drop));
  const std::string dropped = p.digits.substr(static_cast<std::size_t>(len - drop));
  bool up;
  if (dropped[0] != '5') {
    up = dropped[0] > '5';
  } else if (dropped.size() > 1) {
    up = true;  // Trailing zeros were stripped, so anything after the 5 makes it above half.
  } else {
    const int last = kept.empty() ? 0 : kept.back() - '0';
    up = (last % 2) != 0;  // Exactly half: round to even.
  }
  if (up) kept = Increment(std::move(kept));
  if (kept.empty()) return Parts{};
  return Normalize(p.neg, std::move(kept), -static_cast<std::int64_t>(places));
}

// Rounds half-even to kSignificantDigits significant digits.
Parts RoundSignificant(const Parts& p) {
  const auto len = static_cast<std::int64_t>(p.digits.size());
  if (len <= kSignificantDigits) return p;
  return RoundParts(p, static_cast<int>(-(p.exp + (len - kSignificantDigits))));
}

// The canonical form of an arithmetic result: at most kSignificantDigits digits, and zero
// without a sign.
Rep Canonical(const Rep& r) {
  if (r.is_zero()) return Rep(0);
  const Parts p = Decompose(r);
  if (static_cast<std::int64_t>(p.digits.size()) <= kSignificantDigits) return r;
  return Compose(RoundSignificant(p));
}

}  // namespace

Decimal::Decimal(std::int64_t v) : rep_(static_cast<long long>(v)) {}

std::optional<Decimal> Decimal::Parse(std::string_view text) {
  std::size_t i = 0;
  const std::size_t n = text.size();
  bool neg = false;
  if (i < n && (text[i] == '+' || text[i] == '-')) {
    neg = text[i] == '-';
    ++i;
  }
  std::string digits;
  const std::size_t int_start = i;
  while (i < n && IsDigit(text[i])) digits.push_back(text[i++]);
  if (i == int_start) return std::nullopt;  // At least one integer digit (".5" is rejected).
  std::int64_t frac_digits = 0;
  if (i < n && text[i] == '.') {
    ++i;
    const std::size_t frac_start = i;
    while (i < n && IsDigit(text[i])) digits.push_back(text[i++]);
    if (i == frac_start) return std::nullopt;  // "1." is rejected.
    frac_digits = static_cast<std::int64_t>(i - frac_start);
  }
  std::int64_t exp = 0;
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool exp_neg = false;
    if (i < n && (text[i] == '+' || text[i] == '-')) {
      exp_neg = text[i] == '-';
      ++i;
    }
    const std::size_t exp_start = i;
    for (; i < n && IsDigit(text[i]); ++i) {
      if (exp < 1'000'000'000) exp = exp * 10 + (text[i] - '0');  // Saturates; checked below.
    }
    if (i == exp_start) return std::nullopt;  // "1e" is rejected.
    if (exp_neg) exp = -exp;
  }
  if (i != n) return std::nullopt;
  if (digits.size() > 100'000) return std::nullopt;
  Parts p = Normalize(neg, std::move(digits), exp - frac_digits);
  if (p.zero()) return Decimal();
  const std::int64_t sci_exp = p.exp + static_cast<std::int64_t>(p.digits.size()) - 1;
  if (sci_exp > kMaxParseExponent || sci_exp < -kMaxParseExponent) return std::nullopt;
  return Decimal(Compose(RoundSignificant(p)));
}

std::string Decimal::ToString() const {
  // Fast path for whole numbers that fit in an int64 (counters, ids, quantities): printing through
  // Boost's string conversion costs microseconds, and snapshots are full of such numbers.
  if (std::optional<std::int64_t> small = ToInt64()) return std::to_string(*small);
  const Parts p = Decompose(rep_);
  if (p.zero()) return "0";
  std::string out;
  if (p.neg) out.push_back('-');
  if (p.exp >= 0) {
    out += p.digits;
    out.append(static_cast<std::size_t>(p.exp), '0');
    return out;
  }
  const auto len = static_cast<std::int64_t>(p.digits.size());
  const std::int64_t int_len = len + p.exp;  // Digits before the point.
  if (int_len > 0) {
    out.append(p.digits, 0, static_cast<std::size_t>(int_len));
    out.push_back('.');
    out.append(p.digits, static_cast<std::size_t>(int_len), std::string::npos);
  } else {
    out += "0.";
    out.append(static_cast<std::size_t>(-int_len), '0');
    out += p.digits;
  }
  return out;
}

std::string Decimal::ToFixed(int places) const {
  const Parts r = RoundParts(Decompose(rep_), places);
  if (places <= 0) return Decimal(Compose(r)).ToString();
  // Integer digits of |value| * 10^places.
  std::string scaled = r.zero() ? "0" : r.digits;
  if (!r.zero()) scaled.append(static_cast<std::size_t>(r.exp + places), '0');
  const auto p = static_cast<std::size_t>(places);
  if (scaled.size() <= p) scaled.insert(0, p + 1 - scaled.size(), '0');
  std::string out;
  if (r.neg && !r.zero()) out.push_back('-');
  out.append(scaled, 0, scaled.size() - p);
  out.push_back('.');
  out.append(scaled, scaled.size() - p, std::string::npos);
  return out;
}

Decimal Decimal::Round(int places) const {
  return Decimal(Compose(RoundParts(Decompose(rep_), places)));
}

bool Decimal::IsInteger() const {
  const Parts p = Decompose(rep_);
  return p.zero() || p.exp >= 0;
}

std::optional<std::int64_t> Decimal::ToInt64() const {
  // Whole numbers well inside the int64 range convert directly, without going through text.
  static const Rep kLimit(static_cast<long long>(1000000000000000000LL));
  if (rep_.is_zero()) return std::int64_t{0};
  if (rep_ < kLimit && rep_ > -kLimit) {
    if (boost::multiprecision::floor(rep_) != rep_) return std::nullopt;
    return static_cast<std::int64_t>(rep_.convert_to<long long>());
  }
  const Parts p = Decompose(rep_);
  if (p.zero()) return std::int64_t{0};
  if (p.exp < 0) return std::nullopt;
  if (static_cast<std::int64_t>(p.digits.size()) + p.exp > 19) return std::nullopt;
  std::uint64_t magnitude = 0;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  auto push = [&](unsigned digit) {
    if (magnitude > (kMax - digit) / 10) return false;
    magnitude = magnitude * 10 + digit;
    return true;
  };
  for (char c : p.digits) {
    if (!push(static_cast<unsigned>(c - '0'))) return std::nullopt;
  }
  for (std::int64_t k = 0; k < p.exp; ++k) {
    if (!push(0)) return std::nullopt;
  }
  constexpr auto kInt64Max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (p.neg) {
    if (magnitude > kInt64Max + 1) return std::nullopt;
    if (magnitude == kInt64Max + 1) return std::numeric_limits<std::int64_t>::min();
    return -static_cast<std::int64_t>(magnitude);
  }
  if (magnitude > kInt64Max) return std::nullopt;
  return static_cast<std::int64_t>(magnitude);
}

int Decimal::Sign() const {
  if (rep_.is_zero()) return 0;
  return rep_.sign() < 0 ? -1 : 1;
}

Decimal operator+(const Decimal& a, const Decimal& b) {
  return Decimal(Canonical(a.rep_ + b.rep_));
}

Decimal operator-(const Decimal& a, const Decimal& b) {
  return Decimal(Canonical(a.rep_ - b.rep_));
}

Decimal operator*(const Decimal& a, const Decimal& b) {
  return Decimal(Canonical(a.rep_ * b.rep_));
}

std::optional<Decimal> Decimal::Divide(const Decimal& a, const Decimal& b) {
  const Parts pb = Decompose(b.rep_);
  if (pb.zero()) return std::nullopt;
  const Parts pa = Decompose(a.rep_);
  if (pa.zero()) return Decimal();
  // a / b = (da / db) * 10^(ea - eb). The result is N * 10^-S with N = round_half_even(a / b *
  // 10^S), computed exactly with big integers as (da * 10^k) / db, k = ea - eb + S (the divisor
  // is scaled instead when k is negative). When N would have more than kSignificantDigits
  // digits, the rounding position moves left (`cut` places) so that it is rounded only once.
  const std::int64_t k0 = pa.exp - pb.exp + kDivisionScale;
  const auto la = static_cast<std::int64_t>(pa.digits.size());
  const auto lb = static_cast<std::int64_t>(pb.digits.size());
  // da * 10^k0 / db lies in (10^(n - 1), 10^(n + 1)) for n = la + k0 - lb.
  const std::int64_t n_digits = la + k0 - lb;
  if (n_digits < -1) return Decimal();  // Below 0.1 * 10^-S: rounds to zero.
  std::int64_t cut = n_digits > kSignificantDigits ? n_digits - kSignificantDigits : 0;
  const BigInt da(pa.digits);
  const BigInt db(pb.digits);
  const BigInt limit =
      boost::multiprecision::pow(BigInt(10), static_cast<unsigned>(kSignificantDigits));
  BigInt q;
  BigInt rem;
  BigInt den;
  while (true) {
    const std::int64_t k = k0 - cut;
    BigInt num = da;
    den = db;
    if (k >= 0) {
      num *= boost::multiprecision::pow(BigInt(10), static_cast<unsigned>(k));
    } else {
      den *= boost::multiprecision::pow(BigInt(10), static_cast<unsigned>(-k));
    }
    boost::multiprecision::divide_qr(num, den, q, rem);
    if (q < limit) break;
    ++cut;  // One digit too many: round one place further left.
  }
  const BigInt twice = rem * 2;
  if (twice > den || (twice == den && (q & 1) != 0)) ++q;
  if (q == 0) return Decimal();
  const Parts p = Normalize(pa.neg != pb.neg, q.str(), cut - kDivisionScale);
  return Decimal(Compose(p));
}

Decimal Decimal::operator-() const {
  if (rep_.is_zero()) return Decimal();
  return Decimal(-rep_);
}

bool operator==(const Decimal& a, const Decimal& b) { return a.rep_.compare(b.rep_) == 0; }

auto operator<=>(const Decimal& a, const Decimal& b) -> std::strong_ordering {
  const int c = a.rep_.compare(b.rep_);
  if (c < 0) return std::strong_ordering::less;
  if (c > 0) return std::strong_ordering::greater;
  return std::strong_ordering::equal;
}

}  // namespace rf
