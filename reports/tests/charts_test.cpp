// The HTML report's charts as data: round ticks, per-second steps over the time each second
// covers, and a capacity search's chart telling the same story as its table.
#include "reports/charts.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "reports/find_max.h"
#include "reports/html_writer.h"
#include "reports/markdown_writer.h"
#include "reports/svg_chart.h"
#include "reports/tests/find_max_sample.h"
#include "reports/text.h"
#include "reports/thresholds.h"

namespace sockspec::reports {
namespace {

std::vector<std::string> labels(const std::vector<Tick>& ticks) {
  std::vector<std::string> out;
  for (const auto& t : ticks) out.push_back(t.label);
  return out;
}

ChartSeries flat(double y, int n) {
  ChartSeries s{"s", "#000", {}};
  for (int i = 0; i < n; ++i) s.points.push_back({static_cast<double>(i), y});
  return s;
}

TEST(NiceTicks, StepsAreOneTwoOrFiveTimesAPowerOfTenAndCoverTheRange) {
  EXPECT_EQ(nice_ticks(0, 1.49e6, 5, false), (std::vector<double>{0, 5e5, 1e6, 1.5e6}));
  EXPECT_EQ(nice_ticks(0, 144761, 5, true), (std::vector<double>{0, 5e4, 1e5, 1.5e5}));
  EXPECT_EQ(nice_ticks(0, 3, 5, true), (std::vector<double>{0, 1, 2, 3}));
  for (double hi : {0.003, 0.7, 1.0, 9.99, 13.0, 374.0, 4.04e6, 8.1e6, 1e9, 3.3e10}) {
    for (bool integers : {false, true}) {
      auto t = nice_ticks(0, hi, 5, integers);
      ASSERT_GE(t.size(), 2u) << hi;
      EXPECT_LE(t.size(), 12u) << hi;
      EXPECT_EQ(t.front(), 0) << hi;
      EXPECT_GE(t.back(), hi) << hi;
      double step = t[1] - t[0];
      double mantissa = step / std::pow(10.0, std::floor(std::log10(step) + 1e-9));
      EXPECT_TRUE(std::abs(mantissa - 1) < 1e-6 || std::abs(mantissa - 2) < 1e-6 ||
                  std::abs(mantissa - 5) < 1e-6)
          << hi << ": step " << step;
      if (integers) {
        EXPECT_GE(step, 1) << hi;
      }
      for (size_t i = 1; i < t.size(); ++i) EXPECT_NEAR(t[i] - t[i - 1], step, step * 1e-9);
    }
  }
}

TEST(NiceTicks, AnEmptyRangeIsWidenedToOneStep) {
  EXPECT_EQ(nice_ticks(0, 0, 5, true), (std::vector<double>{0, 1}));
  EXPECT_GE(nice_ticks(0, 0, 5, false).size(), 2u);
}

TEST(TickLabel, OneUnitPerAxisWithTheDecimalsTheStepNeeds) {
  EXPECT_EQ(tick_label(0, 5e5, 1.5e6, AxisUnit::latency_ns), "0");
  EXPECT_EQ(tick_label(5e5, 5e5, 1.5e6, AxisUnit::latency_ns), "0.5ms");
  EXPECT_EQ(tick_label(1.5e6, 5e5, 1.5e6, AxisUnit::latency_ns), "1.5ms");
  EXPECT_EQ(tick_label(200e3, 100e3, 400e3, AxisUnit::latency_ns), "200us");
  EXPECT_EQ(tick_label(2e6, 1e6, 4e6, AxisUnit::latency_ns), "2ms");
  EXPECT_EQ(tick_label(1e5, 5e4, 1.5e5, AxisUnit::count), "100k");
  EXPECT_EQ(tick_label(7, 1, 9, AxisUnit::count), "7");
  EXPECT_EQ(tick_label(0.3, 0.1, 0.5, AxisUnit::plain), "0.3");  // counted, not 0.30000000004
}

TEST(ChartLayout, LatencyAxisEndsAtTheFirstRoundTickAboveTheData) {
  Chart c;
  c.y.unit = AxisUnit::latency_ns;
  c.series = {flat(1.49e6, 3), flat(70e3, 3)};
  ChartLayout l = layout(c);
  EXPECT_EQ(labels(l.y_ticks), (std::vector<std::string>{"0", "0.5ms", "1.0ms", "1.5ms"}));
  EXPECT_EQ(l.y_max, 1.5e6);
  EXPECT_EQ(l.x_min, 0);
  EXPECT_EQ(l.x_max, 2);
}

TEST(ChartLayout, CountAxesHaveWholeNumberTicksAndAllZeroReadsZeroToOne) {
  for (auto [value, want] : {std::pair{0.0, std::vector<std::string>{"0", "1"}},
                             {2.0, std::vector<std::string>{"0", "1", "2"}}}) {
    Chart c;
    c.y.unit = AxisUnit::count;
    c.y.integers = true;
    c.series = {flat(value, 3)};
    EXPECT_EQ(labels(layout(c).y_ticks), want) << value;
  }
}

TEST(RenderSvg, AMissingValueBreaksTheLine) {
  Chart c;
  ChartSeries s{"p50", "#000", {{0, 1}, {1, 1}, {1, std::nan("")}, {2, 2}, {3, 2}}};
  c.series = {s};
  std::string svg = render_svg(c);
  size_t lines = 0;
  for (size_t at = svg.find("<polyline"); at != std::string::npos;
       at = svg.find("<polyline", at + 1))
    ++lines;
  EXPECT_EQ(lines, 2u) << svg;
  EXPECT_EQ(svg.find("nan"), std::string::npos);
}

Interval second(double start, uint64_t iterations, uint64_t p50) {
  Interval i;
  i.start_s = start;
  i.iterations = iterations;
  i.p50_ns = p50;
  i.p99_ns = 2 * p50;
  return i;
}

TEST(PerSecondCharts, EachSecondIsHeldAcrossTheTimeItCovers) {
  LoadResult l;
  l.duration_s = 2;
  l.series = {second(0, 1000, 50'000), second(1, 1200, 60'000)};
  auto charts = per_second_charts(l);
  ASSERT_EQ(charts.size(), 2u);  // no UDP chart without tagged datagrams
  const Chart& rate = charts[0];
  EXPECT_EQ(rate.id, "rate-chart");
  const auto& p = rate.series[0].points;
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0].x, 0);
  EXPECT_EQ(p[0].y, 1000);
  EXPECT_EQ(p[1].x, 1);
  EXPECT_EQ(p[1].y, 1000);
  EXPECT_EQ(p[2].x, 1);
  EXPECT_EQ(p[2].y, 1200);
  EXPECT_EQ(p[3].x, 2);  // the 2 s run is drawn over 2 s, not 0s..1s
  ChartLayout lay = layout(rate);
  EXPECT_EQ(lay.x_max, 2);
  EXPECT_EQ(labels(lay.x_ticks), (std::vector<std::string>{"0s", "1s", "2s"}));
  EXPECT_EQ(labels(lay.y_ticks), (std::vector<std::string>{"0", "500", "1000", "1500"}));
}

