#include "load/window.h"

#include <algorithm>
#include <cmath>

#include "load/profile.h"

namespace sockspec::load {

unsigned window_needed(double peak_rate, unsigned connections, unsigned timeout_ms) {
  double per_connection = peak_rate / std::max(1u, connections);
  double awaited = per_connection * timeout_ms / 1000.0 * 1.25;
  double n = std::ceil(awaited) + 1;
  return static_cast<unsigned>(std::clamp(n, 2.0, static_cast<double>(kMaxInFlight)));
}

WindowPlan auto_window(double peak_rate, unsigned connections, unsigned timeout_ms) {
  WindowPlan w;
  w.needed = window_needed(peak_rate, connections, timeout_ms);
  uint64_t affordable = kWindowMemoryLimit / kWindowSlotBytes / std::max(1u, connections);
  affordable = std::max<uint64_t>(affordable, 2);
  w.size = static_cast<unsigned>(std::min<uint64_t>(w.needed, affordable));
  w.memory_bound = w.size < w.needed;
  return w;
}

}  // namespace sockspec::load
