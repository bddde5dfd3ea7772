// Placeholder templates. See template.h.
#include "connectors/builtin/template.h"

#include <algorithm>

#include "connectors/builtin/http_client.h"

namespace rf::connectors::tmpl {
namespace {

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

// Parses "a.b.c" into names; false when not a placeholder body.
bool ParsePath(std::string_view body, std::vector<std::string>& out) {
  out.clear();
  size_t start = 0;
  while (true) {
    size_t dot = body.find('.', start);
    std::string_view name = body.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (name.empty()) return false;
    for (char c : name) {
      if (!IsNameChar(c)) return false;
    }
    out.emplace_back(name);
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string PathText(const std::vector<std::string>& path) {
  std::string s;
  for (const auto& p : path) s += (s.empty() ? "" : ".") + p;
  return s;
}

}  // namespace

const Value* Lookup(const Value& root, const std::vector<std::string>& path) {
  const Value* v = &root;
  for (const auto& name : path) {
    v = v->Find(name);
    if (v == nullptr) return nullptr;
  }
  return v;
}

bool IsJsonPointer(std::string_view pointer) { return pointer.empty() || pointer[0] == '/'; }

const Value* JsonPointer(const Value& document, std::string_view pointer) {
  if (!IsJsonPointer(pointer)) return nullptr;
  const Value* v = &document;
  size_t pos = 0;
  while (pos < pointer.size()) {
    size_t next = pointer.find('/', pos + 1);
    std::string_view raw = pointer.substr(pos + 1, next == std::string_view::npos
                                                       ? std::string_view::npos
                                                       : next - pos - 1);
    pos = next == std::string_view::npos ? pointer.size() : next;
    std::string token;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '~' && i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
        token.push_back(raw[i + 1] == '0' ? '~' : '/');
        ++i;
      } else {
        token.push_back(raw[i]);
      }
    }
    if (v->is_record()) {
      v = v->Find(token);
      if (v == nullptr) return nullptr;
    } else if (v->is_list()) {
      if (token.empty() || token.size() > 9 ||
          token.find_first_not_of("0123456789") != std::string::npos ||
          (token.size() > 1 && token[0] == '0')) {
        return nullptr;
      }
      size_t index = std::stoul(token);
      if (index >= v->as_list().size()) return nullptr;
      v = &v->as_list()[index];
    } else {
      return nullptr;
    }
  }
  return v;
}

Result<TextTemplate> TextTemplate::Parse(std::string_view text,
                                         const std::vector<std::string>& roots) {
  TextTemplate t;
  t.source_ = std::string(text);
  std::string literal;
  size_t i = 0;
  while (i < text.size()) {
    std::vector<std::string> path;
    if (text[i] == '{') {
      size_t close = text.find('}', i + 1);
      if (close != std::string_view::npos && ParsePath(text.substr(i + 1, close - i - 1), path) &&
          path.size() >= 1) {
        if (!roots.empty() && std::find(roots.begin(), roots.end(), path[0]) == roots.end()) {
          std::string allowed;
          for (const auto& r : roots) allowed += (allowed.empty() ? "" : ", ") + r;
          return Status::InvalidArgument("placeholder {" + PathText(path) +
                                         "} must start with one of: " + allowed);
        }
        if (!literal.empty()) t.parts_.push_back({std::move(literal), {}});
        literal.clear();
        t.parts_.push_back({{}, std::move(path)});
        i = close + 1;
        continue;
      }
    }
    literal.push_back(text[i]);
    ++i;
  }
  if (!literal.empty()) t.parts_.push_back({std::move(literal), {}});
  return t;
}

bool TextTemplate::IsSinglePlaceholder() const {
  return parts_.size() == 1 && !parts_[0].path.empty();
}

std::vector<std::vector<std::string>> TextTemplate::Placeholders() const {
  std::vector<std::vector<std::string>> out;
  for (const auto& p : parts_) {
    if (!p.path.empty()) out.push_back(p.path);
  }
  return out;
}

const Value* TextTemplate::SingleValue(const Value& roots) const {
  if (!IsSinglePlaceholder()) return nullptr;
  return Lookup(roots, parts_[0].path);
}

Result<std::string> TextTemplate::Render(const Value& roots, bool percent_encode,
                                         bool required) const {
  std::string out;
  for (const auto& p : parts_) {
    if (p.path.empty()) {
      out += p.literal;
      continue;
    }
    const Value* v = Lookup(roots, p.path);
    if (v == nullptr || v->is_null()) {
      if (required) return Status::InvalidArgument(PathText(p.path) + " is missing");
      continue;
    }
    std::string text = v->ToDisplayString();
    out += percent_encode ? http::PercentEncode(text) : text;
  }
  return out;
}

Result<JsonTemplate> JsonTemplate::Parse(const nlohmann::json& doc,
                                         const std::vector<std::string>& roots) {
  // Validate every string now so that configuration errors show at creation.
  std::vector<const nlohmann::json*> stack{&doc};
  while (!stack.empty()) {
    const nlohmann::json* j = stack.back();
    stack.pop_back();
    if (j->is_string()) {
      auto t = TextTemplate::Parse(j->get_ref<const std::string&>(), roots);
      if (!t.ok()) return t.status();
    } else if (j->is_structured()) {
      for (const auto& child : *j) stack.push_back(&child);
    }
  }
  JsonTemplate t;
  t.doc_ = doc;
  return t;
}

namespace {

// nullopt = drop (a single placeholder with a missing value).
Result<std::optional<Value>> RenderNode(const nlohmann::json& j, const Value& roots) {
  if (j.is_string()) {
    auto t = TextTemplate::Parse(j.get_ref<const std::string&>());
    if (!t.ok()) return t.status();
    if (t->IsSinglePlaceholder()) {
      const Value* v = t->SingleValue(roots);
      if (v == nullptr) return std::optional<Value>();
      return std::optional<Value>(*v);
    }
    auto text = t->Render(roots, false, false);
    if (!text.ok()) return text.status();
    return std::optional<Value>(Value(std::move(*text)));
  }
  if (j.is_object()) {
    Record r;
    for (const auto& [k, child] : j.items()) {
      auto v = RenderNode(child, roots);
      if (!v.ok()) return v.status();
      if (*v) r.emplace(k, std::move(**v));
    }
    return std::optional<Value>(Value(std::move(r)));
  }
  if (j.is_array()) {
    List l;
    for (const auto& child : j) {
      auto v = RenderNode(child, roots);
      if (!v.ok()) return v.status();
      l.push_back(*v ? std::move(**v) : Value());
    }
    return std::optional<Value>(Value(std::move(l)));
  }
  // Literal scalar: through its JSON text, so a configured 19.99 stays 19.99.
  auto v = Value::FromJson(j.dump());
  if (!v.ok()) return v.status();
  return std::optional<Value>(std::move(*v));
}

}  // namespace

Result<Value> JsonTemplate::Render(const Value& roots) const {
  auto v = RenderNode(doc_, roots);
  if (!v.ok()) return v.status();
  return *v ? std::move(**v) : Value();
}

}  // namespace rf::connectors::tmpl
