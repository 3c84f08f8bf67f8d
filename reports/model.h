// The one result model every run produces and every writer reads.
// Knows nothing of the harness: a report can be written, re-read and merged without it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "reports/histogram.h"

namespace sockspec::reports {

// Bumped whenever the JSON report changes shape in a way readers must know about.
inline constexpr int kSchemaVersion = 1;

enum class Verdict { pass, fail, error, skip, warn, xfail, xpass };
const char* to_string(Verdict v);
// Whether this verdict makes the run exit 1.
bool is_failing(Verdict v);

// std::optional's interface with the value on the heap: step results are held by every idle
// virtual user, and a mismatch, rare, would cost each of them 170 bytes inline.
template <typename T>
class HeapOptional {
 public:
  HeapOptional() = default;
  HeapOptional(std::nullopt_t) {}
  HeapOptional(T v) : p_(std::make_unique<T>(std::move(v))) {}
  HeapOptional(const HeapOptional& o) : p_(o.p_ ? std::make_unique<T>(*o.p_) : nullptr) {}
  HeapOptional(HeapOptional&&) noexcept = default;
  HeapOptional& operator=(const HeapOptional& o) {
    if (this != &o) p_ = o.p_ ? std::make_unique<T>(*o.p_) : nullptr;
    return *this;
  }
  HeapOptional& operator=(HeapOptional&&) noexcept = default;
  HeapOptional& operator=(std::nullopt_t) {
    p_.reset();
    return *this;
  }
  HeapOptional& operator=(T v) {
    p_ = std::make_unique<T>(std::move(v));
    return *this;
  }
  explicit operator bool() const { return p_ != nullptr; }
  bool has_value() const { return p_ != nullptr; }
  T& operator*() { return *p_; }
  const T& operator*() const { return *p_; }
  T* operator->() { return p_.get(); }
  const T* operator->() const { return p_.get(); }
  void reset() { p_.reset(); }

