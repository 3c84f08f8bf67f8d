// Markdown for CI job summaries: verdict counts, failures with their first diff lines,
// load percentiles and thresholds as tables.
#pragma once

#include <ostream>

#include "reports/model.h"

namespace sockspec::reports {

void write_markdown(const RunReport& r, std::ostream& out);

}  // namespace sockspec::reports
