#include "reports/charts.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "reports/find_max.h"
#include "reports/thresholds.h"

namespace sockspec::reports {

ChartSeries percentile_series(const std::string& name, const std::string& color,
                              const Histogram& h) {
  ChartSeries s{name, color, {}};
  for (int i = 0; i <= 100; ++i) {
    double nines = i * 0.05;
    double q = 100.0 * (1 - std::pow(10.0, -nines));
    s.points.push_back({nines, static_cast<double>(h.percentile(q))});
  }
  return s;
}

namespace {
// Latency against "1 in N": the axes, no lines yet.
Chart percentile_axes(std::string id, std::string title) {
  Chart c;
  c.id = std::move(id);
  c.title = std::move(title);
  c.x.label = "percentile (1 in 10, 100, 1000, ...)";
  c.x.log = true;
  c.x.ticks = {{0, "0%"}, {1, "90%"}, {2, "99%"}, {3, "99.9%"}, {4, "99.99%"}, {5, "99.999%"}};
  c.y.unit = AxisUnit::latency_ns;
  return c;
}
}  // namespace

Chart percentile_chart(const LoadResult& l) {
  Chart c = percentile_axes("percentile-chart", "Latency by percentile");
  auto add = [&](const std::string& name, const std::string& color, const Histogram& h) {
    if (h.count() > 0) c.series.push_back(percentile_series(name, color, h));
  };
  add("latency", "#2563eb", l.latency);
  if (l.target_rate > 0) add("service time", "#16a34a", l.service);
  add("connect", "#d97706", l.connect);
  add("tls full handshake", "#7c3aed", l.tls_full);
  add("tls resumed", "#db2777", l.tls_resumed);
  return c;
}

double seconds_covered(const LoadResult& l, const Interval& i) {
  double left = l.duration_s - i.start_s;
  return left > 0 && left < 1 ? left : 1;
}

namespace {

// A value held over [from, to): two points, so consecutive seconds join as steps.
void hold(ChartSeries& s, double from, double to, double v) {
  s.points.push_back({from, v});
  s.points.push_back({to, v});
}

Axis seconds_axis(double end) {
  Axis a;
  a.label = "seconds of the measured window";
  a.min = 0;
  a.max = end;
  auto values = nice_ticks(0, end, 6, true);
  double step = values.size() > 1 ? values[1] - values[0] : 1;
  for (double v : values)
    if (v <= end + 1e-9) a.ticks.push_back({v, tick_label(v, step, end, AxisUnit::plain) + "s"});
  return a;
}

Chart per_second_chart(std::string id, std::string title, double end, AxisUnit unit,
                       std::vector<ChartSeries> series) {
  Chart c;
  c.id = std::move(id);
  c.title = std::move(title);
  c.x = seconds_axis(end);
  c.y.unit = unit;
  c.y.integers = unit == AxisUnit::count;
  c.series = std::move(series);
  return c;
}

}  // namespace

std::vector<Chart> per_second_charts(const LoadResult& l) {
  ChartSeries rate{"iterations/s", "#2563eb", {}}, errors{"errors/s", "#dc2626", {}};
  ChartSeries p50{"p50", "#16a34a", {}}, p99{"p99", "#9333ea", {}};
  ChartSeries lost{"lost", "#dc2626", {}}, late{"late", "#ea580c", {}};
  ChartSeries dup{"duplicates", "#9333ea", {}}, reord{"reordered", "#2563eb", {}};
  const double nan = std::numeric_limits<double>::quiet_NaN();
  double end = 0;
  for (const auto& i : l.series) {
    double from = i.start_s, span = seconds_covered(l, i), to = from + span;
    end = std::max(end, to);
    auto per_s = [&](uint64_t n) { return static_cast<double>(n) / span; };
    hold(rate, from, to, per_s(i.iterations));
    hold(errors, from, to, per_s(i.errors));
    if (i.iterations == 0) {
      for (ChartSeries* s : {&p50, &p99}) s->points.push_back({from, nan});
    } else {
      hold(p50, from, to, static_cast<double>(i.p50_ns));
      hold(p99, from, to, static_cast<double>(i.p99_ns));
    }
    hold(lost, from, to, per_s(i.udp_lost));
    hold(late, from, to, per_s(i.udp_late));
    hold(dup, from, to, per_s(i.udp_duplicates));
    hold(reord, from, to, per_s(i.udp_reordered));
  }
  std::vector<Chart> charts = {per_second_chart("rate-chart", "Rate and errors per second", end,
                                                AxisUnit::count, {rate, errors}),
                               per_second_chart("latency-chart", "Latency per second", end,
                                                AxisUnit::latency_ns, {p50, p99})};
  if (l.udp_sent) {
    charts.push_back(per_second_chart("udp-chart", "UDP datagrams per second", end, AxisUnit::count,
                                      {lost, late, dup, reord}));
  }
  return charts;
}

std::vector<Chart> comparison_charts(const LoadResult& base, const LoadResult& now) {
  Chart pct = percentile_axes("compare-percentile-chart", "Latency by percentile, base and new");
  if (base.latency.count())
    pct.series.push_back(percentile_series("base", "#64748b", base.latency));
  if (now.latency.count()) pct.series.push_back(percentile_series("new", "#2563eb", now.latency));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  ChartSeries rate_b{"base", "#64748b", {}}, rate_n{"new", "#2563eb", {}};
  ChartSeries p99_b{"base p99", "#64748b", {}}, p99_n{"new p99", "#9333ea", {}};
  double end = 0;
  auto add = [&](const LoadResult& l, ChartSeries& rate, ChartSeries& p99) {
    for (const auto& i : l.series) {
      double from = i.start_s, span = seconds_covered(l, i), to = from + span;
      end = std::max(end, to);
      hold(rate, from, to, static_cast<double>(i.iterations) / span);
      if (i.iterations == 0)
        p99.points.push_back({from, nan});
      else
        hold(p99, from, to, static_cast<double>(i.p99_ns));
    }
  };
  add(base, rate_b, p99_b);
  add(now, rate_n, p99_n);
  return {pct,
          per_second_chart("compare-rate-chart", "Iterations per second, base and new", end,
                           AxisUnit::count, {rate_b, rate_n}),
          per_second_chart("compare-latency-chart", "p99 per second, base and new", end,
                           AxisUnit::latency_ns, {p99_b, p99_n})};
}

Chart find_max_chart(const FindMaxResult& f) {
  auto steps = find_max_steps(f);
  bool vus = f.mode == "vus";
  Chart c;
  c.id = "find-max-chart";
  c.width = 1100;  // the steps crowd near the boundary, the part worth reading
  c.y.unit = AxisUnit::latency_ns;
  c.x.label = vus ? "virtual users" : "iterations per second asked";
  c.x.log = true;
  c.note =
      "line: each step's median run; filled: the step passed, hollow: it failed; "
      "small dots: single runs";
  // Failing steps can be far past the limit; drawn to scale they would flatten everything near
  // the limit, which is what the chart is for.
  double top = f.latency_limit_ns > 0 ? 4 * f.latency_limit_ns : 1e300;
  bool clipped = false;
  auto x_of = [](double knob) { return std::log10(std::max(knob, 1e-9)); };
  struct Metric {
    const char* name;
    const char* color;
    uint64_t FindMaxRun::*run;
    double FindMaxStep::*step;
  };
  const Metric metrics[] = {{"p50", "#16a34a", &FindMaxRun::p50_ns, &FindMaxStep::p50},
                            {"p90", "#2563eb", &FindMaxRun::p90_ns, &FindMaxStep::p90},
                            {"p99", "#9333ea", &FindMaxRun::p99_ns, &FindMaxStep::p99}};
  std::vector<ChartSeries> runs, lines;
  for (const Metric& m : metrics) {
    ChartSeries dots{"", m.color, {}, false};
    for (const auto& r : f.runs) {
      auto v = static_cast<double>(r.*m.run);
      clipped = clipped || v > top;
      dots.points.push_back({x_of(r.knob), std::min(v, top), Mark::dot});
    }
    ChartSeries line{m.name, m.color, {}};
    for (const auto& s : steps)
      line.points.push_back(
          {x_of(s.knob), std::min(s.*m.step, top), s.passed ? Mark::filled : Mark::hollow});
    runs.push_back(dots);
    lines.push_back(line);
  }
  c.series = runs;
  c.series.insert(c.series.end(), lines.begin(), lines.end());
  double lo = steps.empty() ? 1 : steps.front().knob, hi = steps.empty() ? 1 : steps.back().knob;
  double x0 = x_of(lo), x1 = x_of(hi);
  if (x1 <= x0) x1 = x0 + 0.3;    // one step: the limit's line still shows where it is
  double pad = (x1 - x0) * 0.04;  // the marks at either end are drawn whole
  c.x.min = x0 - pad;
  c.x.max = x1 + pad;
  if (f.latency_limit_ns > 0 && !steps.empty()) {
    ChartSeries limit{f.latency_metric + " limit", "#dc2626", {}, true, true};
    limit.points = {{x0, f.latency_limit_ns}, {x1, f.latency_limit_ns}};
    c.series.push_back(limit);
  }
  if (clipped) c.y.max = top;
  for (double decade = std::pow(10.0, std::floor(x_of(lo))); decade <= hi && c.x.ticks.size() < 40;
       decade *= 10) {
    for (double m : {1.0, 2.0, 5.0}) {
      double v = decade * m;
      if (v >= lo / 1.01 && v <= hi * 1.01)
        c.x.ticks.push_back(
            {x_of(v), vus ? tick_label(v, 1, v, AxisUnit::plain) : format_metric("rate", v)});
    }
  }
  c.title = std::string("Latency by ") + (vus ? "virtual users" : "rate asked") +
            (clipped ? " (cut at 4x the limit)" : "");
  return c;
}

}  // namespace sockspec::reports
