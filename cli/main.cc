// `retailflow`: the command line for analysts and operators.
//   check FILE... [--catalog F]... [--format text|json] [--strict]
//   graph FILE [--format dot|mermaid]
//   compile FILE
//   fmt FILE... [--check]
//   test [FILES or folders] [--format text|json|junit] [--coverage] (cli/test_cmd.cc)
// Exit codes: 0 clean, 1 errors found (or warnings with --strict, or fmt --check differences),
// 2 bad usage or unreadable files.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <unistd.h>

#include "cli/catalog_files.h"
#include "cli/connectors_cmd.h"
#include "cli/test_cmd.h"
#include "dsl/compiler.h"
#include "dsl/format.h"
#include "dsl/graph.h"
#include "dsl/parser.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/service.h"

namespace fs = std::filesystem;
using namespace rf;

namespace {

using rf::cli::LoadCatalog;
using rf::cli::ReadFile;

struct Loaded {
  std::string path, source;
  dsl::Diagnostics diags;
  std::optional<ir::Machine> machine;
};

int Check(const std::vector<std::string>& files, const std::vector<std::string>& catalogs,
          const std::string& format, bool strict) {
  dsl::Catalog catalog;
  if (!LoadCatalog(files, catalogs, catalog)) return 2;
  size_t errors = 0, warnings = 0;
  bool color = format == "text" && isatty(STDERR_FILENO);
  std::string json_out = "[";
  bool unreadable = false;
  for (const auto& f : files) {
    Loaded l;
    if (!ReadFile(f, l.source)) {
      std::cerr << "retailflow: cannot read " << f << "\n";
      unreadable = true;
      continue;
    }
    l.machine = dsl::CompileSource(l.source, catalog, l.diags);
    errors += l.diags.ErrorCount();
    warnings += l.diags.WarningCount();
    if (format == "json") {
      std::string part = dsl::RenderJson(l.diags.all(), f);
      part = part.substr(1, part.size() - 2);  // strip [ ]
      if (part.find_first_not_of(" \n") != std::string::npos) {
        if (json_out.size() > 1) json_out += ",";
        json_out += part;
      }
    } else {
      for (const auto& d : l.diags.all()) std::cerr << dsl::RenderText(d, f, l.source, color) << "\n";
    }
  }
  if (format == "json") {
    std::cout << json_out << (json_out.size() > 1 ? "\n]\n" : "]\n");
  } else {
    std::cerr << files.size() << " file" << (files.size() == 1 ? "" : "s") << " checked: " << errors
              << " error" << (errors == 1 ? "" : "s") << ", " << warnings << " warning"
              << (warnings == 1 ? "" : "s") << "\n";
  }
  if (unreadable) return 2;
  if (errors > 0 || (strict && warnings > 0)) return 1;
  return 0;
}

int CompileOne(const std::string& file, const std::vector<std::string>& catalogs,
               std::optional<ir::Machine>& machine) {
  dsl::Catalog catalog;
  if (!LoadCatalog({file}, catalogs, catalog)) return 2;
  std::string source;
  if (!ReadFile(file, source)) {
    std::cerr << "retailflow: cannot read " << file << "\n";
    return 2;
  }
  dsl::Diagnostics diags;
  machine = dsl::CompileSource(source, catalog, diags);
  for (const auto& d : diags.all()) std::cerr << dsl::RenderText(d, file, source, isatty(STDERR_FILENO)) << "\n";
  return machine ? 0 : 1;
}

int Fmt(const std::vector<std::string>& files, bool check) {
  int rc = 0;
  for (const auto& f : files) {
    std::string source;
    if (!ReadFile(f, source)) {
      std::cerr << "retailflow: cannot read " << f << "\n";
      return 2;
    }
    dsl::Diagnostics diags;
    dsl::FlowAst ast = dsl::Parse(source, diags);
    if (diags.HasErrors()) {
      diags.Sort();
      for (const auto& d : diags.all()) std::cerr << dsl::RenderText(d, f, source) << "\n";
      std::cerr << "retailflow: " << f << " not formatted: fix the syntax errors first\n";
      rc = 1;
      continue;
    }
    std::string formatted = dsl::Format(ast);
    if (formatted == source) continue;
    if (check) {
      std::cout << f << " is not formatted\n";
      rc = 1;
      continue;
    }
    // Write through a temporary file so an interrupted fmt never leaves half a flow.
    std::string tmp = f + ".fmt-tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << formatted;
      if (!out) {
        std::cerr << "retailflow: cannot write " << tmp << "\n";
        return 2;
      }
    }
    std::error_code ec;
    fs::rename(tmp, f, ec);
    if (ec) {
      std::cerr << "retailflow: cannot replace " << f << ": " << ec.message() << "\n";
      return 2;
    }
    std::cout << "formatted " << f << "\n";
  }
  return rc;
}

