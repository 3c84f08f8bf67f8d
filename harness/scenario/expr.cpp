#include "scenario/expr.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "common/codec.h"

namespace sockspec::scenario {

namespace {

using Op = Expr::Op;

// Bounds that keep parsing and evaluation small whatever a file (or a fuzzer) writes: the
// evaluator recurses once per level of the tree.
constexpr size_t kMaxSource = 4096;
constexpr uint32_t kMaxDepth = 64;        // nested parentheses and unary operators
constexpr uint32_t kMaxTreeDepth = 1000;  // operators in a chain (a + b + c ...)

struct BinaryLevel {
  struct Tok {
    std::string_view text;
    Op op;
  };
  std::vector<Tok> ops;  // longer tokens first where one is a prefix of another
};

// Loosest first; each level's operands are the next level's expressions.
const BinaryLevel kLevels[] = {
    {{{"||", Op::lor}}},
    {{{"&&", Op::land}}},
    {{{"==", Op::eq},
      {"!=", Op::ne},
      {"<=", Op::le},
      {">=", Op::ge},
      {"<", Op::lt},
      {">", Op::gt}}},
    {{{"|", Op::bor}}},
    {{{"^", Op::bxor}}},
    {{{"&", Op::band}}},
    {{{"<<", Op::shl}, {">>", Op::shr}}},
    {{{"+", Op::add}, {"-", Op::sub}}},
    {{{"*", Op::mul}, {"/", Op::div}, {"%", Op::mod}}},
};
constexpr size_t kLevelCount = sizeof kLevels / sizeof kLevels[0];

class ExprParser {
 public:
  explicit ExprParser(std::string_view text) : s_(text) { e_.source = std::string(text); }

  ExprParse run() {
    if (s_.size() > kMaxSource) {
      return {std::nullopt, "expression is longer than " + std::to_string(kMaxSource) + " bytes"};
    }
    skip_space();
    if (pos_ >= s_.size()) return {std::nullopt, "empty expression"};
    auto root = binary(0, 0);
    if (root) {
      skip_space();
      if (pos_ < s_.size()) fail("unexpected " + near());
    }
    if (!err_.empty()) {
      return {std::nullopt, err_ + " in expression \"" + escape_bytes(s_) + "\""};
    }
    return {std::move(e_), ""};
  }

 private:
  std::optional<uint32_t> binary(size_t level, uint32_t depth) {
    if (level == kLevelCount) return unary(depth);
    auto left = binary(level + 1, depth);
    while (left) {
      skip_space();
      const BinaryLevel::Tok* hit = nullptr;
      for (const auto& t : kLevels[level].ops) {
        if (s_.substr(pos_).starts_with(t.text) && !longer_operator(t.text)) {
          hit = &t;
          break;
        }
      }
      if (!hit) break;
      pos_ += hit->text.size();
      auto right = binary(level + 1, depth);
      if (!right) return std::nullopt;
      left = add({hit->op, 0, 0, *left, *right});
      if (!left) return std::nullopt;
    }
    return left;
  }

  // `|` must not take the first half of `||`, `&` of `&&`, `<` of `<<` or `<=`, and so on.
  bool longer_operator(std::string_view t) const {
    if (t.size() != 1 || pos_ + 1 >= s_.size()) return false;
    char next = s_[pos_ + 1];
    switch (t[0]) {
      case '|':
        return next == '|';
      case '&':
        return next == '&';
      case '<':
        return next == '<' || next == '=';
      case '>':
        return next == '>' || next == '=';
      default:
        return false;
    }
  }

