#include <unistd.h>

#include <boost/program_options.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/signals.h"
#include "load/profile.h"
#include "load/search.h"
#include "runner/load_command.h"

namespace sockspec::cli {

namespace po = boost::program_options;

namespace {

// --in-flight N or --in-flight auto.
po::typed_value<std::string>* in_flight_option(runner::LoadCommandOptions& o) {
  return po::value<std::string>()->notifier([&o](const std::string& t) {
    if (t == "auto") {
      o.in_flight_auto = true;
      return;
    }
    o.in_flight = static_cast<unsigned>(parse_count("--in-flight", t, 1, load::kMaxInFlight));
  });
}

// The search's options make sense only with --find-max, and only in range.
std::optional<int> check_find_max(const po::variables_map& vm, const std::string& precision,
                                  runner::LoadCommandOptions& o) {
  std::string bad;
  auto& f = o.find_max;
  if (!f.enabled) {
    for (const char* name : {"min", "max", "precision", "step-duration", "budget", "repeats"}) {
      if (vm.count(name) && !vm[name].defaulted())
        bad = std::string("--") + name + " needs --find-max";
    }
  } else if (auto p = load::parse_precision(precision)) {
    f.precision = *p;
    if (vm.count("rate")) bad = "--find-max chooses the rate itself; drop --rate";
    if (vm.count("min") && !(f.min > 0)) bad = "--min must be > 0";
    if (vm.count("max") && !(f.max > 0)) bad = "--max must be > 0";
    if (f.min > 0 && f.max > 0 && f.max < f.min) bad = "--max must be >= --min";
    if (vm.count("step-duration") && !(f.step_duration_s > 0)) bad = "--step-duration must be > 0";
    if (!(f.budget_s > 0)) bad = "--budget must be > 0";
    if (f.repeats < 1 || f.repeats > 20) bad = "--repeats must be 1..20";
  } else {
    bad = "--precision must be a fraction in (0, 1) such as 5% or 0.05, got '" + precision + "'";
  }
  if (bad.empty()) return std::nullopt;
  std::cerr << "sockspec load: " << bad << "\n(see sockspec load --help)\n";
  return 2;
}

}  // namespace

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
      "HOST:PORT, tls:HOST:PORT (TLS on every TCP connection to it; tls:builtin:SERVICE too), "
      "[V6ADDR]:PORT, unix:PATH, unix:@NAME, unixgram:PATH, or builtin:SERVICE")(
      "server-cmd", po::value(&o.server_cmd),
      "start this command as the server ({port} is replaced, or {path} by a fresh AF_UNIX "
      "socket path)")("duration", number_option(&o.duration_s, "--duration", 0.1, 86400),
                      "seconds measured, 0.1 to 86400 (default: the profile's duration_s)")(
      "warmup", number_option(&o.warmup_s, "--warmup", 0, 3600),
      "seconds run before measuring, 0 to 3600 (default: the profile's warmup_s)")(
      "rate", number_option(&o.rate, "--rate", 0.001, 10'000'000),
      "iterations per second for open-loop executors, 0.001 to 10000000 (overrides the profile)")(
      "connections", count_option(&o.connections, "--connections", 1, 100'000),
      "virtual users / connections, 1 to 100000 (overrides the profile)")(
      "in-flight", in_flight_option(o),
      "iterations outstanding at once on each connection, 1 to 65536 or auto (overrides the "
      "profile's in_flight; above 1 the iteration must be one send and one expect; auto sizes "
      "an open loop's window from its rate, timeout and connections)")(
      "threads", count_option(&o.threads, "--threads", 1, 256),
      "generator threads, each with its own event loop, 1 to 256 (default: cores)")(
      "busy-poll", po::bool_switch(&o.busy_poll),
      "generator threads spin on their sockets and clocks instead of sleeping: each takes a "
      "whole core, and saves a thread wake-up per reply and per start (like sockperf)")(
      "seed", count_option(&o.seed, "--seed", 0, UINT64_MAX),
      "seed for random payloads (a shard uses seed + its index; default: --start-at, else the "
      "clock)")("shard", po::value(&o.shard),
                "run shard I of N (e.g. 2/4): its share of the users, connections and rate; "
                "default: from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID/_COUNT")(
      "shards", count_option(&o.shards, "--shards", 1, 100'000),
      "the shard count when the index comes from JOB_COMPLETION_INDEX (a Kubernetes Indexed "
      "Job; else SOCKSPEC_SHARDS), 1 to 100000")(
      "start-at", po::value(&o.start_at),
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
      "load.html")(
      "threshold", po::value(&o.thresholds)->composing(),
      "a pass/fail condition such as 'p99 < 1ms' (repeatable); replaces the profile's thresholds");
  std::string precision = "5%";
  // The capacity search (docs/load.md); in the same list, which the man page and completion read.
  desc.add_options()("find-max", po::bool_switch(&o.find_max.enabled),
                     "find the highest rate (open loop) or number of users (closed loop) at "
                     "which every threshold holds and the schedule is kept")(
      "min", po::value(&o.find_max.min), "first value tried (default: 100/s, or 1 user)")(
      "max", po::value(&o.find_max.max),
      "highest value tried (default: 10,000,000/s, or 4096 users)")(
      "precision", po::value(&precision),
      "stop when the passing and failing values are this close "
      "(default 5%)")(
      "step-duration", po::value(&o.find_max.step_duration_s),
      "seconds measured per step, each after its own warm-up (default: --duration)")(
      "budget", po::value(&o.find_max.budget_s), "seconds the whole search may take (default 600)")(
      "repeats", po::value(&o.find_max.repeats),
      "most runs of one step near the boundary (default 3: until two agree)");
  add_observe_options(desc, o.observe, o.metrics_linger_s, "the run's figures");
  TlsCli tls;
  add_tls_options(desc, tls);
  add_impair_options(desc, o.impair, o.impair_level);
  po::options_description hidden;
  hidden.add_options()("profile", po::value(&o.profile));
  po::positional_options_description pos;
  pos.add("profile", 1);
  po::variables_map vm;
  if (auto rc = parse_options(inv, "load", desc, hidden, pos, vm)) return *rc;
  if (auto why = tls_settings(tls, o.tls); !why.empty()) {
    std::cerr << "sockspec load: " << why << "\n";
    return 2;
  }
  if (o.profile.empty()) {
    std::cerr << "sockspec load: name a profile (see scenarios/load/)\n";
    return 2;
  }
  if (auto rc = check_find_max(vm, precision, o)) return *rc;
  if (vm.count("in-flight") && !o.in_flight_auto &&
      (o.in_flight < 1 || o.in_flight > load::kMaxInFlight)) {
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
