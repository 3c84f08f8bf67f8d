#include "runner/runner.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "engine/case_run.h"
#include "net/socket.h"
#include "reports/annotations_writer.h"
#include "reports/console_writer.h"
#include "reports/json_writer.h"
#include "reports/junit_writer.h"
#include "runner/impairment.h"
#include "runner/managed_server.h"
#include "runner/policy.h"
#include "runner/report_files.h"
#include "runner/suites.h"
#include "runner/target.h"

namespace sockspec::runner {

namespace {

using Clock = std::chrono::steady_clock;

// 3, 2.5, 0.1: as a user would type the factor.
std::string number_text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

struct Item {
  const scenario::Suite* suite;
  const scenario::Case* kase;
  std::string full_id;
  bool needs_server;  // uses server steps
  bool exclusive;     // must not share the server with another case (server steps, or asked)
};

bool can_bind(const char* host) {
  auto r = net::resolve(host, 0, SOCK_DGRAM);
  if (r.addrs.empty()) return false;
  auto s = net::open_socket(r.addrs.front().family(), SOCK_DGRAM, {});
  return s.ok() && net::bind_to(s.fd.get(), r.addrs.front()).err == 0;
}

class Run {
 public:
  Run(const RunOptions& o, std::ostream& out, std::ostream& err) : o_(o), out_(out), err_(err) {}
  int go();

 private:
  int load();
  int setup_target();
  void run_cases();
  reports::CaseResult run_item(const Item& it, engine::ServerControl* server);
  std::string rerun_command(const Item& it) const;
  int finish();

