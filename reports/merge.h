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

struct Merged {
  std::optional<RunReport> report;
  std::string error;
};
Merged merge_reports(const std::vector<RunReport>& parts);

}  // namespace sockspec::reports