  std::optional<uint32_t> unary(uint32_t depth) {
    if (depth > kMaxDepth) return fail("nested more than " + std::to_string(kMaxDepth) + " deep");
    skip_space();
    if (pos_ < s_.size()) {
      char c = s_[pos_];
      Op op = c == '-' ? Op::neg : c == '!' ? Op::lnot : Op::bnot;
      if (c == '-' || (c == '!' && !s_.substr(pos_).starts_with("!=")) || c == '~') {
        ++pos_;
        // -9223372036854775808 is a number, though 9223372036854775808 is not.
        if (op == Op::neg && next_is_min_magnitude()) return add({Op::constant, INT64_MIN});
        auto operand = unary(depth + 1);
        if (!operand) return std::nullopt;
        return add({op, 0, 0, *operand, 0});
      }
    }
    return primary(depth);
  }

  std::optional<uint32_t> primary(uint32_t depth) {
    skip_space();
    if (pos_ >= s_.size()) return fail("expected a number, ${name}, len(${name}) or ( at the end");
    char c = s_[pos_];
    if (c == '(') {
      ++pos_;
      auto inner = binary(0, depth + 1);
      if (!inner) return std::nullopt;
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] != ')') return fail("expected ) " + where());
      ++pos_;
      return inner;
    }
    if (c >= '0' && c <= '9') return number();
    if (s_.substr(pos_).starts_with("${")) {
      auto ref = variable();
      if (!ref) return std::nullopt;
      return add({Op::var, 0, *ref});
    }
    if (s_.substr(pos_).starts_with("len")) {
      pos_ += 3;
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] != '(') return fail("expected ( after len " + where());
      ++pos_;
      skip_space();
      if (!s_.substr(pos_).starts_with("${")) return fail("len takes one ${name} " + where());
      size_t at = pos_;
      auto ref = variable();
      if (!ref) return std::nullopt;
      if (always_integer(e_.refs[*ref])) {
        return fail("len() takes a bytes variable; " + ref_text(e_.refs[*ref]) +
                    " is an integer (offset " + std::to_string(at) + ")");
      }
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] != ')') return fail("expected ) " + where());
      ++pos_;
      return add({Op::len, 0, *ref});
    }
    return fail("expected a number, ${name}, len(${name}) or ( " + where());
  }

  std::optional<uint32_t> number() {
    size_t start = pos_;
    int base = 10;
    if (s_.substr(pos_).starts_with("0x") || s_.substr(pos_).starts_with("0X")) {
      base = 16;
      pos_ += 2;
    }
    uint64_t v = 0;
    size_t digits = 0;
    bool too_big = false;
    while (pos_ < s_.size()) {
      int d = digit(s_[pos_], base);
      if (d < 0) break;
      if (v > (static_cast<uint64_t>(INT64_MAX) - static_cast<uint64_t>(d)) /
                  static_cast<uint64_t>(base)) {
        too_big = true;
      } else {
        v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
      }
      ++pos_;
      ++digits;
    }
    if (digits == 0) return fail("expected hex digits after 0x " + where());
    if (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_'))
      return fail("bad digit " + where());
    if (too_big) {
      return fail("the number " + std::string(s_.substr(start, pos_ - start)) +
                  " is outside the int64 range (offset " + std::to_string(start) + ")");
    }
    return add({Op::constant, static_cast<int64_t>(v)});
  }

  bool next_is_min_magnitude() {
    size_t p = pos_;
    while (p < s_.size() && (s_[p] == ' ' || s_[p] == '\t')) ++p;
    constexpr std::string_view kMin = "9223372036854775808";
    if (!s_.substr(p).starts_with(kMin)) return false;
    size_t end = p + kMin.size();
    if (end < s_.size() && std::isalnum(static_cast<unsigned char>(s_[end]))) return false;
    pos_ = end;
    return true;
  }

  static int digit(char c, int base) {
    if (c >= '0' && c <= '9') return c - '0';
    if (base == 16 && c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (base == 16 && c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // ${name} at pos_: the index of its reference.
  std::optional<uint32_t> variable() {
    size_t open = pos_;
    size_t close = s_.find('}', open + 2);
    if (close == std::string_view::npos)
      return fail("unterminated ${ at offset " + std::to_string(open));
    auto name = s_.substr(open + 2, close - open - 2);
    auto ref = parse_ref(name);
    if (!ref) return fail(unknown_var_message(name));
    if (ref->kind == VarRef::Kind::target_host) return fail("${target.host} is not a number");
    pos_ = close + 1;
    for (size_t k = 0; k < e_.refs.size(); ++k) {
      if (e_.refs[k].kind == ref->kind && e_.refs[k].name == ref->name) {
        return static_cast<uint32_t>(k);
      }
    }
    e_.refs.push_back(*ref);
    return static_cast<uint32_t>(e_.refs.size() - 1);
  }

  std::optional<uint32_t> add(Expr::Node n) {
    uint32_t d = 1;
    bool two = n.op >= Op::mul, one = n.op >= Op::neg;
    if (one) d = std::max(d, depth_[n.a] + 1);
    if (two) d = std::max(d, depth_[n.b] + 1);
    if (d > kMaxTreeDepth) {
      return fail("more than " + std::to_string(kMaxTreeDepth) + " operators deep");
    }
    depth_.push_back(d);
    e_.nodes.push_back(n);
    return static_cast<uint32_t>(e_.nodes.size() - 1);
  }
  void skip_space() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  std::string near() const {
    return "\"" + escape_bytes(s_.substr(pos_, 8)) + "\" at offset " + std::to_string(pos_);
  }
  std::string where() const {
    if (pos_ >= s_.size()) return "at the end";
    return "at offset " + std::to_string(pos_) + " (\"" + escape_bytes(s_.substr(pos_, 8)) + "\")";
  }
  std::nullopt_t fail(std::string why) {
    if (err_.empty()) err_ = std::move(why);
    return std::nullopt;
  }

  std::string_view s_;
  size_t pos_ = 0;
  Expr e_;
  std::vector<uint32_t> depth_;  // of each node's tree
  std::string err_;
};

class Evaluator {
 public:
  Evaluator(const Expr& e, const VarValues& vars) : e_(e), vars_(vars) {}

  ExprValue run() {
    ExprValue out;
    if (e_.nodes.empty()) {
      out.error = "expression \"" + e_.source + "\": empty";
      return out;
    }
    auto v = at(static_cast<uint32_t>(e_.nodes.size() - 1));
    if (!v) {
      out.error = "expression \"" + escape_bytes(e_.source) + "\": " + err_;
      return out;
    }
    out.value = *v;
    return out;
  }

 private:
  std::optional<int64_t> at(uint32_t i) {
    const Expr::Node& n = e_.nodes[i];
    switch (n.op) {
      case Op::constant:
        return n.value;
      case Op::var:
        return variable(e_.refs[n.ref]);
      case Op::len: {
        auto l = lookup(e_.refs[n.ref], vars_);
        if (!l.error.empty()) return fail(l.error);
        if (l.value.is_integer()) {
          return fail("len() takes a bytes variable; " + ref_text(e_.refs[n.ref]) +
                      " is the integer " + std::to_string(l.value.integer));
        }
        return static_cast<int64_t>(l.value.bytes.size());
      }
      case Op::land:
      case Op::lor: {
        auto a = at(n.a);
        if (!a) return std::nullopt;
        if (n.op == Op::land && *a == 0) return 0;
        if (n.op == Op::lor && *a != 0) return 1;
        auto b = at(n.b);
        if (!b) return std::nullopt;
        return *b != 0 ? 1 : 0;
      }
      default:
        break;
    }
    auto a = at(n.a);
    if (!a) return std::nullopt;
    switch (n.op) {
      case Op::neg:
        if (*a == INT64_MIN) return fail("-(" + std::to_string(*a) + ") overflows int64");
        return -*a;
      case Op::lnot:
        return *a == 0 ? 1 : 0;
      case Op::bnot:
        return ~*a;
      default:
        break;
    }
    auto b = at(n.b);
    if (!b) return std::nullopt;
    return binary(n.op, *a, *b);
  }

  std::optional<int64_t> binary(Op op, int64_t a, int64_t b) {
    int64_t r = 0;
    auto show = [&](const char* sym) {
      return std::to_string(a) + " " + sym + " " + std::to_string(b);
    };
    switch (op) {
      case Op::add:
        if (__builtin_add_overflow(a, b, &r)) return fail(show("+") + " overflows int64");
        return r;
      case Op::sub:
        if (__builtin_sub_overflow(a, b, &r)) return fail(show("-") + " overflows int64");
        return r;
      case Op::mul:
        if (__builtin_mul_overflow(a, b, &r)) return fail(show("*") + " overflows int64");
        return r;
      case Op::div:
      case Op::mod:
        if (b == 0) return fail(show(op == Op::div ? "/" : "%") + ": division by zero");
        if (a == INT64_MIN && b == -1) {
          if (op == Op::mod) return 0;
          return fail(show("/") + " overflows int64");
        }
        return op == Op::div ? a / b : a % b;
      case Op::shl:
      case Op::shr: {
        const char* sym = op == Op::shl ? "<<" : ">>";
        if (b < 0 || b > 63) return fail(show(sym) + ": shift count outside 0..63");
        if (op == Op::shr) return a >> b;
        auto u = static_cast<uint64_t>(a) << b;
        r = static_cast<int64_t>(u);
        if ((r >> b) != a) return fail(show(sym) + " overflows int64");
        return r;
      }
      case Op::band:
        return a & b;
      case Op::bxor:
        return a ^ b;
      case Op::bor:
        return a | b;
      case Op::eq:
        return a == b ? 1 : 0;
      case Op::ne:
        return a != b ? 1 : 0;
      case Op::lt:
        return a < b ? 1 : 0;
      case Op::le:
        return a <= b ? 1 : 0;
      case Op::gt:
        return a > b ? 1 : 0;
      case Op::ge:
        return a >= b ? 1 : 0;
      default:
        return fail("internal: unknown operator");
    }
  }

  std::optional<int64_t> variable(const VarRef& ref) {
    auto l = lookup(ref, vars_);
    if (!l.error.empty()) return fail(l.error);
    if (l.value.is_integer()) return l.value.integer;
    const std::string& s = l.value.bytes;
    std::string_view digits = s;
    bool negative = !digits.empty() && digits[0] == '-';
    if (negative) digits.remove_prefix(1);
    bool ok =
        !digits.empty() && digits.size() <= 19 &&
        std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    uint64_t v = 0;
    if (ok) {
      for (char c : digits) v = v * 10 + static_cast<uint64_t>(c - '0');
      ok = v <= static_cast<uint64_t>(INT64_MAX) + (negative ? 1u : 0u);
    }
    if (!ok) {
      return fail(ref_text(ref) + " is \"" + escape_bytes(std::string_view(s).substr(0, 32)) +
                  (s.size() > 32 ? "..." : "") +
                  "\", not a decimal integer (an expression reads bytes only as ASCII digits)");
    }
    if (negative)
      return v == static_cast<uint64_t>(INT64_MAX) + 1 ? INT64_MIN : -static_cast<int64_t>(v);
    return static_cast<int64_t>(v);
  }

  std::nullopt_t fail(std::string why) {
    err_ = std::move(why);
    return std::nullopt;
  }

  const Expr& e_;
  const VarValues& vars_;
  std::string err_;
};

}  // namespace

std::optional<int64_t> Expr::constant() const {
  if (!refs.empty()) return std::nullopt;
  auto v = eval(*this, VarValues{});
  if (!v.error.empty()) return std::nullopt;
  return v.value;
}

ExprParse parse_expr(std::string_view text) { return ExprParser(text).run(); }

Expr constant_expr(int64_t v) {
  Expr e;
  e.source = std::to_string(v);
  e.nodes.push_back({Op::constant, v});
  return e;
}

ExprValue eval(const Expr& e, const VarValues& vars) { return Evaluator(e, vars).run(); }

}  // namespace sockspec::scenario
