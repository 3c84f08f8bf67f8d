// sockspec: protocol-conformance and load testing for TCP and UDP servers.
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace {

const char* kUsage = R"(sockspec - check TCP and UDP servers against JSON scenarios

usage: sockspec COMMAND [options]

commands:
  run       run scenario suites against a server and report every case
  validate  check scenario files; list every problem with file and JSON pointer
  list      show the cases of scenario files with their level and spec reference
  serve     run a built-in reference server (correct, or with a deliberate fault)
  load      run a load profile: many virtual users, every reply checked, percentiles, thresholds
  record    a proxy that writes real client sessions with a server as a suite
  report    render a saved JSON report as HTML, Markdown or JUnit
  merge     merge reports of one run split across processes or hosts
  compare   what changed between reports of a base and a new side: verdicts and latency
  fuzz      find inputs that crash or hang a server, starting from its suites

  sockspec COMMAND --help   shows the options of a command

exit codes: 0 all good (warnings and skips allowed), 1 a failure, error, xpass, failed
threshold or failed compare --fail-on rule, 2 bad usage or invalid scenario, 3 target
unreachable or server did not start
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace sockspec::cli;
  std::vector<std::string> all(argv, argv + argc);
  if (argc < 2 || all[1] == "--help" || all[1] == "-h" || all[1] == "help") {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  if (all[1] == "--version") {
    std::cout << "sockspec " << SOCKSPEC_VERSION << "\n";
    return 0;
  }
  Invocation inv;
  inv.argv0 = all[0];
  for (size_t i = 0; i < all.size(); ++i) inv.command_line += (i ? " " : "") + all[i];
  inv.args.assign(all.begin() + 2, all.end());
  const std::string& cmd = all[1];
  try {
    if (cmd == "run") return cmd_run(inv);
    if (cmd == "validate") return cmd_validate(inv);
    if (cmd == "list") return cmd_list(inv);
    if (cmd == "serve") return cmd_serve(inv);
    if (cmd == "load") return cmd_load(inv);
    if (cmd == "record") return cmd_record(inv);
    if (cmd == "fuzz") return cmd_fuzz(inv);
    if (cmd == "report") return cmd_report(inv);
    if (cmd == "merge") return cmd_merge(inv);
    if (cmd == "compare") return cmd_compare(inv);
  } catch (const std::exception& e) {
    std::cerr << "sockspec " << cmd << ": " << e.what() << "\n";
    return 2;
  }
  std::cerr << "sockspec: unknown command '" << cmd << "'\n\n" << kUsage;
  return 2;
}
