// The .flow checker corpus: every file in tests/dsl/corpus/ is a small flow that states, in
// comment lines at its top, exactly which diagnostics `retailflow check` must report for it:
//
//   # expect: LINE:COL error|warning CODE "substring of the message"
//   # expect-hint: LINE:COL "substring of the hint of a diagnostic at LINE:COL"
//
// A file's diagnostics must match its expectations exactly (no missing, no extra). Files named
// ok_*.flow must compile to a machine without a single diagnostic. On top of the corpus this
// file checks positions and the caret rendering, and feeds 2000 mutated corpus files (seeded,
// deterministic) through the compiler: it must never crash and always say something sensible.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/catalog.h"
#include "dsl/compiler.h"
#include "dsl/diagnostics.h"

namespace rf::dsl {
namespace {

namespace fs = std::filesystem;

const fs::path kCorpusDir = fs::path(RF_SOURCE_DIR) / "tests" / "dsl" / "corpus";
const fs::path kCatalogDir = fs::path(RF_SOURCE_DIR) / "workflows" / "connectors";

// The shipped catalog has no operation that writes an entity owned by another system, so the
// `not-system-of-record` check needs one more connector: a warehouse system that moves stock,
// although the inventory platform is the system of record for stock (owners in retail.json).
constexpr std::string_view kTestCatalog = R"json({
  "format": "retailflow.catalog/1",
  "connectors": [{
    "name": "wms",
    "system": "wms",
    "description": "Test only: a warehouse management system that is not the system of record for stock.",
    "operations": [{
      "name": "move_stock",
      "description": "Move quantities between two bins.",
      "writes": "stock",
      "input": [{"name": "location", "type": "text"}, {"name": "lines", "type": "list"}],
      "output": [{"name": "move_id", "type": "text"}]
    }]
  }]
})json";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const Catalog& TheCatalog() {
  static const Catalog* catalog = [] {
    auto* c = new Catalog();
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(kCatalogDir))
      if (e.path().extension() == ".json") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      Status s = c->AddJson(ReadFile(f), f.filename().string());
      if (!s.ok()) ADD_FAILURE() << "cannot load catalog " << f << ": " << s.message();
    }
    Status s = c->AddJson(kTestCatalog, "corpus_test.cc");
    if (!s.ok()) ADD_FAILURE() << "cannot load the test catalog: " << s.message();
    return c;
  }();
  return *catalog;
}

struct Compiled {
  Diagnostics diags;
  bool has_machine = false;
};

Compiled CompileText(std::string_view source) {
  Compiled c;
  c.has_machine = CompileSource(source, TheCatalog(), c.diags).has_value();
  return c;
}

const char* SevName(Severity s) { return s == Severity::kError ? "error" : "warning"; }

// ------------------------------------------------------------------------------- expectations

struct Expect {
  int line = 0;
  int column = 0;
  Severity severity = Severity::kError;
  std::string code;
  std::string text;  // substring of the message
  int source_line = 0;
};

struct ExpectHint {
  int line = 0;
  int column = 0;
  std::string text;  // substring of the hint
  int source_line = 0;
};

struct CorpusFile {
  std::string name;  // file name, e.g. "unknown_state_suggestion.flow"
  std::string source;
  std::vector<Expect> expects;
  std::vector<ExpectHint> hints;
  std::vector<std::string> problems;  // malformed expectation lines
};

std::vector<std::string> Lines(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string_view::npos) {
      out.emplace_back(s.substr(start));
      break;
    }
    out.emplace_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  for (auto& l : out)
    if (!l.empty() && l.back() == '\r') l.pop_back();
  return out;
}

// In the quoted part of an expectation, \" stands for " and \\ for \; other backslashes stay.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\')) ++i;
    out += s[i];
  }
  return out;
}

