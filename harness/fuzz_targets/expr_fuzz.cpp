// libFuzzer target: integer expressions (scenario/expr.h) and ${...} expansion. The input is
// split at its first NUL: the expression text, then bytes that give the variables ${a} (an
// integer from the first 8 bytes), ${b} (the next bytes, up to a second NUL, as bytes) and
// ${i}. Checks that nothing is undefined (UBSan), that evaluation is deterministic, and that
// an expression re-parsed from its own source evaluates the same.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "scenario/expr.h"
#include "scenario/template.h"

namespace s = sockspec::scenario;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  size_t cut = all.find('\0');
  std::string_view text = all.substr(0, cut);
  std::string_view rest = cut == std::string_view::npos ? std::string_view() : all.substr(cut + 1);
  int64_t a = 0;
  if (!rest.empty()) std::memcpy(&a, rest.data(), std::min<size_t>(rest.size(), sizeof a));
  std::string_view b = rest.size() > 8 ? rest.substr(8) : std::string_view();
  b = b.substr(0, b.find('\0'));

  s::Captures caps;
  caps.set_integer("a", a);
  caps.set("b", b);
  s::VarValues vars;
  vars.captures = &caps;
  vars.i = static_cast<uint64_t>(a) >> 1;

  auto p = s::parse_expr(text);
  if (p.expr) {
    if (p.expr->nodes.empty()) std::abort();
    auto v1 = s::eval(*p.expr, vars);
    auto v2 = s::eval(*p.expr, vars);
    if (v1.value != v2.value || v1.error != v2.error) std::abort();
    auto again = s::parse_expr(p.expr->source);
    if (!again.expr) std::abort();
    auto v3 = s::eval(*again.expr, vars);
    if (v3.value != v1.value || v3.error != v1.error) std::abort();
    (void)p.expr->constant();
  } else if (p.error.empty()) {
    std::abort();  // a refusal always says why
  }
  // The same text as a template: scanning and expansion agree on what is malformed.
  auto scan = s::scan_vars(text);
  auto x = s::expand(text, vars);
  if (scan.error.empty() != x.error.empty() && x.error.find("captured") == std::string::npos &&
      x.error.find("outside") == std::string::npos &&
      x.error.find("not set") == std::string::npos && x.error.find("not open") == std::string::npos)
    std::abort();
  return 0;
}
