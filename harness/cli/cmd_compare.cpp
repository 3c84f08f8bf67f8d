// compare: what changed between saved reports of a base and a new side (reports/compare).
#include <algorithm>
#include <boost/program_options.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "reports/compare/writers.h"
#include "runner/report_files.h"

namespace sockspec::cli {

namespace po = boost::program_options;

namespace {

const char* kMoreHelp =
    R"(Each side holds one or more JSON reports (sockspec run/load --report-json). Repeated
runs of one load profile are pooled per side (histograms merge exactly) and also kept apart:
with two or more runs a side, a test across runs joins the test within them, and the one less
sure decides (the output says which). Cases are matched by suite/id.

--fail-on rules (a change fails only when past the limit AND significant at --alpha):
  'p99 > +10%'        latency p50, p90, p99, p99.9, mean: relative change
  'rate < -5%'        iterations per second: relative change
  'errors > +0.1pp'   errors, loss (UDP), missed (starts): change in percentage points
  'newly-failing > 0' cases: newly-failing, newly-flaky, newly-passing, new, gone

exit codes: 0 no rule failed (no rules: nothing judged), 1 a rule failed, 2 bad usage or
reports that cannot be compared (different profiles, schema versions)
)";

struct Paths {
  std::string json, html, markdown, junit;
};

bool write_outputs(const reports::compare::Comparison& c, const Paths& p) {
  namespace cw = reports::compare;
  using Writer = void (*)(const cw::Comparison&, std::ostream&);
  const std::pair<std::string, Writer> outputs[] = {{p.json, cw::write_json},
                                                    {p.html, cw::write_html},
                                                    {p.markdown, cw::write_markdown},
                                                    {p.junit, cw::write_junit}};
  bool ok = true;
  for (const auto& [path, writer] : outputs)
    if (!path.empty())
      ok = runner::write_output(
               path, [&](std::ostream& f) { writer(c, f); }, std::cerr) &&
           ok;
  return ok;
}

bool read_side(const std::vector<std::string>& files, std::vector<reports::RunReport>& out) {
  for (const auto& path : files) {
    auto r = runner::read_report_file(path, std::cerr);
    if (!r) return false;
    out.push_back(std::move(*r));
  }
  return true;
}

}  // namespace

int cmd_compare(const Invocation& inv) {
  std::vector<std::string> base, now, rules;
  Paths paths;
  double alpha = 0.05;
  bool annotations = false;
  po::options_description desc(
      "usage: sockspec compare BASE.json... -- NEW.json... [--fail-on RULE]... [--html F]\n"
      "       sockspec compare BASE.json NEW.json [options]\n\n"
      "What changed between two sides' reports: cases whose verdict changed, and per load\n"
      "profile latency percentiles, rate, errors, UDP loss and missed starts, old -> new, with\n"
      "a 95% interval and a significance test (\"~\": not significant).\n\noptions");
  desc.add_options()("help,h", "show this help")(
      "fail-on", po::value(&rules)->composing(),
      "a rule on the change, repeatable: 'p99 > +10%', 'rate < -5%', 'newly-failing > 0'")(
      "alpha", number_option(&alpha, "--alpha", 0.0001, 0.5),
      "significance level, 0.0001 to 0.5 (default 0.05)")("json", po::value(&paths.json),
                                                          "write the comparison as JSON here")(
      "html", po::value(&paths.html), "write an HTML page (both sides' charts) here")(
      "markdown", po::value(&paths.markdown), "write Markdown (a pull-request comment) here")(
      "junit", po::value(&paths.junit), "write JUnit XML here, one testcase per --fail-on")(
      "github-annotations", po::bool_switch(&annotations),
      "also print failed rules and newly failing cases as GitHub Actions annotations");
  po::options_description hidden;
  hidden.add_options()("base", po::value(&base)->composing())("new", po::value(&now)->composing());
  po::positional_options_description to_base, to_new;
  to_base.add("base", -1);
  to_new.add("new", -1);

  // The two sides are split at "--" before the options are read: boost takes "--" as the end
  // of options, which would lose where the base side ends.
  Invocation left = inv, right = inv;
  right.args.clear();
  auto dash = std::find(inv.args.begin(), inv.args.end(), "--");
  bool split = dash != inv.args.end();
  if (split) {
    left.args.assign(inv.args.begin(), dash);
    right.args.assign(dash + 1, inv.args.end());
  }
  po::variables_map vm;
  if (auto rc = parse_options(left, "compare", desc, hidden, to_base, vm, kMoreHelp)) return *rc;
  if (split)
    if (auto rc = parse_options(right, "compare", desc, hidden, to_new, vm, kMoreHelp)) return *rc;
  if (!split && base.size() == 2) {
    now.push_back(base.back());
    base.pop_back();
  }
  if (base.empty() || now.empty()) {
    std::cerr << "sockspec compare: give BASE.json... -- NEW.json... (or exactly two reports)\n"
                 "(see sockspec compare --help)\n";
    return 2;
  }
  reports::compare::Input in;
  in.alpha = alpha;
  in.old_files = base;
  in.new_files = now;
  for (const auto& text : rules) {
    auto r = reports::compare::parse_fail_on(text);
    if (!r.rule) {
      std::cerr << "sockspec compare: " << r.error << "\n";
      return 2;
    }
    in.fail_on.push_back(*r.rule);
  }
  if (!read_side(base, in.old_reports) || !read_side(now, in.new_reports)) return 2;
  auto outcome = reports::compare::compare(in);
  if (!outcome.comparison) {
    std::cerr << "sockspec compare: " << outcome.error << "\n";
    return 2;
  }
  const auto& c = *outcome.comparison;
  reports::compare::write_console(c, std::cout);
  if (annotations) reports::compare::write_github_annotations(c, std::cout);
  return write_outputs(c, paths) ? c.exit_code : 2;
}

}  // namespace sockspec::cli
