// What a person sees in a terminal: a line per case as it finishes, then a summary.
#pragma once

#include <ostream>
#include <string>

#include "reports/model.h"

namespace sockspec::reports {

struct ConsoleStyle {
  bool color = false;  // ANSI colours: only on a TTY and never with NO_COLOR
};

// "PASS  echo-tcp/short-line  (0.4ms)", plus the failure details for failing verdicts.
void write_case_line(const std::string& suite, const CaseResult& c, const ConsoleStyle& style,
                     std::ostream& out);
// Counts, every failing case again with its details, run notes and the verdict line.
void write_summary(const RunReport& r, const ConsoleStyle& style, std::ostream& out);
// A load run: rate, latency percentiles, errors by kind, the schedule, every threshold.
void write_load_summary(const LoadResult& l, const ConsoleStyle& style, std::ostream& out);

}  // namespace sockspec::reports
