#include "server/router.h"

#include <uriparser/Uri.h>

#include <algorithm>
#include <set>

#include "common/utf8.h"

namespace rf::server {

namespace {

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> segs;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    segs.push_back(path.substr(i, j - i));
    i = j;
  }
  return segs;
}

bool IsParam(std::string_view seg) { return seg.size() > 2 && seg.front() == '{' && seg.back() == '}'; }

bool IsName(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  if (!(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

bool IsId(std::string_view s) {
  if (s.empty() || s.size() > 200) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

std::string List(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out;
}

}  // namespace

std::vector<Outcome> Route::AllOutcomes() const {
  std::vector<Outcome> all = outcomes;
  auto add = [&](int status, const char* what) {
    if (std::none_of(all.begin(), all.end(), [&](const Outcome& o) { return o.status == status; }))
      all.push_back({status, what, ""});
  };
  // Every route refuses unknown query parameters; the HTTP layer refuses badly framed requests.
  add(400, body ? "malformed request: bad path or query parameter (invalid_request, invalid_utf8) or body "
                  "(invalid_json, invalid_utf8, too_deep, invalid_request)"
                : "malformed request: bad path or query parameter (invalid_request, invalid_utf8)");
  if (!IsPublic()) add(401, "no or invalid credentials");
  if (ByToken()) {
    add(403, "the token lacks the role");
    add(429, "rate limited (Retry-After)");
  }
  if (body) add(413, "body too large");
  add(500, "internal error (the message carries the request id; details are in the service log)");
  add(503, "overloaded (Retry-After) or not ready");
  std::sort(all.begin(), all.end(), [](const Outcome& a, const Outcome& b) { return a.status < b.status; });
  return all;
}

bool Route::Declares(int status) const {
  auto all = AllOutcomes();
  return std::any_of(all.begin(), all.end(), [&](const Outcome& o) { return o.status == status; });
}

void RouteTable::Add(Route r) { routes_.push_back(std::move(r)); }

RouteMatch RouteTable::Match(std::string_view method, std::string_view path) const {
  RouteMatch m;
  auto segs = Segments(path);
  for (const auto& r : routes_) {
    auto pat = Segments(r.pattern);
    if (pat.size() != segs.size()) continue;
    std::map<std::string, std::string> params;
    bool same = true;
    for (size_t i = 0; i < pat.size() && same; ++i) {
      if (IsParam(pat[i]))
        params[std::string(pat[i].substr(1, pat[i].size() - 2))] = PercentDecode(segs[i]);
      else
        same = pat[i] == segs[i];
    }
    if (!same) continue;
    m.path_known = true;
    if (r.method == method) {
      m.route = &r;
      m.params = std::move(params);
      return m;
    }
  }
  return m;
}

std::string PercentDecode(std::string_view s) {
  if (s.empty()) return {};
  std::vector<char> buf(s.begin(), s.end());
  buf.push_back('\0');
  const char* end = uriUnescapeInPlaceExA(buf.data(), URI_FALSE, URI_BR_DONT_TOUCH);
  return std::string(static_cast<const char*>(buf.data()), end);
}

std::optional<Refusal> CheckParams(const Route& r, const std::map<std::string, std::string>& params) {
  for (const auto& p : r.params) {
    auto it = params.find(p.name);
    if (it == params.end()) continue;
    const std::string& v = it->second;
    if (!IsValidUtf8(v)) return Refusal{"invalid_utf8", "the path parameter " + p.name + " is not valid UTF-8"};
    if (p.kind == ParamKind::kName && !IsName(v))
      return Refusal{"invalid_request", "the path parameter " + p.name +
                                            " must be a name: a letter or _, then letters, digits or _ (at most 128)"};
    if (p.kind == ParamKind::kId && !IsId(v))
      return Refusal{"invalid_request", "the path parameter " + p.name +
                                            " must be 1-200 printable ASCII characters without spaces"};
  }
  return std::nullopt;
}

std::optional<Refusal> ParseQuery(const Route& r, std::string_view query, std::map<std::string, std::string>* out) {
  out->clear();
  if (query.empty()) return std::nullopt;
  std::vector<std::string> names;
  for (const auto& q : r.query) names.push_back(q.name);
  const std::string allowed = names.empty() ? "this route takes no query parameters" : "allowed: " + List(names);
  UriQueryListA* list = nullptr;
  int count = 0;
  std::string text(query);
  if (uriDissectQueryMallocA(&list, &count, text.data(), text.data() + text.size()) != URI_SUCCESS)
    return Refusal{"invalid_request", "the query string is malformed"};
  std::optional<Refusal> refusal;
  for (UriQueryListA* p = list; p && !refusal; p = p->next) {
    std::string key = p->key ? p->key : "";
    std::string value = p->value ? p->value : "";
    if (!IsValidUtf8(key) || !IsValidUtf8(value)) {
      refusal = Refusal{"invalid_utf8", "a query parameter is not valid UTF-8"};
      break;
    }
    auto spec = std::find_if(r.query.begin(), r.query.end(), [&](const QueryParam& q) { return q.name == key; });
    if (spec == r.query.end()) {
      refusal = Refusal{"invalid_request", "unknown query parameter " + EscapeForMessage(key, 40) + " (" + allowed + ")"};
      break;
    }
    if (out->count(key)) {
      refusal = Refusal{"invalid_request", "the query parameter " + key + " is given twice"};
      break;
    }
    switch (spec->type) {
      case QueryParam::Type::kEnum:
        if (std::find(spec->allowed.begin(), spec->allowed.end(), value) == spec->allowed.end())
          refusal = Refusal{"invalid_request", key + " must be one of " + List(spec->allowed) + ", not " +
                                                   EscapeForMessage(value, 40)};
        break;
      case QueryParam::Type::kInteger: {
        bool digits = !value.empty() && value.size() <= 18 &&
                      std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
        std::int64_t n = digits ? std::stoll(value) : -1;
        if (!digits || n < spec->min || n > spec->max)
          refusal = Refusal{"invalid_request", key + " must be a whole number from " + std::to_string(spec->min) +
                                                   " to " + std::to_string(spec->max)};
        break;
      }
      case QueryParam::Type::kText:
        if (spec->valid && !spec->valid(value))
          refusal = Refusal{"invalid_request", key + " must be " + spec->valid_what};
        break;
    }
    if (!refusal) (*out)[key] = value;
  }
  uriFreeQueryListA(list);
  return refusal;
}

}  // namespace rf::server
