#include "engine/conn.h"

#include <cstdlib>

namespace sockspec::engine {

// By hand rather than snprintf: a batch of 64 datagrams writes 64 tags, and formatting them
// cost more than sending them.
void UdpSequence::write_tag(char* out, uint64_t n) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out[0] = '#';
  for (size_t i = kTagSize - 2; i >= 1; --i, n >>= 4) out[i] = kHex[n & 0xF];
  out[kTagSize - 1] = '#';
}

std::string UdpSequence::tag(uint64_t n) {
  std::string s(kTagSize, '\0');
  write_tag(s.data(), n);
  return s;
}

std::optional<uint64_t> UdpSequence::parse(std::string_view d) {
  if (d.size() < kTagSize || d[0] != '#' || d[kTagSize - 1] != '#') return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 1; i < kTagSize - 1; ++i) {
    char c = d[i];
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (digit < 0) return std::nullopt;
    v = v << 4 | static_cast<uint64_t>(digit);
  }
  return v;
}

void UdpSequence::forget_old() {
  constexpr uint64_t kKeep = 65536;
  if (next < kKeep) return;
  uint64_t floor = next - kKeep;
  answered.erase(answered.begin(), answered.lower_bound(floor));
  abandoned.erase(abandoned.begin(), abandoned.lower_bound(floor));
}

}  // namespace sockspec::engine
