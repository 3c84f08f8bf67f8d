#include "runner/load_command.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
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
#include "runner/impairment.h"
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
  auto impair = check_impair_options(o.impair, o.impair_level);
  if (!impair.error.empty()) {
    err << "load: " << impair.error << "\n";
    return 2;
  }
  std::string why;
  auto text = read_file(o.profile, &why);
  if (!text) {
    err << "load: " << o.profile << ": " << why << "\n";
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
  load::Profile& profile = *slice.profile;
  if (!o.thresholds.empty()) {  // --threshold replaces the profile's goal
    profile.thresholds.clear();
    for (const auto& expr : o.thresholds) {
      auto t = reports::parse_threshold(expr);
      if (!t.threshold) {
        err << "load: --threshold '" << expr << "': " << t.error << "\n";
        return 2;
      }
      profile.thresholds.push_back(*t.threshold);
    }
  }
  if (o.find_max.enabled && plan.shard.sharded()) {
    err << "load: --find-max runs one search from one process; it does not combine with shards\n";
    return 2;
  }
  std::string who = plan.shard.sharded() ? "shard " + std::to_string(plan.shard.index) + "/" +
                                               std::to_string(plan.shard.count)
                                         : "the run";
  if (std::string problem = load::in_flight_problem(profile, o.in_flight_auto ? 2 : o.in_flight);
      (o.in_flight > 0 || o.in_flight_auto) && !problem.empty()) {
    err << "load: --in-flight " << (o.in_flight_auto ? "auto" : std::to_string(o.in_flight)) << ": "
        << problem << "\n";
    return 2;
  }
  if (o.in_flight_auto && profile.executor == load::Profile::Executor::closed) {
    err << "load: --in-flight auto sizes an open loop's window from its rate; a closed loop keeps "
           "its window full: give a number\n";
    return 2;
  }
  // Every connection is a descriptor: raise the soft limit to the hard one when they need it,
  // before a managed server starts, so it inherits the limit too.
  // A closed-loop capacity search may go up to --max users (4096 by default).
  bool search_users = o.find_max.enabled && profile.executor == load::Profile::Executor::closed;
  unsigned most_users = search_users
                            ? static_cast<unsigned>(o.find_max.max > 0 ? o.find_max.max : 4096)
                            : profile.connections;
  std::string limit = ensure_descriptors(std::max(profile.connections, most_users));
  if (limit.empty() && profile.transport == scenario::Transport::tcp)
    limit = check_ephemeral_ports(profile.connections, profile.source_addresses);
  if (!limit.empty()) {
    err << "load: " << limit << "\n";
    return 2;
  }
  bool tcp = profile.transport == scenario::Transport::tcp;
  PacketSetup packet;
  if (impair.packet()) {
    packet = packet_setup(impair, spec, o.server_cmd,
                          o.seed_given ? o.seed : static_cast<uint64_t>(std::time(nullptr)));
    if (!packet.error.empty()) {
      err << "load: " << packet.error << "\n";
      return 2;
    }
  }
  Prepared prepared = prepare_target(packet.link ? packet.spec : spec, o.target, o.server_cmd,
                                     o.self_exe, tcp, !tcp, packet.netns_fd);
  ReportPaths paths{o.report_json, o.junit, o.html, o.markdown};
  paths.defaults_in(o.out_dir, "load-", "load.html");
  auto meta = [&](reports::RunReport& r, const engine::Target& target) {
    r.meta.version = SOCKSPEC_VERSION;
    r.meta.command_line = o.command_line;
    r.meta.target = target.name.empty() ? o.target : target.name;
    r.meta.address = target.addr.to_string();
    r.meta.started_at = started_at;
    r.meta.host = host_name();
    r.meta.duration_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
  };
  if (!prepared.error.empty()) {
    err << "load: " << prepared.error << "\n";
    reports::RunReport failed;
    failed.kind = "load";
    if (prepared.server) failed.server = prepared.server->output();
    meta(failed, prepared.target);
    return write_unreachable_report(std::move(failed),
                                    prepared.reason.empty() ? prepared.error : prepared.reason,
                                    paths, out, err);
  }
  apply_tls(prepared, o.tls);
  load::LoadOptions lo;
  lo.target = prepared.target;
  uint64_t run_seed = o.seed_given    ? o.seed
                      : plan.start_at ? static_cast<uint64_t>(*plan.start_at)
                                      : static_cast<uint64_t>(std::time(nullptr));
  lo.seed = load::shard_seed(run_seed, plan.shard);
  Impaired relay;
  if (impair.spec && !impair.packet()) {
    relay = impair_target(prepared.target, *impair.spec, lo.seed);
    if (!relay.proxy) {
      err << "load: " << relay.error << "\n";
      return 3;
    }
    lo.target = relay.target;
  }
  lo.duration_s = o.duration_s;
  lo.warmup_s = o.warmup_s;
  lo.threads = o.threads;
  lo.in_flight = o.in_flight;
  lo.in_flight_auto = o.in_flight_auto;
  lo.busy_poll = o.busy_poll;
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
  std::unique_ptr<observe::Observer> observer;
  if (!o.observe.metrics.empty() || !o.observe.push.empty()) {
    std::string problem;
    observer =
        observe::Observer::start(o.observe,
                                 {plan.run_id, plan.shard.index, plan.shard.count, profile.name,
                                  prepared.target.name.empty() ? o.target : prepared.target.name},
                                 "dashboard", err, problem);
    if (!observer) {
      if (prepared.server) prepared.server->stop(std::chrono::seconds(3));
      err << "load: " << problem << "\n";
      return 2;
    }
    lo.live = observer.get();
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
  if (o.find_max.enabled) {
    FindMaxRun search = find_max(profile, lo, o.find_max, out);
    report.find_max = std::move(search.result);
    report.load = std::move(search.answer);
  } else {
    report.load = load::run_load(profile, lo, progress);
  }
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
    prepared.server->stop(interrupted ? kInterruptedGrace : kStopGrace);
    report.server = prepared.server->output();
  }
  meta(report, prepared.target);
  report.meta.seed = lo.seed;
  if (relay.proxy) report.meta.impairment = describe_impairment(*relay.proxy, impair.spec->text);
  if (packet.link)
    report.meta.impairment =
        "packet level: " + describe_impairment(*packet.link, impair.spec->text, "packet link");
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
  if (report.find_max) report.exit_code = report.find_max->found && !interrupted ? 0 : 1;

  if (report.find_max) {
    out << "\n"
        << report.find_max->message << "\n"
        << (report.find_max->found ? "the run at that value:\n" : "the last run:\n");
  }
  reports::write_load_summary(*report.load, reports::ConsoleStyle{o.color}, out);
  for (const auto& n : report.notes) out << "note: " << n << "\n";
  if (!report.load->rate_kept && !report.find_max) {
    out << "the generator did not keep the asked rate: " << report.load->missed_starts
        << " scheduled iterations never started; the run is not valid as a measurement at that "
           "rate\n";
  }
  if (o.github_annotations) reports::write_github_annotations(report, out);
  if (observer) observer->finish(report, {}, 0, report.meta.duration_ms / 1000, err);
  if (!write_report_files(report, paths, out, err)) return 2;
  if (observer && !interrupted) observer->linger(o.metrics_linger_s, o.cancel_fd, err);
  return report.exit_code;
}

}  // namespace sockspec::runner
