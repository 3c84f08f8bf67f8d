#include "reports/console_writer.h"

#include <cctype>
#include <cstdio>

#include "reports/text.h"
#include "reports/thresholds.h"

namespace sockspec::reports {

namespace {

const char* color_of(Verdict v) {
  switch (v) {
    case Verdict::pass:
      return "\033[32m";
    case Verdict::fail:
    case Verdict::error:
    case Verdict::xpass:
      return "\033[31m";
    case Verdict::warn:
    case Verdict::xfail:
      return "\033[33m";
    case Verdict::skip:
      return "\033[36m";
  }
  return "";
}

std::string tag(Verdict v, const ConsoleStyle& style) {
  std::string t = to_string(v);
  for (char& ch : t) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  t.resize(5, ' ');
  if (!style.color) return t;
  return std::string(color_of(v)) + t + "\033[0m";
}

}  // namespace

void write_case_line(const std::string& suite, const CaseResult& c, const ConsoleStyle& style,
                     std::ostream& out) {
  out << tag(c.verdict, style) << " " << suite << "/" << c.id;
  if (c.verdict == Verdict::skip || c.verdict == Verdict::xfail) {
    out << "  (" << c.reason << ")\n";
    return;
  }
  out << "  (" << format_ms(c.duration_ms) << ")\n";
  if (c.verdict == Verdict::xpass) {
    out << "      passed, but is listed as an expected failure: " << c.reason << "\n";
    if (!c.rerun.empty()) out << "      rerun: " << c.rerun << "\n";
  } else if (is_failing(c.verdict) || c.verdict == Verdict::warn) {
    out << render_failure(c, "      ");
  }
}

void write_summary(const RunReport& r, const ConsoleStyle& style, std::ostream& out) {
  Counts c = r.counts();
  std::vector<std::pair<const SuiteResult*, const CaseResult*>> failing;
  for (const auto& s : r.suites) {
    for (const auto& cs : s.cases) {
      if (is_failing(cs.verdict)) failing.emplace_back(&s, &cs);
    }
  }
  if (!failing.empty()) {
    out << "\nfailures:\n";
    for (auto [s, cs] : failing) {
      out << "  " << tag(cs->verdict, style) << " " << s->name << "/" << cs->id;
      if (!cs->spec_ref.empty()) out << "  [" << cs->spec_ref << "]";
      out << "\n";
    }
  }
  for (const auto& n : r.notes) out << "note: " << n << "\n";
  out << "\n"
      << render_counts(c) << " in " << format_ms(r.meta.duration_ms) << " (seed " << r.meta.seed
      << ")\n";
}

void write_load_summary(const LoadResult& l, const ConsoleStyle& style, std::ostream& out) {
  auto ms = [](uint64_t ns) { return format_metric("p50", static_cast<double>(ns)); };
  out << "\n"
      << l.profile << " (" << l.executor << ", " << l.transport << "): " << l.iterations
      << " iterations in " << l.duration_s << " s, " << format_metric("rate", l.achieved_rate);
  if (l.target_rate > 0) out << " of " << format_metric("rate", l.target_rate) << " asked";
  out << "\n";
  out << "  latency  p50 " << ms(l.latency.percentile(50)) << "  p90 "
      << ms(l.latency.percentile(90)) << "  p99 " << ms(l.latency.percentile(99)) << "  p99.9 "
      << ms(l.latency.percentile(99.9)) << "  max " << ms(l.latency.max()) << "\n";
  if (l.target_rate > 0) {
    out << "  service  p50 " << ms(l.service.percentile(50)) << "  p99 "
        << ms(l.service.percentile(99))
        << "  (from the actual send; latency counts from the scheduled start)\n";
  }
  if (l.connect.count()) {
    out << "  connect  p50 " << ms(l.connect.percentile(50)) << "  p99 "
        << ms(l.connect.percentile(99)) << "\n";
  }
  if (uint64_t n = l.tls_full.count() + l.tls_resumed.count(); n || l.tls_failed) {
    char buf[200];
    std::snprintf(
        buf, sizeof buf, "  tls      %.1f handshakes/s, %.1f%% resumed, %llu failed\n",
        l.duration_s > 0 ? static_cast<double>(n) / l.duration_s : 0.0,
        n ? 100.0 * static_cast<double>(l.tls_resumed.count()) / static_cast<double>(n) : 0.0,
        static_cast<unsigned long long>(l.tls_failed));
    out << buf;
    if (l.tls_full.count())
      out << "    full     p50 " << ms(l.tls_full.percentile(50)) << "  p99 "
          << ms(l.tls_full.percentile(99)) << "\n";
    if (l.tls_resumed.count())
      out << "    resumed  p50 " << ms(l.tls_resumed.percentile(50)) << "  p99 "
          << ms(l.tls_resumed.percentile(99)) << "\n";
  }
  if (l.duration_s > 0 && (l.bytes_sent || l.bytes_received)) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "  traffic  sent %.1f MB/s, received %.1f MB/s",
                  static_cast<double>(l.bytes_sent) / l.duration_s / 1e6,
                  static_cast<double>(l.bytes_received) / l.duration_s / 1e6);
    out << buf;
    if (l.datagrams_sent)
      out << ", " << format_metric("rate", static_cast<double>(l.datagrams_sent) / l.duration_s)
          << " datagrams";
    out << "\n";
  }
  if (l.udp_sent) {
    out << "  udp      " << l.udp_sent << " sent, " << l.udp_lost << " lost, " << l.udp_late
        << " late, " << l.udp_duplicates << " duplicated, " << l.udp_reordered << " reordered\n";
  }
  if (l.generator_peak_rss_kib) {
    out << "  memory   sockspec peak RSS " << l.generator_peak_rss_kib / 1024 << " MiB for "
        << l.connections << " connections\n";
  }
  out << "  errors   " << l.errors;
  for (const auto& [kind, n] : l.errors_by_kind) out << "  " << kind << " " << n;
  out << "\n";
  for (const auto& e : l.first_errors)
    out << "    " << e.kind << " at " << e.step << ": " << e.message << "\n";
  if (std::string w = window_summary(l); !w.empty()) out << "  window   " << w << "\n";
  if (l.target_rate > 0) {
    out << "  schedule " << (l.rate_kept ? "kept" : "NOT KEPT") << ": " << l.scheduled
        << " starts scheduled, " << l.missed_starts << " missed, worst lag " << l.max_lag_ms
        << " ms\n";
  }
  if (std::string full = window_full_message(l); !full.empty()) out << "    " << full << "\n";
  for (const auto& t : l.thresholds) {
    std::string tag = t.passed ? "PASS " : "FAIL ";
    if (style.color) tag = std::string(t.passed ? "\033[32m" : "\033[31m") + tag + "\033[0m";
    out << "  " << tag << t.expression << "  (actual " << t.shown << ")\n";
  }
}

}  // namespace sockspec::reports