CorpusFile LoadCorpusFile(const fs::path& p) {
  static const std::regex expect_re(
      R"re(^\s*#\s*expect:\s*(\d+):(\d+)\s+(error|warning)\s+([a-z][a-z-]*)\s+"(.*)"\s*$)re");
  static const std::regex hint_re(R"re(^\s*#\s*expect-hint:\s*(\d+):(\d+)\s+"(.*)"\s*$)re");
  static const std::regex any_expect_re(R"(^\s*#\s*expect)");
  CorpusFile f;
  f.name = p.filename().string();
  f.source = ReadFile(p);
  int n = 0;
  for (const std::string& line : Lines(f.source)) {
    ++n;
    std::smatch m;
    if (std::regex_match(line, m, expect_re)) {
      f.expects.push_back({std::stoi(m[1]), std::stoi(m[2]),
                           m[3] == "error" ? Severity::kError : Severity::kWarning, m[4], Unescape(m[5]), n});
    } else if (std::regex_match(line, m, hint_re)) {
      f.hints.push_back({std::stoi(m[1]), std::stoi(m[2]), Unescape(m[3]), n});
    } else if (std::regex_search(line, any_expect_re)) {
      f.problems.push_back("line " + std::to_string(n) + ": malformed expectation: " + line);
    }
  }
  return f;
}