// The folder of the running binary (resolves "{exe_dir}" in plugin_dirs).
std::string ExeDir(const char* argv0) {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) self = fs::absolute(argv0, ec);
  return self.parent_path().string();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"retailflow: retail workflows, checked and run durably"};
  app.require_subcommand(1);
  int rc = 0;

  std::vector<std::string> files, catalogs;
  std::string format = "text";
  bool strict = false, check_only = false;

  auto* check = app.add_subcommand("check", "Check .flow files and report every error and warning");
  check->add_option("files", files, "Flow files")->required()->check(CLI::ExistingFile);
  check->add_option("--catalog", catalogs, "Extra connector catalog file or directory");
  check->add_option("--format", format, "text or json")->check(CLI::IsMember({"text", "json"}));
  check->add_flag("--strict", strict, "Treat warnings as errors");
  check->callback([&] { rc = Check(files, catalogs, format, strict); });

  std::string file;
  std::string graph_format = "dot";
  auto* graph = app.add_subcommand("graph", "Draw the state machine (Graphviz DOT or Mermaid)");
  graph->add_option("file", file, "Flow file")->required()->check(CLI::ExistingFile);
  graph->add_option("--format", graph_format, "dot or mermaid")->check(CLI::IsMember({"dot", "mermaid"}));
  graph->add_option("--catalog", catalogs, "Extra connector catalog file or directory");
  graph->callback([&] {
    std::optional<ir::Machine> m;
    rc = CompileOne(file, catalogs, m);
    if (m) std::cout << (graph_format == "dot" ? dsl::ToDot(*m) : dsl::ToMermaid(*m));
  });

  auto* compile = app.add_subcommand("compile", "Print the compiled state machine as JSON");
  compile->add_option("file", file, "Flow file")->required()->check(CLI::ExistingFile);
  compile->add_option("--catalog", catalogs, "Extra connector catalog file or directory");
  compile->callback([&] {
    std::optional<ir::Machine> m;
    rc = CompileOne(file, catalogs, m);
    if (m) std::cout << ir::ToJson(*m) << "\n";
  });

  auto* fmt = app.add_subcommand("fmt", "Rewrite .flow files in the canonical layout");
  fmt->add_option("files", files, "Flow files")->required()->check(CLI::ExistingFile);
  fmt->add_flag("--check", check_only, "Only report files that are not formatted");
  fmt->callback([&] { rc = Fmt(files, check_only); });

  std::string config_file;
  bool print_default = false;
  auto* serve = app.add_subcommand("serve", "Run the service: HTTP API, engine, connectors (docs/service.md)");
  serve->add_option("--config", config_file, "Configuration file (JSON with comments); default: embedded")
      ->check(CLI::ExistingFile);
  serve->add_flag("--print-default-config", print_default, "Print the embedded default configuration and exit");
  server::ServeOverrides overrides;
  serve->add_option("--listen", overrides.listen, "host:port to listen on (port 0: any free port), over the config");
  serve->add_option("--data-dir", overrides.data_dir, "Data directory, over the config");
  serve->add_option("--workflows", overrides.workflow_dirs, "Workflow folder(s), over the config");
  serve->add_flag("--adjustable-clock", overrides.adjustable_clock,
                  "Demos and tests only: allow POST /v1/admin/clock to move time forward");
  serve->callback([&] {
    if (print_default) {
      std::cout << server::EmbeddedDefaultConfig();
      return;
    }
    rc = server::ServeMain(config_file, ExeDir(argv[0]), overrides);
  });

  auto* token = app.add_subcommand("token", "Bearer token utilities");
  token->require_subcommand(1);
  std::string token_text;
  auto* token_hash = token->add_subcommand("hash", "Print SHA-256(token), the form a config file keeps");
  token_hash->add_option("token", token_text, "The token (read from standard input when omitted)");
  token_hash->callback([&] {
    if (token_text.empty()) std::getline(std::cin, token_text);
    std::cout << server::Sha256Hex(token_text) << "\n";
  });
  auto* token_new = token->add_subcommand("new", "Print a fresh random token and its SHA-256");
  token_new->callback([&] {
    std::string t = server::NewToken();
    std::cout << "token:  " << t << "\nsha256: " << server::Sha256Hex(t) << "\n";
  });

  rf::cli::AddConnectorsCommand(app, &rc, ExeDir(argv[0]));
  rf::cli::AddTestCommand(app, &rc);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return rc;
}
