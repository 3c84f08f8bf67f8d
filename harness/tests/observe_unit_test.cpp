// The live feed's hand-over and merge, and the metric families built from a report (pure parts
// of `load --metrics` / `--push`; the endpoint and the push are tested end to end in
// observe_test.py against a real Prometheus and Pushgateway).
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "load/live_feed.h"
#include "observe/dashboard.h"
#include "observe/metrics.h"
#include "observe/pusher.h"

namespace sockspec {
namespace {

reports::LoadResult part_with(uint64_t iterations, std::vector<uint64_t> per_second,
                              uint64_t latency_ns) {
  reports::LoadResult r;
  r.iterations = iterations;
  for (size_t i = 0; i < per_second.size(); ++i) {
    auto& s = r.series.emplace_back();
    s.start_s = static_cast<double>(i);
    s.iterations = per_second[i];
    s.latency.record(latency_ns, per_second[i]);
    r.latency.record(latency_ns, per_second[i]);
  }
  return r;
}

TEST(LiveFeed, HandsOverTotalsAndOnlyTheSecondsThatChanged) {
  load::LiveFeed feed;
  reports::LoadResult totals;
  std::vector<reports::Interval> series;
  EXPECT_EQ(feed.take(totals, series), load::LiveFeed::kNone);  // nothing offered yet

  auto part = part_with(30, {10, 20}, 1000);
  ASSERT_TRUE(feed.offer(part, 0));
  EXPECT_EQ(part.series.size(), 2u);  // the thread keeps its series
  EXPECT_EQ(feed.take(totals, series), 0u);
  EXPECT_EQ(totals.iterations, 30u);
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[1].iterations, 20u);

  // Second 1 changes and second 2 begins; two offers before a take keep the earlier start.
  part.series[1].iterations = 25;
  part.series.emplace_back().iterations = 5;
  ASSERT_TRUE(feed.offer(part, 2));
  ASSERT_TRUE(feed.offer(part, 1));
  EXPECT_EQ(feed.take(totals, series), 1u);
  ASSERT_EQ(series.size(), 3u);
  EXPECT_EQ(series[0].iterations, 10u);
  EXPECT_EQ(series[1].iterations, 25u);
  EXPECT_EQ(series[2].iterations, 5u);
  EXPECT_EQ(feed.take(totals, series), load::LiveFeed::kNone);

