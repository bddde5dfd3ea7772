// Expressions as analysts write them, parsed by dsl/ and evaluated by the IR evaluator.
#include <gtest/gtest.h>

#include "common/time_text.h"
#include "dsl/parser.h"
#include "engine/ir/eval.h"

namespace rf {
namespace {

class ExpressionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto data = Value::FromJson(R"({
      "input": {"lines": [{"sku": "A", "qty": 2, "unit_price": 19.99, "original_line_id": "l1"},
                          {"sku": "B", "qty": 1, "unit_price": 5.05, "original_line_id": "l2"}],
                "store": "PAR-01", "tolerance": 0},
      "sale": {"refundable": {"l1": 2, "l2": 0}, "occurred_at": "2026-11-01T10:00:00Z"},
      "odoo_stock": {"items": [{"sku": "A", "quantity": 7}, {"sku": "C", "quantity": 1}]}
    })");
    ASSERT_TRUE(data.ok()) << data.status().message();
    data_ = std::move(*data).as_record();
    scope_.frames = {&data_};
    scope_.now = *ParseTime("2026-11-27T08:00:00Z");
  }

  Result<Value> Eval(const std::string& text) {
    dsl::Diagnostics diags;
    ir::ExprPtr e = dsl::ParseExpression(text, {1, 1}, diags);
    if (e == nullptr) return Status::InvalidArgument("does not parse: " + text);
    return ir::Evaluate(e, scope_);
  }

  std::string Json(const std::string& text) {
    auto v = Eval(text);
    return v.ok() ? v->ToJson() : "error: " + v.status().message();
  }

  Record data_;
  ir::Scope scope_;
};

TEST_F(ExpressionTest, MoneyIsExact) {
  EXPECT_EQ("45.03", Json("sum(input.lines, item.qty * item.unit_price)"));
  EXPECT_EQ("true", Json("0.1 + 0.2 == 0.3"));
  EXPECT_EQ("15.01", Json("round(45.03 / 3, 2)"));
  EXPECT_EQ("\"12.50\"", Json("fixed(12.5, 2)"));
  EXPECT_EQ("\"0.12\"", Json("fixed(0.125, 2)"));
}

TEST_F(ExpressionTest, RecordIndexedByTextKey) {
  EXPECT_EQ("2", Json("sale.refundable[\"l1\"]"));
  EXPECT_EQ("true", Json("any(input.lines, item.qty > coalesce(sale.refundable[item.original_line_id], 0))"));
  EXPECT_EQ("null", Json("sale.refundable[\"nope\"]"));
  EXPECT_NE(std::string::npos, Json("sale.refundable[1]").find("error: a record can only be indexed by a text key"));
}

TEST_F(ExpressionTest, FindAndFilter) {
  EXPECT_EQ("7", Json("find(odoo_stock.items, item.sku == \"A\").quantity"));
  EXPECT_EQ("null", Json("find(odoo_stock.items, item.sku == \"Z\")"));
  EXPECT_EQ("0", Json("coalesce(find(odoo_stock.items, item.sku == \"Z\").quantity, 0)"));
  EXPECT_EQ(R"([{"quantity":1,"sku":"C"}])", Json("filter(odoo_stock.items, item.quantity < 5)"));
  EXPECT_EQ("[]", Json("filter(odoo_stock.items, false)"));
  EXPECT_NE(std::string::npos, Json("filter(odoo_stock.items, item.sku)").find("error: filter needs a condition"));
}

TEST_F(ExpressionTest, TimesFromPlainJsonText) {
  EXPECT_EQ("true", Json("now() - sale.occurred_at > 25 days"));
  EXPECT_EQ("false", Json("now() - sale.occurred_at > 30 days"));
}

TEST_F(ExpressionTest, InterpolatedText) {
  EXPECT_EQ("\"Store PAR-01 has 2 lines\"", Json("\"Store {input.store} has {count(input.lines)} lines\""));
}

}  // namespace
}  // namespace rf
