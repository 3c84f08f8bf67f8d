#include "engine/conn.h"

#include <cstdio>
#include <cstdlib>

namespace sockspec::engine {

std::string UdpSequence::tag(uint64_t n) {
  char buf[kTagSize + 1];
  std::snprintf(buf, sizeof buf, "#%016llX#", static_cast<unsigned long long>(n));
  return std::string(buf, kTagSize);
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