std::vector<fs::path> CorpusPaths() {
  std::vector<fs::path> out;
  if (!fs::is_directory(kCorpusDir)) return out;
  for (const auto& e : fs::directory_iterator(kCorpusDir))
    if (e.path().extension() == ".flow") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

bool IsOkFile(const std::string& name) { return name.rfind("ok_", 0) == 0; }

std::string Describe(const Expect& e) {
  return std::to_string(e.line) + ":" + std::to_string(e.column) + " " + SevName(e.severity) + " " +
         e.code + " \"" + e.text + "\"";
}

std::string Describe(const Diagnostic& d) {
  return std::to_string(d.loc.line) + ":" + std::to_string(d.loc.column) + " " + SevName(d.severity) +
         " " + d.code + " \"" + d.message + "\"" + (d.hint.empty() ? "" : "  (hint: " + d.hint + ")");
}

bool Matches(const Expect& e, const Diagnostic& d) {
  return e.line == d.loc.line && e.column == d.loc.column && e.severity == d.severity &&
         e.code == d.code && d.message.find(e.text) != std::string::npos;
}

// Compares and returns a readable report; empty when everything matches.
std::string Compare(const CorpusFile& f, const Compiled& c) {
  const auto& actual = c.diags.all();
  std::vector<bool> used(actual.size(), false);
  std::vector<const Expect*> missing;
  for (const Expect& e : f.expects) {
    bool found = false;
    for (size_t i = 0; i < actual.size() && !found; ++i) {
      if (!used[i] && Matches(e, actual[i])) used[i] = found = true;
    }
    if (!found) missing.push_back(&e);
  }
  std::vector<const ExpectHint*> missing_hints;
  for (const ExpectHint& h : f.hints) {
    bool found = std::any_of(actual.begin(), actual.end(), [&](const Diagnostic& d) {
      return d.loc.line == h.line && d.loc.column == h.column && d.hint.find(h.text) != std::string::npos;
    });
    if (!found) missing_hints.push_back(&h);
  }
  std::ostringstream out;
  for (const auto& p : f.problems) out << "  " << p << "\n";
  for (const Expect* e : missing) out << "  missing:    " << Describe(*e) << "   (expectation on line " << e->source_line << ")\n";
  for (const ExpectHint* h : missing_hints)
    out << "  missing hint at " << h->line << ":" << h->column << " containing \"" << h->text
        << "\"   (expectation on line " << h->source_line << ")\n";
  for (size_t i = 0; i < actual.size(); ++i)
    if (!used[i]) out << "  unexpected: " << Describe(actual[i]) << "\n";
  const bool ok = IsOkFile(f.name);
  if (ok && !c.has_machine) out << "  an ok_ file must compile to a machine\n";
  if (!ok && f.expects.empty()) out << "  a corpus file must expect at least one diagnostic (or be named ok_*)\n";
  if (c.has_machine == c.diags.HasErrors())
    out << "  a machine must come back exactly when there are no errors (machine: "
        << (c.has_machine ? "yes" : "no") << ", errors: " << c.diags.ErrorCount() << ")\n";
  if (out.str().empty()) return {};
  std::ostringstream report;
  report << f.name << ": the diagnostics differ from the expectations\n" << out.str();
  report << "--- expected (" << f.expects.size() << ")\n";
  for (const Expect& e : f.expects) report << "  " << Describe(e) << "\n";
  report << "--- actual (" << actual.size() << ")\n";
  for (const Diagnostic& d : actual) report << RenderText(d, f.name, f.source);
  return report.str();
}

// ------------------------------------------------------------------------------ corpus tests

std::string TestName(const fs::path& p) {
  std::string n = p.stem().string();
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

class CorpusTest : public ::testing::TestWithParam<fs::path> {};

TEST_P(CorpusTest, DiagnosticsMatchExpectations) {
  CorpusFile f = LoadCorpusFile(GetParam());
  Compiled c = CompileText(f.source);
  std::string report = Compare(f, c);
  EXPECT_TRUE(report.empty()) << report;
}

TEST_P(CorpusTest, CompilingTwiceGivesTheSameDiagnostics) {
  const std::string source = ReadFile(GetParam());
  Compiled a = CompileText(source);
  Compiled b = CompileText(source);
  ASSERT_EQ(a.diags.all().size(), b.diags.all().size());
  for (size_t i = 0; i < a.diags.all().size(); ++i)
    EXPECT_EQ(Describe(a.diags.all()[i]), Describe(b.diags.all()[i]));
}

INSTANTIATE_TEST_SUITE_P(Corpus, CorpusTest, ::testing::ValuesIn(CorpusPaths()),
                         [](const ::testing::TestParamInfo<fs::path>& param) { return TestName(param.param); });

TEST(Corpus, IsLargeEnough) {
  int broken = 0;
  int ok = 0;
  for (const auto& p : CorpusPaths()) (IsOkFile(p.filename().string()) ? ok : broken)++;
  EXPECT_GE(broken, 45);
  EXPECT_GE(ok, 3);
}

// Every (severity, code) that dsl/src can emit appears in some expectation of the corpus. The
// codes are read from the sources, so a new check without a corpus case fails here.
TEST(Corpus, CoversEveryDiagnosticCode) {
  // Codes that no well-formed .flow text can produce through CompileSource:
  //  - internal: the parser's last resort when ANTLR throws. Bytes that are not UTF-8 reach it
  //    today (a known issue, see the robustness test); valid text must not;
  //  - empty-block: the grammar requires at least one state in a branch and in a for-each
  //    body (`stateDecl+`), and anything less is a syntax error, which stops before the checker.
  const std::set<std::string> unreachable = {"error internal", "error empty-block"};
  static const std::regex emit_re(R"re(\b(Error|Warning)\(\s*"([a-z][a-z-]*)")re");
  std::set<std::string> emitted;
  for (const auto& e : fs::directory_iterator(fs::path(RF_SOURCE_DIR) / "dsl" / "src")) {
    if (e.path().extension() != ".cc") continue;
    std::string text = ReadFile(e.path());
    for (std::sregex_iterator it(text.begin(), text.end(), emit_re), end; it != end; ++it)
      emitted.insert(std::string((*it)[1] == "Error" ? "error " : "warning ") + (*it)[2].str());
  }
  ASSERT_FALSE(emitted.empty());
  std::set<std::string> covered;
  for (const auto& p : CorpusPaths())
    for (const Expect& e : LoadCorpusFile(p).expects) covered.insert(std::string(SevName(e.severity)) + " " + e.code);
  for (const std::string& code : emitted) {
    if (unreachable.count(code) != 0) continue;
    EXPECT_TRUE(covered.count(code) != 0) << "no corpus file expects `" << code << "`";
  }
  for (const std::string& code : covered)
    EXPECT_TRUE(emitted.count(code) != 0) << "the corpus expects `" << code << "`, which dsl/src never emits";
}

// What every diagnostic must satisfy, whatever the input: 1-based line and column inside the
// file (an error at the end of the file may sit just after the last character, on the line after
// the last newline), something to underline, a code and a message. Empty when all is well.
std::string PositionProblems(const Diagnostic& d, const std::vector<std::string>& lines) {
  std::string problems;
  if (d.loc.line < 1 || d.loc.line > static_cast<int>(lines.size())) problems += "line outside the file; ";
  if (d.loc.column < 1) problems += "column below 1; ";
  if (d.loc.line >= 1 && d.loc.line <= static_cast<int>(lines.size()) &&
      d.loc.column > static_cast<int>(lines[d.loc.line - 1].size()) + 1)
    problems += "column after the end of its line; ";
  if (d.length < 1) problems += "nothing to underline; ";
  if (d.code.empty() || d.message.empty()) problems += "empty code or message; ";
  return problems;
}

TEST(Corpus, EveryDiagnosticHasAValidPosition) {
  int checked = 0;
  for (const auto& p : CorpusPaths()) {
    const std::string source = ReadFile(p);
    Compiled c = CompileText(source);
    for (const Diagnostic& d : c.diags.all()) {
      EXPECT_EQ(PositionProblems(d, Lines(source)), "") << p.filename() << ": " << Describe(d);
      ++checked;
    }
  }
  EXPECT_GT(checked, 100);
}

// Windows editors save CRLF line ends and sometimes a UTF-8 byte order mark: neither may change
// what the checker says, nor where.
TEST(Corpus, CrLfAndByteOrderMarkGiveTheSameDiagnostics) {
  for (const auto& p : CorpusPaths()) {
    const std::string source = ReadFile(p);
    std::string crlf;
    for (char ch : source) crlf += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
    const std::string bom = "\xEF\xBB\xBF" + source;
    Compiled plain = CompileText(source);
    for (const std::string* variant : std::vector<const std::string*>{&crlf, &bom}) {
      Compiled other = CompileText(*variant);
      std::vector<std::string> a;
      std::vector<std::string> b;
      for (const Diagnostic& d : plain.diags.all()) a.push_back(Describe(d));
      for (const Diagnostic& d : other.diags.all()) b.push_back(Describe(d));
      EXPECT_EQ(a, b) << p.filename() << (variant == &crlf ? " with CRLF line ends" : " with a byte order mark");
    }
  }
}

// The caret line of RenderText: " N | " then the line's characters before the column turned into
// blanks (tabs stay tabs), then ^ and one ~ per further underlined column.
TEST(Corpus, RenderTextShowsTheSourceLineAndACaretAtTheColumn) {
  int checked = 0;
  for (const auto& p : CorpusPaths()) {
    const std::string source = ReadFile(p);
    const std::vector<std::string> lines = Lines(source);
    Compiled c = CompileText(source);
    for (const Diagnostic& d : c.diags.all()) {
      const std::string text = RenderText(d, "f.flow", source);
      const std::string where = "f.flow:" + std::to_string(d.loc.line) + ":" + std::to_string(d.loc.column) + ": " +
                                SevName(d.severity) + ": " + d.message + "\n";
      EXPECT_EQ(text.rfind(where, 0), 0u) << text;
      if (!d.hint.empty()) {
        EXPECT_NE(text.find("hint: " + d.hint), std::string::npos) << text;
      }
      if (d.loc.line > static_cast<int>(lines.size()) || lines[d.loc.line - 1].empty()) continue;
      const std::string& src = lines[d.loc.line - 1];
      if (src.size() > 200) continue;  // a long line is shown as a window (nesting_test.cc)
      const std::string gutter = std::to_string(d.loc.line);
      EXPECT_NE(text.find("\n " + gutter + " | " + src + "\n"), std::string::npos) << text;
      std::string caret = " " + std::string(gutter.size(), ' ') + " | ";
      for (int i = 1; i < d.loc.column && i - 1 < static_cast<int>(src.size()); ++i) caret += src[i - 1] == '\t' ? '\t' : ' ';
      caret += '^';
      EXPECT_NE(text.find("\n" + caret), std::string::npos) << "caret not at column " << d.loc.column << ":\n" << text;
      ++checked;
    }
  }
  EXPECT_GT(checked, 50);
}

TEST(RenderText, ExactLayout) {
  const std::string source =
      "workflow render version 1\n"
      "uses pos\n"
      "step look\n"
      "  call pos.get_sale with sale_id = \"1\"\n"
      "  on error go to finsh\n"
      "finish\n";
  Compiled c = CompileText(source);
  ASSERT_EQ(c.diags.all().size(), 1u) << (c.diags.all().empty() ? "" : Describe(c.diags.all()[0]));
  EXPECT_EQ(RenderText(c.diags.all()[0], "render.flow", source),
            "render.flow:5:18: error: there is no state called `finsh`\n"
            " 5 |   on error go to finsh\n"
            "   |                  ^~~~~\n"
            "   hint: did you mean `finish`?\n");
}

TEST(RenderText, CaretAfterTabsKeepsTheTabs) {
  const std::string source = "workflow tabs version 1\ninput\n\tnote text\n\tfail\t\"no {input.nope} here\"\n";
  Compiled c = CompileText(source);
  ASSERT_EQ(c.diags.all().size(), 1u);
  const Diagnostic& d = c.diags.all()[0];
  EXPECT_EQ(d.code, "unknown-field");
  EXPECT_EQ(d.loc.line, 4);
  EXPECT_EQ(d.loc.column, 18);  // tab, `fail`, tab, `"no {input.` (11 characters), then `nope`
  EXPECT_EQ(RenderText(d, "t.flow", source),
            "t.flow:4:18: error: `input` has no field `nope`\n"
            " 4 | \tfail\t\"no {input.nope} here\"\n"
            "   | \t    \t           ^~~~\n"
            "   hint: did you mean `note`?\n");
}

// One syntax error on each of N lines: the parser recovers and reports all N, in order.
TEST(SyntaxErrors, EveryLineWithAnErrorIsReported) {
  const std::string source =
      "workflow several version 1\n"
      "uses pos\n"
      "step first\n"
      "  call pos.get_sale with sale_id = \"1\"\n"
      "  then goto second\n"                  // 5: `goto`
      "step second\n"
      "  call pos.get_sale with sale_id \"2\"\n"  // 7: no `=`
      "decide third\n"
      "  when input.x = 1 go to done\n"       // 9: `=` instead of `==`
      "  otherwise go to done\n"
      "set fourth x == 2\n"                   // 11: `==` instead of `=`
      "wait fifth for event where k == 1\n"   // 12: no event name
      "finish done\n";
  Compiled c = CompileText(source);
  std::vector<int> lines;
  for (const Diagnostic& d : c.diags.all()) {
    EXPECT_EQ(d.severity, Severity::kError) << Describe(d);
    EXPECT_EQ(d.code, "syntax") << Describe(d);
    lines.push_back(d.loc.line);
  }
  EXPECT_EQ(lines, (std::vector<int>{5, 7, 9, 11, 12})) << [&] {
    std::string all;
    for (const Diagnostic& d : c.diags.all()) all += RenderText(d, "several.flow", source);
    return all;
  }();
  EXPECT_FALSE(c.has_machine);
}

// Not a check: prints what the compiler says about each corpus file (or only the files whose
// name contains $RF_CORPUS_FILE) in the expectation format, to help write a new case. Run with
//   rf_dsl_tests --gtest_also_run_disabled_tests --gtest_filter='*PrintActualDiagnostics'
TEST(Corpus, DISABLED_PrintActualDiagnostics) {
  const char* only = std::getenv("RF_CORPUS_FILE");
  for (const auto& p : CorpusPaths()) {
    if (only != nullptr && p.filename().string().find(only) == std::string::npos) continue;
    const std::string source = ReadFile(p);
    Compiled c = CompileText(source);
    std::cout << "==== " << p.filename().string() << (c.has_machine ? " (compiles)" : "") << "\n";
    for (const Diagnostic& d : c.diags.all()) {
      std::cout << "# expect: " << d.loc.line << ":" << d.loc.column << " " << SevName(d.severity) << " "
                << d.code << " \"" << d.message << "\"\n";
      if (!d.hint.empty()) std::cout << "#   hint: " << d.hint << "\n";
    }
    for (const Diagnostic& d : c.diags.all()) std::cout << RenderText(d, p.filename().string(), source);
  }
}

// ------------------------------------------------------------------------------- robustness

// splitmix64: deterministic on every platform (std:: distributions are not).
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(Next() % n); }

 private:
  uint64_t s_;
};

