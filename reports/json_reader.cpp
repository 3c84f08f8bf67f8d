#include "reports/json_reader.h"

#include "reports/json_guard.h"

namespace sockspec::reports {

using json = nlohmann::json;

namespace {

Verdict verdict_of(const std::string& s) {
  for (Verdict v : {Verdict::pass, Verdict::fail, Verdict::error, Verdict::skip, Verdict::warn,
                    Verdict::xfail, Verdict::xpass}) {
    if (s == to_string(v)) return v;
  }
  throw std::runtime_error("unknown verdict '" + s + "'");
}

template <typename T>
T val(const json& j, const char* key, T def) {
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? def : it->get<T>();
}

Mismatch mismatch_of(const json& m) {
  return {val<uint64_t>(m, "offset", 0),
          val<uint64_t>(m, "expected_size", 0),
          val<uint64_t>(m, "actual_size", 0),
          val<uint64_t>(m, "window_start", 0),
          val<std::string>(m, "expected_hex", ""),
          val<std::string>(m, "actual_hex", ""),
          val<std::string>(m, "expected_text", ""),
          val<std::string>(m, "actual_text", "")};
}

Histogram histogram_of(const json& h) {
  std::vector<std::pair<uint64_t, uint64_t>> buckets;
  for (const auto& b : h.at("buckets"))
    buckets.emplace_back(b.at(0).get<uint64_t>(), b.at(1).get<uint64_t>());
  Histogram out =
      Histogram::from_buckets(buckets, val<int>(h, "sub_bucket_bits", Histogram::kPreciseBits));
  if (h.contains("max"))
    out.restore_exact(val<uint64_t>(h, "min", 0), val<uint64_t>(h, "max", 0),
                      val<double>(h, "mean", 0));
  return out;
}

LoadResult load_of(const json& l) {
  LoadResult r;
  r.profile = val<std::string>(l, "profile", "");
  r.file = val<std::string>(l, "file", "");
  r.executor = val<std::string>(l, "executor", "");
  r.transport = val<std::string>(l, "transport", "");
  r.duration_s = val<double>(l, "duration_s", 0);
  r.warmup_s = val<double>(l, "warmup_s", 0);
  r.threads = val<unsigned>(l, "threads", 0);
  r.connections = val<unsigned>(l, "connections", 0);
  r.in_flight = val<unsigned>(l, "in_flight", 1);
  r.target_rate = val<double>(l, "target_rate", 0);
  r.achieved_rate = val<double>(l, "achieved_rate", 0);
  r.iterations = val<uint64_t>(l, "iterations", 0);
  r.errors = val<uint64_t>(l, "errors", 0);
  r.errors_by_kind = val<std::map<std::string, uint64_t>>(l, "errors_by_kind", {});
  for (const auto& e : l.value("first_errors", json::array())) {
    ErrorSample s{val<std::string>(e, "kind", ""),
                  val<std::string>(e, "step", ""),
                  val<std::string>(e, "message", ""),
                  {}};
    if (e.contains("mismatch")) s.mismatch = mismatch_of(e["mismatch"]);
    r.first_errors.push_back(s);
  }
  r.scheduled = val<uint64_t>(l, "scheduled", 0);
  r.missed_starts = val<uint64_t>(l, "missed_starts", 0);
  r.max_lag_ms = val<double>(l, "max_lag_ms", 0);
  r.rate_kept = val<bool>(l, "rate_kept", true);
  r.generator_peak_rss_kib = val<uint64_t>(l, "generator_peak_rss_kib", 0);
  if (l.contains("traffic")) {
    r.datagrams_sent = val<uint64_t>(l["traffic"], "datagrams_sent", 0);
    r.bytes_sent = val<uint64_t>(l["traffic"], "bytes_sent", 0);
    r.bytes_received = val<uint64_t>(l["traffic"], "bytes_received", 0);
  }
  if (l.contains("udp")) {
    r.udp_sent = val<uint64_t>(l["udp"], "sent", 0);
    r.udp_lost = val<uint64_t>(l["udp"], "lost", 0);
    r.udp_duplicates = val<uint64_t>(l["udp"], "duplicates", 0);
    r.udp_late = val<uint64_t>(l["udp"], "late", 0);
    r.udp_reordered = val<uint64_t>(l["udp"], "reordered", 0);
  }
  r.latency = histogram_of(l.at("latency"));
  r.service = histogram_of(l.at("service"));
  r.connect = histogram_of(l.at("connect"));
  if (l.contains("window")) {  // reports from before windows were sized have none
    const json& w = l["window"];
    r.in_flight_source = val<std::string>(w, "chosen_by", "");
    r.in_flight_needed = val<unsigned>(w, "needed", 0);
    r.window_timeout_ms = val<unsigned>(w, "timeout_ms", 0);
    r.window_memory_limit = val<uint64_t>(w, "memory_limit_bytes", 0);
    r.window_full_starts = val<uint64_t>(w, "full_starts", 0);
    r.window_full_s = val<double>(w, "full_s", 0);
  }
  if (l.contains("tls")) {  // reports from before TLS have none
    r.tls_full = histogram_of(l["tls"].at("full"));
    r.tls_resumed = histogram_of(l["tls"].at("resumed"));
    r.tls_failed = val<uint64_t>(l["tls"], "failed", 0);
  }
  for (const auto& i : l.value("series", json::array())) {
    Interval iv;
    iv.start_s = val<double>(i, "start_s", 0);
    iv.iterations = val<uint64_t>(i, "iterations", 0);
    iv.errors = val<uint64_t>(i, "errors", 0);
    iv.p50_ns = val<uint64_t>(i, "p50_ns", 0);
    iv.p99_ns = val<uint64_t>(i, "p99_ns", 0);
    if (i.contains("udp")) {
      iv.udp_lost = val<uint64_t>(i["udp"], "lost", 0);
      iv.udp_late = val<uint64_t>(i["udp"], "late", 0);
      iv.udp_duplicates = val<uint64_t>(i["udp"], "duplicates", 0);
      iv.udp_reordered = val<uint64_t>(i["udp"], "reordered", 0);
    }
    if (i.contains("buckets")) {
      iv.latency = histogram_of(
          json{{"buckets", i["buckets"]}, {"sub_bucket_bits", Histogram::kCoarseBits}});
    }
    r.series.push_back(std::move(iv));
  }
  r.series_origin_unix_ms = val<double>(l, "series_origin_unix_ms", 0);
  if (l.contains("shard")) {
    const json& s = l["shard"];
    r.shard.run_id = val<std::string>(s, "run_id", "");
    r.shard.index = val<unsigned>(s, "index", 0);
    r.shard.count = val<unsigned>(s, "count", 1);
    r.shard.merged = val<std::vector<unsigned>>(s, "merged", {});
    r.shard.partial = val<bool>(s, "partial", false);
    r.shard.start_at = val<std::string>(s, "start_at", "");
    r.shard.late_start_s = val<double>(s, "late_start_s", 0);
  }
  for (const auto& t : l.value("thresholds", json::array())) {
    ThresholdResult tr;
    tr.expression = val<std::string>(t, "expression", "");
    tr.metric = val<std::string>(t, "metric", "");
    if (t.contains("actual") && !t["actual"].is_null()) tr.actual = t["actual"].get<double>();
    tr.passed = val<bool>(t, "passed", false);
    tr.shown = val<std::string>(t, "shown", "");
    r.thresholds.push_back(tr);
  }
  return r;
}

std::optional<double> opt(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return it->get<double>();
}

FindMaxResult find_max_of(const json& j) {
  FindMaxResult f;
  f.mode = val<std::string>(j, "mode", "rate");
  f.outcome = val<std::string>(j, "outcome", "");
  f.message = val<std::string>(j, "message", "");
  f.found = opt(j, "found");
  f.rate = opt(j, "rate");
  f.first_fail = opt(j, "first_fail");
  f.min = val<double>(j, "min", 0);
  f.max = val<double>(j, "max", 0);
  f.precision = val<double>(j, "precision", 0);
  f.repeats = val<unsigned>(j, "repeats", 0);
  f.step_duration_s = val<double>(j, "step_duration_s", 0);
  f.warmup_s = val<double>(j, "warmup_s", 0);
  f.budget_s = val<double>(j, "budget_s", 0);
  f.elapsed_s = val<double>(j, "elapsed_s", 0);
  f.thresholds = val<std::vector<std::string>>(j, "thresholds", {});
  f.latency_metric = val<std::string>(j, "latency_metric", "");
  f.latency_limit_ns = val<double>(j, "latency_limit_ns", 0);
  for (const auto& r : j.value("runs", json::array())) {
    FindMaxRun run;
    run.knob = val<double>(r, "knob", 0);
    run.passed = val<bool>(r, "passed", false);
    run.achieved_rate = val<double>(r, "achieved_rate", 0);
    run.p50_ns = val<uint64_t>(r, "p50_ns", 0);
    run.p90_ns = val<uint64_t>(r, "p90_ns", 0);
    run.p99_ns = val<uint64_t>(r, "p99_ns", 0);
    run.service_p99_ns = val<uint64_t>(r, "service_p99_ns", 0);
    run.errors = val<uint64_t>(r, "errors", 0);
    run.missed_starts = val<uint64_t>(r, "missed_starts", 0);
    run.generator_cpu = val<double>(r, "generator_cpu", 0);
    run.generator_limited = val<bool>(r, "generator_limited", false);
    run.why = val<std::string>(r, "why", "");
    f.runs.push_back(run);
  }
  return f;
}

}  // namespace

ReadReport from_json(const json& j) {
  ReadReport out;
  try {
    int version = j.at("schema_version").get<int>();
    if (version != kSchemaVersion) {
      out.error = "schema_version " + std::to_string(version) + " is not one this version reads (" +
                  std::to_string(kSchemaVersion) + ")";
      return out;
    }
    RunReport r;
    r.kind = val<std::string>(j, "kind", "conformance");
    const json& m = j.at("run");
    r.meta.tool = val<std::string>(m, "tool", "sockspec");
    r.meta.version = val<std::string>(m, "version", "");
    r.meta.command_line = val<std::string>(m, "command_line", "");
    r.meta.target = val<std::string>(m, "target", "");
    r.meta.address = val<std::string>(m, "address", "");
    r.meta.seed = val<uint64_t>(m, "seed", 0);
    r.meta.started_at = val<std::string>(m, "started_at", "");
    r.meta.duration_ms = val<double>(m, "duration_ms", 0);
    r.meta.host = val<std::string>(m, "host", "");
    r.meta.strict = val<bool>(m, "strict", false);
    r.meta.impairment = val<std::string>(m, "impairment", "");
    r.exit_code = val<int>(j, "exit_code", 0);
    r.notes = val<std::vector<std::string>>(j, "notes", {});
    for (const auto& s : j.value("suites", json::array())) {
      SuiteResult sr{val<std::string>(s, "name", ""),
                     val<std::string>(s, "title", ""),
                     val<std::string>(s, "file", ""),
                     val<std::string>(s, "spec", ""),
                     val<std::string>(s, "service", ""),
                     val<std::string>(s, "transport", ""),
                     {}};
      for (const auto& c : s.at("cases")) {
        CaseResult cr;
        cr.id = val<std::string>(c, "id", "");
        cr.title = val<std::string>(c, "title", "");
        cr.spec_ref = val<std::string>(c, "spec_ref", "");
        cr.level = val<std::string>(c, "level", "must");
        cr.tags = val<std::vector<std::string>>(c, "tags", {});
        cr.verdict = verdict_of(c.at("verdict").get<std::string>());
        cr.reason = val<std::string>(c, "reason", "");
        cr.duration_ms = val<double>(c, "duration_ms", 0);
        cr.rerun = val<std::string>(c, "rerun", "");
        cr.impairment = val<std::string>(c, "impairment", "");
        if (auto caps = c.find("captures"); caps != c.end() && caps->is_object()) {
          for (const auto& [name, value] : caps->items()) {
            if (value.is_string()) cr.captures.emplace_back(name, value.get<std::string>());
          }
        }
        for (const auto& st : c.value("steps", json::array())) {
          StepResult sr2;
          sr2.path = val<std::string>(st, "path", "");
          sr2.op = val<std::string>(st, "op", "");
          sr2.label = val<std::string>(st, "label", "");
          sr2.pointer = val<std::string>(st, "pointer", "");
          sr2.verdict = verdict_of(st.at("verdict").get<std::string>());
          sr2.elapsed_ms = val<double>(st, "elapsed_ms", 0);
          sr2.bytes_sent = val<uint64_t>(st, "bytes_sent", 0);
          sr2.bytes_received = val<uint64_t>(st, "bytes_received", 0);
          sr2.message = val<std::string>(st, "message", "");
          sr2.errno_name = val<std::string>(st, "errno", "");
          if (st.contains("mismatch")) sr2.mismatch = mismatch_of(st["mismatch"]);
          cr.steps.push_back(std::move(sr2));
        }
        sr.cases.push_back(std::move(cr));
      }
      r.suites.push_back(std::move(sr));
    }
    if (j.contains("server")) {
      const json& s = j["server"];
      r.server = ServerOutput{val<std::string>(s, "command", ""), val<std::string>(s, "stdout", ""),
                              val<std::string>(s, "stderr", ""), val<bool>(s, "truncated", false)};
    }
    if (j.contains("load")) r.load = load_of(j["load"]);
    if (j.contains("find_max")) r.find_max = find_max_of(j["find_max"]);
    out.report = std::move(r);
  } catch (const std::exception& e) {
    out.error = std::string("not a sockspec report: ") + e.what();
  }
  return out;
}

ReadReport read_report_text(std::string_view text) {
  ReadReport out;
  if (auto problem = check_json_limits(text)) {
    out.error = "invalid JSON at " + (problem->pointer.empty() ? "/" : problem->pointer) + ": " +
                problem->message;
    return out;
  }
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    out.error = std::string("invalid JSON: ") + e.what();
    return out;
  }
  return from_json(j);
}

}  // namespace sockspec::reports
