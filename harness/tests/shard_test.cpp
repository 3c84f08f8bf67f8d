// Sharding's pure parts: the exact split of users and rates, the shard from options and the
// environment, and --start-at times.
#include "load/shard.h"

#include <gtest/gtest.h>

#include <map>

namespace sockspec::load {
namespace {

TEST(Shard, IntegerTotalsSplitExactlyOverOneToSixtyFourShards) {
  for (uint64_t total : {0ull, 1ull, 7ull, 63ull, 100ull, 19000ull, 100000ull, 1000003ull}) {
    for (unsigned n = 1; n <= 64; ++n) {
      uint64_t sum = 0, lo = UINT64_MAX, hi = 0;
      for (unsigned i = 0; i < n; ++i) {
        Shard s{i, n};
        EXPECT_EQ(share_start(total, s), sum) << total << " over " << n;  // contiguous slices
        uint64_t part = share_of(total, s);
        sum += part;
        lo = std::min(lo, part);
        hi = std::max(hi, part);
      }
      EXPECT_EQ(sum, total) << total << " over " << n;
      EXPECT_LE(hi - lo, 1u) << total << " over " << n;
    }
  }
}

TEST(Shard, RatesSplitExactlyToTheMicrohertz) {
  for (double rate : {0.001, 1.0, 3.0, 333.333, 1000.0, 12345.678901, 10'000'000.0}) {
    for (unsigned n = 1; n <= 64; ++n) {
      uint64_t units = 0;
      for (unsigned i = 0; i < n; ++i) units += rate_units(rate_share(rate, Shard{i, n}));
      EXPECT_EQ(units, rate_units(rate)) << rate << " over " << n;
    }
  }
}

Profile closed(unsigned vus) {
  Profile p;
  p.executor = Profile::Executor::closed;
  p.connections = vus;
  return p;
}

TEST(Shard, ASliceHoldsItsUsersNumberedFromItsStart) {
  unsigned seen = 0;
  for (unsigned i = 0; i < 4; ++i) {
    auto s = slice_profile(closed(10), Shard{i, 4}, 0, 0);
    ASSERT_TRUE(s.profile) << s.error;
    EXPECT_EQ(s.first_user, seen);
    seen += s.profile->connections;
  }
  EXPECT_EQ(seen, 10u);
  auto overridden = slice_profile(closed(10), Shard{0, 2}, 30, 0);
  ASSERT_TRUE(overridden.profile);
  EXPECT_EQ(overridden.profile->connections, 15u);  // --connections is the whole run's
}

TEST(Shard, ARampingRateSplitsEveryStage) {
  Profile p = closed(8);
  p.executor = Profile::Executor::ramping_rate;
  p.rate = 5;
  p.stages = {{1, 100}, {2, 7}};
  double start = 0, s0 = 0, s1 = 0;
  for (unsigned i = 0; i < 3; ++i) {
    auto s = slice_profile(p, Shard{i, 3}, 0, 0);
    ASSERT_TRUE(s.profile) << s.error;
    start += s.profile->rate;
    s0 += s.profile->stages[0].rate;
    s1 += s.profile->stages[1].rate;
  }
  EXPECT_EQ(rate_units(start), rate_units(5));
  EXPECT_EQ(rate_units(s0), rate_units(100));
  EXPECT_EQ(rate_units(s1), rate_units(7));
  auto overridden = slice_profile(p, Shard{1, 2}, 0, 50);
  ASSERT_TRUE(overridden.profile);
  EXPECT_EQ(overridden.profile->executor, Profile::Executor::constant_rate);
  EXPECT_DOUBLE_EQ(overridden.profile->rate, 25);
}

TEST(Shard, MoreShardsThanUsersIsRefusedWithTheLimit) {
  auto s = slice_profile(closed(3), Shard{0, 4}, 0, 0);
  EXPECT_FALSE(s.profile);
  EXPECT_NE(s.error.find("at most 3 shards"), std::string::npos) << s.error;
}

std::function<const char*(const char*)> env_of(std::map<std::string, std::string> vars) {
  auto held = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [held](const char* name) -> const char* {
    auto it = held->find(name);
    return it == held->end() ? nullptr : it->second.c_str();
  };
}

TEST(Shard, TheShardComesFromTheOptionOrKubernetesOrSlurm) {
  auto none = env_of({});
  auto c = choose_shard("", 0, none);
  ASSERT_TRUE(c.shard);
  EXPECT_FALSE(c.shard->sharded());
  c = choose_shard("2/5", 0, env_of({{"JOB_COMPLETION_INDEX", "1"}}));  // the option wins
  ASSERT_TRUE(c.shard) << c.error;
  EXPECT_EQ(c.shard->index, 2u);
  EXPECT_EQ(c.shard->count, 5u);
  c = choose_shard("", 4, env_of({{"JOB_COMPLETION_INDEX", "3"}}));
  ASSERT_TRUE(c.shard) << c.error;
  EXPECT_EQ(c.shard->index, 3u);
  EXPECT_EQ(c.shard->count, 4u);
  c = choose_shard("", 0, env_of({{"JOB_COMPLETION_INDEX", "1"}, {"SOCKSPEC_SHARDS", "6"}}));
  ASSERT_TRUE(c.shard) << c.error;
  EXPECT_EQ(c.shard->count, 6u);
  c = choose_shard("", 0, env_of({{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_COUNT", "4"}}));
  ASSERT_TRUE(c.shard) << c.error;
  EXPECT_EQ(c.shard->index, 3u);
  EXPECT_EQ(c.shard->count, 4u);
  c = choose_shard("", 0,
                   env_of({{"SLURM_ARRAY_TASK_ID", "4"},
                           {"SLURM_ARRAY_TASK_COUNT", "4"},
                           {"SLURM_ARRAY_TASK_MIN", "1"}}));  // --array=1-4
  ASSERT_TRUE(c.shard) << c.error;
  EXPECT_EQ(c.shard->index, 3u);
}

TEST(Shard, BadShardsAreRefusedSayingWhy) {
  auto none = env_of({});
  for (const char* bad : {"4/4", "1", "a/4", "1/0", "-1/4", "1/200000"}) {
    auto c = choose_shard(bad, 0, none);
    EXPECT_FALSE(c.shard) << bad;
    EXPECT_NE(c.error.find("--shard"), std::string::npos) << c.error;
  }
  auto c = choose_shard("", 0, env_of({{"JOB_COMPLETION_INDEX", "1"}}));
  EXPECT_FALSE(c.shard);
  EXPECT_NE(c.error.find("SOCKSPEC_SHARDS"), std::string::npos) << c.error;
  c = choose_shard("", 0, env_of({{"JOB_COMPLETION_INDEX", "x"}, {"SOCKSPEC_SHARDS", "2"}}));
  EXPECT_FALSE(c.shard);
  EXPECT_NE(c.error.find("JOB_COMPLETION_INDEX"), std::string::npos) << c.error;
  c = choose_shard("", 3, none);
  EXPECT_FALSE(c.shard);
  EXPECT_NE(c.error.find("JOB_COMPLETION_INDEX"), std::string::npos) << c.error;
}

TEST(Shard, StartTimesAreRfc3339OrEpochSeconds) {
  EXPECT_EQ(parse_start_at("1970-01-01T00:00:10Z"), 10.0);
  EXPECT_EQ(parse_start_at("2026-11-24T19:00:00Z"), 1795546800.0);
  EXPECT_EQ(parse_start_at("2026-11-24T20:00:00+01:00"), 1795546800.0);
  EXPECT_EQ(parse_start_at("2026-11-24T18:30:00-00:30"), 1795546800.0);
  EXPECT_EQ(parse_start_at("2026-11-24T19:00:00.25Z"), 1795546800.25);
  EXPECT_EQ(parse_start_at("1795546800"), 1795546800.0);
  EXPECT_EQ(parse_start_at("1795546800.5"), 1795546800.5);
  for (const char* bad : {"", "tomorrow", "2026-11-24", "2026-11-24T19:00:00",
                          "2026-13-01T00:00:00Z", "2026-11-24T19:00:00+1", "1.2.3"})
    EXPECT_FALSE(parse_start_at(bad)) << bad;
  EXPECT_EQ(format_utc(1795546800.0), "2026-11-24T19:00:00Z");
  EXPECT_EQ(format_utc(1795546800.25), "2026-11-24T19:00:00.250Z");
}

}  // namespace
}  // namespace sockspec::load
