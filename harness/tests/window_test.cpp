// The auto window's arithmetic: rate x timeout per connection and a quarter more, within the
// memory limit for every connection together.
#include "load/window.h"

#include <gtest/gtest.h>

#include "load/profile.h"
#include "reports/text.h"

namespace sockspec::load {
namespace {

TEST(Window, AutoIsRateTimesTimeoutPerConnectionAndAQuarterMore) {
  // 2000/s on one socket, 500 ms: up to 1000 awaited at once if every reply were lost.
  EXPECT_EQ(window_needed(2000, 1, 500), 1251u);
  EXPECT_EQ(window_needed(2000, 32, 500), 41u);  // 62.5/s each
  EXPECT_EQ(window_needed(1, 1, 500), 2u);       // never a window of one
  EXPECT_EQ(window_needed(1e7, 1, 60'000), kMaxInFlight);
  WindowPlan w = auto_window(2000, 1, 500);
  EXPECT_EQ(w.size, 1251u);
  EXPECT_FALSE(w.memory_bound);
}

TEST(Window, TheMemoryLimitHoldsManyConnectionsWindowsDown) {
  // 1000 connections at 10,000/s each for 1 s would want 12,501 slots each: 3 GB of them.
  WindowPlan w = auto_window(1e7, 1000, 1000);
  EXPECT_EQ(w.needed, 12501u);
  EXPECT_EQ(w.size, kWindowMemoryLimit / kWindowSlotBytes / 1000);
  EXPECT_TRUE(w.memory_bound);
}

TEST(Window, AFullWindowSaysWhatToRaise) {
  reports::LoadResult l;
  l.in_flight = 64;
  l.in_flight_source = "profile";
  l.in_flight_needed = 1251;
  l.window_timeout_ms = 500;
  EXPECT_EQ(reports::window_full_message(l), "");  // no start found them full
  l.window_full_starts = 2189;
  l.window_full_s = 1.1;
  EXPECT_EQ(reports::window_full_message(l),
            "every window of 64 was full for 1.1 s (2189 starts missed): an awaited request "
            "holds its slot until its reply or its 500 ms timeout, a lost datagram for all of "
            "it; raise in_flight to >= 1251 (or \"auto\") or connections");
  l.window_full_s = 1234.56;  // a long run: plain digits, never 1.2e+03
  EXPECT_EQ(reports::window_full_message(l).rfind("every window of 64 was full for 1234.6 s", 0),
            0u);
  l.window_full_s = 0.054;
  EXPECT_EQ(reports::window_full_message(l).rfind("every window of 64 was full for 0.05 s", 0), 0u);
  l.in_flight = 2000;  // large enough for the rate: the server is the slow side
  EXPECT_NE(reports::window_full_message(l).find("replies come slower than the rate"),
            std::string::npos);
  l.in_flight_source = "auto";
  l.in_flight = 300;
  l.window_memory_limit = kWindowMemoryLimit;
  EXPECT_NE(reports::window_full_message(l).find("held to 300 by its memory limit (256 MiB)"),
            std::string::npos);
  l.target_rate = 1'000'000;
  l.connections = 4;
  l.window_timeout_ms = 1000;
  EXPECT_EQ(reports::window_summary(l),
            "300 in flight per connection (auto: 1000000/s over 4 connection(s), a 1000 ms "
            "timeout, a quarter more; all windows within 256 MiB)");
}

}  // namespace
}  // namespace sockspec::load
