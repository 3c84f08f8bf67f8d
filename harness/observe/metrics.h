// A load run's figures as Prometheus metric families (pure: no sockets, no clocks). The HTTP
// endpoint and the Pushgateway client serialise them with prometheus-cpp; nothing here writes
// the exposition format.
//
// Every metric carries run_id, shard and shards labels, so one query sums the shards of a run:
//   sum by (run_id) (rate(sockspec_iterations_total[10s]))
#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "reports/model.h"

namespace sockspec::observe {

// Latency buckets: every 2^k and 1.5 * 2^k nanoseconds from 1.024 us to 2^37 ns (137 s).
// A power-of-two step keeps them aligned with the report's histogram, whose sub-buckets split
// each power of two evenly, so each Prometheus bucket holds whole report buckets.
std::vector<uint64_t> bucket_bounds_ns();

// The Prometheus histogram of a report histogram: cumulative counts at each bound (a report
// bucket counts below a bound when its highest value is at or under it), the sum in seconds.
prometheus::ClientMetric::Histogram to_prometheus(const reports::Histogram& h);

struct RunLabels {
  std::string run_id;
  unsigned shard = 0, shards = 1;
  std::string profile, target;
};

// Where the run is: seconds since the first start, and whether it has ended (then `l` is the
// final report's).
struct RunClock {
  double elapsed_s = 0;
  bool finished = false;
  double total_s = 0;  // planned: warm-up and measured window
};

// What requests and pushes read: replaced whole, ten times a second.
struct Pages {
  std::string fragment;  // the dashboard's changing part (/live)
  std::string page;      // what `/` serves
};
struct Published {
  std::vector<prometheus::MetricFamily> families;
  std::shared_ptr<const Pages> pages;  // drawn once a second, shared by the updates between
};

std::vector<prometheus::MetricFamily> load_metrics(const reports::LoadResult& l,
                                                   const RunLabels& labels, const RunClock& clock);

// `sockspec run`'s figures so far: cases finished by verdict (every verdict present, at 0 until
// one comes), of `planned`.
using VerdictCounts = std::vector<std::pair<std::string, uint64_t>>;
std::vector<prometheus::MetricFamily> run_metrics(const VerdictCounts& cases_by_verdict,
                                                  uint64_t planned, const RunLabels& labels,
                                                  const RunClock& clock);

}  // namespace sockspec::observe
