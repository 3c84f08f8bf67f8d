#include "load/pipeline_steps.h"

namespace sockspec::load {

uint64_t MatchBy::id(uint64_t number) const {
  return width >= 8 ? number : number & ((1ull << range_bits()) - 1);
}

void MatchBy::put(std::string& bytes, size_t at, uint64_t number) const {
  uint64_t v = id(number);
  for (unsigned k = 0; k < width; ++k) {
    unsigned shift = 8 * (little ? k : width - 1 - k);
    bytes[at + offset + k] = static_cast<char>((v >> shift) & 0xff);
  }
}

std::optional<uint64_t> MatchBy::get(std::string_view bytes) const {
  if (bytes.size() < offset + width) return std::nullopt;
  uint64_t v = 0;
  for (unsigned k = 0; k < width; ++k) {
    unsigned shift = 8 * (little ? k : width - 1 - k);
    v |= uint64_t{static_cast<unsigned char>(bytes[offset + k])} << shift;
  }
  return v;
}

std::optional<uint64_t> MatchBy::newest_with(uint64_t id, uint64_t newest, uint64_t range_bits) {
  if (range_bits >= 64) return id <= newest ? std::optional<uint64_t>(id) : std::nullopt;
  uint64_t range = 1ull << range_bits;
  if (id >= range) return std::nullopt;
  // How far back from `newest` the last number with these low bits is.
  uint64_t back = ((newest & (range - 1)) + range - id) & (range - 1);
  if (back > newest) return std::nullopt;
  return newest - back;
}

std::optional<PipelineSteps> pipeline_steps(const scenario::Steps& it, uint64_t default_timeout_ms,
                                            std::string& why) {
  const auto* send = it.size() == 2 ? std::get_if<scenario::SendOp>(&it[0].op) : nullptr;
  const auto* expect = it.size() == 2 ? std::get_if<scenario::ExpectOp>(&it[1].op) : nullptr;
  if (!send || !expect) {
    why = "needs an iteration of exactly one send followed by one expect";
  } else if (send->conn != expect->conn) {
    why = "needs the send and the expect on the same conn";
  } else if (send->repeat != 1 || send->to || send->expect_error || expect->from ||
             expect->capture_from || expect->expect_error) {
    why = "needs a plain send and expect (no repeat, to, from or expect_error)";
  } else {
    return PipelineSteps{&it[0], &it[1], "0", "1", it[1].timeout_ms.value_or(default_timeout_ms)};
  }
  return std::nullopt;
}

}  // namespace sockspec::load
