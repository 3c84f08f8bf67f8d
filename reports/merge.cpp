#include "reports/merge.h"

#include <algorithm>

#include "reports/thresholds.h"

namespace sockspec::reports {

void merge_load(LoadResult& into, const LoadResult& l) {
  into.iterations += l.iterations;
  into.errors += l.errors;
  for (const auto& [k, n] : l.errors_by_kind) into.errors_by_kind[k] += n;
  for (const auto& e : l.first_errors) {
    if (into.first_errors.size() < 5) into.first_errors.push_back(e);
  }
  // The parts ran at the same time against the same target: their rates add up.
  into.achieved_rate += l.achieved_rate;
  into.target_rate += l.target_rate;
  into.threads += l.threads;
  into.connections += l.connections;
  into.duration_s = std::max(into.duration_s, l.duration_s);
  into.scheduled += l.scheduled;
  into.missed_starts += l.missed_starts;
  into.max_lag_ms = std::max(into.max_lag_ms, l.max_lag_ms);
  into.rate_kept = into.rate_kept && l.rate_kept;
  into.udp_sent += l.udp_sent;
  into.udp_lost += l.udp_lost;
  into.udp_duplicates += l.udp_duplicates;
  into.udp_late += l.udp_late;
  into.udp_reordered += l.udp_reordered;
  into.datagrams_sent += l.datagrams_sent;
  into.bytes_sent += l.bytes_sent;
  into.bytes_received += l.bytes_received;
  into.latency.merge(l.latency);
  into.service.merge(l.service);
  into.connect.merge(l.connect);
  if (into.series.size() < l.series.size()) into.series.resize(l.series.size());
  for (size_t i = 0; i < l.series.size(); ++i) {
    Interval& s = into.series[i];
    s.start_s = l.series[i].start_s;
    s.iterations += l.series[i].iterations;
    s.errors += l.series[i].errors;
    s.latency.merge(l.series[i].latency);
    s.p50_ns = s.latency.percentile(50);
    s.p99_ns = s.latency.percentile(99);
  }
}

Merged merge_reports(const std::vector<RunReport>& parts) {
  Merged out;
  if (parts.empty()) {
    out.error = "nothing to merge";
    return out;
  }
  RunReport m = parts.front();
  for (size_t i = 1; i < parts.size(); ++i) {
    const RunReport& p = parts[i];
    if (p.kind != m.kind) {
      out.error = "cannot merge a " + p.kind + " report into a " + m.kind + " report";
      return out;
    }
    if (m.load && p.load && p.load->profile != m.load->profile) {
      out.error =
          "the reports are of different profiles: " + m.load->profile + " and " + p.load->profile;
      return out;
    }
    if (p.meta.seed != m.meta.seed) m.notes.push_back("the parts used different seeds");
    m.meta.started_at = std::min(m.meta.started_at, p.meta.started_at);
    m.meta.duration_ms = std::max(m.meta.duration_ms, p.meta.duration_ms);
    if (p.meta.host != m.meta.host && m.meta.host.find(p.meta.host) == std::string::npos) {
      m.meta.host += ", " + p.meta.host;
    }
    // Suites: cases of the same suite (a run split by --filter) join one list.
    for (const auto& s : p.suites) {
      auto it = std::find_if(m.suites.begin(), m.suites.end(),
                             [&](const SuiteResult& x) { return x.name == s.name; });
      if (it == m.suites.end()) {
        m.suites.push_back(s);
        continue;
      }
      for (const auto& c : s.cases) {
        bool dup = std::any_of(it->cases.begin(), it->cases.end(),
                               [&](const CaseResult& x) { return x.id == c.id; });
        if (dup) {
          m.notes.push_back("case " + s.name + "/" + c.id +
                            " is in more than one part; the first is kept");
        } else {
          it->cases.push_back(c);
        }
      }
    }
    if (p.load) {
      if (!m.load) {
        m.load = p.load;
      } else {
        merge_load(*m.load, *p.load);
      }
    }
    for (const auto& n : p.notes) m.notes.push_back(n);
  }
  bool ok = m.counts().failing() == 0;
  if (m.load) {
    for (auto& t : m.load->thresholds) {
      auto parsed = parse_threshold(t.expression);
      if (!parsed.threshold) continue;
      t = evaluate(*parsed.threshold, *m.load);
      ok = ok && t.passed;
    }
    ok = ok && m.load->rate_kept;
  }
  m.exit_code = ok ? 0 : 1;
  out.report = std::move(m);
  return out;
}

}  // namespace sockspec::reports
