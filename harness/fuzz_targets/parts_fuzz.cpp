// libFuzzer target: typed parts. The input is split at its first NUL: a JSON array of parts,
// then bytes received. The parts go through the suite parser (as a send, then as an expect);
// parts that validate are encoded, and the encoding must decode as a match of the same parts
// (unless a decimal is followed by digits, which a reader cannot tell apart). Decoding the
// received bytes must give the same answer for every prefix as a stream: a prefix never
// matches a different length nor fails at a different offset than the whole.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "codec/parts.h"
#include "scenario/parse.h"

namespace c = sockspec::codec;
namespace s = sockspec::scenario;

namespace {

bool ambiguous(const c::Parts& parts) {
  for (const auto& p : parts) {
    if (p.kind == c::Part::Kind::decimal) return true;
    if (p.kind == c::Part::Kind::block && ambiguous(p.parts)) return true;
  }
  return false;
}

const c::Parts* parts_of(const std::optional<s::Suite>& suite, bool send) {
  if (!suite) return nullptr;
  const auto& op = suite->cases.at(0).steps.at(1).op;
  if (send) return &std::get<s::SendOp>(op).payload.parts;
  return &std::get<s::PartsMatch>(std::get<s::ExpectOp>(op).matcher.kind).parts;
}

void same_for_every_prefix(const c::Parts& parts, std::string_view bytes) {
  c::Decoded whole = c::decode(parts, bytes, false, true);
  size_t step = bytes.size() / 16 + 1;  // enough cuts to matter, few enough to stay fast
  for (size_t cut = 0; cut < bytes.size(); cut += step) {
    c::Decoded d = c::decode(parts, bytes.substr(0, cut), false, false);
    if (d.kind == c::Decoded::Kind::matched &&
        (whole.kind != c::Decoded::Kind::matched || whole.consumed != d.consumed)) {
      std::abort();
    }
    if (d.kind == c::Decoded::Kind::mismatch &&
        (whole.kind != c::Decoded::Kind::mismatch || whole.offset != d.offset)) {
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  size_t cut = all.find('\0');
  std::string_view parts_json = all.substr(0, cut);
  std::string_view came = cut == std::string_view::npos ? std::string_view() : all.substr(cut + 1);
  const std::string head =
      R"({"format": 1, "suite": "f", "cases": [{"id": "c", "steps": [{"op": "connect", "conn": "c"}, )";
  for (bool send : {true, false}) {
    std::string suite = head +
                        (send ? R"({"op": "send", "conn": "c", "parts": )"
                              : R"({"op": "expect", "conn": "c", "parts": )") +
                        std::string(parts_json) + "}]}]}";
    auto r = s::parse_suite(suite, "fuzz.json");
    const c::Parts* parts = parts_of(r.suite, send);
    if (!parts) continue;
    c::Resolver none;  // variables fail to resolve: a message, never a crash
    auto res = c::resolve(*parts, none);
    if (!res.error.empty()) continue;
    (void)c::has_variables(*parts);
    if (send) {
      auto enc = c::encode(res.parts);
      if (enc.error.empty() && enc.bytes.size() < (1u << 20)) {
        c::Decoded d = c::decode(res.parts, enc.bytes, true, true);
        if (d.kind != c::Decoded::Kind::matched && !ambiguous(res.parts)) std::abort();
        same_for_every_prefix(res.parts, enc.bytes);
      }
    }
    (void)c::decode(res.parts, came, true, true);
    same_for_every_prefix(res.parts, came);
  }
  return 0;
}
