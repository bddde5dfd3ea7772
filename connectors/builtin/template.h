// Placeholder templates for configured requests (http, webhook; reusable by other connectors).
//
// A template text contains placeholders `{root.a.b}`: a root name followed by record member
// names, e.g. `{input.location}` or `{input.customer.email}`. Braces that do not form such a
// placeholder are literal text. Values are looked up in a record of roots, e.g.
// {"input": <invocation input>, "call": {"idempotency_key": ..., "correlation_id": ...}}.
//
// JSON templates (request bodies): every string is a text template; a string that is exactly one
// placeholder is replaced by the value itself (keeping its type: number, list, record, ...),
// otherwise the placeholders are interpolated as text. A single placeholder whose value is
// missing removes the member from its object (null in a list).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/value.h"

namespace rf::connectors::tmpl {

// Member lookup along `path` from `root`; nullptr when any step is missing or not a record.
const Value* Lookup(const Value& root, const std::vector<std::string>& path);

// RFC 6901 JSON pointer into a Value ("" = the whole document, "/items/0/sku"); nullptr when the
// pointer does not resolve.
const Value* JsonPointer(const Value& document, std::string_view pointer);
// Syntax check only: "" or starts with '/'.
bool IsJsonPointer(std::string_view pointer);

class TextTemplate {
 public:
  // Fails only on a placeholder whose root is not in `roots` (when `roots` is non-empty).
  static Result<TextTemplate> Parse(std::string_view text,
                                    const std::vector<std::string>& roots = {});

  // True when the whole text is exactly one placeholder.
  bool IsSinglePlaceholder() const;
  // The placeholder paths, e.g. {"input", "location"}.
  std::vector<std::vector<std::string>> Placeholders() const;
  // Display text of each value (text as is, numbers exact, times ISO-8601, lists/records as
  // JSON), optionally percent-encoded. A missing or null value fails when `required`
  // ("input.location is missing") and renders as "" otherwise.
  Result<std::string> Render(const Value& roots, bool percent_encode, bool required) const;
  // For a single placeholder: the value (nullptr when missing).
  const Value* SingleValue(const Value& roots) const;
  const std::string& source() const { return source_; }

 private:
  struct Part {
    std::string literal;            // when path is empty
    std::vector<std::string> path;  // a placeholder
  };
  std::string source_;
  std::vector<Part> parts_;
};

class JsonTemplate {
 public:
  static Result<JsonTemplate> Parse(const nlohmann::json& doc,
                                    const std::vector<std::string>& roots = {});
  // Builds the Value (exact numbers: literals of the template keep their JSON text).
  Result<Value> Render(const Value& roots) const;

 private:
  nlohmann::json doc_;
};

}  // namespace rf::connectors::tmpl
