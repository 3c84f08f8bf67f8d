// report and merge: working on saved JSON reports.
#include <boost/program_options.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/options.h"
#include "reports/console_writer.h"
#include "reports/json_reader.h"
#include "reports/merge.h"
#include "runner/report_files.h"
#include "runner/suites.h"

namespace sockspec::cli {

namespace po = boost::program_options;

namespace {

void summary(const reports::RunReport& r) {
  if (!r.suites.empty()) reports::write_summary(r, {false}, std::cout);
  if (r.load) reports::write_load_summary(*r.load, {false}, std::cout);
}

}  // namespace

int cmd_report(const Invocation& inv) {
  std::string input;
  runner::ReportPaths paths;
  po::options_description desc(
      "usage: sockspec report REPORT.json [--html F] [--markdown F] [--junit F]\n\n"
      "Renders a saved JSON report in other formats, and prints its summary.\n\noptions");
  desc.add_options()("help,h", "show this help")("html", po::value(&paths.html), "write HTML here")(
      "markdown", po::value(&paths.markdown), "write Markdown here")(
      "junit", po::value(&paths.junit), "write JUnit XML here");
  po::options_description hidden;
  hidden.add_options()("input", po::value(&input));
  po::positional_options_description pos;
  pos.add("input", 1);
  po::variables_map vm;
  if (auto rc = parse_options(inv, "report", desc, hidden, pos, vm)) return *rc;
  if (input.empty()) {
    std::cerr << "sockspec report: name a JSON report\n";
    return 2;
  }
  auto r = runner::read_report_file(input, std::cerr);
  if (!r) return 2;
  summary(*r);
  return runner::write_report_files(*r, paths, std::cout, std::cerr) ? r->exit_code : 2;
}

int cmd_merge(const Invocation& inv) {
  std::vector<std::string> inputs;
  runner::ReportPaths paths;
  reports::MergeOptions merge_options;
  po::options_description desc(
      "usage: sockspec merge A.json B.json... -o MERGED.json [--html F] [--markdown F] [--junit "
      "F]\n\n"
      "Merges reports of one run split across processes or hosts: counts add up, latency\n"
      "histograms merge exactly, thresholds are evaluated again on the merged data. Exits as\n"
      "the merged run would. Shards of a sharded load run (--shard) must all be there, once\n"
      "each, of one run: else the merge names what is wrong and exits 2.\n\noptions");
  desc.add_options()("help,h", "show this help")("output,o", po::value(&paths.json),
                                                 "write the merged JSON here")(
      "html", po::value(&paths.html), "write HTML here")("markdown", po::value(&paths.markdown),
                                                         "write Markdown here")(
      "junit", po::value(&paths.junit), "write JUnit XML here")(
      "allow-partial", po::bool_switch(&merge_options.allow_partial),
      "merge the shards that are there when some are missing; the report is marked partial");
  po::options_description hidden;
  hidden.add_options()("input", po::value(&inputs)->composing());
  po::positional_options_description pos;
  pos.add("input", -1);
  po::variables_map vm;
  if (auto rc = parse_options(inv, "merge", desc, hidden, pos, vm)) return *rc;
  if (inputs.empty() || paths.json.empty()) {
    std::cerr << "sockspec merge: give the reports to merge and -o MERGED.json\n";
    return 2;
  }
  std::vector<reports::RunReport> parts;
  for (const auto& in : inputs) {
    auto r = runner::read_report_file(in, std::cerr);
    if (!r) return 2;
    parts.push_back(std::move(*r));
  }
  merge_options.names = inputs;
  auto merged = reports::merge_reports(parts, merge_options);
  if (!merged.report) {
    std::cerr << "sockspec merge: " << merged.error << "\n";
    return 2;
  }
  merged.report->meta.command_line = inv.command_line;
  summary(*merged.report);
  return runner::write_report_files(*merged.report, paths, std::cout, std::cerr)
             ? merged.report->exit_code
             : 2;
}

}  // namespace sockspec::cli
