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

class Diagnostics {
 public:
  void Error(std::string code, ir::SourceLoc loc, int length, std::string message,
             std::string hint = {});
  void Warning(std::string code, ir::SourceLoc loc, int length, std::string message,
               std::string hint = {});
  bool HasErrors() const;
  size_t ErrorCount() const;
  size_t WarningCount() const;
  const std::vector<Diagnostic>& all() const { return list_; }
  // Sorted by position, errors before warnings at the same spot, duplicates removed.
  void Sort();

 private:
  std::vector<Diagnostic> list_;
};

// Text form with source excerpt and caret; `source` is the whole file.
std::string RenderText(const Diagnostic& d, std::string_view file, std::string_view source,
                       bool color = false);
// One JSON object per diagnostic: {"file","line","column","length","severity","code","message","hint"}.
std::string RenderJson(const std::vector<Diagnostic>& ds, std::string_view file);

// The candidate closest to `word` by edit distance, if close enough to be a plausible typo.
std::string Suggest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace rf::dsl
