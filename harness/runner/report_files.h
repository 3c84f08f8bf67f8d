// Writing a report in the formats asked for; shared by run, load, report and merge.
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "reports/model.h"

namespace sockspec::runner {

struct ReportPaths {
  std::string json, junit, html, markdown;
  // Fills the paths not given explicitly with DIR/<prefix>report.json, junit.xml, .html, .md.
  void defaults_in(const std::string& dir, const std::string& prefix, const std::string& html_name);
};

// When a run started, as the reports show it: ISO 8601, UTC.
std::string utc_now_iso8601();
// This machine's name, for run metadata.
std::string host_name();
// Whether the user interrupted the run (the stop descriptor is readable); false for fd < 0.
bool cancel_requested(int fd);

// Writes one output file with `writer`, creating its folders; false (and a message on `err`)
// if it could not be written.
bool write_output(const std::string& path, const std::function<void(std::ostream&)>& writer,
                  std::ostream& err);

// A saved JSON report, read and checked; nullopt with "PATH: why" on `err`.
std::optional<reports::RunReport> read_report_file(const std::string& path, std::ostream& err);

// Writes each requested file (creating folders) and prints where; false if one failed.
bool write_report_files(const reports::RunReport& r, const ReportPaths& paths, std::ostream& out,
                        std::ostream& err);

// Exit 3, the target never reached: the reports asked for are still written, with no results,
// `reason` as a note and the server's output (set by the caller), so CI has something to show.
// Returns 3.
int write_unreachable_report(reports::RunReport r, const std::string& reason,
                             const ReportPaths& paths, std::ostream& out, std::ostream& err);

}  // namespace sockspec::runner