TEST(PerSecondCharts, APartialLastSecondIsARateOverTheTimeItCovers) {
  LoadResult l;
  l.duration_s = 2.5;
  l.series = {second(0, 1000, 50'000), second(1, 1000, 50'000), second(2, 500, 50'000)};
  EXPECT_EQ(seconds_covered(l, l.series[2]), 0.5);
  EXPECT_EQ(seconds_covered(l, l.series[1]), 1);
  auto charts = per_second_charts(l);
  const auto& p = charts[0].series[0].points;
  ASSERT_EQ(p.size(), 6u);
  EXPECT_EQ(p[4].y, 1000);  // 500 iterations in half a second
  EXPECT_EQ(p[5].x, 2.5);
  EXPECT_EQ(layout(charts[0]).x_max, 2.5);
}

TEST(PerSecondCharts, ASecondWithoutIterationsHasNoLatency) {
  LoadResult l;
  l.duration_s = 3;
  l.series = {second(0, 10, 50'000), second(1, 0, 0), second(2, 10, 50'000)};
  auto charts = per_second_charts(l);
  const auto& p50 = charts[1].series[0].points;
  ASSERT_EQ(p50.size(), 5u);
  EXPECT_TRUE(std::isnan(p50[2].y));
  EXPECT_EQ(charts[0].series[0].points[2].y, 0);  // the rate does drop to 0
}

TEST(PerSecondCharts, UdpCountsThatAreAllZeroReadZeroToOne) {
  LoadResult l;
  l.duration_s = 2;
  l.udp_sent = 100;
  l.series = {second(0, 50, 50'000), second(1, 50, 50'000)};
  auto charts = per_second_charts(l);
  ASSERT_EQ(charts.size(), 3u);
  EXPECT_EQ(charts[2].id, "udp-chart");
  EXPECT_EQ(labels(layout(charts[2]).y_ticks), (std::vector<std::string>{"0", "1"}));
}

TEST(FindMaxSteps, ValuesAreTheMedianRunAndATieReadsAsAFailure) {
  EXPECT_EQ(upper_median({3, 1, 2}), 2);
  EXPECT_EQ(upper_median({1, 9}), 9);
  EXPECT_EQ(upper_median({}), 0);
  auto steps = find_max_steps(sample_find_max());
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_TRUE(steps[2].passed);
  EXPECT_EQ(steps[2].p99, 900'000);  // under the limit, as the verdict says
  EXPECT_EQ(steps[2].p99_lo, 800'000);
  EXPECT_EQ(steps[2].p99_hi, 1'900'000);
  EXPECT_FALSE(steps[3].passed);
  EXPECT_EQ(steps[3].p99, 9'000'000);  // over the limit, as the verdict says
}

TEST(FindMaxChart, EachRunIsADotAndEachStepAMarkedPointOnItsMedian) {
  FindMaxResult f = sample_find_max();
  Chart c = find_max_chart(f);
  const ChartSeries* p99_runs = nullptr;
  const ChartSeries* p99 = nullptr;
  const ChartSeries* limit = nullptr;
  for (const auto& s : c.series) {
    if (s.color == "#9333ea" && s.name.empty()) p99_runs = &s;
    if (s.name == "p99") p99 = &s;
    if (s.name == "p99 limit") limit = &s;
  }
  ASSERT_TRUE(p99_runs && p99 && limit);
  EXPECT_FALSE(p99_runs->line);
  ASSERT_EQ(p99_runs->points.size(), f.runs.size());
  for (const auto& p : p99_runs->points) EXPECT_EQ(p.mark, Mark::dot);
  EXPECT_TRUE(limit->dashed);
  EXPECT_EQ(limit->points[0].y, 1e6);
  // 9ms is past 4x the limit: drawn at 4ms, and the axis stops there.
  EXPECT_EQ(c.y.max, 4e6);
  EXPECT_EQ(labels(layout(c).y_ticks), (std::vector<std::string>{"0", "1ms", "2ms", "3ms", "4ms"}));
  EXPECT_NE(c.title.find("cut at 4x"), std::string::npos);
  // The line and the table tell one story: the same value, filled where the table says pass.
  auto steps = find_max_steps(f);
  ASSERT_EQ(p99->points.size(), steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    auto cells = find_max_cells(f, steps[i]);
    const ChartPoint& pt = p99->points[i];
    EXPECT_NEAR(std::pow(10.0, pt.x), steps[i].knob, 1e-6);
    EXPECT_EQ(pt.mark, cells[1] == "pass" ? Mark::filled : Mark::hollow) << cells[0];
    EXPECT_EQ(pt.y, std::min(steps[i].p99, 4e6)) << cells[0];
    EXPECT_EQ(cells[6].rfind(format_metric("p99", steps[i].p99), 0), 0u)
        << cells[0] << ": " << cells[6];
    EXPECT_EQ(pt.y < f.latency_limit_ns, steps[i].passed) << cells[0];
  }
  EXPECT_EQ(find_max_cells(f, steps[2])[6], "900.0us (800.0us-1.90ms)");
  EXPECT_EQ(find_max_cells(f, steps[0])[6], "200.0us");
}

TEST(FindMaxTable, MarkdownAndHtmlShowTheSameCells) {
  RunReport r;
  r.kind = "load";
  r.find_max = sample_find_max();
  std::ostringstream md, html;
  write_markdown(r, md);
  write_html(r, html);
  for (const auto& s : find_max_steps(*r.find_max)) {
    auto cells = find_max_cells(*r.find_max, s);
    std::string row = "|";
    for (size_t i = 0; i < cells.size(); ++i)
      row += " " + (i == 1 && !s.passed ? "**fail**" : cells[i]) + " |";
    EXPECT_NE(md.str().find(row), std::string::npos) << row << "\n" << md.str();
    std::string tr = "<tr><td>" + cells[0] + "</td><td class=\"verdict\"><span class=\"v-" +
                     cells[1] + "\">" + cells[1] + "</span></td>";
    for (size_t i = 2; i < cells.size(); ++i) tr += "<td>" + markup_escape(cells[i]) + "</td>";
    EXPECT_NE(html.str().find(tr + "</tr>"), std::string::npos) << tr;
  }
}

}  // namespace
}  // namespace sockspec::reports