 private:
  std::unique_ptr<T> p_;
};

// Expected vs actual bytes around the first differing offset.
struct Mismatch {
  uint64_t offset = 0;         // first differing byte
  uint64_t expected_size = 0;  // whole sizes
  uint64_t actual_size = 0;
  uint64_t window_start = 0;               // offset of the first byte of both excerpts
  std::string expected_hex, actual_hex;    // the excerpts, hex
  std::string expected_text, actual_text;  // the excerpts, printable with \xHH escapes
};

struct StepResult {
  std::string path;  // "3" or "4.2" for a step nested in a repeat/parallel
  std::string op;
  std::string label;
  std::string pointer;  // JSON pointer of the step in its suite file
  Verdict verdict = Verdict::pass;
  double elapsed_ms = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  std::string message;     // what happened, one line
  std::string errno_name;  // where a syscall failed
  HeapOptional<Mismatch> mismatch;
};

struct CaseResult {
  std::string id;  // within the suite; the full id is suite/id
  std::string title;
  std::string spec_ref;
  std::string level;  // must, should, may
  std::vector<std::string> tags;
  Verdict verdict = Verdict::pass;
  std::string reason;  // why it failed, was skipped, or is expected to fail
  double duration_ms = 0;
  std::vector<StepResult> steps;
  std::string rerun;  // a command that runs just this case against the same target
  // The network conditions the case ran under and what the impairment relay did ("" when the
  // case went straight to the target).
  std::string impairment;
  // Values the case bound with `capture`, in binding order: name, value as printable text
  // (bytes escaped, long values cut short).
  std::vector<std::pair<std::string, std::string>> captures;
};

struct SuiteResult {
  std::string name;
  std::string title;
  std::string file;
  std::string spec;
  std::string service;
  std::string transport;
  std::vector<CaseResult> cases;
};

// What a managed server printed while the run used it.
struct ServerOutput {
  std::string command;
  std::string stdout_text;
  std::string stderr_text;
  bool truncated = false;
};

struct RunMeta {
  std::string tool = "sockspec";
  std::string version;
  std::string command_line;
  std::string target;   // as the user named it (builtin:echo, host:port)
  std::string address;  // the resolved address used
  uint64_t seed = 0;
  std::string started_at;  // ISO 8601, UTC
  double duration_ms = 0;
  std::string host;
  bool strict = false;
  std::string impairment;  // --impair as given, and for load what the relay did; "" for none
};

struct Counts {
  uint64_t pass = 0, fail = 0, error = 0, skip = 0, warn = 0, xfail = 0, xpass = 0;
  uint64_t total() const { return pass + fail + error + skip + warn + xfail + xpass; }
  uint64_t failing() const { return fail + error + xpass; }
  void add(Verdict v);
};

struct ThresholdResult {
  std::string expression;
  std::string metric;
  std::optional<double> actual;  // none: the metric had no data (counts as failed)
  bool passed = false;
  std::string shown;  // the actual value in the metric's units, for people
};

// One second of a load run.
struct Interval {
  double start_s = 0;  // seconds since the measured part began
  uint64_t iterations = 0, errors = 0;
  uint64_t p50_ns = 0, p99_ns = 0;
  // UDP with tags: what was seen in this second (a loss is seen when its timeout passes).
  uint64_t udp_lost = 0, udp_late = 0, udp_duplicates = 0, udp_reordered = 0;
  Histogram latency{Histogram::kCoarseBits};  // this second's latencies, so merges stay exact
};

// An error kept with its details (the first few of a run).
struct ErrorSample {
  std::string kind;  // timeout, mismatch, reset, refused, connect, other
  std::string step;  // op and path within the iteration
  std::string message;
  HeapOptional<Mismatch> mismatch;
};

// Which run a load report belongs to and which part of it it is. A plain run is shard 0 of 1.
struct ShardInfo {
  std::string run_id;
  unsigned index = 0, count = 1;
  std::vector<unsigned> merged;  // a merged report: the shards it holds
  bool partial = false;          // merged with --allow-partial while shards were missing
  std::string start_at;          // --start-at, RFC 3339 in UTC (empty: started at once)
  double late_start_s = 0;       // how much later than start_at it began (merged: the latest)
};

struct LoadResult {
  std::string profile, file, executor, transport;
  double duration_s = 0, warmup_s = 0;
  unsigned threads = 0, connections = 0;
  unsigned in_flight = 1;  // iterations outstanding at once per connection
  // In-flight windows: who chose the size ("profile", "--in-flight", "auto"; empty without a
  // window), what the open loop's rate x timeout needs per connection, the memory an auto
  // window was kept under (bytes), and when the windows were the limit: starts missed because
  // every window was full, and for how long (merged: the longest of any thread).
  std::string in_flight_source;
  unsigned in_flight_needed = 0, window_timeout_ms = 0;
  uint64_t window_memory_limit = 0, window_full_starts = 0;
  double window_full_s = 0;
  double target_rate = 0;   // iterations per second asked for (0: closed loop)
  uint64_t iterations = 0;  // completed without error in the measured window
  uint64_t errors = 0;
  std::map<std::string, uint64_t> errors_by_kind;
  std::vector<ErrorSample> first_errors;
  double achieved_rate = 0;    // completed iterations per second of the measured window
  uint64_t scheduled = 0;      // open loop: starts the schedule asked for
  uint64_t missed_starts = 0;  // open loop: scheduled starts that never began
  double max_lag_ms = 0;       // open loop: the worst delay of a start behind its schedule
  bool rate_kept = true;       // open loop: every scheduled start began
  uint64_t udp_sent = 0,
           udp_lost = 0;  // udp_sequence runs: datagrams tagged and sent, never answered in time
  uint64_t udp_duplicates = 0, udp_late = 0, udp_reordered = 0;
  uint64_t datagrams_sent = 0, bytes_sent = 0, bytes_received = 0;  // in the measured window
  uint64_t generator_peak_rss_kib = 0;         // the sockspec process's peak resident memory
  Histogram latency;                           // from the intended start (open loop)
  Histogram service;                           // from the actual first send
  Histogram connect{Histogram::kPreciseBits};  // connect steps inside iterations
  // TLS handshakes in the measured window (a TLS connect's time includes its handshake):
  // full ones and resumed ones apart, since a resumption skips the certificate and key work.
  Histogram tls_full{Histogram::kPreciseBits}, tls_resumed{Histogram::kPreciseBits};
  uint64_t tls_failed = 0;  // handshakes that failed in the window
  std::vector<Interval> series;
  double series_origin_unix_ms = 0;  // wall clock of the series' second 0 (0: unknown)
  std::vector<ThresholdResult> thresholds;
  ShardInfo shard;
};

// One load run of a capacity search (`sockspec load --find-max`).
struct FindMaxRun {
  double knob = 0;  // the rate asked (open loop, iterations/s) or the virtual users (closed)
  bool passed = false;
  double achieved_rate = 0;  // iterations per second completed
  uint64_t p50_ns = 0, p90_ns = 0, p99_ns = 0;
  uint64_t service_p99_ns = 0;  // from the actual first send: the server's share
  uint64_t errors = 0, missed_starts = 0;
  double generator_cpu = 0;  // the generator's CPU time over its threads' wall time, 0..1
  bool generator_limited = false;
  std::string why;  // what failed: thresholds, the schedule
};

struct FindMaxResult {
  std::string mode = "rate";  // "rate" (open loop) or "vus" (closed loop)
  // found, min-failed, max-passed, plateau, generator-limit, budget
  std::string outcome;
  std::string message;               // the answer in one sentence
  std::optional<double> found;       // the last passing knob
  std::optional<double> rate;        // iterations per second at the found knob
  std::optional<double> first_fail;  // the lowest failing knob
  double min = 0, max = 0, precision = 0;
  double step_duration_s = 0, warmup_s = 0, budget_s = 0, elapsed_s = 0;
  unsigned repeats = 0;
  std::vector<std::string> thresholds;  // the goal, as written
  std::string latency_metric;           // the first latency threshold's metric (p99), if any
  double latency_limit_ns = 0;          // and its limit: the chart's threshold line
  std::vector<FindMaxRun> runs;         // in the order they ran
};

struct RunReport {
  int schema_version = kSchemaVersion;
  std::string kind = "conformance";
  RunMeta meta;
  std::vector<SuiteResult> suites;
  std::optional<ServerOutput> server;
  std::vector<std::string> notes;  // run-level warnings, e.g. stale expected-failure entries
  std::optional<LoadResult> load;  // set for `sockspec load` runs
  std::optional<FindMaxResult>
      find_max;  // `load --find-max`: the search; `load` is its answer's run
  int exit_code = 0;

  Counts counts() const;
};

Counts counts_of(const SuiteResult& s);

}  // namespace sockspec::reports
