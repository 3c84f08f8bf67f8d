// Integer expressions in scenarios ("${block} + 1", "len(${data}) < 512"): parsed once when a
// file is validated, evaluated over the variables when a step runs. Pure.
//
// Grammar, loosest first (each level left-associative):
//   ||   &&   == != < <= > >=   |   ^   &   << >>   + -   * / %   unary - ! ~   primary
//   primary: decimal or 0x hex integer | ${name} | len(${name}) | ( expr )
// Arithmetic is int64; overflow, division by zero and shifts outside 0..63 are errors that
// name the expression, never undefined behaviour. Comparisons, ! && || give 0 or 1; && and ||
// evaluate their right side only when the left does not decide.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scenario/template.h"

namespace sockspec::scenario {

struct Expr {
  enum class Op : uint8_t {
    constant,
    var,  // ${name}: an integer, or bytes that are ASCII decimal digits
    len,  // len(${name}): the byte length of a bytes value
    neg,
    lnot,
    bnot,
    mul,
    div,
    mod,
    add,
    sub,
    shl,
    shr,
    band,
    bxor,
    bor,
    eq,
    ne,
    lt,
    le,
    gt,
    ge,
    land,
    lor
  };
  struct Node {
    Op op = Op::constant;
    int64_t value = 0;      // Op::constant
    uint32_t ref = 0;       // Op::var, Op::len: index into refs
    uint32_t a = 0, b = 0;  // operands: indices into nodes
  };

  std::string source;        // as written, for messages
  std::vector<VarRef> refs;  // every variable it reads, in order of first use, each once
  std::vector<Node> nodes;   // operands before their operators; the root last

  // The value when the expression reads no variable.
  std::optional<int64_t> constant() const;
};

struct ExprParse {
  std::optional<Expr> expr;
  std::string error;  // "expected ) at the end in expression \"(${a} + 1\"" and the like
};
// Syntax only: names are known variables (parse_ref), not yet bound ones; the caller checks
// those against its scope with `refs`. ${target.host} is refused (it is no number).
ExprParse parse_expr(std::string_view text);
// A JSON integer given where an expression may be.
Expr constant_expr(int64_t v);

struct ExprValue {
  int64_t value = 0;
  std::string error;  // non-empty: `expression "X": what went wrong`
};
ExprValue eval(const Expr& e, const VarValues& vars);

}  // namespace sockspec::scenario
