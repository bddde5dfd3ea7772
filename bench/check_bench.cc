// Checks and compiles a generated flow of about 5,000 lines and prints the time it takes.
// Baseline, measured in the same run on the same text: parsing alone (ANTLR lexer + parser +
// AST). The printed ratio shows what the checks and the lowering to IR add on top of parsing.
// Usage: rf_bench_check [LINES] [REPEATS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "dsl/compiler.h"
#include "dsl/parser.h"

namespace {

// A long but realistic flow: blocks of step / decide / wait / approval / parallel / for each.
std::string Generate(int target_lines) {
  std::string s =
      "workflow big version 1\n  \"Generated for the benchmark.\"\n\nuses pos, inventory, odoo, notify\n\n"
      "input\n  store text\n  lines list\n  amount money\n  order_ref text\n";
  int lines = 9;
  int i = 0;
  while (lines < target_lines) {
    std::string n = std::to_string(i);
    std::string next = "s" + std::to_string(i + 1);
    s += "\nstep s" + n + "\n  call inventory.reserve with location = input.store, lines = input.lines, reference = \"r" + n +
         "\"\n  save result as res" + n +
         "\n  timeout 10s\n  retry up to 5 times waiting 2s doubling up to 1m on timeout, unavailable\n"
         "  on error conflict go to out_of_stock\n  undo call inventory.release with reservation_id = res" + n +
         ".reservation_id\n  then go to d" + n + "\n";
    s += "\ndecide d" + n + "\n  when input.amount > " + std::to_string(100 + i) + " and count(input.lines) > 2 go to a" + n +
         "\n  when res" + n + ".status == \"partial\" go to w" + n + "\n  otherwise go to w" + n + "\n";
    s += "\napproval a" + n + "\n  ask store_manager \"Approve {input.amount} for {input.order_ref} (" + n +
         ")?\"\n  if nobody decides within 4h go to w" + n + "\n  if approved go to w" + n + "\n  if rejected go to declined\n";
    s += "\nwait w" + n + "\n  for event pickup where order_ref == input.order_ref within 2 days\n  save event as ev" + n +
         "\n  on timeout go to p" + n + "\n  then go to p" + n + "\n";
    s += "\nparallel p" + n + "\n  then go to f" + n + "\n  branch one\n    step q" + n +
         "\n      call odoo.read_quants with location = input.store\n      save result as quants" + n +
         "\n  branch two\n    step v" + n + "\n      call inventory.availability with location = input.store\n      save result as avail" + n +
         "\nend\n";
    s += "\nfor each line in input.lines as f" + n + " at most 4 at a time\n  then go to " + next +
         "\n  set c" + n + "\n    sku = line.sku,\n    total = sum(input.lines, item.qty) * 2\nend\n";
    lines += 43;
    ++i;
  }
  s += "\nstep s" + std::to_string(i) + "\n  call notify.send with to = input.order_ref, template = \"done\"\n  on error go to done\n";
  s += "\nfinish done\nfail out_of_stock \"No stock.\"\nfail declined \"Declined.\"\n";
  return s;
}

rf::dsl::Catalog MakeCatalog() {
  rf::dsl::Catalog c;
  rf::Status s = c.AddJson(R"({"format": "retailflow.catalog/1", "connectors": [
    {"name": "pos", "operations": [{"name": "get_sale", "side_effects": false, "input": [{"name": "sale_id", "type": "text"}]}]},
    {"name": "inventory", "operations": [
      {"name": "reserve", "writes": "stock", "input": [{"name": "location", "type": "text"}, {"name": "lines", "type": "list"}, {"name": "reference", "type": "text"}],
       "output": [{"name": "reservation_id", "type": "text"}, {"name": "status", "type": "text"}]},
      {"name": "release", "writes": "stock", "input": [{"name": "reservation_id", "type": "text"}]},
      {"name": "availability", "side_effects": false, "input": [{"name": "location", "type": "text"}]}]},
    {"name": "odoo", "operations": [{"name": "read_quants", "side_effects": false, "input": [{"name": "location", "type": "text"}]}]},
    {"name": "notify", "operations": [{"name": "send", "compensable": false, "input": [{"name": "to", "type": "text"}, {"name": "template", "type": "text"}]}]}]})",
                           "bench");
  if (!s.ok()) {
    std::fprintf(stderr, "catalog: %s\n", s.message().c_str());
    std::exit(1);
  }
  return c;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int target = argc > 1 ? std::atoi(argv[1]) : 5000;
  int repeats = argc > 2 ? std::atoi(argv[2]) : 7;
  std::string source = Generate(target);
  int lines = static_cast<int>(std::count(source.begin(), source.end(), '\n'));
  rf::dsl::Catalog catalog = MakeCatalog();

  std::vector<double> parse_ms, total_ms;
  size_t states = 0;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    rf::dsl::Diagnostics pd;
    rf::dsl::FlowAst ast = rf::dsl::Parse(source, pd);
    auto t1 = std::chrono::steady_clock::now();
    rf::dsl::Diagnostics diags;
    auto machine = rf::dsl::CompileSource(source, catalog, diags);
    auto t2 = std::chrono::steady_clock::now();
    if (!machine || pd.HasErrors()) {
      std::fprintf(stderr, "generated flow does not compile (%zu errors):\n", diags.ErrorCount());
      for (size_t k = 0; k < std::min<size_t>(5, diags.all().size()); ++k)
        std::fprintf(stderr, "%s\n", rf::dsl::RenderText(diags.all()[k], "gen", source).c_str());
      return 1;
    }
    states = machine->main.states.size();
    parse_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    total_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
  }
  double p = Median(parse_ms), t = Median(total_ms);
  std::printf("check+compile of a generated flow: %d lines, %zu top-level states, %d runs\n", lines, states, repeats);
  std::printf("  parse only (baseline)      median %8.1f ms\n", p);
  std::printf("  parse + check + compile    median %8.1f ms   (%.2fx the parse alone; target < 500 ms)\n", t, t / p);
  return 0;
}
