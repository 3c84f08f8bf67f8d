#include <unistd.h>

#include <boost/program_options.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/signals.h"
#include "load/profile.h"
#include "runner/load_command.h"

namespace sockspec::cli {

namespace po = boost::program_options;

int cmd_load(const Invocation& inv) {
  runner::LoadCommandOptions o;
  po::options_description desc(
      "usage: sockspec load PROFILE.json --target HOST:PORT | --target builtin:SERVICE | "
      "--server-cmd 'CMD {port}'\n"
      "\n"
      "Runs a load profile: virtual users repeat the profile's iteration steps, every reply still\n"
      "checked, and the run reports latency percentiles, errors by kind and each threshold.\n"
      "\noptions");
  desc.add_options()("help,h", "show this help")(
      "target,t", po::value(&o.target),
      "HOST:PORT, [V6ADDR]:PORT, unix:PATH, unix:@NAME, unixgram:PATH, or builtin:SERVICE")(
      "server-cmd", po::value(&o.server_cmd),
      "start this command as the server ({port} is replaced, or {path} by a fresh AF_UNIX "
      "socket path)")("duration", po::value(&o.duration_s),
                      "seconds measured (default: the profile's duration_s)")(
      "warmup", po::value(&o.warmup_s),
      "seconds run before measuring (default: the profile's warmup_s)")(
      "rate", po::value(&o.rate),
      "iterations per second for open-loop executors (overrides the profile)")(
      "connections", po::value(&o.connections),
      "virtual users / connections (overrides the profile)")(
      "in-flight", po::value(&o.in_flight),
      "iterations outstanding at once on each connection (overrides the profile's in_flight; "
      "above 1 the iteration must be one send and one expect)")(
      "threads", po::value(&o.threads),
      "generator threads, each with its own event loop (default: cores)")(
      "seed", po::value(&o.seed),
      "seed for random payloads (a shard uses seed + its index; default: --start-at, else the "
      "clock)")("shard", po::value(&o.shard),
                "run shard I of N (e.g. 2/4): its share of the users, connections and rate; "
                "default: from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID/_COUNT")(
      "shards", po::value(&o.shards),
      "the shard count when the index comes from JOB_COMPLETION_INDEX (a Kubernetes Indexed "
      "Job; else SOCKSPEC_SHARDS)")("start-at", po::value(&o.start_at),
                                    "wait until this time to start (RFC 3339 or epoch seconds), "
                                    "so every shard's seconds line up")(
      "run-id", po::value(&o.run_id),
      "the run this shard belongs to (default: PROFILE@START-AT, or the Slurm array job)")(
      "report-json", po::value(&o.report_json), "write the JSON report here")(
      "html", po::value(&o.html), "write the HTML report (one self-contained file) here")(
      "markdown", po::value(&o.markdown), "write a Markdown summary (for CI job summaries) here")(
      "junit", po::value(&o.junit), "write JUnit XML here (one testcase per threshold)")(
      "github-annotations", po::bool_switch(&o.github_annotations),
      "also print each failed threshold as a GitHub Actions annotation (::error title=...::...)")(
      "out", po::value(&o.out_dir),
      "write every format into this folder: load-report.json, load-junit.xml, load-summary.md, "
      "load.html");
  po::options_description hidden;
  hidden.add_options()("profile", po::value(&o.profile));
  po::positional_options_description pos;
  pos.add("profile", 1);
  po::variables_map vm;
  if (auto rc = parse_options(inv, "load", desc, hidden, pos, vm)) return *rc;
  if (o.profile.empty()) {
    std::cerr << "sockspec load: name a profile (see scenarios/load/)\n";
    return 2;
  }
  if (vm.count("in-flight") && (o.in_flight < 1 || o.in_flight > load::kMaxInFlight)) {
    std::cerr << "sockspec load: --in-flight must be 1.." << load::kMaxInFlight << ", got "
              << o.in_flight << "\n";
    return 2;
  }
  o.seed_given = vm.count("seed") > 0;
  o.command_line = inv.command_line;
  o.self_exe = self_exe_path();
  o.builtin_services = builtin_service_names();
  o.color = color_wanted();
  o.progress = isatty(STDERR_FILENO);
  StopSignals stop;
  o.cancel_fd = stop.fd();
  return runner::run_load_command(o, std::cout, std::cerr);
}

}  // namespace sockspec::cli
