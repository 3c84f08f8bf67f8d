// Turning a payload description into bytes. Pure: no sockets, no clocks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "scenario/model.h"

namespace sockspec::payload {

// The documented generator behind `"pattern": "random"`: splitmix64 started at `seed`,
// each output written as 8 little-endian bytes. Anyone can reproduce a payload from its seed.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next();

 private:
  uint64_t state_;
};

scenario::Bytes fill_bytes(const scenario::Fill& fill, uint64_t run_seed);

// Whether iconv knows the charset name ("UTF-8", "GBK", "latin1"...).
bool encoding_known(std::string_view encoding);

struct Encoded {
  scenario::Bytes bytes;
  std::string error;
};
// UTF-8 text converted to `encoding` (empty or UTF-8: unchanged).
Encoded encode_text(std::string_view utf8, std::string_view encoding);

// a-z to A-Z; every other byte, UTF-8 sequences included, unchanged.
scenario::Bytes ascii_upper(std::string_view bytes);

}  // namespace sockspec::payload
