// How large an open loop's in-flight window must be, and what to say when it was too small.
//
// A request holds its place in the window until its reply or its timeout. At worst (every
// reply lost) a connection has rate x timeout requests awaited at once; a window smaller than
// that turns lost datagrams into missed starts, and the run no longer keeps its rate. `auto`
// sizes the window from the rate, the timeout and the connections, within a memory limit the
// report names. Pure arithmetic: the load driver decides, the reports say.
#pragma once

#include <cstdint>
#include <string>

namespace sockspec::load {

// What one awaited request costs in memory (its slot, its ledger entry, its matcher's share),
// rounded up: what the auto window's memory limit is counted in.
inline constexpr uint64_t kWindowSlotBytes = 256;
inline constexpr uint64_t kWindowMemoryLimit = 256ull << 20;  // for all the run's windows

struct WindowPlan {
  unsigned size = 1;          // in flight per connection
  unsigned needed = 0;        // what rate x timeout asks for (0: a closed loop)
  bool memory_bound = false;  // smaller than needed: the memory limit decided
};

// The window one connection needs at `peak_rate` (iterations/s over the whole run) shared by
// `connections`, when a request may be awaited for `timeout_ms`: a quarter more than rate x
// timeout for starts that come in bursts, and at least 2.
unsigned window_needed(double peak_rate, unsigned connections, unsigned timeout_ms);

// The auto window: what is needed, within kWindowMemoryLimit for every connection together
// and kMaxInFlight each.
WindowPlan auto_window(double peak_rate, unsigned connections, unsigned timeout_ms);

}  // namespace sockspec::load
