#include "reports/markdown_writer.h"

#include "reports/find_max.h"
#include "reports/text.h"
#include "reports/thresholds.h"

namespace sockspec::reports {

namespace {

// Table cells must not break the table: pipes and newlines are escaped.
std::string cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += " ";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string lat(uint64_t ns) { return format_metric("p50", static_cast<double>(ns)); }

// Second by second, folded away (a CI summary stays short); UDP columns when tags were on.
void write_series(const LoadResult& l, std::ostream& out) {
  constexpr size_t kMaxRows = 120;
  if (l.series.empty()) return;
  bool udp = l.udp_sent > 0;
  out << "\n<details><summary>Per second</summary>\n\n| s | iterations | errors | p50 | p99 |"
      << (udp ? " lost | late | duplicates | reordered |" : "") << "\n|---|---|---|---|---|"
      << (udp ? "---|---|---|---|" : "") << "\n";
  size_t step = (l.series.size() + kMaxRows - 1) / kMaxRows;  // every step-th second if long
  for (size_t n = 0; n < l.series.size(); n += step) {
    const Interval& i = l.series[n];
    out << "| " << n << " | " << i.iterations << " | " << i.errors << " | " << lat(i.p50_ns)
        << " | " << lat(i.p99_ns) << " |";
    if (udp) {
      out << " " << i.udp_lost << " | " << i.udp_late << " | " << i.udp_duplicates << " | "
          << i.udp_reordered << " |";
    }
    out << "\n";
  }
  if (step > 1) out << "\nEvery " << step << "th second shown.\n";
  out << "\n</details>\n";
}

void write_load(const LoadResult& l, std::ostream& out) {
  out << "\n### Load: " << l.profile << " (" << l.executor << ", " << l.transport << ")\n\n";
  out << "| iterations | rate | errors | p50 | p90 | p99 | p99.9 | max "
         "|\n|---|---|---|---|---|---|---|---|\n";
  out << "| " << l.iterations << " | " << format_metric("rate", l.achieved_rate);
  if (l.target_rate > 0) out << " of " << format_metric("rate", l.target_rate);
  out << " | " << l.errors << " | " << lat(l.latency.percentile(50)) << " | "
      << lat(l.latency.percentile(90)) << " | " << lat(l.latency.percentile(99)) << " | "
      << lat(l.latency.percentile(99.9)) << " | " << lat(l.latency.max()) << " |\n";
  if (l.target_rate > 0 && !l.rate_kept) {
    out << "\n**The asked rate was not kept:** " << l.missed_starts << " of " << l.scheduled
        << " scheduled iterations never started.\n";
  }
  if (std::string full = window_full_message(l); !full.empty())
    out << "\nWindows: " << full << ".\n";
  if (l.udp_sent) {
    out << "\nUDP: " << l.udp_sent << " sent, " << l.udp_lost << " lost, " << l.udp_late
        << " late, " << l.udp_duplicates << " duplicated, " << l.udp_reordered << " reordered.\n";
  }
  write_series(l, out);
  if (!l.errors_by_kind.empty()) {
    out << "\nErrors by kind:";
    for (const auto& [k, n] : l.errors_by_kind) out << " " << k << " " << n << ";";
    out << "\n";
  }
  if (!l.thresholds.empty()) {
    out << "\n| threshold | actual | result |\n|---|---|---|\n";
    for (const auto& t : l.thresholds) {
      out << "| `" << cell(t.expression) << "` | " << cell(t.shown) << " | "
          << (t.passed ? "pass" : "**FAIL**") << " |\n";
    }
  }
}

// One entry per case whose verdict `wanted` picks, under `title` (nothing when none).
template <typename Pred>
void write_cases(const RunReport& r, std::ostream& out, const char* title, Pred wanted) {
  bool header = false;
  for (const auto& s : r.suites) {
    for (const auto& cs : s.cases) {
      if (!wanted(cs.verdict)) continue;
      if (!header) {
        out << "\n### " << title << "\n\n";
        header = true;
      }
      out << "- **" << to_string(cs.verdict) << " " << s.name << "/" << cs.id << "**";
      if (!cs.spec_ref.empty()) out << " (" << cs.spec_ref << ")";
      out << "\n\n  ```\n";
      std::string details = render_failure(cs, "  ");
      // Why it was skipped or is expected to fail comes first, when the steps do not say it.
      if (!cs.reason.empty() && details.find(cs.reason) == std::string::npos) {
        details = "  " + cs.reason + "\n" + details;
      }
      // The first lines are enough for a summary; the HTML and JSON reports have it all.
      int lines = 0;
      for (size_t pos = 0; pos < details.size() && lines < 8; ++lines) {
        size_t nl = details.find('\n', pos);
        out << details.substr(pos, nl - pos) << "\n";
        pos = nl == std::string::npos ? details.size() : nl + 1;
      }
      out << "  ```\n";
    }
  }
}

void write_find_max(const FindMaxResult& f, std::ostream& out) {
  out << "\n### Capacity search: " << f.outcome << "\n\n" << f.message << "\n\n";
  out << "Goal: ";
  for (size_t i = 0; i < f.thresholds.size(); ++i)
    out << (i ? ", " : "") << "`" << f.thresholds[i] << "`";
  out << (f.mode == "rate" ? " and every scheduled start kept" : "") << ". " << f.runs.size()
      << " runs of " << f.step_duration_s << " s (after " << f.warmup_s << " s warm-up each) in "
      << format_ms(f.elapsed_s * 1000) << ".\n\n";
  auto columns = find_max_columns(f);
  for (const auto& h : columns) out << "| " << h << " ";
  out << "|\n";
  for (size_t i = 0; i < columns.size(); ++i) out << "|---";
  out << "|\n";
  for (const auto& s : find_max_steps(f)) {
    auto cells = find_max_cells(f, s);
    for (size_t i = 0; i < cells.size(); ++i)
      out << "| " << (i == 1 && !s.passed ? "**fail**" : cell(cells[i])) << " ";
    out << "|\n";
  }
  out << "\nEach step's values are the median of its runs (of an even number, the higher middle "
         "one); the range in brackets is its runs' lowest and highest p99.\n";
}

}  // namespace

void write_markdown(const RunReport& r, std::ostream& out) {
  Counts c = r.counts();
  out << "## sockspec " << (r.exit_code == 0 ? "passed" : "FAILED") << ": ";
  out << (r.load && r.suites.empty() ? std::string("load run") : render_counts(c));
  out << "\n\nTarget `" << r.meta.target << "`, seed " << r.meta.seed << ", started "
      << r.meta.started_at << ", " << format_ms(r.meta.duration_ms) << ".\n";
  if (!r.meta.impairment.empty()) out << "\nNetwork impairment: `" << r.meta.impairment << "`.\n";
  if (!r.suites.empty()) {
    out << "\n| suite | pass | warn | fail | error | skip | xfail | xpass "
           "|\n|---|---|---|---|---|---|---|---|\n";
    for (const auto& s : r.suites) {
      Counts k = counts_of(s);
      out << "| " << cell(s.name) << " | " << k.pass << " | " << k.warn << " | " << k.fail << " | "
          << k.error << " | " << k.skip << " | " << k.xfail << " | " << k.xpass << " |\n";
    }
    write_cases(r, out, "Failures", is_failing);
    // A green run can still hide something: every warning, skip and xfail is named with its
    // reason, so "1 warnings" in the title always has a case to read.
    write_cases(r, out, "Passed with warnings, skipped, expected to fail", [](Verdict v) {
      return v == Verdict::warn || v == Verdict::skip || v == Verdict::xfail;
    });
  }
  if (r.find_max) write_find_max(*r.find_max, out);
  if (r.load) write_load(*r.load, out);
  for (const auto& n : r.notes) out << "\n> " << n << "\n";
}

}  // namespace sockspec::reports
