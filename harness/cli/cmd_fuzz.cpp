#include <boost/program_options.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/signals.h"
#include "fuzzer/campaign.h"

namespace sockspec::cli {

namespace po = boost::program_options;

int cmd_fuzz(const Invocation& inv) {
  fuzzer::FuzzOptions o;
  uint64_t minimize = o.minimize_budget;
  po::options_description desc(
      "usage: sockspec fuzz [PATH...] --server-cmd 'CMD {port}' | --target HOST:PORT\n"
      "\n"
      "Finds inputs that crash or hang a server, starting from the suites in PATH: every case\n"
      "that passes as written is a seed. Mutants of the seeds (typed fields at their bounds,\n"
      "lengths that disagree, bad checksums, flipped and spliced bytes, steps repeated, dropped,\n"
      "reordered, cut by a half-close or a reset, dripped a byte at a time) run one at a time;\n"
      "after each, a case that passed checks that the server still answers. The server's exit,\n"
      "signal, sanitizer report (build it with -fsanitize=address) or silence is a finding: it\n"
      "is reduced to the steps and bytes it needs and written as a suite in DIR/findings/ that\n"
      "`sockspec run FILE --server-cmd ...` replays (and fails). A managed server (--server-cmd,\n"
      "builtin:SERVICE) is restarted after each finding; a --target is only watched.\n"
      "A server built with clang -fsanitize-coverage=trace-pc-guard and linked with sockspec's\n"
      "coverage runtime (docs/fuzz.md) tells which code each input reached: the inputs that\n"
      "reach new code become seeds too. Any other server is fuzzed black-box, and it says so.\n"
      "Exit 0: nothing found; 1: a finding; 2: bad usage; 3: the server never started.\n"
      "\noptions");
  desc.add_options()("help,h", "show this help")("target,t", po::value(&o.target),
                                                 "HOST:PORT or builtin:SERVICE")(
      "server-cmd", po::value(&o.server_cmd),
      "start this command as the server ({port} is replaced), restart it after each finding")(
      "filter,f", po::value(&o.filters)->composing(),
      "start only from cases whose SUITE/ID matches this glob (repeatable)")(
      "duration", number_option(&o.duration_s, "--duration", 0.1, 7 * 24 * 3600.0),
      "seconds to fuzz (default 60)")("max-execs",
                                      count_option(&o.max_execs, "--max-execs", 1, UINT64_MAX),
                                      "stop after this many inputs")(
      "max-findings", count_option(&o.max_findings, "--max-findings", 1, UINT64_MAX),
      "stop after this many distinct findings")(
      "seed", count_option(&o.seed, "--seed", 0, UINT64_MAX),
      "seed of the mutations (default: the time; printed, so a campaign can be repeated)")(
      "jobs,j", count_option(&o.jobs, "--jobs", 1, 64),
      "inputs at once (default 1): each job runs its own server (on its own port) and its own "
      "mutations; they share the findings and the coverage. With one job a --seed repeats a "
      "campaign exactly; with more, each job's inputs are the same but they interleave")(
      "restart-every", count_option(&o.restart_every, "--restart-every", 1, UINT64_MAX),
      "restart the managed server every N inputs (default: only after a finding)")(
      "no-coverage", po::bool_switch(&o.no_coverage),
      "fuzz black-box even when the server reports coverage (to compare the two)")(
      "minimize-budget", count_option(&minimize, "--minimize-budget", 0, 100000),
      "replays the reduction of one finding may spend (default 400; 0 keeps it as found)")(
      "out", po::value(&o.out_dir),
      "folder for findings/ and the reports (report.json, junit.xml, summary.md, index.html); "
      "default: findings in ./fuzz-out/findings, no reports");
  po::options_description hidden;
  hidden.add_options()("path", po::value(&o.paths)->composing());
  po::positional_options_description pos;
  pos.add("path", -1);
  po::variables_map vm;
  if (auto rc = parse_options(inv, "fuzz", desc, hidden, pos, vm)) return *rc;
  o.seed_given = vm.count("seed") > 0;
  o.minimize_budget = minimize;
  o.command_line = inv.command_line;
  o.invoked_as = inv.argv0;
  o.self_exe = self_exe_path();
  o.builtin_services = builtin_service_names();
  StopSignals stop;
  o.cancel_fd = stop.fd();
  return fuzzer::fuzz(o, std::cout, std::cerr);
}

}  // namespace sockspec::cli
