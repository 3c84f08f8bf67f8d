// libFuzzer target: the stream and datagram matchers. The input is split at its first NUL:
// what is expected, then what came. Byte 0 picks the matcher (exact bytes, a length range, or
// the expectation as a regex, whole or `until` a delimiter) and the stream's chunking, so the
// fuzzer also checks that an exact stream match gives the same answer however the bytes arrive.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "match/matcher.h"
#include "match/regex.h"

namespace m = sockspec::match;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  std::string_view all(reinterpret_cast<const char*>(data), size);
  uint8_t mode = data[0];
  all.remove_prefix(1);
  size_t cut = all.find('\0');
  std::string_view expected = all.substr(0, cut);
  std::string_view came = cut == std::string_view::npos ? std::string_view() : all.substr(cut + 1);
  m::Resolved matcher;
  if ((mode & 3) == 2) {
    auto compiled = m::compile_regex(expected);
    if (!compiled.pattern) return 0;  // refused with a message: what validate reports
    m::Regex r;
    r.re = compiled.pattern;
    if (mode & 4) r.until = "\n";
    matcher = r;
  } else if (mode & 1) {
    uint64_t a = expected.size(), b = came.size() / 2 + (mode >> 4);
    matcher = m::Length{std::min(a, b), std::max(a, b)};
  } else {
    matcher = m::Exact{std::string(expected)};
  }
  (void)m::describe(matcher);
  (void)m::match_datagram(matcher, came);
  m::Outcome whole = m::match_stream(matcher, came, true);
  if (whole.consumed > came.size()) std::abort();
  // Exact bytes arriving in chunks: once matched or mismatched on a prefix, the answer on the
  // whole must agree (a stream match only ever fails when no more bytes could help). A length
  // range or a regex without a delimiter takes what is there, so theirs depends on the chunking
  // by design.
  size_t step = 1 + ((mode >> 1) & 7);
  bool exact = std::holds_alternative<m::Exact>(matcher);
  for (size_t n = 0; exact && n <= came.size(); n += step) {
    m::Outcome part = m::match_stream(matcher, came.substr(0, n), false);
    if (part.kind == m::Outcome::Kind::need_more) continue;
    if (part.kind != whole.kind || part.consumed != whole.consumed) std::abort();
    break;
  }
  return 0;
}
