#include "runner/load_command.h"

#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "load/driver.h"
#include "reports/annotations_writer.h"
#include "reports/console_writer.h"
#include "reports/json_writer.h"
#include "reports/junit_writer.h"
#include "reports/thresholds.h"
#include "runner/load_scale.h"
#include "runner/report_files.h"
#include "runner/suites.h"
#include "runner/target.h"

namespace sockspec::runner {

int run_load_command(const LoadCommandOptions& o, std::ostream& out, std::ostream& err) {
  auto started = std::chrono::steady_clock::now();
  std::string started_at = utc_now_iso8601();
  TargetSpec spec = check_target_options(o.target, o.server_cmd, o.builtin_services);
  if (!spec.error.empty()) {
    err << "load: " << spec.error << "\n";
    return 2;
  }
  auto text = read_file(o.profile);
  if (!text) {
    err << "load: " << o.profile << ": cannot be read\n";
    return 2;
  }
  auto parsed = load::parse_profile(*text, o.profile);
  for (const auto& d : parsed.errors) err << d.to_string() << "\n";
  if (!parsed.profile) {
    err << parsed.errors.size() << " problem(s) in the profile; nothing was run\n";
    return 2;
  }
  // A shard is an ordinary run of a slice of the profile; an unsharded run is shard 0 of 1.
  ShardPlan plan =
      plan_shard(o.shard, o.shards, o.start_at, o.run_id, parsed.profile->name, started_at, o.env);
  if (!plan.error.empty()) {
    err << "load: " << plan.error << "\n";
    return 2;
  }
  auto slice = load::slice_profile(*parsed.profile, plan.shard, o.connections, o.rate);
  if (!slice.profile) {
    err << "load: " << slice.error << "\n";
    return 2;
  }
  const load::Profile& profile = *slice.profile;
  std::string who = plan.shard.sharded() ? "shard " + std::to_string(plan.shard.index) + "/" +
                                               std::to_string(plan.shard.count)
                                         : "the run";
  if (std::string why = load::in_flight_problem(profile, o.in_flight); !why.empty()) {
    err << "load: --in-flight " << o.in_flight << ": " << why << "\n";
    return 2;
  }
  // Every connection is a descriptor: raise the soft limit to the hard one when they need it,
  // before a managed server starts, so it inherits the limit too.
  std::string limit = ensure_descriptors(profile.connections);
  if (limit.empty() && profile.transport == scenario::Transport::tcp)
    limit = check_ephemeral_ports(profile.connections, profile.source_addresses);
  if (!limit.empty()) {
    err << "load: " << limit << "\n";
    return 2;
  }
  bool tcp = profile.transport == scenario::Transport::tcp;
  Prepared prepared = prepare_target(spec, o.target, o.server_cmd, o.self_exe, tcp, !tcp);
  if (!prepared.error.empty()) {
    err << "load: " << prepared.error << "\n";
    return 3;
  }
  load::LoadOptions lo;
  lo.target = prepared.target;
  uint64_t run_seed = o.seed_given    ? o.seed
                      : plan.start_at ? static_cast<uint64_t>(*plan.start_at)
                                      : static_cast<uint64_t>(std::time(nullptr));
  lo.seed = load::shard_seed(run_seed, plan.shard);
  lo.duration_s = o.duration_s;
  lo.warmup_s = o.warmup_s;
  lo.threads = o.threads;
  lo.in_flight = o.in_flight;
  lo.cancel_fd = o.cancel_fd;
  lo.first_user = slice.first_user;
  double late_s = 0;
  if (plan.start_at) {
    auto late = wait_for_start(*plan.start_at, o.cancel_fd, err, who);
    if (!late) {
      if (prepared.server) prepared.server->stop(std::chrono::seconds(3));
      err << "load: interrupted while waiting for --start-at\n";
      return 1;
    }
    late_s = *late;
  }
  uint64_t last = 0;
  auto progress = [&](const load::Progress& p) {
    if (!o.progress) return;
    char line[160];
    std::snprintf(line, sizeof line,
                  "\r  %5.1f/%.0f s  %10llu iterations  %8llu/s  p99 %-9s errors %llu   ",
                  p.elapsed_s, p.total_s, static_cast<unsigned long long>(p.iterations),
                  static_cast<unsigned long long>(p.iterations - last),
                  reports::format_metric("p99", static_cast<double>(p.last_p99_ns)).c_str(),
                  static_cast<unsigned long long>(p.errors));
    last = p.iterations;
    err << line << std::flush;
  };
  reports::RunReport report;
  report.kind = "load";
  report.load = load::run_load(profile, lo, progress);
  if (o.progress) err << "\r" << std::string(90, ' ') << "\r";
  report.load->shard = {plan.run_id,
                        plan.shard.index,
                        plan.shard.count,
                        {},
                        false,
                        plan.start_at ? load::format_utc(*plan.start_at) : "",
                        late_s};
  if (late_s > 0) {
    char late[32];
    std::snprintf(late, sizeof late, "%.3f", late_s);
    report.notes.push_back(who + " started " + late + " s after --start-at");
  }
  add_resource_hints(*report.load, report.notes);
  {  // the generator's own peak memory, for the report
    std::ifstream status("/proc/self/status");
    std::string key;
    while (status >> key) {
      if (key == "VmHWM:") {
        status >> report.load->generator_peak_rss_kib;
        break;
      }
      status.ignore(4096, '\n');
    }
  }
  bool interrupted = cancel_requested(o.cancel_fd);
  if (prepared.server) {
    prepared.server->stop(std::chrono::seconds(3));
    report.server = prepared.server->output();
  }
  report.meta.version = SOCKSPEC_VERSION;
  report.meta.command_line = o.command_line;
  report.meta.target = prepared.target.name;
  report.meta.address = prepared.target.addr.to_string();
  report.meta.seed = lo.seed;
  report.meta.started_at = started_at;
  report.meta.host = host_name();
  report.meta.duration_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  bool thresholds_ok = true;
  for (const auto& t : report.load->thresholds) thresholds_ok = thresholds_ok && t.passed;
  // A shard's thresholds speak of the whole run: they are judged on the merged report, and a
  // shard's own exit code does not count them (else a rate threshold fails every shard).
  if (plan.shard.sharded()) {
    thresholds_ok = true;
    report.notes.push_back(
        "thresholds above are this shard's alone; the run's verdict is `sockspec merge`'s");
  }
  if (interrupted) report.notes.push_back("the run was interrupted");
  report.exit_code = (thresholds_ok && report.load->rate_kept && !interrupted) ? 0 : 1;

  reports::write_load_summary(*report.load, reports::ConsoleStyle{o.color}, out);
  for (const auto& n : report.notes) out << "note: " << n << "\n";
  if (!report.load->rate_kept) {
    out << "the generator did not keep the asked rate: " << report.load->missed_starts
        << " scheduled iterations never started; the run is not valid as a measurement at that "
           "rate\n";
  }
  ReportPaths paths{o.report_json, o.junit, o.html, o.markdown};
  paths.defaults_in(o.out_dir, "load-", "load.html");
  if (o.github_annotations) reports::write_github_annotations(report, out);
  if (!write_report_files(report, paths, out, err)) return 2;
  return report.exit_code;
}

}  // namespace sockspec::runner