// Words, numbers, strings, blanks and single other characters.
std::vector<std::string> Tokens(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i + 1;
    const unsigned char ch = static_cast<unsigned char>(s[i]);
    if (std::isalnum(ch) || ch == '_') {
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
    } else if (ch == '"') {
      while (j < s.size() && s[j] != '"' && s[j] != '\n') ++j;
      if (j < s.size() && s[j] == '"') ++j;
    } else if (ch == ' ' || ch == '\t' || ch == '\n') {
      while (j < s.size() && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n')) ++j;
    } else if (ch == '#') {
      while (j < s.size() && s[j] != '\n') ++j;
    }
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string Mutate(const std::string& source, Rng& rng) {
  static const std::vector<std::string> kWords = {
      "workflow", "version", "uses", "input", "every", "in", "with", "optional", "step", "call",
      "save", "result", "as", "timeout", "retry", "up", "to", "times", "waiting", "doubling",
      "multiplying", "by", "jitter", "on", "error", "undo", "then", "go", "decide", "when",
      "otherwise", "wait", "for", "until", "event", "where", "within", "approval", "ask",
      "details", "if", "nobody", "decides", "approved", "rejected", "decision", "parallel",
      "branch", "end", "each", "at", "most", "once", "a", "time", "set", "finish", "fail", "and",
      "or", "not", "true", "false", "null", "==", "=", "{", "}", "[", "]", "(", ")", ".", ",",
      "\"", "\"{", "}\"", "#", "\n", "0", "99999999999999999999", "1h1h", "3 weeks", "2.5",
      "pos.get_sale", "input.lines", "now()", "-", "*", "/", "%", "\\", "\xc3\xa9", "\xff", "\t"};
  static const std::string kBytes = "\"{}[]()#\n\t\\=.,:;$@!<>-+*/%_aZ09 \x01\x7f\xc3\xa9\xff";
  std::vector<std::string> toks = Tokens(source);
  const int rounds = 1 + static_cast<int>(rng.Below(3));
  for (int r = 0; r < rounds && !toks.empty(); ++r) {
    const size_t at = rng.Below(toks.size());
    switch (rng.Below(8)) {
      case 0: toks.erase(toks.begin() + static_cast<long>(at)); break;
      case 1: toks.insert(toks.begin() + static_cast<long>(at), toks[at]); break;
      case 2: std::swap(toks[at], toks[rng.Below(toks.size())]); break;
      case 3: toks.insert(toks.begin() + static_cast<long>(at), " " + kWords[rng.Below(kWords.size())] + " "); break;
      case 4: toks[at] = toks[rng.Below(toks.size())]; break;
      case 5: {  // delete a byte
        std::string& t = toks[at];
        if (!t.empty()) t.erase(rng.Below(t.size()), 1);
        break;
      }
      case 6: {  // insert a byte
        std::string& t = toks[at];
        t.insert(rng.Below(t.size() + 1), 1, kBytes[rng.Below(kBytes.size())]);
        break;
      }
      case 7: toks.resize(at); break;  // truncate
    }
  }
  std::string out;
  for (const auto& t : toks) out += t;
  return out;
}

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t extra = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 4;
    if (extra == 4 || i + extra >= s.size() + (extra == 0 ? 1 : 0)) return false;
    for (size_t k = 1; k <= extra; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += extra + 1;
  }
  return true;
}

TEST(Robustness, MutatedCorpusNeverCrashesAndAlwaysExplains) {
  // Half of the mutants come from valid flows (ok_* and the shipped example), so that many of
  // them get past the parser and exercise the checker; the other half from every corpus file.
  std::vector<std::string> sources;
  std::vector<std::string> valid;
  for (const auto& p : CorpusPaths()) {
    sources.push_back(ReadFile(p));
    if (IsOkFile(p.filename().string())) valid.push_back(sources.back());
  }
  valid.push_back(ReadFile(fs::path(RF_SOURCE_DIR) / "workflows" / "store_return.flow"));
  ASSERT_GE(sources.size(), 2u);
  // RF_CORPUS_SEED and RF_CORPUS_MUTANTS explore further by hand; the default run is fixed.
  const char* seed_env = std::getenv("RF_CORPUS_SEED");
  const char* count_env = std::getenv("RF_CORPUS_MUTANTS");
  Rng rng(seed_env != nullptr ? std::strtoull(seed_env, nullptr, 10) : 20240611);
  const int kMutants = count_env != nullptr ? std::atoi(count_env) : 2000;
  int failures = 0;
  int compiled = 0;
  int checked = 0;  // mutants that reached the checker: no syntax-level diagnostic
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kMutants; ++i) {
    const auto& pool = i % 2 == 0 ? valid : sources;
    const std::string& base = pool[static_cast<size_t>(i / 2) % pool.size()];
    const std::string mutant = Mutate(base, rng);
    Compiled c = CompileText(mutant);
    const std::vector<std::string> lines = Lines(mutant);
    std::string problem;
    for (const Diagnostic& d : c.diags.all()) {
      if (std::string p = PositionProblems(d, lines); !p.empty()) problem += p + Describe(d) + "\n";
      // Known issue (reported): a byte sequence that is not UTF-8 stops the ANTLR input stream,
      // and the parser reports `internal` at 1:1. Only valid UTF-8 must never end up there.
      if (d.code == "internal" && IsValidUtf8(mutant)) problem += "internal error: " + Describe(d) + "\n";
      const std::string text = RenderText(d, "m.flow", mutant);
      const std::string head = "m.flow:" + std::to_string(d.loc.line) + ":" + std::to_string(d.loc.column) + ": ";
      if (text.rfind(head, 0) != 0) problem += "bad rendering: " + text;
    }
    if (c.has_machine == c.diags.HasErrors())
      problem += std::string("machine ") + (c.has_machine ? "and" : "without") + " errors\n";
    if (c.has_machine) ++compiled;
    static const std::set<std::string> kParseCodes = {"syntax", "bad-character", "unclosed-text",
                                                      "interpolation", "bad-duration", "bad-number", "internal"};
    if (std::none_of(c.diags.all().begin(), c.diags.all().end(),
                     [](const Diagnostic& d) { return kParseCodes.count(d.code) != 0; }))
      ++checked;
    if (!problem.empty() && ++failures <= 5)
      ADD_FAILURE() << "mutant " << i << ":\n"
                    << problem << "--- source ---\n" << mutant << "\n--- end ---";
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(failures, 0);
  // The mutants must exercise both layers, and quickly (the budget is well under 20 s).
  EXPECT_GT(checked, kMutants / 10);
  if (count_env == nullptr) {
    EXPECT_LT(seconds, 20.0);
  }
  RecordProperty("mutants_checked", checked);
  RecordProperty("mutants_compiled", compiled);
  std::cout << "[ robustness ] " << kMutants << " mutants: " << checked << " reached the checker, " << compiled
            << " compiled, " << seconds << " s\n";
}

}  // namespace
}  // namespace rf::dsl
