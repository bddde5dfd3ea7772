// Exact decimal numbers for money and quantities. No binary floating point is involved at any
// point: parsing, arithmetic and printing are all base 10 (Boost.Multiprecision cpp_dec_float).
// Addition, subtraction and multiplication are exact within 38 significant digits; division is
// rounded half-even to kDivisionScale places.
#pragma once

#include <boost/multiprecision/cpp_dec_float.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rf {

class Decimal {
 public:
  static constexpr int kDivisionScale = 18;

  Decimal() = default;
  Decimal(std::int64_t v);  // NOLINT(implicit): integers convert exactly.

  // Accepts optional sign, digits, optional fraction, optional exponent ("12", "-0.50", "1e3").
  // Returns nullopt for anything else (no "nan", no "inf", no hex, no surrounding spaces).
  static std::optional<Decimal> Parse(std::string_view text);

  // Shortest exact form without exponent: "12", "-0.5", "1000", "0.000001".
  std::string ToString() const;
  // Fixed number of places, rounded half-even: ToFixed(2) of 2.345 → "2.34", of 2.355 → "2.36".
  std::string ToFixed(int places) const;

  // Rounded half-even to `places` decimal places (money: Round(2)).
  Decimal Round(int places) const;
  bool IsInteger() const;
  // The integer value if it is an integer that fits in int64.
  std::optional<std::int64_t> ToInt64() const;
  int Sign() const;

  friend Decimal operator+(const Decimal& a, const Decimal& b);
  friend Decimal operator-(const Decimal& a, const Decimal& b);
  friend Decimal operator*(const Decimal& a, const Decimal& b);
  // Division by zero returns nullopt; callers report it as an error of the expression.
  static std::optional<Decimal> Divide(const Decimal& a, const Decimal& b);
  Decimal operator-() const;

  friend bool operator==(const Decimal& a, const Decimal& b);
  friend auto operator<=>(const Decimal& a, const Decimal& b) -> std::strong_ordering;

 private:
  using Rep = boost::multiprecision::number<boost::multiprecision::cpp_dec_float<38>,
                                            boost::multiprecision::et_off>;
  explicit Decimal(Rep r) : rep_(std::move(r)) {}
  Rep rep_;
};

}  // namespace rf
