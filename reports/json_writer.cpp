#include "reports/json_writer.h"

#include <cstdio>

namespace sockspec::reports {

using json = nlohmann::json;

namespace {

json mismatch_json(const Mismatch& m) {
  return {{"offset", m.offset},
          {"expected_size", m.expected_size},
          {"actual_size", m.actual_size},
          {"window_start", m.window_start},
          {"expected_hex", m.expected_hex},
          {"actual_hex", m.actual_hex},
          {"expected_text", m.expected_text},
          {"actual_text", m.actual_text}};
}

json step_json(const StepResult& s) {
  json j = {{"path", s.path},
            {"op", s.op},
            {"pointer", s.pointer},
            {"verdict", to_string(s.verdict)},
            {"elapsed_ms", s.elapsed_ms},
            {"bytes_sent", s.bytes_sent},
            {"bytes_received", s.bytes_received}};
  if (!s.label.empty()) j["label"] = s.label;
  if (!s.message.empty()) j["message"] = s.message;
  if (!s.errno_name.empty()) j["errno"] = s.errno_name;
  if (s.mismatch) j["mismatch"] = mismatch_json(*s.mismatch);
  return j;
}

json counts_json(const Counts& c) {
  return {{"total", c.total()}, {"pass", c.pass}, {"fail", c.fail},   {"error", c.error},
          {"skip", c.skip},     {"warn", c.warn}, {"xfail", c.xfail}, {"xpass", c.xpass}};
}

json case_json(const CaseResult& c) {
  json steps = json::array();
  for (const auto& s : c.steps) steps.push_back(step_json(s));
  json j = {{"id", c.id},
            {"title", c.title},
            {"spec_ref", c.spec_ref},
            {"level", c.level},
            {"tags", c.tags},
            {"verdict", to_string(c.verdict)},
            {"duration_ms", c.duration_ms},
            {"steps", steps}};
  if (!c.reason.empty()) j["reason"] = c.reason;
  if (!c.rerun.empty()) j["rerun"] = c.rerun;
  if (!c.impairment.empty()) j["impairment"] = c.impairment;
  if (!c.captures.empty()) {
    json caps = json::object();
    for (const auto& [name, value] : c.captures) caps[name] = value;
    j["captures"] = caps;
  }
  return j;
}

json histogram_json(const Histogram& h) {
  json buckets = json::array();
  for (const auto& [v, n] : h.buckets()) buckets.push_back({v, n});
  json pct = json::object();
  for (double p : {50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    char key[16];
    std::snprintf(key, sizeof key, "p%g", p);
    pct[key] = h.percentile(p);
  }
  return {{"unit", "ns"},       {"sub_bucket_bits", h.sub_bucket_bits()},
          {"count", h.count()}, {"min", h.min()},
          {"max", h.max()},     {"mean", h.mean()},
          {"percentiles", pct}, {"buckets", buckets}};
}

json load_json(const LoadResult& l) {
  json series = json::array();
  for (const auto& i : l.series) {
    json buckets = json::array();  // this second's coarse histogram, so merges stay exact
    for (const auto& [v, n] : i.latency.buckets()) buckets.push_back({v, n});
    series.push_back({{"start_s", i.start_s},
                      {"iterations", i.iterations},
                      {"errors", i.errors},
                      {"p50_ns", i.p50_ns},
                      {"p99_ns", i.p99_ns},
                      {"udp",
                       {{"lost", i.udp_lost},
                        {"late", i.udp_late},
                        {"duplicates", i.udp_duplicates},
                        {"reordered", i.udp_reordered}}},
                      {"buckets", buckets}});
  }
  json thresholds = json::array();
  for (const auto& t : l.thresholds) {
    json j = {{"expression", t.expression},
              {"metric", t.metric},
              {"passed", t.passed},
              {"shown", t.shown}};
    j["actual"] = t.actual ? json(*t.actual) : json(nullptr);
    thresholds.push_back(j);
  }
  json samples = json::array();
  for (const auto& e : l.first_errors) {
    json j = {{"kind", e.kind}, {"step", e.step}, {"message", e.message}};
    if (e.mismatch) j["mismatch"] = mismatch_json(*e.mismatch);
    samples.push_back(j);
  }
  return {{"profile", l.profile},
          {"file", l.file},
          {"executor", l.executor},
          {"transport", l.transport},
          {"duration_s", l.duration_s},
          {"warmup_s", l.warmup_s},
          {"threads", l.threads},
          {"connections", l.connections},
          {"in_flight", l.in_flight},
          {"target_rate", l.target_rate},
          {"achieved_rate", l.achieved_rate},
          {"iterations", l.iterations},
          {"errors", l.errors},
          {"errors_by_kind", l.errors_by_kind},
          {"first_errors", samples},
          {"scheduled", l.scheduled},
          {"missed_starts", l.missed_starts},
          {"max_lag_ms", l.max_lag_ms},
          {"rate_kept", l.rate_kept},
          {"generator_peak_rss_kib", l.generator_peak_rss_kib},
          {"traffic",
           {{"datagrams_sent", l.datagrams_sent},
            {"bytes_sent", l.bytes_sent},
            {"bytes_received", l.bytes_received}}},
          {"udp",
           {{"sent", l.udp_sent},
            {"lost", l.udp_lost},
            {"duplicates", l.udp_duplicates},
            {"late", l.udp_late},
            {"reordered", l.udp_reordered}}},
          {"latency", histogram_json(l.latency)},
          {"service", histogram_json(l.service)},
          {"connect", histogram_json(l.connect)},
          {"window",
           {{"in_flight", l.in_flight},
            {"chosen_by", l.in_flight_source},
            {"needed", l.in_flight_needed},
            {"timeout_ms", l.window_timeout_ms},
            {"memory_limit_bytes", l.window_memory_limit},
            {"full_starts", l.window_full_starts},
            {"full_s", l.window_full_s}}},
          {"tls",
           {{"full", histogram_json(l.tls_full)},
            {"resumed", histogram_json(l.tls_resumed)},
            {"failed", l.tls_failed}}},
          {"series", series},
          {"series_origin_unix_ms", l.series_origin_unix_ms},
          {"shard",
           {{"run_id", l.shard.run_id},
            {"index", l.shard.index},
            {"count", l.shard.count},
            {"merged", l.shard.merged},
            {"partial", l.shard.partial},
            {"start_at", l.shard.start_at},
            {"late_start_s", l.shard.late_start_s}}},
          {"thresholds", thresholds}};
}

json opt(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json find_max_json(const FindMaxResult& f) {
  json runs = json::array();
  for (const auto& r : f.runs) {
    runs.push_back({{"knob", r.knob},
                    {"passed", r.passed},
                    {"achieved_rate", r.achieved_rate},
                    {"p50_ns", r.p50_ns},
                    {"p90_ns", r.p90_ns},
                    {"p99_ns", r.p99_ns},
                    {"service_p99_ns", r.service_p99_ns},
                    {"errors", r.errors},
                    {"missed_starts", r.missed_starts},
                    {"generator_cpu", r.generator_cpu},
                    {"generator_limited", r.generator_limited},
                    {"why", r.why}});
  }
  return {{"mode", f.mode},
          {"outcome", f.outcome},
          {"message", f.message},
          {"found", opt(f.found)},
          {"rate", opt(f.rate)},
          {"first_fail", opt(f.first_fail)},
          {"min", f.min},
          {"max", f.max},
          {"precision", f.precision},
          {"repeats", f.repeats},
          {"step_duration_s", f.step_duration_s},
          {"warmup_s", f.warmup_s},
          {"budget_s", f.budget_s},
          {"elapsed_s", f.elapsed_s},
          {"thresholds", f.thresholds},
          {"latency_metric", f.latency_metric},
          {"latency_limit_ns", f.latency_limit_ns},
          {"runs", runs}};
}

}  // namespace

json to_json(const RunReport& r) {
  json suites = json::array();
  for (const auto& s : r.suites) {
    json cases = json::array();
    for (const auto& c : s.cases) cases.push_back(case_json(c));
    suites.push_back({{"name", s.name},
                      {"title", s.title},
                      {"file", s.file},
                      {"spec", s.spec},
                      {"service", s.service},
                      {"transport", s.transport},
                      {"counts", counts_json(counts_of(s))},
                      {"cases", cases}});
  }
  const RunMeta& m = r.meta;
  json j = {{"schema_version", r.schema_version},
            {"kind", r.kind},
            {"run",
             {{"tool", m.tool},
              {"version", m.version},
              {"command_line", m.command_line},
              {"target", m.target},
              {"address", m.address},
              {"seed", m.seed},
              {"started_at", m.started_at},
              {"duration_ms", m.duration_ms},
              {"host", m.host},
              {"strict", m.strict}}},
            {"counts", counts_json(r.counts())},
            {"exit_code", r.exit_code},
            {"notes", r.notes},
            {"suites", suites}};
  if (!m.impairment.empty()) j["run"]["impairment"] = m.impairment;
  if (r.load) j["load"] = load_json(*r.load);
  if (r.find_max) j["find_max"] = find_max_json(*r.find_max);
  if (r.server) {
    j["server"] = {{"command", r.server->command},
                   {"stdout", r.server->stdout_text},
                   {"stderr", r.server->stderr_text},
                   {"truncated", r.server->truncated}};
  }
  return j;
}

void write_json(const RunReport& r, std::ostream& out) {
  // Replace invalid UTF-8 (a server's captured output can hold anything) rather than throw.
  out << to_json(r).dump(2, ' ', false, json::error_handler_t::replace) << "\n";
}

}  // namespace sockspec::reports
