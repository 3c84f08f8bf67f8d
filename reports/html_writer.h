// One self-contained HTML page per run: inline CSS and SVG, a few lines of inline script for
// the verdict filter, no network fetches, so it opens anywhere, offline, and prints.
#pragma once

#include <ostream>

#include "reports/model.h"

namespace sockspec::reports {

void write_html(const RunReport& r, std::ostream& out);

// A load run's section of the page (figures, charts, thresholds, errors), as write_html draws it;
// the live dashboard (`load --metrics`) draws the run so far with it each second.
void write_load_section(const LoadResult& l, std::ostream& out);

// The pages' stylesheet, shared with the comparison page and the live dashboard.
const char* html_style();

}  // namespace sockspec::reports
