// Merging reports of one run split across processes or hosts: counts add up, histograms
// merge exactly (bucket by bucket), thresholds are evaluated again on the merged data.
#pragma once

#include <string>
#include <vector>

#include "reports/model.h"

namespace sockspec::reports {

struct Merged {
  std::optional<RunReport> report;
  std::string error;
};
Merged merge_reports(const std::vector<RunReport>& parts);

}  // namespace sockspec::reports