  const RunOptions& o_;
  std::ostream& out_;
  std::ostream& err_;
  Clock::time_point started_ = Clock::now();
  std::string started_at_ = utc_now_iso8601();
  uint64_t seed_ = 0;
  TargetSpec spec_;
  std::vector<scenario::Suite> suites_;
  ExpectFail expect_fail_;
  std::vector<Item> items_;
  std::vector<reports::CaseResult> results_;
  std::unique_ptr<impair::PacketLink> link_;  // packet level: outlives the server behind it
  std::unique_ptr<ManagedServer> server_;
  engine::Target target_;
  ImpairOption impair_;       // --impair, --impair-level
  double timeout_scale_ = 1;  // --timeout-scale, or what the conditions call for
  int unix_type_ = 0;         // SOCK_STREAM or SOCK_DGRAM for an AF_UNIX target
  bool ipv4_ = false, ipv6_ = false, interrupted_ = false;
  std::string unreachable_;       // why the target was never reached (exit 3), for the reports
  bool reach_unchecked_ = false;  // not probed: the first cases that connect to it decide
  std::mutex print_mu_;
  std::unique_ptr<observe::Observer> observer_;  // --metrics, --push
  std::map<std::string, uint64_t> verdicts_;     // cases finished so far (under print_mu_)
  observe::VerdictCounts verdict_counts() const {
    return observe::VerdictCounts(verdicts_.begin(), verdicts_.end());
  }
  double elapsed_s() const {
    return std::chrono::duration<double>(Clock::now() - started_).count();
  }
};

int Run::go() {
  seed_ = o_.seed_given ? o_.seed : static_cast<uint64_t>(std::time(nullptr));
  spec_ = check_target_options(o_.target, o_.server_cmd, o_.builtin_services);
  if (!spec_.error.empty()) {
    err_ << "run: " << spec_.error << "\n";
    return 2;
  }
  impair_ = check_impair_options(o_.impair, o_.impair_level);
  if (!impair_.error.empty()) {
    err_ << "run: " << impair_.error << "\n";
    return 2;
  }
  timeout_scale_ = timeout_scale(o_.timeout_scale, impair_);
  if (int rc = load(); rc != 0) return rc;
  if (!o_.observe.metrics.empty() || !o_.observe.push.empty()) {
    std::string problem;
    observer_ = observe::Observer::start(o_.observe, {"run@" + started_at_, 0, 1, "", o_.target},
                                         "cases", err_, problem);
    if (!observer_) {
      err_ << "run: " << problem << "\n";
      return 2;
    }
    observer_->update_cases({}, items_.size(), 0);
  }
  // Exit 3 still writes the reports asked for; a usage problem (2) found on the way does not.
  if (int rc = setup_target(); rc != 0) return rc == 3 ? finish() : rc;
  ipv4_ = can_bind("127.0.0.1");
  ipv6_ = can_bind("::1");
  run_cases();
  return finish();
}

int Run::load() {
  std::vector<std::string> paths = o_.paths;
  bool by_service = paths.empty();
  if (by_service) {
    if (spec_.builtin.empty()) {
      err_ << "run: name the scenario files or folders to run (only --target builtin:SERVICE picks "
              "suites by itself)\n";
      return 2;
    }
    paths.push_back(builtin_scenarios_dir(o_.self_exe));
  }
  Loaded l = load_suites(paths);
  reject_profiles(l);
  for (const auto& d : l.errors) err_ << d.to_string() << "\n";
  if (!l.errors.empty()) {
    err_ << l.errors.size() << " problem(s) in the scenarios; nothing was run\n";
    return 2;
  }
  for (auto& s : l.suites) {
    // A suite that names no service (the socket rules) applies to every service.
    if (!by_service || s.service == spec_.builtin || s.service.empty())
      suites_.push_back(std::move(s));
  }
  if (suites_.empty()) {
    err_ << "run: no suites found"
         << (by_service ? " for service '" + spec_.builtin + "' in " + paths.front()
                        : std::string())
         << "\n";
    return 2;
  }
  if (!o_.expect_fail.empty()) {
    std::string why;
    auto text = read_file(o_.expect_fail, &why);
    if (!text) {
      err_ << "run: --expect-fail " << o_.expect_fail << ": " << why << "\n";
      return 2;
    }
    expect_fail_ = parse_expect_fail(*text, o_.expect_fail);
    for (const auto& e : expect_fail_.errors) err_ << e << "\n";
    if (!expect_fail_.errors.empty()) return 2;
  }
  Selection sel{o_.filters, o_.tags};
  for (const auto& s : suites_) {
    for (const auto& c : s.cases) {
      std::string id = s.suite + "/" + c.id;
      if (!selected(sel, id, c.tags)) continue;
      auto has = [&](const char* cap) {
        return std::find(c.requires_.begin(), c.requires_.end(), cap) != c.requires_.end();
      };
      bool needs = has("managed-server");
      items_.push_back({&s, &c, id, needs, needs || has("exclusive-server")});
    }
  }
  if (items_.empty()) {
    err_ << "run: no case matches the --filter/--tag selection\n";
    return 2;
  }
  return 0;
}

int Run::setup_target() {
  bool tcp = false, udp = false;
  // Probe (and require) only the transports of the cases that will run.
  for (const auto& it : items_)
    (it.suite->transport == scenario::Transport::tcp ? tcp : udp) = true;
  TargetSpec spec = spec_;
  int netns_fd = -1;
  if (impair_.packet()) {
    PacketSetup ps = packet_setup(impair_, spec_, o_.server_cmd, seed_);
    if (!ps.error.empty()) {
      err_ << "run: " << ps.error << "\n";
      return 2;
    }
    link_ = std::move(ps.link);
    spec = ps.spec;
    netns_fd = ps.netns_fd;
  }
  // A plain TCP target is not probed when the run's first cases can tell whether it is up
  // (with a relay in between they cannot: the relay accepts whatever is behind it).
  bool defer = !impair_.spec;
  Prepared p =
      prepare_target(spec, o_.target, o_.server_cmd, o_.self_exe, tcp, udp, netns_fd, defer);
  reach_unchecked_ = p.reach_unchecked;
  server_ = std::move(p.server);
  if (!p.error.empty()) {
    err_ << "run: " << p.error << "\n";
    unreachable_ = p.reason.empty() ? p.error : p.reason;
    return 3;
  }
  apply_tls(p, o_.tls);
  target_ = p.target;
  unix_type_ = p.unix_type;
  return 0;
}

std::string Run::rerun_command(const Item& it) const {
  std::string cmd = shell_quote(o_.invoked_as) + " run " + shell_quote(it.suite->file);
  if (!o_.target.empty()) cmd += " --target " + shell_quote(o_.target);
  if (!o_.server_cmd.empty()) cmd += " --server-cmd " + shell_quote(o_.server_cmd);
  cmd += " --filter " + shell_quote(it.full_id) + " --seed " + std::to_string(seed_);
  if (o_.strict) cmd += " --strict";
  if (!o_.impair.empty()) cmd += " --impair " + shell_quote(o_.impair);
  if (!o_.impair_level.empty()) cmd += " --impair-level " + shell_quote(o_.impair_level);
  if (o_.timeout_scale > 0) cmd += " --timeout-scale " + number_text(o_.timeout_scale);
  return cmd + tls_flags(o_.tls);
}

reports::CaseResult Run::run_item(const Item& it, engine::ServerControl* server) {
  const scenario::Case& c = *it.kase;
  reports::CaseResult r;
  r.id = c.id;
  r.title = c.title;
  r.spec_ref = c.spec_ref;
  r.level = scenario::to_string(c.level);
  r.tags = c.tags;
  r.rerun = rerun_command(it);
  auto skip = [&](std::string why) {
    r.verdict = reports::Verdict::skip;
    r.reason = std::move(why);
    return r;
  };
  for (const auto& need : c.requires_) {
    if (need == "managed-server" && server == nullptr) {
      return skip("needs a managed server (run with --target builtin:SERVICE or --server-cmd)");
    }
    if (need == "ipv6" && !ipv6_) return skip("needs IPv6, and ::1 is not available here");
    if (need == "tls-target" && !target_.tls)
      return skip("needs a TLS server: run it with --target tls:HOST:PORT");
    if (need == "ipv4" && !ipv4_) return skip("needs IPv4, and 127.0.0.1 is not available here");
  }
  if (unix_type_ != 0) {
    if (auto why = unix_skip_reason(c, unix_type_ == SOCK_DGRAM)) return skip(*why);
  }
  if (target_.tls) {
    if (auto why = tls_skip_reason(c)) return skip(*why);
  }
  if (cancel_requested(o_.cancel_fd)) return skip("not run: the run was interrupted");
  if (auto why = unfit_under(c, impair_); !why.empty()) return skip(why);
  // Each case impaired gets its own relay, so an impair step changes only its own network.
  // At packet level the run's conditions are on the link already; a relay in front of it
  // serves the case's impair steps.
  Impaired relay;
  bool relay_spec = impair_.spec && !impair_.packet();
  if (relay_spec || scenario::uses_impair(c.steps)) {
    relay = impair_target(target_, relay_spec ? *impair_.spec : impair::Spec{}, seed_);
    if (!relay.proxy) {
      r.verdict = reports::Verdict::error;
      r.reason = relay.error;
      return r;
    }
  }
  engine::RunCaseOptions ro{relay.proxy ? relay.target : target_,
                            seed_,
                            it.suite->default_timeout_ms,
                            server,
                            o_.cancel_fd,
                            [](const std::string& n) -> std::optional<std::string> {
                              const char* v = std::getenv(n.c_str());
                              return v ? std::optional<std::string>(v) : std::nullopt;
                            }};
  ro.impair = relay.proxy.get();
  ro.timeout_scale = timeout_scale_;
  engine::CaseOutcome outcome = engine::run_case(c, ro);
  if (relay.proxy)
    r.impairment = describe_impairment(*relay.proxy, relay_spec ? impair_.spec->text : "");
  if (link_) {
    std::string on_link = "packet level: " + impair_.spec->text;
    r.impairment = r.impairment.empty() ? on_link : on_link + "; " + r.impairment;
  }
  auto ef = expect_fail_.reasons.find(it.full_id);
  // A capacity limit the server chose is reported as a warning that names it (docs/suites.md).
  scenario::Level level = c.level;
  std::string raw_reason = outcome.reason;
  if (outcome.verdict == reports::Verdict::fail) {
    // Shown under the failure with the network's counts (console "network: ...").
    if (auto hint = lossy_hint(c, it.suite->transport, impair_); !hint.empty())
      r.impairment += "; " + hint;
    if (auto policy = policy_seen(c.tags, outcome.steps)) {
      level = scenario::Level::should;
      raw_reason = "policy: " + *policy + ", a limit the server's configuration sets, not a " +
                   "protocol violation; " + raw_reason;
    }
  }
  auto d = decide(
      outcome.verdict, raw_reason, level, o_.strict,
      ef == expect_fail_.reasons.end() ? std::nullopt : std::optional<std::string>(ef->second));
  r.verdict = d.verdict;
  r.reason = d.reason;
  r.duration_ms = outcome.duration_ms;
  r.steps = std::move(outcome.steps);
  r.captures = std::move(outcome.captures);
  return r;
}

void Run::run_cases() {
  results_.resize(items_.size());
  reports::ConsoleStyle style{o_.color};
  auto report_line = [&](size_t i) {
    std::lock_guard<std::mutex> lock(print_mu_);
    reports::write_case_line(items_[i].suite->suite, results_[i], style, out_);
    out_.flush();
    if (observer_) {
      ++verdicts_[reports::to_string(results_[i].verdict)];
      observer_->update_cases(verdict_counts(), items_.size(), elapsed_s());
    }
  };
  // Cases that restart the server, or that need it to themselves (a chat room), run one at
  // a time after the others, on this thread: they would disturb any case beside them.
  std::vector<size_t> shared, exclusive;
  for (size_t i = 0; i < items_.size(); ++i) {
    bool alone = items_[i].exclusive && (server_ || !items_[i].needs_server);
    (alone ? exclusive : shared).push_back(i);
  }
  std::atomic<size_t> next{0};
  if (reach_unchecked_) {
    // One at a time until a case has connected to the target, or failed to the way an absent
    // server fails (then the run stops: exit 3, as a probe would have said).
    std::string addr = target_.addr.to_string();
    for (; next < shared.size(); ++next) {
      size_t i = shared[next];
      results_[i] = run_item(items_[i], nullptr);
      std::string why;
      Reached seen = reach_seen(results_[i], addr, &why);
      if (seen == Reached::no) {
        unreachable_ = "target " + o_.target + " cannot be reached: " + why;
        err_ << "run: " << unreachable_ << "\n";
        return;
      }
      report_line(i);
      if (seen == Reached::yes && items_[i].suite->transport == scenario::Transport::tcp) {
        ++next;
        break;
      }
    }
  }
  auto worker = [&] {
    for (size_t k; (k = next++) < shared.size();) {
      size_t i = shared[k];
      results_[i] = run_item(items_[i], nullptr);
      report_line(i);
    }
  };
  unsigned jobs = o_.jobs ? o_.jobs : std::max(1u, std::thread::hardware_concurrency());
  jobs = std::min<unsigned>(jobs, static_cast<unsigned>(std::max<size_t>(1, shared.size())));
  std::vector<std::thread> threads;
  for (unsigned j = 1; j < jobs; ++j) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();

  for (size_t i : exclusive) {
    if (server_ && !cancel_requested(o_.cancel_fd) && !server_->running()) {
      std::string e = server_->start_and_wait(std::chrono::seconds(10));
      if (!e.empty()) {
        results_[i] = run_item(items_[i], nullptr);
        results_[i].verdict = reports::Verdict::error;
        results_[i].reason = "the server could not be started again before the case: " + e;
        report_line(i);
        continue;
      }
    }
    results_[i] = run_item(items_[i], items_[i].needs_server ? server_.get() : nullptr);
    report_line(i);
  }
  interrupted_ = cancel_requested(o_.cancel_fd);
}

int Run::finish() {
  // Interrupted, the user is waiting: a server that ignores SIGTERM gets SIGKILL sooner.
  if (server_) server_->stop(interrupted_ ? kInterruptedGrace : kStopGrace);
  reports::RunReport report;
  report.meta.version = SOCKSPEC_VERSION;
  report.meta.command_line = o_.command_line;
  report.meta.target = target_.name;
  report.meta.address = target_.addr.to_string();
  report.meta.seed = seed_;
  report.meta.started_at = started_at_;
  report.meta.host = host_name();
  report.meta.strict = o_.strict;
  if (link_)
    report.meta.impairment =
        "packet level: " + describe_impairment(*link_, impair_.spec->text, "packet link");
  else if (impair_.spec)
    report.meta.impairment = impair_.spec->text;
  if (timeout_scale_ != 1.0) {
    report.meta.impairment += (report.meta.impairment.empty() ? "" : "; ") +
                              std::string("timeouts x") + number_text(timeout_scale_) +
                              " (--timeout-scale)";
  }
  if (server_) report.server = server_->output();
  ReportPaths paths{o_.report_json, o_.junit, o_.html, o_.markdown};
  paths.defaults_in(o_.out_dir, "", "index.html");
  if (!unreachable_.empty()) {
    report.meta.duration_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - started_).count();
    return write_unreachable_report(std::move(report), unreachable_, paths, out_, err_);
  }
  // Results, grouped by suite in the order the suites were given.
  for (const auto& s : suites_) {
    reports::SuiteResult sr{
        s.suite, s.title, s.file, s.spec, s.service, scenario::to_string(s.transport), {}};
    for (size_t i = 0; i < items_.size(); ++i) {
      if (items_[i].suite == &s) sr.cases.push_back(results_[i]);
    }
    if (!sr.cases.empty()) report.suites.push_back(std::move(sr));
  }
  std::set<std::string> all_ids;
  for (const auto& s : suites_) {
    for (const auto& c : s.cases) all_ids.insert(s.suite + "/" + c.id);
  }
  for (const auto& [id, reason] : expect_fail_.reasons) {
    if (!all_ids.count(id))
      report.notes.push_back("stale expected-failure entry '" + id + "': no such case");
  }
  if (interrupted_) report.notes.push_back("the run was interrupted; cases not run are skipped");
  report.exit_code = (report.counts().failing() > 0 || interrupted_) ? 1 : 0;
  report.meta.duration_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - started_).count();

  reports::write_summary(report, reports::ConsoleStyle{o_.color}, out_);
  if (o_.github_annotations) reports::write_github_annotations(report, out_);
  if (observer_) observer_->finish(report, verdict_counts(), items_.size(), elapsed_s(), err_);
  if (!write_report_files(report, paths, out_, err_)) return 2;
  if (observer_ && !interrupted_) observer_->linger(o_.metrics_linger_s, o_.cancel_fd, err_);
  return report.exit_code;
}

}  // namespace

int run(const RunOptions& opts, std::ostream& out, std::ostream& err) {
  return Run(opts, out, err).go();
}

}  // namespace sockspec::runner
