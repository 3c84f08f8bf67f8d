#include "reports/html_writer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "reports/charts.h"
#include "reports/find_max.h"
#include "reports/svg_chart.h"
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
.chart{flex:1 1 480px;height:auto}
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

}  // namespace

void write_load_section(const LoadResult& l, std::ostream& out) {
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
  if (std::string w = window_summary(l); !w.empty()) out << "<p>Window: " << esc(w) << ".</p>";
  if (std::string full = window_full_message(l); !full.empty())
    out << "<p><strong>Windows full:</strong> " << esc(full) << ".</p>";
  if (l.connect.count()) {
    out << "<p>Connect latency: p50 " << lat(static_cast<double>(l.connect.percentile(50)))
        << ", p99 " << lat(static_cast<double>(l.connect.percentile(99))) << " over "
        << l.connect.count() << " connects.</p>";
  }
  if (uint64_t n = l.tls_full.count() + l.tls_resumed.count(); n || l.tls_failed) {
    out << "<p>TLS handshakes: " << n << " (" << l.tls_resumed.count() << " resumed, "
        << l.tls_failed << " failed)";
    if (l.tls_full.count())
      out << "; full p50 " << lat(static_cast<double>(l.tls_full.percentile(50))) << ", p99 "
          << lat(static_cast<double>(l.tls_full.percentile(99)));
    if (l.tls_resumed.count())
      out << "; resumed p50 " << lat(static_cast<double>(l.tls_resumed.percentile(50))) << ", p99 "
          << lat(static_cast<double>(l.tls_resumed.percentile(99)));
    out << ".</p>";
  }
  if (l.udp_sent) {
    out << "<p id=\"udp\">UDP datagrams: " << l.udp_sent << " sent, " << l.udp_lost
        << " lost (no reply in time), " << l.udp_late << " of them answered late, "
        << l.udp_duplicates << " duplicate replies, " << l.udp_reordered << " out of order.</p>";
  }
  out << "<div class=\"charts\">" << render_svg(percentile_chart(l));
  for (const Chart& c : per_second_charts(l)) out << render_svg(c);
  out << "</div>";
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

namespace {

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
      << " times: the table and the chart's line give the median of its runs (of an even number, "
         "the higher middle one), the range in brackets their lowest and highest p99.</p>";
  out << "<div class=\"charts\">" << render_svg(find_max_chart(f)) << "</div>";
  out << "<table id=\"find-max-steps\"><tr>";
  for (const auto& h : find_max_columns(f)) out << "<th>" << esc(h) << "</th>";
  out << "</tr>";
  for (const auto& s : steps) {
    auto cells = find_max_cells(f, s);
    out << "<tr>";
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i == 1) {  // the verdict
        out << "<td class=\"verdict\"><span class=\"v-" << cells[i] << "\">" << cells[i]
            << "</span></td>";
      } else {
        out << "<td>" << esc(cells[i]) << "</td>";
      }
    }
    out << "</tr>";
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

const char* html_style() { return kStyle; }

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
  if (r.load) write_load_section(*r.load, out);
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
