// The impairment spec language and the datagram shaper: pure, so every decision is checked
// exactly (counts, order, due times) from a known seed.
#include <gtest/gtest.h>

#include "impair/shaper.h"
#include "impair/spec.h"

namespace sockspec::impair {
namespace {

using namespace std::chrono_literals;

Spec parse_ok(const std::string& text) {
  auto p = parse_spec(text);
  EXPECT_TRUE(p.spec.has_value()) << p.error;
  return p.spec.value_or(Spec{});
}

TEST(ImpairSpec, NetemWordsApplyBothWaysByDefault) {
  Spec s = parse_ok("delay 50ms 10ms loss 10% duplicate 2% reorder 5% rate 1mbit");
  for (const Direction* d : {&s.to_server, &s.to_client}) {
    EXPECT_EQ(d->delay, 50ms);
    EXPECT_EQ(d->jitter, 10ms);
    EXPECT_DOUBLE_EQ(d->loss.probability, 0.10);
    EXPECT_DOUBLE_EQ(d->duplicate.probability, 0.02);
    EXPECT_DOUBLE_EQ(d->reorder.probability, 0.05);
    EXPECT_EQ(d->rate_bps, 1'000'000u);
  }
  EXPECT_EQ(s.text, "delay 50ms 10ms loss 10% duplicate 2% reorder 5% rate 1mbit");
}

TEST(ImpairSpec, DirectionPrefixesApplyToTheWordsAfterThem) {
  Spec s = parse_ok("delay 5ms to-server loss every 10 to-client reset-after 4096 both stall");
  EXPECT_EQ(s.to_server.delay, 5ms);
  EXPECT_EQ(s.to_client.delay, 5ms);
  EXPECT_EQ(s.to_server.loss.every, 10u);
  EXPECT_FALSE(s.to_client.loss.active());
  EXPECT_EQ(s.to_client.reset_after_bytes, 4096u);
  EXPECT_FALSE(s.to_server.reset_after_bytes.has_value());
  EXPECT_TRUE(s.to_server.stall && s.to_client.stall);
}

TEST(ImpairSpec, StreamFaultsTakeBytesOrTimes) {
  Spec s = parse_ok("slice 1 1ms close-after 2s slow-close 500ms bandwidth 64kbps");
  EXPECT_EQ(s.to_client.slice_bytes, 1u);
  EXPECT_EQ(s.to_client.slice_delay, 1ms);
  EXPECT_EQ(s.to_client.close_after_time, Duration(2s));
  EXPECT_FALSE(s.to_client.close_after_bytes.has_value());
  EXPECT_EQ(s.to_client.slow_close, 500ms);
  EXPECT_EQ(s.to_client.rate_bps, 512'000u);  // bytes per second, as tc counts kbps
}

TEST(ImpairSpec, NoneIsTheEmptySpec) {
  Spec s = parse_ok("none");
  EXPECT_FALSE(s.any());
  EXPECT_FALSE(parse_spec("").spec.has_value());
  EXPECT_FALSE(parse_spec("none delay 5ms").spec.has_value());
}

TEST(ImpairSpec, ErrorsNameTheWordNotUnderstood) {
  struct Bad {
    const char* text;
    const char* names;
  };
  for (auto [text, names] : std::initializer_list<Bad>{{"delay 50ms jiggle 3", "'jiggle'"},
                                                       {"loss 10", "'10'"},
                                                       {"loss 150%", "'150%'"},
                                                       {"delay 50", "'50'"},
                                                       {"rate fast", "'fast'"},
                                                       {"reset-after soon", "'soon'"},
                                                       {"slice 0", "'0'"},
                                                       {"loss every 0", "'0'"},
                                                       {"delay", "'delay' needs"}}) {
    auto p = parse_spec(text);
    EXPECT_FALSE(p.spec.has_value()) << text;
    EXPECT_NE(p.error.find(names), std::string::npos) << text << " -> " << p.error;
  }
}

std::vector<Emit> admit_all(Shaper& s, int n, TimePoint t0, size_t size = 10) {
  std::vector<Emit> out;
  for (int i = 1; i <= n; ++i) s.admit(std::string(size, 'x'), static_cast<uint64_t>(i), t0, out);
  return out;
}

TEST(Shaper, EveryNthStrikesExactly) {
  Direction d;
  d.loss.every = 10;
  d.duplicate.every = 7;
  Shaper s(d, 1);
  auto out = admit_all(s, 100, TimePoint{});
  // Lost: 10, 20, ... 100. Duplicated: multiples of 7 that were not lost (70 was).
  EXPECT_EQ(s.counts().arrived, 100u);
  EXPECT_EQ(s.counts().dropped, 10u);
  EXPECT_EQ(s.counts().duplicated, 13u);
  EXPECT_EQ(out.size(), 103u);
  EXPECT_EQ(s.counts().sent, 103u);
}

TEST(Shaper, TheSameSeedGivesTheSameFaults) {
  Direction d;
  d.loss.probability = 0.3;
  d.corrupt.probability = 0.2;
  Shaper a(d, 42), b(d, 42), c(d, 43);
  auto oa = admit_all(a, 1000, TimePoint{});
  auto ob = admit_all(b, 1000, TimePoint{});
  admit_all(c, 1000, TimePoint{});
  EXPECT_EQ(a.counts().dropped, b.counts().dropped);
  EXPECT_EQ(a.counts().corrupted, b.counts().corrupted);
  ASSERT_EQ(oa.size(), ob.size());
  for (size_t i = 0; i < oa.size(); ++i) EXPECT_EQ(oa[i].bytes, ob[i].bytes);
  // Roughly the asked share (1000 draws: well within these bounds), and another seed differs.
  EXPECT_GT(a.counts().dropped, 200u);
  EXPECT_LT(a.counts().dropped, 400u);
  EXPECT_NE(a.counts().dropped * 1000 + a.counts().corrupted,
            c.counts().dropped * 1000 + c.counts().corrupted);
}

TEST(Shaper, AHeldBackDatagramFollowsTheNextOne) {
  Direction d;
  d.reorder.every = 4;
  Shaper s(d, 1);
  auto out = admit_all(s, 9, TimePoint{});
  std::vector<uint64_t> order;
  for (const auto& e : out) order.push_back(e.tag);
  EXPECT_EQ(order, (std::vector<uint64_t>{1, 2, 3, 5, 4, 6, 7, 9, 8}));
  EXPECT_EQ(s.counts().reordered, 2u);
}

TEST(Shaper, AHeldBackDatagramGoesAloneWhenNoOtherComes) {
  Direction d;
  d.reorder.every = 1;
  Shaper s(d, 1);
  std::vector<Emit> out;
  TimePoint t0{};
  s.admit("only", 1, t0, out);
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(s.hold_deadline().has_value());
  s.expire(*s.hold_deadline() - 1ms, out);
  EXPECT_TRUE(out.empty());
  s.expire(*s.hold_deadline(), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(s.counts().reordered, 0u);  // nothing overtook it
}

TEST(Shaper, RatePacesDatagramsOneAfterTheOther) {
  Direction d;
  d.rate_bps = 8000;  // 1000 bytes a second
  d.delay = 5ms;
  Shaper s(d, 1);
  TimePoint t0{};
  auto out = admit_all(s, 3, t0, 100);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].when - t0, 105ms);
  EXPECT_EQ(out[1].when - t0, 205ms);
  EXPECT_EQ(out[2].when - t0, 305ms);
}

TEST(Shaper, JitterStaysWithinItsBounds) {
  Direction d;
  d.delay = 50ms;
  d.jitter = 10ms;
  Shaper s(d, 9);
  auto out = admit_all(s, 500, TimePoint{});
  for (const auto& e : out) {
    EXPECT_GE(e.when - TimePoint{}, 40ms);
    EXPECT_LE(e.when - TimePoint{}, 60ms);
  }
}

TEST(Shaper, CorruptFlipsOneBitAndTruncateCuts) {
  Direction d;
  d.corrupt.every = 1;
  d.truncate = 4;
  Shaper s(d, 3);
  std::vector<Emit> out;
  s.admit("abcdefgh", 1, TimePoint{}, out);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].bytes.size(), 4u);
  int bits = 0;
  for (size_t i = 0; i < 4; ++i)
    bits += __builtin_popcount(static_cast<unsigned char>(out[0].bytes[i] ^ "abcd"[i]));
  EXPECT_EQ(bits, 1);
  EXPECT_EQ(s.counts().truncated, 1u);
  EXPECT_EQ(s.counts().corrupted, 1u);
}

}  // namespace
}  // namespace sockspec::impair
