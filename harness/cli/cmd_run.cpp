#include <unistd.h>

#include <boost/program_options.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/signals.h"
#include "runner/runner.h"

namespace sockspec::cli {

namespace po = boost::program_options;

int cmd_run(const Invocation& inv) {
  runner::RunOptions o;
  po::options_description desc(
      "usage: sockspec run [PATH...] --target HOST:PORT | --target builtin:SERVICE | --server-cmd "
      "'CMD {port}'\n"
      "\n"
      "Runs every case of the suites in PATH (files, or folders searched for *.json) against a\n"
      "server and reports each verdict. With --target builtin:SERVICE and no PATH, the built-in\n"
      "suites for that service are run against the reference server.\n"
      "\noptions");
  desc.add_options()("help,h", "show this help")(
      "target,t", po::value(&o.target),
      "HOST:PORT, tls:HOST:PORT (TLS on every TCP connection to it; tls:builtin:SERVICE too), "
      "[V6ADDR]:PORT, unix:PATH, unix:@NAME, unixgram:PATH, or builtin:SERVICE "
      "(a reference server the run starts)")(
      "server-cmd", po::value(&o.server_cmd),
      "start this command as the server ({port} is replaced, or {path} by a fresh AF_UNIX socket "
      "path in a private temporary directory; a free port is chosen when no "
      "--target "
      "gives one), stop it at the end; enables `server` steps")(
      "filter,f", po::value(&o.filters)->composing(),
      "run only cases whose SUITE/ID matches this glob (repeatable)")(
      "tag", po::value(&o.tags)->composing(), "run only cases with this tag (repeatable)")(
      "strict", po::bool_switch(&o.strict),
      "a failed should/may case fails the run instead of warning")(
      "jobs,j", count_option(&o.jobs, "--jobs", 1, 1024),
      "cases run at once, 1 to 1024 (default: number of cores)")(
      "seed", count_option(&o.seed, "--seed", 0, UINT64_MAX),
      "seed for random payloads (default: the time; the report records it)")(
      "expect-fail", po::value(&o.expect_fail),
      "file of known failures, one 'SUITE/ID reason' per line: they count as xfail, and passing is "
      "xpass")("report-json", po::value(&o.report_json), "write the JSON report here")(
      "html", po::value(&o.html), "write the HTML report (one self-contained file) here")(
      "markdown", po::value(&o.markdown), "write a Markdown summary (for CI job summaries) here")(
      "junit", po::value(&o.junit), "write JUnit XML here")(
      "github-annotations", po::bool_switch(&o.github_annotations),
      "also print each failure and warning as a GitHub Actions annotation (::error "
      "title=...::...)")(
      "out", po::value(&o.out_dir),
      "write every format into this folder: report.json, junit.xml, summary.md, index.html");
  add_observe_options(desc, o.observe, o.metrics_linger_s, "the cases finished so far");
  TlsCli tls;
  add_tls_options(desc, tls);
  add_impair_options(desc, o.impair, o.impair_level);
  desc.add_options()("timeout-scale", number_option(&o.timeout_scale, "--timeout-scale", 0.1, 100),
                     "multiply every step's and case's timeout by this, 0.1 to 100 (default: 1, "
                     "and 3 under an --impair that delays, limits or loses: TCP's "
                     "retransmissions need the time)");
  po::options_description hidden;
  hidden.add_options()("path", po::value(&o.paths)->composing());
  po::positional_options_description pos;
  pos.add("path", -1);
  po::variables_map vm;
  if (auto rc = parse_options(inv, "run", desc, hidden, pos, vm)) return *rc;
  if (auto why = tls_settings(tls, o.tls); !why.empty()) {
    std::cerr << "sockspec run: " << why << "\n";
    return 2;
  }
  o.seed_given = vm.count("seed") > 0;
  o.command_line = inv.command_line;
  o.invoked_as = inv.argv0;
  o.self_exe = self_exe_path();
  o.builtin_services = builtin_service_names();
  o.color = color_wanted();
  StopSignals stop;
  o.cancel_fd = stop.fd();
  return runner::run(o, std::cout, std::cerr);
}

}  // namespace sockspec::cli
