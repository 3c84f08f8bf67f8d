// Merging reports of one run split across processes or hosts: counts add up, histograms
// merge exactly (bucket by bucket), thresholds are evaluated again on the merged data.
#pragma once

#include <string>
#include <vector>

#include "reports/model.h"

namespace sockspec::reports {

// Adds one part of a load run to another: counts and rates add up, histograms (and each
// second's) merge bucket by bucket. The load driver merges its threads' results with it too.
void merge_load(LoadResult& into, const LoadResult& part);

// Adds one second of a series to the same second of another (counts and latencies; p50/p99 are
// left for the caller to recompute once every part is in).
void add_interval(Interval& into, const Interval& second);

struct Merged {
  std::optional<RunReport> report;
  std::string error;
};
struct MergeOptions {
  bool allow_partial = false;      // merge what is there when shards are missing; marked partial
  std::vector<std::string> names;  // each part's file, for errors (default: part 1, part 2, ...)
};
// Load reports of a sharded run (shard count > 1) are checked first: one run id, one count,
// each shard once and none missing; every problem names the shards and files.
Merged merge_reports(const std::vector<RunReport>& parts, const MergeOptions& options = {});

}  // namespace sockspec::reports
