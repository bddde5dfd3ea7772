// Evaluation of IR expressions over instance data. Pure: no I/O, no clock of its own (now() is
// given in the Scope), deterministic.
//
// Semantics (docs/language.md explains them to analysts):
// - Names resolve in the scope's frames, innermost first (a for-each item shadows instance data).
// - A missing record field or an out-of-range index is null, not an error (`sale.note` on a sale
//   without a note); a field of null is null. `record[text]` reads a field chosen at run time.
//   Indexing anything else, or a field of a number, is an error.
// - Numbers are exact decimals. + - * on numbers; `/` rounds half-even to Decimal::kDivisionScale
//   places; division by zero is an error. `+` on two texts concatenates; text + other → error.
//   time + duration → time; time - duration → time; time - time → duration; duration ± duration,
//   duration * number.
// - Text that is an ISO-8601 time (or a duration like "2h") is accepted where a time (duration)
//   is required, because plain JSON carries them as text.
// - == and != compare any two values (different kinds are unequal, except number vs number and
//   time/duration vs their text form). < <= > >= need two numbers, two texts, two times or two
//   durations. `x in list` is membership; `x in text` is substring.
// - and/or/not need bools and short-circuit; null is not a bool (error), so conditions on
//   optional data should test `x != null` first.
// Functions: count(list|text|record), sum(list [, expr over `item`]), min(list), max(list),
//   any(list, cond over `item`), all(list, cond over `item`), find(list, cond over `item`) →
//   first match or null, filter(list, cond over `item`) → matching elements, now(), lower(t), upper(t),
//   trim(t), round(n [, places]), abs(n), length(t), contains(t|list, x), starts_with(t, p),
//   days(n)/hours(n)/minutes(n) → duration, date(time) → "YYYY-MM-DD", text(x), number(t),
//   coalesce(a, b, ...) → first non-null, fixed(n, places) → text with exactly `places` decimals
//   ("12.50").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/value.h"
#include "engine/ir/machine.h"

namespace rf::ir {

struct Scope {
  // Innermost last. Each frame is a record of names (instance data, for-each item, ...).
  std::vector<const Record*> frames;
  Time now;
};

// Errors are InvalidArgument with a message naming the expression, e.g.
// "cannot compare money 500 with text \"abc\" in sale.total > \"abc\"".
Result<Value> Evaluate(const ExprPtr& e, const Scope& scope);

// The functions above with their arity, for the checker: {name, min_args, max_args}.
struct FunctionInfo {
  std::string_view name;
  int min_args;
  int max_args;  // -1 = any
  bool binds_item;  // second argument is evaluated per list element with `item` bound
};
const std::vector<FunctionInfo>& Functions();

}  // namespace rf::ir
