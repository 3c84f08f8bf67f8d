#include "reports/merge.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "reports/thresholds.h"

namespace sockspec::reports {

namespace {

// Adds one part's per-second series: by wall-clock second when both know when their second 0
// was (shards), else index by index (threads of one run).
void merge_series(LoadResult& into, const LoadResult& l) {
  long shift = 0;  // l's second i is into's second i + shift
  if (l.series_origin_unix_ms > 0 && into.series_origin_unix_ms > 0) {
    shift = std::lround((l.series_origin_unix_ms - into.series_origin_unix_ms) / 1000.0);
  } else if (into.series_origin_unix_ms <= 0 && into.series.empty()) {
    into.series_origin_unix_ms = l.series_origin_unix_ms;
  }
  if (shift < 0) {  // l began earlier: into's seconds move later
    into.series.insert(into.series.begin(), static_cast<size_t>(-shift), Interval{});
    into.series_origin_unix_ms -= static_cast<double>(-shift) * 1000.0;
    shift = 0;
  }
  size_t need = l.series.size() + static_cast<size_t>(shift);
  if (into.series.size() < need) into.series.resize(need);
  for (size_t i = 0; i < into.series.size(); ++i) into.series[i].start_s = static_cast<double>(i);
  for (size_t i = 0; i < l.series.size(); ++i) {
    add_interval(into.series[i + static_cast<size_t>(shift)], l.series[i]);
  }
  for (auto& s : into.series) {
    s.p50_ns = s.latency.percentile(50);
    s.p99_ns = s.latency.percentile(99);
  }
}

std::string shard_name(unsigned i, unsigned n) {
  return "shard " + std::to_string(i) + "/" + std::to_string(n);
}

// The shards of one run: same run id and count, each once, none missing (unless allowed).
// Returns an error, or fills `merged` with the shards present and notes what is partial.
std::string check_shards(const std::vector<RunReport>& parts, const MergeOptions& o,
                         ShardInfo& merged, std::vector<std::string>& notes) {
  auto name = [&](size_t i) {
    return i < o.names.size() ? o.names[i] : "part " + std::to_string(i + 1);
  };
  const ShardInfo& first = parts.front().load->shard;
  std::map<unsigned, size_t> seen;
  for (size_t i = 0; i < parts.size(); ++i) {
    const ShardInfo& s = parts[i].load->shard;
    if (s.run_id != first.run_id)
      return "the reports are of different runs: " + name(0) + " is run \"" + first.run_id +
             "\", " + name(i) + " is run \"" + s.run_id + "\"";
    if (s.count != first.count)
      return name(0) + " is " + shard_name(first.index, first.count) + " but " + name(i) + " is " +
             shard_name(s.index, s.count) + ": the run was split two ways";
    if (auto it = seen.find(s.index); it != seen.end())
      return shard_name(s.index, s.count) + " is given twice: " + name(it->second) + " and " +
             name(i);
    seen[s.index] = i;
  }
  std::string missing;
  for (unsigned k = 0; k < first.count; ++k) {
    if (seen.count(k)) {
      merged.merged.push_back(k);
    } else {
      missing += (missing.empty() ? "" : ", ") + std::to_string(k);
    }
  }
  if (!missing.empty()) {
    std::string what = "run \"" + first.run_id + "\" is missing shard(s) " + missing + " of " +
                       std::to_string(first.count);
    if (!o.allow_partial) return what + " (merge them all, or pass --allow-partial)";
    merged.partial = true;
    notes.push_back("partial: " + what);
  }
  for (const auto& [k, i] : seen) {
    double late = parts[i].load->shard.late_start_s;
    if (late > 0) {
      char secs[32];
      std::snprintf(secs, sizeof secs, "%.3f", late);
      notes.push_back(shard_name(k, first.count) + " (" + name(i) + ") started " + secs +
                      " s after --start-at " + first.start_at + ": its seconds are late");
    }
    merged.late_start_s = std::max(merged.late_start_s, late);
  }
  return "";
}

}  // namespace

void add_interval(Interval& into, const Interval& s) {
  into.iterations += s.iterations;
  into.errors += s.errors;
  into.udp_lost += s.udp_lost;
  into.udp_late += s.udp_late;
  into.udp_duplicates += s.udp_duplicates;
  into.udp_reordered += s.udp_reordered;
  into.latency.merge(s.latency);
}

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
  into.in_flight = std::max(into.in_flight, l.in_flight);
  if (into.in_flight_source.empty()) into.in_flight_source = l.in_flight_source;
  into.in_flight_needed = std::max(into.in_flight_needed, l.in_flight_needed);
  into.window_timeout_ms = std::max(into.window_timeout_ms, l.window_timeout_ms);
  into.window_memory_limit = std::max(into.window_memory_limit, l.window_memory_limit);
  into.window_full_starts += l.window_full_starts;
  into.window_full_s = std::max(into.window_full_s, l.window_full_s);
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
  into.tls_full.merge(l.tls_full);
  into.tls_resumed.merge(l.tls_resumed);
  into.tls_failed += l.tls_failed;
  merge_series(into, l);
}

Merged merge_reports(const std::vector<RunReport>& parts, const MergeOptions& options) {
  Merged out;
  if (parts.empty()) {
    out.error = "nothing to merge";
    return out;
  }
  bool sharded = std::any_of(parts.begin(), parts.end(),
                             [](const RunReport& p) { return p.load && p.load->shard.count > 1; });
  std::vector<std::string> shard_notes;
  ShardInfo shard_info;
  if (sharded) {
    if (!std::all_of(parts.begin(), parts.end(), [](const RunReport& p) { return p.load; })) {
      out.error = "cannot merge a shard of a load run with a report that is not a load run";
      return out;
    }
    out.error = check_shards(parts, options, shard_info, shard_notes);
    if (!out.error.empty()) return out;
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
    if (!sharded && p.meta.seed != m.meta.seed) m.notes.push_back("the parts used different seeds");
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
  if (sharded) {
    const ShardInfo& f = parts.front().load->shard;
    shard_info.run_id = f.run_id;
    shard_info.count = f.count;
    shard_info.index = 0;
    shard_info.start_at = f.start_at;
    m.load->shard = shard_info;
    m.notes.insert(m.notes.end(), shard_notes.begin(), shard_notes.end());
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
