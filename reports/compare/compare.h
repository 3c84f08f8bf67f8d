// `sockspec compare`: what changed between saved reports of a base and a new side. Each side
// holds one or more JSON reports; repeated runs of one load profile are pooled (histograms merge
// exactly) and also kept apart to measure their spread. Pure: reads the result model only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "reports/compare/fail_on.h"
#include "reports/compare/stats.h"
#include "reports/model.h"

namespace sockspec::reports::compare {

// latency: nanoseconds, change relative; rate: per second, change relative; fraction: 0..1 of
// iterations (errors), datagrams (loss) or scheduled starts (missed), change in points (b - a).
enum class MetricKind { latency, rate, fraction };

struct MetricChange {
  std::string name;  // p50 p90 p99 p99.9 mean rate errors loss missed
  MetricKind kind = MetricKind::latency;
  double old_value = 0, new_value = 0;
  double change = 0, lo = 0, hi = 0;  // the change and its interval (see MetricKind)
  double p = 1;                       // of the test that decided
  bool significant = false;
  // "within runs" (sampling error of the pooled runs: every latency, every iteration) or
  // "across runs" (the spread of the runs' values); the test with the larger p decides.
  std::string decided_by;
  std::string method;  // the decisive test in words: "order statistics", "Welch t, 3+3 runs"
  std::optional<double> p_within, p_across;
  std::vector<double> old_runs, new_runs;  // each run's value: the run-to-run spread
};

// A change or an interval's end as people read it: "+4.40%" (relative), "+0.120pp" (fraction).
std::string signed_change(const MetricChange& m, double v);

struct ProfileComparison {
  std::string profile;
  std::string old_target, new_target;
  unsigned old_runs = 0, new_runs = 0;
  std::vector<MetricChange> metrics;
  stats::UTest distribution;  // latency distributions whole: P(new > old)
  // The runs pooled per side (histograms merged, counts added) and the first run's per-second
  // series, for the charts.
  LoadResult old_pooled, new_pooled;
  std::vector<std::string> notes;  // what a reader must know to trust the figures
};

enum class CaseChangeKind { newly_failing, newly_flaky, newly_passing, added, gone, changed };
const char* to_string(CaseChangeKind k);

struct CaseChange {
  CaseChangeKind kind = CaseChangeKind::changed;
  std::string id;  // suite/case
  std::string title;
  std::string file;                      // the suite file (annotations point at it)
  std::string old_verdict, new_verdict;  // "pass", "fail", "pass 2 / fail 1" across runs, "-"
  std::string reason;                    // why the new side failed, one line
};

struct FailOnResult {
  FailOn rule;
  bool failed = false;
  std::string detail;  // the figures the rule was checked against
};

struct Comparison {
  double alpha = 0.05;
  std::vector<std::string> old_files, new_files;
  unsigned cases_compared = 0;
  std::vector<CaseChange> cases;  // newly failing first
  std::vector<ProfileComparison> profiles;
  std::vector<FailOnResult> fail_on;
  std::vector<std::string> warnings;  // different targets, tool versions
  int exit_code = 0;                  // 1 when a --fail-on rule failed
};

struct Input {
  std::vector<RunReport> old_reports, new_reports;
  std::vector<std::string> old_files, new_files;  // each report's file, for messages
  double alpha = 0.05;
  std::vector<FailOn> fail_on;
};

struct Outcome {
  std::optional<Comparison> comparison;
  std::string error;  // reports that cannot be compared (bad usage: exit 2)
};
Outcome compare(const Input& in);

// The conformance half alone: cases whose verdict changed, newly failing first.
std::vector<CaseChange> diff_cases(const std::vector<const RunReport*>& old_side,
                                   const std::vector<const RunReport*>& new_side,
                                   unsigned* compared);

// The load half for one profile: `old_side` and `new_side` hold its runs.
ProfileComparison compare_profile(const std::vector<const LoadResult*>& old_side,
                                  const std::vector<const LoadResult*>& new_side, double alpha);

}  // namespace sockspec::reports::compare
