// Diagnostics for analysts: `file:line:col: error|warning: message`, the source line, a caret
// under the spot, and a hint where one helps.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/ir/machine.h"

namespace rf::dsl {

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string code;      // stable identifier, e.g. "unknown-state" (docs/language.md lists all)
  ir::SourceLoc loc;
  int length = 1;        // columns to underline
  std::string message;
  std::string hint;      // may be empty
};

// Keeps the first kMaxKept diagnostics reported and counts the others, so that a file with a
// million mistakes costs no more to check (or to show) than one with a hundred. Counts are of
// every diagnostic reported, kept or not.
class Diagnostics {
 public:
  static constexpr size_t kMaxKept = 100;

  void Error(std::string code, ir::SourceLoc loc, int length, std::string message,
             std::string hint = {});
  void Warning(std::string code, ir::SourceLoc loc, int length, std::string message,
               std::string hint = {});
  bool HasErrors() const { return errors_ > 0; }
  size_t ErrorCount() const { return errors_; }
  size_t WarningCount() const { return warnings_; }
  // True once kMaxKept diagnostics are kept: further ones are only counted, so a caller may skip
  // the work of composing their messages (suggestions, lists of names).
  bool Full() const { return kept_ >= kMaxKept; }
  // The kept diagnostics; after Sort, the last one is a `too-many-diagnostics` summary when some
  // were not kept ("... and 1234 more errors").
  const std::vector<Diagnostic>& all() const { return list_; }
  // Sorted by position, errors before warnings at the same spot, duplicates removed.
  void Sort();

 private:
  void Add(Diagnostic d);

  std::vector<Diagnostic> list_;
  size_t kept_ = 0;  // list_ without the summary
  size_t errors_ = 0;
  size_t warnings_ = 0;
  size_t dropped_errors_ = 0;
  size_t dropped_warnings_ = 0;
  ir::SourceLoc first_dropped_;
  bool summarised_ = false;  // list_.back() is the summary
};

// Text form with source excerpt and caret; `source` is the whole file.
std::string RenderText(const Diagnostic& d, std::string_view file, std::string_view source,
                       bool color = false);
// One JSON object per diagnostic: {"file","line","column","length","severity","code","message","hint"}.
std::string RenderJson(const std::vector<Diagnostic>& ds, std::string_view file);

// The candidate closest to `word` by edit distance, if close enough to be a plausible typo.
std::string Suggest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace rf::dsl