  // Totals alone (no second changed).
  part.iterations = 31;
  ASSERT_TRUE(feed.offer(part, load::LiveFeed::kNone));
  EXPECT_EQ(feed.take(totals, series), load::LiveFeed::kNone);
  EXPECT_EQ(totals.iterations, 31u);
}

TEST(LiveFeed, AnOfferNeverWaitsForTheWatcher) {
  load::LiveFeed feed;
  auto part = part_with(1, {1}, 1000);
  // Offers from one thread while another takes as fast as it can: every offer returns, some
  // refused while the taker holds the mailbox, and what the taker saw last is the last offer.
  std::atomic<bool> stop{false};
  reports::LoadResult seen;
  std::vector<reports::Interval> series;
  std::thread taker([&] {
    while (!stop) feed.take(seen, series);
  });
  unsigned accepted = 0;
  for (unsigned i = 0; i < 20000; ++i) {
    part.iterations = i;
    accepted += feed.offer(part, 0) ? 1 : 0;
  }
  while (!feed.offer(part, 0)) {
  }
  stop = true;
  taker.join();
  feed.take(seen, series);
  EXPECT_GT(accepted, 0u);
  EXPECT_EQ(seen.iterations, 19999u);
}

TEST(LiveBoard, MergesThreadsAndRecomputesChangedSeconds) {
  load::LiveBoard board(2);
  auto a = part_with(30, {10, 20}, 1'000'000);
  auto b = part_with(3, {1, 2}, 9'000'000);
  ASSERT_TRUE(board.feed(0)->offer(a, 0));
  ASSERT_TRUE(board.feed(1)->offer(b, 0));
  reports::LoadResult shape;
  shape.profile = "p";
  shape.connections = 7;
  auto t = reports::parse_threshold("rate >= 10/s");
  ASSERT_TRUE(t.threshold);
  const auto& m = board.collect(shape, {*t.threshold}, 2.0);
  EXPECT_EQ(m.iterations, 33u);
  EXPECT_EQ(m.profile, "p");
  EXPECT_EQ(m.connections, 7u);
  EXPECT_DOUBLE_EQ(m.duration_s, 2.0);
  EXPECT_DOUBLE_EQ(m.achieved_rate, 16.5);
  ASSERT_EQ(m.thresholds.size(), 1u);
  EXPECT_TRUE(m.thresholds[0].passed);
  ASSERT_EQ(m.series.size(), 2u);
  EXPECT_EQ(m.series[1].iterations, 22u);
  EXPECT_GE(m.series[1].p99_ns, 9'000'000u);  // 2 of 22 at 9 ms: above the 99th rank
  EXPECT_EQ(m.latency.count(), 33u);
  // Nothing new: the same figures, the series kept.
  const auto& again = board.collect(shape, {}, 3.0);
  EXPECT_EQ(again.iterations, 33u);
  EXPECT_EQ(again.series.size(), 2u);
  EXPECT_EQ(again.series[0].iterations, 11u);
}

TEST(ObserveMetrics, HistogramBucketsAreCumulativeAndHoldWholeReportBuckets) {
  reports::Histogram h;
  h.record(1000, 5);                // at or under the first bound (1024 ns)
  h.record(1024, 1);                // exactly on it: its report bucket's highest is still 1024
  h.record(1'500'000, 4);           // 1.5 ms: in (2^20, 1.5 * 2^20] = (1.048576 ms, 1.572864 ms]
  h.record(200'000'000'000ULL, 1);  // 200 s: the report clamps it to 2^37 - 1 ns (its highest)
  auto p = observe::to_prometheus(h);
  EXPECT_EQ(p.sample_count, 11u);
  ASSERT_FALSE(p.bucket.empty());
  EXPECT_DOUBLE_EQ(p.bucket.front().upper_bound, 1.024e-6);
  EXPECT_EQ(p.bucket.front().cumulative_count, 6u);
  EXPECT_TRUE(std::isinf(p.bucket.back().upper_bound));
  EXPECT_EQ(p.bucket.back().cumulative_count, 11u);
  for (size_t i = 1; i < p.bucket.size(); ++i)
    EXPECT_GE(p.bucket[i].cumulative_count, p.bucket[i - 1].cumulative_count);
  auto at = [&](double bound) {
    for (const auto& b : p.bucket)
      if (std::abs(b.upper_bound - bound) < 1e-12) return b.cumulative_count;
    return uint64_t{999};
  };
  EXPECT_EQ(at(1.048576e-3), 6u);
  EXPECT_EQ(at(1.572864e-3), 10u);
  EXPECT_EQ(at(std::ldexp(1.0, 36) / 1e9), 10u);
  EXPECT_EQ(at(std::ldexp(1.0, 37) / 1e9), 11u);  // the clamped value, at the top bound
}

TEST(ObserveMetrics, EveryMetricCarriesTheRunAndShard) {
  reports::LoadResult l = part_with(7, {7}, 5000);
  l.errors_by_kind["timeout"] = 2;
  reports::ThresholdResult t;
  t.expression = "p99 < 1ms";
  t.passed = true;
  l.thresholds.push_back(t);
  auto families = observe::load_metrics(l, {"r1", 2, 4, "prof", "t:1"}, {3.5, false, 10});
  bool errors = false, threshold = false, iterations = false;
  for (const auto& f : families) {
    ASSERT_FALSE(f.metric.empty()) << f.name;
    for (const auto& m : f.metric) {
      ASSERT_GE(m.label.size(), 3u) << f.name;
      EXPECT_EQ(m.label[0].value, "r1");
      EXPECT_EQ(m.label[1].value, "2");
      EXPECT_EQ(m.label[2].value, "4");
      if (f.name == "sockspec_errors_total" && m.label.back().value == "timeout") {
        errors = m.counter.value == 2;
      }
      if (f.name == "sockspec_threshold_passing") threshold = m.gauge.value == 1;
    }
    if (f.name == "sockspec_iterations_total") iterations = f.metric[0].counter.value == 7;
  }
  EXPECT_TRUE(errors && threshold && iterations);
}

TEST(ObserveDashboard, FragmentSaysWhereTheRunIs) {
  reports::LoadResult l = part_with(7, {7}, 5000);
  l.warmup_s = 2;
  l.duration_s = 1;
  auto warm = observe::live_fragment(l, {"r", 0, 1, "p", "t"}, {1.0, false, 12});
  EXPECT_NE(warm.find("warming up: 1 of 2 s"), std::string::npos) << warm;
  auto run = observe::live_fragment(l, {"r", 1, 4, "p", "t"}, {5.0, false, 12});
  EXPECT_NE(run.find("running: 5 of 12 s"), std::string::npos);
  EXPECT_NE(run.find("shard 1/4"), std::string::npos);
  EXPECT_NE(run.find("data-finished=\"0\""), std::string::npos);
  auto done = observe::live_fragment(l, {"r", 0, 1, "p", "t"}, {12, true, 12});
  EXPECT_NE(done.find("data-finished=\"1\""), std::string::npos);
  auto page = observe::dashboard_page(run, {"r", 0, 1, "<p>", "t"});
  EXPECT_NE(page.find("&lt;p&gt;"), std::string::npos);  // escaped
  EXPECT_EQ(page.find("http"), std::string::npos);       // nothing fetched from elsewhere
}

TEST(ObservePush, UrlIsHttpHostAndPortOnly) {
  auto ok = observe::parse_push_url("http://127.0.0.1:9091/");
  EXPECT_EQ(ok.error, "");
  EXPECT_EQ(ok.host, "http://127.0.0.1");
  EXPECT_EQ(ok.port, "9091");
  EXPECT_EQ(observe::parse_push_url("http://[::1]:9091").port, "9091");
  for (const char* bad : {"127.0.0.1:9091", "https://h:1", "http://h", "http://h:1/metrics/job/x",
                          "http://h:port", "http://:9"}) {
    EXPECT_NE(observe::parse_push_url(bad).error, "") << bad;
  }
}

}  // namespace
}  // namespace sockspec
