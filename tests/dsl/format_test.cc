// fmt: canonical layout that parses back to the same tree, keeps comments, and is idempotent.
#include <gtest/gtest.h>

#include <regex>

#include "dsl/compiler.h"
#include "dsl/format.h"
#include "dsl/parser.h"
#include "test_support.h"

namespace rf::dsl {
namespace {

using rf::testing::ReadText;

// The IR without source line numbers: what fmt must preserve exactly.
std::string IrWithoutLines(const std::string& source) {
  Diagnostics diags;
  auto m = CompileSource(source, rf::testing::ShippedCatalog(), diags);
  if (!m) {
    std::string all;
    for (const auto& d : diags.all()) all += RenderText(d, "input", source);
    ADD_FAILURE() << "does not compile:\n" << all << "\n---\n" << source;
    return {};
  }
  return std::regex_replace(ir::ToJson(*m), std::regex("\"line\": [0-9]+,?\\s*"), "");
}

std::string FormatSource(const std::string& source) {
  Diagnostics diags;
  FlowAst ast = Parse(source, diags);
  EXPECT_FALSE(diags.HasErrors()) << source;
  return Format(ast);
}

class ShippedFlowFormat : public ::testing::TestWithParam<std::filesystem::path> {};

TEST_P(ShippedFlowFormat, FormattedFileParsesBackToTheSameMachine) {
  std::string source = ReadText(GetParam());
  std::string formatted = FormatSource(source);
  EXPECT_EQ(IrWithoutLines(source), IrWithoutLines(formatted));
}

TEST_P(ShippedFlowFormat, FormatIsIdempotent) {
  std::string once = FormatSource(ReadText(GetParam()));
  EXPECT_EQ(once, FormatSource(once));
}

TEST_P(ShippedFlowFormat, ShippedFileIsAlreadyFormatted) {
  std::string source = ReadText(GetParam());
  EXPECT_EQ(source, FormatSource(source)) << "run `retailflow fmt " << GetParam().string() << "`";
}

TEST_P(ShippedFlowFormat, EveryCommentSurvives) {
  std::string source = ReadText(GetParam());
  std::string formatted = FormatSource(source);
  std::regex comment("#[^\n]*");
  for (auto it = std::sregex_iterator(source.begin(), source.end(), comment); it != std::sregex_iterator(); ++it) {
    std::string text = it->str();
    while (!text.empty() && text.back() == ' ') text.pop_back();
    EXPECT_NE(formatted.find(text), std::string::npos) << "lost comment: " << text;
  }
}

INSTANTIATE_TEST_SUITE_P(Workflows, ShippedFlowFormat, ::testing::ValuesIn(rf::testing::ShippedFlows()),
                         [](const auto& info) { return info.param.stem().string(); });

TEST(Format, MessyLayoutBecomesCanonical) {
  const std::string messy = R"(workflow   tidy   version 2 "Tidy me."
uses pos   input sale_id text  note text optional
step   look   call pos.get_sale   with sale_id=input.sale_id save result as sale
  retry up to 3 times waiting 1s multiplying by 1.5 up to 10s with jitter on timeout,unavailable
  on error not_found go to gone   # nobody knows this sale
decide big when sale.totals.total>100 and not (sale.currency=="USD") go to done otherwise go to done
finish done "Done {sale.receipt_no}."   fail gone "No sale."
)";
  const std::string expected = R"(workflow tidy version 2
  "Tidy me."

uses pos

input
  sale_id text
  note text optional

# nobody knows this sale
step look
  call pos.get_sale with sale_id = input.sale_id
  save result as sale
  retry up to 3 times waiting 1s multiplying by 1.5 up to 10s with jitter on timeout, unavailable
  on error not_found go to gone

decide big
  when sale.totals.total > 100 and not sale.currency == "USD" go to done
  otherwise go to done

finish done "Done {sale.receipt_no}."
fail gone "No sale."
)";
  EXPECT_EQ(expected, FormatSource(messy));
  EXPECT_EQ(IrWithoutLines(messy), IrWithoutLines(expected));
}

TEST(Format, LongArgumentListsBreakOnePerLine) {
  const std::string src = R"(workflow w version 1
uses odoo
input ref text
step create
  call odoo.create_picking with picking_type = "outgoing", from_location = "PAR-01", to_location = "transit", lines = [], origin = input.ref
  save result as picking
  undo call odoo.cancel_picking with picking_id = picking.picking_id
finish
)";
  std::string out = FormatSource(src);
  EXPECT_NE(out.find("  call odoo.create_picking with\n    picking_type = \"outgoing\",\n    from_location = \"PAR-01\",\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(IrWithoutLines(src), IrWithoutLines(out));
}

TEST(Format, NestedBlocksAreIndented) {
  const std::string src = R"(workflow w version 1
uses inventory, odoo
input store text
parallel both
branch a
step read_a
call inventory.availability with location = input.store
save result as a
branch b
step read_b
call odoo.read_quants with location = input.store
save result as b
end
for each line in a.items as each_line at most 4 at a time
set one
x = line.sku
end
finish
)";
  std::string out = FormatSource(src);
  EXPECT_NE(out.find("parallel both\n  branch a\n    step read_a\n      call inventory.availability"), std::string::npos) << out;
  EXPECT_NE(out.find("for each line in a.items as each_line at most 4 at a time\n  set one\n    x = line.sku\nend\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(IrWithoutLines(src), IrWithoutLines(out));
}

TEST(Format, StringsKeepEscapesAndInterpolation) {
  const std::string src =
      "workflow w version 1\ninput n text\nfinish \"Say \\\"hi\\\" to {lower(input.n)} \\{literal\\}\"\n";
  std::string out = FormatSource(src);
  EXPECT_EQ(IrWithoutLines(src), IrWithoutLines(out));
  EXPECT_EQ(out, FormatSource(out));
}

}  // namespace
}  // namespace rf::dsl
