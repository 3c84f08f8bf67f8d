// The live dashboard's HTML (pure): the HTML report's load section drawn from the run so far,
// in a page that fetches it again each second. Inline style and script, no fetch beyond its
// own endpoint, so it opens offline as the report does.
#pragma once

#include <string>

#include "observe/metrics.h"
#include "reports/model.h"

namespace sockspec::observe {

// The part of the page that changes: where the run is, then the report's load section.
std::string live_fragment(const reports::LoadResult& l, const RunLabels& labels,
                          const RunClock& clock);

// `sockspec run --metrics`: the cases finished so far (the page reloads itself each second).
std::string cases_page(const VerdictCounts& by_verdict, uint64_t planned, const RunLabels& labels);

// The page around it (served at `/` while the run goes).
std::string dashboard_page(const std::string& fragment, const RunLabels& labels);

}  // namespace sockspec::observe
