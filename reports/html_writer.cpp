#include "reports/html_writer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "reports/find_max.h"
#include "reports/text.h"
#include "reports/thresholds.h"

namespace sockspec::reports {

namespace {

std::string esc(const std::string& s) { return markup_escape(s); }

std::string num(double v, int decimals = 1) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string lat(double ns) { return format_metric("p50", ns); }

const char* kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:16px 24px}
header h1{margin:0 0 4px;font-size:20px}
header .meta{color:#c6cbd6;font-size:13px}
main{padding:16px 24px;max-width:1200px}
.badges span{display:inline-block;margin:6px 6px 0 0;padding:2px 10px;border-radius:12px;font-weight:600;font-size:13px}
.v-pass{background:#dff3e4;color:#17642d}.v-fail,.v-error,.v-xpass{background:#fde2e1;color:#9b1c1c}
.v-warn,.v-xfail{background:#fff1d6;color:#8a5300}.v-skip{background:#e4ecf7;color:#2a4a7a}
.status-ok{color:#7ee2a0}.status-bad{color:#ff9b96}
section{background:#fff;border:1px solid #dde1e8;border-radius:8px;margin:16px 0;padding:12px 16px}
h2{font-size:17px;margin:4px 0 10px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eceef2;vertical-align:top}
th{font-size:12px;text-transform:uppercase;color:#5b6475;letter-spacing:.03em}
td.verdict span{padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
details{margin:4px 0}summary{cursor:pointer;color:#2a4a7a}
pre{background:#f3f4f7;padding:8px;border-radius:6px;overflow-x:auto;font-size:12px;white-space:pre-wrap;word-break:break-all}
.filters label{margin-right:12px;font-size:13px}
.spec{color:#5b6475;font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:16px}
.chart{flex:1 1 360px;max-width:560px;height:auto}
svg text{font:11px system-ui,sans-serif;fill:#5b6475}
@media print{header{background:#fff;color:#000}header .meta{color:#333}.filters{display:none}details{display:block}section{break-inside:avoid}}
)";

const char* kScript = R"(
function applyFilter(){
  var shown={};document.querySelectorAll('.filters input').forEach(function(b){shown[b.value]=b.checked;});
  document.querySelectorAll('tr.case').forEach(function(r){r.style.display=shown[r.dataset.verdict]?'':'none';});
}
document.addEventListener('DOMContentLoaded',function(){
  document.querySelectorAll('.filters input').forEach(function(b){b.addEventListener('change',applyFilter);});applyFilter();
  document.body.dataset.ready='1';});
)";

// A line chart in SVG: x and y in data units, mapped onto a w x h plot with margins.
struct Series {
  std::string name, color;
  std::vector<std::pair<double, double>> points;
  bool dashed = false;  // a reference line (a threshold), not a measurement
  bool dots = false;    // mark each point (few, far apart: one per search step)
};

std::string chart(const std::string& title, const std::vector<Series>& series,
                  const std::string& x_label, const std::string& y_label, bool log_x,
                  const std::vector<std::pair<double, std::string>>& x_ticks,
                  const std::string& id) {
  const double w = 560, h = 260, ml = 64, mr = 16, mt = 24, mb = 40;
  double xmin = 1e300, xmax = -1e300, ymax = 0;
  for (const auto& s : series) {
    for (auto [x, y] : s.points) {
      xmin = std::min(xmin, x);
      xmax = std::max(xmax, x);
      ymax = std::max(ymax, y);
    }
  }
  if (xmin > xmax) {
    xmin = 0;
    xmax = 1;
  }
  if (xmax == xmin) xmax = xmin + 1;
  if (ymax <= 0) ymax = 1;
  ymax *= 1.1;
  auto px = [&](double x) { return ml + (x - xmin) / (xmax - xmin) * (w - ml - mr); };
  auto py = [&](double y) { return mt + (1 - y / ymax) * (h - mt - mb); };
  std::ostringstream s;
  s << "<svg id=\"" << id << "\" class=\"chart\" viewBox=\"0 0 " << w << " " << h
    << "\" role=\"img\" aria-label=\"" << esc(title) << "\">";
  s << "<text x=\"" << ml << "\" y=\"14\" style=\"font-weight:600;fill:#1d2330\">" << esc(title)
    << "</text>";
  for (int i = 0; i <= 4; ++i) {  // horizontal grid with y labels
    double y = ymax * i / 4;
    s << "<line x1=\"" << ml << "\" x2=\"" << w - mr << "\" y1=\"" << py(y) << "\" y2=\"" << py(y)
      << "\" stroke=\"#eceef2\"/><text x=\"" << ml - 6 << "\" y=\"" << py(y) + 4
      << "\" text-anchor=\"end\">" << esc(y_label == "latency" ? lat(y) : num(y, 0)) << "</text>";
  }
  for (const auto& [x, label] : x_ticks) {
    if (x < xmin || x > xmax) continue;
    s << "<line x1=\"" << px(x) << "\" x2=\"" << px(x) << "\" y1=\"" << mt << "\" y2=\"" << h - mb
      << "\" stroke=\"#f0f1f4\"/><text x=\"" << px(x) << "\" y=\"" << h - mb + 14
      << "\" text-anchor=\"middle\">" << esc(label) << "</text>";
  }
  s << "<text x=\"" << (ml + w - mr) / 2 << "\" y=\"" << h - 6 << "\" text-anchor=\"middle\">"
    << esc(x_label) << (log_x ? " (log scale)" : "") << "</text>";
  double lx = ml + 8;
  for (const auto& ser : series) {
    s << "<polyline fill=\"none\" stroke=\"" << ser.color << "\" stroke-width=\"2\""
      << (ser.dashed ? " stroke-dasharray=\"6 4\"" : "") << " points=\"";
    for (auto [x, y] : ser.points) s << num(px(x), 1) << "," << num(py(y), 1) << " ";
    s << "\"/>";
    for (auto [x, y] : ser.points) {
      if (ser.dots)
        s << "<circle cx=\"" << num(px(x), 1) << "\" cy=\"" << num(py(y), 1) << "\" r=\"3\" fill=\""
          << ser.color << "\"/>";
    }
    s << "<rect x=\"" << lx << "\" y=\"" << mt + 2 << "\" width=\"10\" height=\"3\" fill=\""
      << ser.color << "\"/><text x=\"" << lx + 14 << "\" y=\"" << mt + 7 << "\">" << esc(ser.name)
      << "</text>";
    lx += 14 + 8 * static_cast<double>(ser.name.size()) + 16;
  }
  s << "</svg>";
  return s.str();
}

// The HdrHistogram-style percentile distribution: x is "1 in N" on a log scale.
std::string percentile_chart(const LoadResult& l) {
  std::vector<Series> series;
  auto add = [&](const std::string& name, const std::string& color, const Histogram& h) {
    if (h.count() == 0) return;
    Series s{name, color, {}};
    for (double nines = 0; nines <= 5.0001; nines += 0.05) {
      double q = 100.0 * (1 - std::pow(10.0, -nines));
      s.points.emplace_back(nines, static_cast<double>(h.percentile(q)));
    }
    series.push_back(s);
  };
  add("latency", "#2563eb", l.latency);
  if (l.target_rate > 0) add("service time", "#16a34a", l.service);
  add("connect", "#d97706", l.connect);
  std::vector<std::pair<double, std::string>> ticks = {{0, "0%"},    {1, "90%"},    {2, "99%"},
                                                       {3, "99.9%"}, {4, "99.99%"}, {5, "99.999%"}};
  return chart("Latency by percentile", series, "percentile (1 in 10, 100, 1000, ...)", "latency",
               true, ticks, "percentile-chart");
}

std::string series_charts(const LoadResult& l) {
  Series rate{"iterations/s", "#2563eb", {}}, errors{"errors/s", "#dc2626", {}};
  Series p50{"p50", "#16a34a", {}}, p99{"p99", "#9333ea", {}};
  for (const auto& i : l.series) {
    rate.points.emplace_back(i.start_s, static_cast<double>(i.iterations));
    errors.points.emplace_back(i.start_s, static_cast<double>(i.errors));
    p50.points.emplace_back(i.start_s, static_cast<double>(i.p50_ns));
    p99.points.emplace_back(i.start_s, static_cast<double>(i.p99_ns));
  }
  std::vector<std::pair<double, std::string>> ticks;
  for (size_t s = 0; s < l.series.size(); s += std::max<size_t>(1, l.series.size() / 10)) {
    ticks.emplace_back(static_cast<double>(s), std::to_string(s) + "s");
  }
  std::string charts =
      chart("Rate and errors per second", {rate, errors}, "seconds", "count", false, ticks,
            "rate-chart") +
      chart("Latency per second", {p50, p99}, "seconds", "latency", false, ticks, "latency-chart");
  if (!l.udp_sent) return charts;
  Series lost{"lost", "#dc2626", {}}, late{"late", "#ea580c", {}};
  Series dup{"duplicates", "#9333ea", {}}, reord{"reordered", "#2563eb", {}};
  for (const auto& i : l.series) {
    lost.points.emplace_back(i.start_s, static_cast<double>(i.udp_lost));
    late.points.emplace_back(i.start_s, static_cast<double>(i.udp_late));
    dup.points.emplace_back(i.start_s, static_cast<double>(i.udp_duplicates));
    reord.points.emplace_back(i.start_s, static_cast<double>(i.udp_reordered));
  }
  return charts + chart("UDP datagrams per second", {lost, late, dup, reord}, "seconds", "count",
                        false, ticks, "udp-chart");
}

void write_load(const LoadResult& l, std::ostream& out) {
  out << "<section id=\"load\"><h2>Load: " << esc(l.profile) << " <span class=\"spec\">("
      << esc(l.executor) << ", " << esc(l.transport) << ", " << l.connections << " connections, "
      << (l.in_flight > 1 ? std::to_string(l.in_flight) + " in flight each, " : "") << l.threads
      << " threads, " << num(l.duration_s) << " s measured after " << num(l.warmup_s)
      << " s warm-up)</span></h2>";
  out << "<table><tr><th>iterations</th><th>rate</th><th>errors</th><th>p50</th><th>p90</"
         "th><th>p99</th><th>p99.9</th>"
         "<th>max</th></tr><tr><td>"
      << l.iterations << "</td><td>" << format_metric("rate", l.achieved_rate)
      << (l.target_rate > 0 ? " of " + format_metric("rate", l.target_rate) : "") << "</td><td>"
      << l.errors << "</td>";
  for (double p : {50.0, 90.0, 99.0, 99.9})
    out << "<td>" << lat(static_cast<double>(l.latency.percentile(p))) << "</td>";
  out << "<td>" << lat(static_cast<double>(l.latency.max())) << "</td></tr></table>";
  if (l.target_rate > 0) {
    out << "<p>Latency counts from each iteration's scheduled start; service time from its first "
           "send. Schedule: "
        << (l.rate_kept ? "kept" : "<strong>NOT kept</strong>") << ", " << l.scheduled
        << " starts scheduled, " << l.missed_starts << " missed, worst lag " << num(l.max_lag_ms, 2)
        << " ms.</p>";
  }
  if (l.connect.count()) {
    out << "<p>Connect latency: p50 " << lat(static_cast<double>(l.connect.percentile(50)))
        << ", p99 " << lat(static_cast<double>(l.connect.percentile(99))) << " over "
        << l.connect.count() << " connects.</p>";
  }
  if (l.udp_sent) {
    out << "<p id=\"udp\">UDP datagrams: " << l.udp_sent << " sent, " << l.udp_lost
        << " lost (no reply in time), " << l.udp_late << " of them answered late, "
        << l.udp_duplicates << " duplicate replies, " << l.udp_reordered << " out of order.</p>";
  }
  out << "<div class=\"charts\">" << percentile_chart(l) << series_charts(l) << "</div>";
  if (!l.thresholds.empty()) {
    out << "<h2>Thresholds</h2><table "
           "id=\"thresholds\"><tr><th>threshold</th><th>actual</th><th>result</th></tr>";
    for (const auto& t : l.thresholds) {
      out << "<tr><td><code>" << esc(t.expression) << "</code></td><td>" << esc(t.shown)
          << "</td><td class=\"verdict\"><span class=\""
          << (t.passed ? "v-pass\">pass" : "v-fail\">fail") << "</span></td></tr>";
    }
    out << "</table>";
  }
  if (l.errors) {
    out << "<h2>Errors</h2><p>";
    for (const auto& [k, n] : l.errors_by_kind) out << esc(k) << ": " << n << "&nbsp;&nbsp; ";
    out << "</p>";
    for (const auto& e : l.first_errors) {
      out << "<details><summary>" << esc(e.kind) << " at " << esc(e.step) << "</summary><pre>"
          << esc(e.message);
      if (e.mismatch) out << "\n" << esc(render_mismatch(*e.mismatch, ""));
      out << "</pre></details>";
    }
  }
  out << "</section>";
}

// Latency against the value tried, one point per search step (the mean of its runs), with
// the goal's limit as a dashed line. Rates spread geometrically, so x is on a log scale.
std::string find_max_chart(const FindMaxResult& f, const std::vector<FindMaxStep>& steps) {
  Series p50{"p50", "#16a34a", {}, false, true}, p90{"p90", "#2563eb", {}, false, true},
      p99{"p99", "#9333ea", {}, false, true};
  double lo = 1e300, hi = 0;
  // Failing steps can be far past the limit; drawn to scale they would flatten everything near
  // the limit, which is what the chart is for. Latencies above 4x the limit are drawn at 4x.
  double top = f.latency_limit_ns > 0 ? 4 * f.latency_limit_ns : 1e300;
  bool clipped = false;
  for (const auto& s : steps) {
    double x = std::log10(std::max(s.knob, 1e-9));
    clipped = clipped || s.p99 > top;
    p50.points.emplace_back(x, std::min(s.p50, top));
    p90.points.emplace_back(x, std::min(s.p90, top));
    p99.points.emplace_back(x, std::min(s.p99, top));
    lo = std::min(lo, s.knob);
    hi = std::max(hi, s.knob);
  }
  std::vector<Series> series = {p50, p90, p99};
  if (f.latency_limit_ns > 0 && !steps.empty()) {
    Series limit{f.latency_metric + " limit", "#dc2626", {}, true, false};
    double x0 = p99.points.front().first, x1 = p99.points.back().first;
    if (x1 <= x0) x1 = x0 + 0.3;  // one step: the line still shows where the limit is
    limit.points = {{x0, f.latency_limit_ns}, {x1, f.latency_limit_ns}};
    series.push_back(limit);
  }
  std::vector<std::pair<double, std::string>> ticks;
  for (double decade = std::pow(10.0, std::floor(std::log10(std::max(lo, 1e-9))));
       decade <= hi && ticks.size() < 40; decade *= 10) {
    for (double m : {1.0, 2.0, 5.0}) {
      double v = decade * m;
      if (v >= lo / 1.01 && v <= hi * 1.01) {
        std::string label = f.mode == "vus" ? num(v, 0) : format_metric("rate", v);
        ticks.emplace_back(std::log10(v), label);
      }
    }
  }
  return chart("Latency by " + std::string(f.mode == "vus" ? "virtual users" : "rate asked") +
                   (clipped ? " (cut at 4x the limit)" : ""),
               series, f.mode == "vus" ? "virtual users" : "iterations per second asked", "latency",
               true, ticks, "find-max-chart");
}

void write_find_max(const FindMaxResult& f, std::ostream& out) {
  auto steps = find_max_steps(f);
  out << "<section id=\"find-max\"><h2>Capacity search: " << esc(f.outcome) << "</h2><p><strong>"
      << esc(f.message) << "</strong></p><p class=\"spec\">Goal:";
  for (size_t i = 0; i < f.thresholds.size(); ++i)
    out << (i ? ", " : " ") << "<code>" << esc(f.thresholds[i]) << "</code>";
  out << (f.mode == "rate" ? " and every scheduled start kept" : "") << ". " << f.runs.size()
      << " runs of " << num(f.step_duration_s) << " s after " << num(f.warmup_s)
      << " s warm-up each, " << esc(format_ms(f.elapsed_s * 1000)) << " in all (budget "
      << num(f.budget_s, 0) << " s); a step near the boundary runs up to " << f.repeats
      << " times, its p99 spread shows how much the runs differed.</p>";
  out << "<div class=\"charts\">" << find_max_chart(f, steps) << "</div>";
  out << "<table id=\"find-max-steps\"><tr><th>" << (f.mode == "vus" ? "users" : "rate asked")
      << "</th><th>verdict</th><th>runs</th><th>achieved</th><th>p50</th><th>p90</th><th>p99 "
         "(spread)</th><th>service p99</th><th>generator CPU</th><th>why</th></tr>";
  for (const auto& s : steps) {
    out << "<tr><td>" << esc(format_knob(f, s.knob)) << "</td><td class=\"verdict\"><span class=\""
        << (s.passed ? "v-pass\">pass" : "v-fail\">fail") << "</span></td><td>" << s.passes << "/"
        << s.runs << " passed</td><td>" << format_metric("rate", s.rate) << "</td><td>"
        << lat(s.p50) << "</td><td>" << lat(s.p90) << "</td><td>"
        << esc(format_spread(s.p99_lo, s.p99_hi)) << "</td><td>" << lat(s.service_p99)
        << "</td><td>" << num(s.generator_cpu * 100, 0) << "%</td><td>" << esc(s.why)
        << "</td></tr>";
  }
  out << "</table></section>";
}

void write_cases(const RunReport& r, std::ostream& out) {
  out << "<section id=\"cases\"><h2>Cases</h2><div class=\"filters\">Show: ";
  for (Verdict v : {Verdict::pass, Verdict::fail, Verdict::error, Verdict::warn, Verdict::skip,
                    Verdict::xfail, Verdict::xpass}) {
    out << "<label><input type=\"checkbox\" value=\"" << to_string(v) << "\" checked> "
        << to_string(v) << "</label>";
  }
  out << "</div><table "
         "id=\"case-table\"><tr><th>verdict</th><th>case</th><th>level</th><th>time</th></tr>";
  for (const auto& s : r.suites) {
    Counts c = counts_of(s);
    out << "<tr class=\"suite\"><td colspan=\"4\"><strong>" << esc(s.name)
        << "</strong> <span class=\"spec\">" << esc(s.title)
        << (s.spec.empty() ? "" : " — " + esc(s.spec)) << " — " << esc(render_counts(c))
        << "</span></td></tr>";
    for (const auto& cs : s.cases) {
      out << "<tr class=\"case\" data-verdict=\"" << to_string(cs.verdict)
          << "\"><td class=\"verdict\"><span class=\"v-" << to_string(cs.verdict) << "\">"
          << to_string(cs.verdict) << "</span></td><td>" << esc(s.name) << "/" << esc(cs.id);
      if (!cs.title.empty()) out << "<div class=\"spec\">" << esc(cs.title) << "</div>";
      if (!cs.spec_ref.empty()) out << "<div class=\"spec\">" << esc(cs.spec_ref) << "</div>";
      if (is_failing(cs.verdict) || cs.verdict == Verdict::warn || cs.verdict == Verdict::skip ||
          cs.verdict == Verdict::xfail) {
        std::string details = cs.verdict == Verdict::skip || cs.verdict == Verdict::xfail
                                  ? cs.reason
                                  : render_failure(cs, "");
        out << "<details" << (is_failing(cs.verdict) ? " open" : "")
            << "><summary>details</summary><pre>" << esc(details) << "</pre></details>";
      }
      out << "</td><td>" << esc(cs.level) << "</td><td>" << esc(format_ms(cs.duration_ms))
          << "</td></tr>";
    }
  }
  out << "</table></section>";
}

}  // namespace

void write_html(const RunReport& r, std::ostream& out) {
  Counts c = r.counts();
  bool ok = r.exit_code == 0;
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
         "content=\"width=device-width,initial-scale=1\"><title>sockspec "
      << (r.load ? "load " : "") << "report: " << esc(r.meta.target) << "</title><style>" << kStyle
      << "</style><script>" << kScript << "</script></head><body>\n";
  out << "<header><h1>sockspec " << (r.load && r.suites.empty() ? "load run" : "conformance run")
      << " — <span class=\"" << (ok ? "status-ok\">passed" : "status-bad\">FAILED")
      << "</span> (exit " << r.exit_code << ")</h1>";
  out << "<div class=\"meta\">target <strong>" << esc(r.meta.target) << "</strong> ("
      << esc(r.meta.address) << ") · sockspec " << esc(r.meta.version) << " · seed " << r.meta.seed
      << " · started " << esc(r.meta.started_at) << " on " << esc(r.meta.host) << " · "
      << esc(format_ms(r.meta.duration_ms)) << "</div>";
  if (!r.meta.impairment.empty())
    out << "<div class=\"meta\">network impairment: " << esc(r.meta.impairment) << "</div>";
  if (!r.suites.empty()) {
    out << "<div class=\"badges\" id=\"summary\">";
    for (auto [v, n] : {std::pair{Verdict::pass, c.pass},
                        {Verdict::fail, c.fail},
                        {Verdict::error, c.error},
                        {Verdict::warn, c.warn},
                        {Verdict::skip, c.skip},
                        {Verdict::xfail, c.xfail},
                        {Verdict::xpass, c.xpass}}) {
      if (n)
        out << "<span class=\"v-" << to_string(v) << "\">" << n << " " << to_string(v) << "</span>";
    }
    out << "</div>";
  }
  out << "<div class=\"meta\">" << esc(r.meta.command_line) << "</div></header>\n<main>";
  for (const auto& n : r.notes) out << "<section><strong>Note:</strong> " << esc(n) << "</section>";
  if (r.find_max) write_find_max(*r.find_max, out);
  if (r.load) write_load(*r.load, out);
  if (!r.suites.empty()) write_cases(r, out);
  if (r.server) {
    out << "<section id=\"server\"><h2>Managed server</h2><p><code>" << esc(r.server->command)
        << "</code></p>";
    out << "<details><summary>stdout (" << r.server->stdout_text.size() << " bytes)</summary><pre>"
        << esc(r.server->stdout_text) << "</pre></details>";
    out << "<details" << (r.server->stderr_text.empty() ? "" : " open") << "><summary>stderr ("
        << r.server->stderr_text.size() << " bytes)</summary><pre>" << esc(r.server->stderr_text)
        << "</pre></details>";
    if (r.server->truncated) out << "<p>(output truncated)</p>";
    out << "</section>";
  }
  out << "</main></body></html>\n";
}

}  // namespace sockspec::reports
