// A comparison in every format the reports have: a console table ("~" where a change is not
// significant, as benchstat prints), Markdown for a pull-request comment, HTML with both sides'
// charts, JUnit (one testcase per --fail-on rule), GitHub annotations and JSON.
#pragma once

#include <ostream>
#include <string>

#include "reports/compare/compare.h"

namespace sockspec::reports::compare {

// The cells every writer shows, so each format reads the same figures.
std::string value_text(const MetricChange& m, double v);  // "41.2us", "24.1k/s", "0.05%"
std::string change_text(const MetricChange& m);           // "+4.40%", "+0.120pp", "~"
std::string interval_text(const MetricChange& m);         // "[+1.2%, +7.5%]"
std::string verdict_line(const Comparison& c);            // what the exit code means, one line

void write_console(const Comparison& c, std::ostream& out);
void write_markdown(const Comparison& c, std::ostream& out);
void write_html(const Comparison& c, std::ostream& out);
void write_junit(const Comparison& c, std::ostream& out);
void write_github_annotations(const Comparison& c, std::ostream& out);
void write_json(const Comparison& c, std::ostream& out);

}  // namespace sockspec::reports::compare
