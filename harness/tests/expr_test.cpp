// Expressions (scenario/expr.h) and typed variables in strings (scenario/template.h).
#include "scenario/expr.h"

#include <gtest/gtest.h>

#include "scenario/template.h"

namespace sockspec {
namespace {

using scenario::Captures;
using scenario::eval;
using scenario::parse_expr;
using scenario::VarValues;

// The value of `text` over `vars`, or the parse/evaluation error as a string.
std::string run(const std::string& text, const VarValues& vars = {}) {
  auto p = parse_expr(text);
  if (!p.expr) return "parse: " + p.error;
  auto v = eval(*p.expr, vars);
  if (!v.error.empty()) return "eval: " + v.error;
  return std::to_string(v.value);
}

TEST(Expr, ArithmeticAndPrecedence) {
  EXPECT_EQ(run("1 + 2 * 3"), "7");
  EXPECT_EQ(run("(1 + 2) * 3"), "9");
  EXPECT_EQ(run("10 - 4 - 3"), "3");  // left-associative
  EXPECT_EQ(run("7 / 2"), "3");
  EXPECT_EQ(run("-7 % 3"), "-1");
  EXPECT_EQ(run("0x10 + 0XfF"), "271");
  EXPECT_EQ(run("1 << 4 | 1"), "17");
  EXPECT_EQ(run("0x8180 & 0x8000"), "32768");
  EXPECT_EQ(run("(0x8180 & 0x8000) != 0"), "1");
  EXPECT_EQ(run("6 ^ 3"), "5");
  EXPECT_EQ(run("~0"), "-1");
  EXPECT_EQ(run("!0 + !5"), "1");
  EXPECT_EQ(run("3 < 4 && 4 <= 4 && 5 > 4 && 5 >= 6"), "0");
  EXPECT_EQ(run("0 || 2"), "1");
  EXPECT_EQ(run("1 == 1 != 0"), "1");
  EXPECT_EQ(run("-9223372036854775808"), "-9223372036854775808");
  EXPECT_EQ(run("9223372036854775807"), "9223372036854775807");
  EXPECT_EQ(run(" - - 3 "), "3");
  EXPECT_EQ(run("-16 >> 2"), "-4");
}

TEST(Expr, ErrorsAreReportedNeverUndefined) {
  EXPECT_EQ(
      run("9223372036854775807 + 1"),
      "eval: expression \"9223372036854775807 + 1\": 9223372036854775807 + 1 overflows int64");
  EXPECT_NE(run("1 / 0").find("division by zero"), std::string::npos);
  EXPECT_NE(run("1 % (2 - 2)").find("division by zero"), std::string::npos);
  EXPECT_NE(run("-9223372036854775808 / -1").find("overflows"), std::string::npos);
  EXPECT_EQ(run("-9223372036854775808 % -1"), "0");
  EXPECT_NE(run("-(-9223372036854775808)").find("overflows"), std::string::npos);
  EXPECT_NE(run("1 << 64").find("shift count outside 0..63"), std::string::npos);
  EXPECT_NE(run("1 >> -1").find("shift count outside 0..63"), std::string::npos);
  EXPECT_NE(run("1 << 63").find("overflows"), std::string::npos);
  EXPECT_EQ(run("-1 << 63"), "-9223372036854775808");
  EXPECT_NE(run("3037000500 * 3037000500").find("overflows"), std::string::npos);
  EXPECT_NE(run("9223372036854775808").find("outside the int64 range"), std::string::npos);
  // && and || do not evaluate the side that cannot matter.
  EXPECT_EQ(run("0 && 1 / 0"), "0");
  EXPECT_EQ(run("1 || 1 / 0"), "1");
}

TEST(Expr, SyntaxErrorsSayWhere) {
  EXPECT_EQ(run("(1 + 2"), "parse: expected ) at the end in expression \"(1 + 2\"");
  EXPECT_EQ(
      run("1 +"),
      "parse: expected a number, ${name}, len(${name}) or ( at the end in expression \"1 +\"");
  EXPECT_NE(run("1 2").find("unexpected \"2\" at offset 2"), std::string::npos);
  EXPECT_NE(run("").find("empty expression"), std::string::npos);
  EXPECT_NE(run("0x").find("hex digits"), std::string::npos);
  EXPECT_NE(run("12ab").find("bad digit"), std::string::npos);
  EXPECT_NE(run("${nope.x}").find("unknown variable ${nope.x}"), std::string::npos);
  EXPECT_NE(run("${a").find("unterminated ${"), std::string::npos);
  EXPECT_NE(run("${target.host} + 1").find("is not a number"), std::string::npos);
  EXPECT_NE(run("len(${i})").find("len() takes a bytes variable"), std::string::npos);
  EXPECT_NE(run("len ${a}").find("expected ( after len"), std::string::npos);
  EXPECT_NE(run(std::string(100, '(') + "1" + std::string(100, ')')).find("nested more than"),
            std::string::npos);
  std::string chain = "1";
  for (int k = 0; k < 1500; ++k) chain += "+1";
  EXPECT_NE(run(chain).find("operators deep"), std::string::npos);
  EXPECT_NE(run(std::string(5000, '1')).find("longer than"), std::string::npos);
}

TEST(Expr, VariablesAndTheirTypes) {
  Captures caps;
  caps.set_integer("block", 7);
  caps.set("n", "42");
  caps.set("neg", "-5");
  caps.set("data", std::string("ab\0c", 4));
  caps.set("word", "abc");
  VarValues v;
  v.captures = &caps;
  v.i = 3;
  v.target_port = 8080;
  EXPECT_EQ(run("${block} + 1", v), "8");
  EXPECT_EQ(run("${n} * 2 + ${neg}", v), "79");
  EXPECT_EQ(run("len(${data}) < 512", v), "1");
  EXPECT_EQ(run("len( ${data} )", v), "4");
  EXPECT_EQ(run("${i} + ${target.port}", v), "8083");
  EXPECT_EQ(run("${word} + 1", v),
            "eval: expression \"${word} + 1\": ${word} is \"abc\", not a decimal integer (an "
            "expression reads bytes only as ASCII digits)");
  EXPECT_NE(run("len(${block})", v).find("${block} is the integer 7"), std::string::npos);
  EXPECT_NE(run("${missing}", v).find("${missing} has not been captured"), std::string::npos);
  EXPECT_NE(run("${client}", v).find("${client} used outside a parallel"), std::string::npos);

  auto p = parse_expr("${a} + ${b} * ${a} + len(${c}) + ${i}");
  ASSERT_TRUE(p.expr);
  std::vector<std::string> names;
  for (const auto& r : p.expr->refs) names.push_back(scenario::ref_text(r));
  EXPECT_EQ(names, (std::vector<std::string>{"${a}", "${b}", "${c}", "${i}"}));
  EXPECT_FALSE(p.expr->constant());
  EXPECT_EQ(parse_expr("2 * 3").expr->constant(), 6);
  EXPECT_EQ(scenario::constant_expr(-4).constant(), -4);
}

TEST(Template, IntegersAreDecimalBytesAreRawAndDollarDollarIsLiteral) {
  Captures caps;
  caps.set_integer("next", 513);
  caps.set("id", std::string("\x00\xff", 2));
  VarValues v;
  v.captures = &caps;
  v.i = 9;
  EXPECT_EQ(scenario::expand("n=${next} i=${i}", v).text, "n=513 i=9");
  EXPECT_EQ(scenario::expand("[${id}]", v).text, std::string("[\x00\xff]", 4));
  EXPECT_EQ(scenario::expand("$${next} costs $5 and $${", v).text, "${next} costs $5 and ${");
  EXPECT_EQ(scenario::expand("$$${i}", v).text, "$${i}");  // "$" then $${ (a literal ${) then "i}"
  EXPECT_TRUE(scenario::scan_vars("$${not a var}").refs.empty());
  EXPECT_TRUE(scenario::scan_vars("$${not a var}").error.empty());
  EXPECT_EQ(caps.describe(), "next=513, id=\"\\x00\\xff\"");
  caps.set("next", "x");  // a name may change type when it is bound again
  EXPECT_EQ(scenario::expand("${next}", v).text, "x");
}

}  // namespace
}  // namespace sockspec
