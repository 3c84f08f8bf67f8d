// Merging the shards of one load run: the checks (one run, each shard once, none missing) and
// the per-second series lined up by wall-clock second.
#include <gtest/gtest.h>

#include "reports/merge.h"

namespace sockspec::reports {
namespace {

RunReport shard(const std::string& run, unsigned index, unsigned count, uint64_t iterations,
                double origin_ms = 1'700'000'000'000.0) {
  RunReport r;
  r.kind = "load";
  r.load.emplace();
  LoadResult& l = *r.load;
  l.profile = "p";
  l.shard.run_id = run;
  l.shard.index = index;
  l.shard.count = count;
  l.iterations = iterations;
  l.connections = 1;
  l.target_rate = 10;
  l.series_origin_unix_ms = origin_ms;
  for (int s = 0; s < 2; ++s) {
    Interval& i = l.series.emplace_back();
    i.start_s = s;
    i.iterations = iterations / 2;
    for (uint64_t k = 0; k < iterations / 2; ++k) i.latency.record(1000 * (index + 1));
    l.latency.record(1000 * (index + 1), iterations / 2);
  }
  return r;
}

TEST(ShardMerge, AllShardsOfOneRunAddUpAndAreListed) {
  auto m = merge_reports({shard("r", 2, 3, 40), shard("r", 0, 3, 20), shard("r", 1, 3, 30)});
  ASSERT_TRUE(m.report) << m.error;
  const LoadResult& l = *m.report->load;
  EXPECT_EQ(l.iterations, 90u);
  EXPECT_EQ(l.connections, 3u);
  EXPECT_DOUBLE_EQ(l.target_rate, 30);
  EXPECT_EQ(l.shard.count, 3u);
  EXPECT_EQ(l.shard.merged, (std::vector<unsigned>{0, 1, 2}));
  EXPECT_FALSE(l.shard.partial);
  ASSERT_EQ(l.series.size(), 2u);
  EXPECT_EQ(l.series[0].iterations, 45u);
}

TEST(ShardMerge, ShardsOfDifferentRunsAreRefusedNamingBoth) {
  auto m = merge_reports({shard("run-a", 0, 2, 10), shard("run-b", 1, 2, 10)},
                         {false, {"a.json", "b.json"}});
  EXPECT_FALSE(m.report);
  EXPECT_NE(m.error.find("different runs"), std::string::npos) << m.error;
  EXPECT_NE(m.error.find("a.json is run \"run-a\""), std::string::npos) << m.error;
  EXPECT_NE(m.error.find("b.json is run \"run-b\""), std::string::npos) << m.error;
}

TEST(ShardMerge, AShardGivenTwiceIsRefusedNamingTheFiles) {
  auto m = merge_reports({shard("r", 0, 2, 10), shard("r", 1, 2, 10), shard("r", 1, 2, 10)},
                         {false, {"a.json", "b.json", "c.json"}});
  EXPECT_FALSE(m.report);
  EXPECT_NE(m.error.find("shard 1/2 is given twice: b.json and c.json"), std::string::npos)
      << m.error;
}

TEST(ShardMerge, MissingShardsAreNamedAndOnlyAllowedAsAPartialMerge) {
  std::vector<RunReport> parts{shard("r", 0, 4, 10), shard("r", 2, 4, 10)};
  auto refused = merge_reports(parts);
  EXPECT_FALSE(refused.report);
  EXPECT_NE(refused.error.find("missing shard(s) 1, 3 of 4"), std::string::npos) << refused.error;
  auto partial = merge_reports(parts, {true, {}});
  ASSERT_TRUE(partial.report) << partial.error;
  EXPECT_TRUE(partial.report->load->shard.partial);
  EXPECT_EQ(partial.report->load->shard.merged, (std::vector<unsigned>{0, 2}));
  ASSERT_FALSE(partial.report->notes.empty());
  EXPECT_NE(partial.report->notes.back().find("partial"), std::string::npos);
}

TEST(ShardMerge, ShardsSplitTwoWaysAreRefused) {
  auto m = merge_reports({shard("r", 0, 2, 10), shard("r", 1, 3, 10)});
  EXPECT_FALSE(m.report);
  EXPECT_NE(m.error.find("split two ways"), std::string::npos) << m.error;
}

TEST(ShardMerge, SeriesAreMergedByWallClockSecond) {
  // Shard 1's second 0 is shard 0's second 1 (it started a second later, by the wall clock).
  RunReport a = shard("r", 0, 2, 20, 1'700'000'000'000.0);
  RunReport b = shard("r", 1, 2, 40, 1'700'000'001'004.0);
  b.load->shard.late_start_s = 1.004;
  auto m = merge_reports({b, a});
  ASSERT_TRUE(m.report) << m.error;
  const LoadResult& l = *m.report->load;
  ASSERT_EQ(l.series.size(), 3u);
  EXPECT_EQ(l.series[0].iterations, 10u);
  EXPECT_EQ(l.series[1].iterations, 30u);
  EXPECT_EQ(l.series[2].iterations, 20u);
  EXPECT_NEAR(l.series_origin_unix_ms, 1'700'000'000'000.0, 500);  // on the earliest's second
  EXPECT_EQ(l.series[1].latency.count(), 30u);
  EXPECT_DOUBLE_EQ(l.shard.late_start_s, 1.004);
  bool flagged = false;
  for (const auto& n : m.report->notes) flagged = flagged || n.find("shard 1/2") != n.npos;
  EXPECT_TRUE(flagged);
}

TEST(ShardMerge, ThresholdsAreEvaluatedOnTheMergedData) {
  RunReport a = shard("r", 0, 2, 20), b = shard("r", 1, 2, 20);
  for (RunReport* r : {&a, &b})
    r->load->thresholds.push_back({"iterations >= 40", "iterations", 20.0, false, "20"});
  auto m = merge_reports({a, b});
  ASSERT_TRUE(m.report) << m.error;
  ASSERT_EQ(m.report->load->thresholds.size(), 1u);
  EXPECT_TRUE(m.report->load->thresholds[0].passed);
  EXPECT_EQ(m.report->exit_code, 0);
}

}  // namespace
}  // namespace sockspec::reports
