#include "fuzzer/campaign.h"

#include <unistd.h>

#include <algorithm>
#include <memory>
#include <thread>

#include "fuzzer/campaign_report.h"
#include "fuzzer/input.h"
#include "fuzzer/mutate.h"
#include "fuzzer/reproducer.h"
#include "fuzzer/worker.h"
#include "runner/policy.h"
#include "runner/report_files.h"
#include "runner/suites.h"

namespace sockspec::fuzzer {

namespace {

constexpr size_t kMaxJobs = 64;

// A seed light enough to run thousands of times: a few KiB, a few connections (a case that
// sends 8 MiB or opens 100 clients tests a server's capacity, not its parser).
bool light(const scenario::Case& c) {
  return !scenario::any_step(c.steps, [](const scenario::Step& s) {
    if (auto* send = std::get_if<scenario::SendOp>(&s.op)) {
      return send->repeat > 64 || (send->payload.kind == scenario::Payload::Kind::fill &&
                                   send->payload.fill.bytes > 65536);
    }
    if (auto* r = std::get_if<scenario::RepeatOp>(&s.op)) return r->times > 64;
    if (auto* p = std::get_if<scenario::ParallelOp>(&s.op)) return p->clients > 8;
    return false;
  });
}

class Campaign {
 public:
  Campaign(const FuzzOptions& o, std::ostream& out, std::ostream& err)
      : o_(o), out_(out), err_(err), sh_(o, out, err) {}
  int run();

 private:
  int load();
  int start();
  int baseline();
  void inputs();
  int finish();

  const FuzzOptions& o_;
  std::ostream& out_;
  std::ostream& err_;
  Shared sh_;
  runner::TargetSpec spec_;
  runner::Loaded loaded_;
  std::vector<SuiteSeeds> seeds_;
  std::vector<std::unique_ptr<Worker>> workers_;  // workers_[0] runs the seeds as written
  std::string started_at_;
};

int Campaign::load() {
  spec_ = runner::check_target_options(o_.target, o_.server_cmd, o_.builtin_services);
  if (!spec_.error.empty()) {
    err_ << "fuzz: " << spec_.error << "\n";
    return 2;
  }
  if (spec_.unix) {
    err_ << "fuzz: AF_UNIX targets are not fuzzed yet; use a TCP or UDP port\n";
    return 2;
  }
  std::vector<std::string> paths = o_.paths;
  if (paths.empty()) {
    if (spec_.builtin.empty()) {
      err_ << "fuzz: name the suites to start from (files or folders); only --target "
              "builtin:SERVICE picks its own\n";
      return 2;
    }
    paths.push_back(runner::builtin_scenarios_dir(o_.self_exe));
  }
  loaded_ = runner::load_suites(paths);
  runner::reject_profiles(loaded_);
  for (const auto& d : loaded_.errors) err_ << d.to_string() << "\n";
  if (!loaded_.errors.empty()) {
    err_ << loaded_.errors.size() << " problem(s) in the scenarios; nothing was fuzzed\n";
    return 2;
  }
  runner::Selection sel{o_.filters, {}};
  for (const auto& s : loaded_.suites) {
    if (o_.paths.empty() && !s.service.empty() && s.service != spec_.builtin) continue;
    SuiteSeeds ss{&s, {}, {}, nullptr};
    for (const auto& c : s.cases) {
      if (runner::selected(sel, s.suite + "/" + c.id, c.tags) && can_check_liveness(c) && light(c))
        ss.seeds.push_back(c);
    }
    if (!ss.seeds.empty()) seeds_.push_back(std::move(ss));
  }
  if (seeds_.empty()) {
    err_ << "fuzz: no case to start from (cases with server or impair steps, listeners, "
            "heavy ones (over 64 KiB or 8 clients) and those outside --filter are left out)\n";
    return 2;
  }
  return 0;
}

int Campaign::start() {
  bool tcp = false, udp = false;
  for (const auto& ss : seeds_)
    (ss.suite->transport == scenario::Transport::tcp ? tcp : udp) = true;
  // Each job its own server on its own port (a --target is shared: every job sends to it).
  for (unsigned j = 0; j < o_.jobs; ++j) {
    workers_.push_back(std::make_unique<Worker>(sh_, j));
    std::string e = workers_.back()->start(spec_, tcp, udp);
    if (!e.empty()) {
      err_ << "fuzz: " << (o_.jobs > 1 ? "job " + std::to_string(j) + ": " : "") << e << "\n";
      return 3;
    }
  }
  return 0;
}

// Every seed once, as written: those that pass are the corpus; the smallest of each suite that
// passes again checks liveness after every input.
int Campaign::baseline() {
  std::vector<SuiteSeeds> kept;
  size_t total = 0;
  for (auto& ss : seeds_) {
    std::vector<scenario::Case> passing;
    for (auto& c : ss.seeds) {
      auto r = workers_[0]->run_input(c, *ss.suite);
      if (r.verdict == reports::Verdict::pass) {
        passing.push_back(c);
      } else {
        out_ << "fuzz: seed " << ss.suite->suite << "/" << c.id
             << " left out: it fails as written (" << r.reason.substr(0, 200) << ")\n";
      }
    }
    if (passing.empty()) continue;
    // The liveness check runs after every input: the case with the fewest steps that passes
    // again without its waits (a sleep, a check that nothing more comes: they cost their time
    // after every input, and a server that stopped answering fails the exchange anyway).
    // Chosen by its steps, not by a time, so a campaign with the same seed checks with the
    // same case; one that had no waits to drop comes first.
    std::vector<std::pair<size_t, size_t>> by_size;
    std::vector<scenario::Case> quick = passing;
    for (size_t i = 0; i < quick.size(); ++i) {
      size_t dropped = drop_waits(quick[i].steps, quick[i].steps.size());
      bool nested_waits = scenario::any_step(quick[i].steps, [](const scenario::Step& s) {
        return std::holds_alternative<scenario::ExpectSilenceOp>(s.op) ||
               std::holds_alternative<scenario::SleepOp>(s.op);
      });
      if (!nested_waits) by_size.push_back({quick[i].steps.size() + (dropped ? 100 : 0), i});
    }
    std::sort(by_size.begin(), by_size.end());
    for (const auto& [size, i] : by_size) {
      if (workers_[0]->run_input(quick[i], *ss.suite).verdict == reports::Verdict::pass) {
        ss.liveness = quick[i];
        break;
      }
    }
    if (ss.liveness.steps.empty()) continue;
    total += passing.size();
    ss.seeds = std::move(passing);
    // Only cases with a send to mutate (each job makes its own mutators from these).
    if (Mutator(ss.seeds, ss.suite->transport, {}, 0).empty()) continue;
    kept.push_back(std::move(ss));
  }
  seeds_ = std::move(kept);
  Worker& first = *workers_[0];
  if (first.server()) {
    if (std::string e = first.server()->ended(); !e.empty()) {
      err_ << "fuzz: the server ended while its suites ran as written (" << e
           << "): fix that first (sockspec run shows it)\n";
      return 3;
    }
  }
  if (seeds_.empty()) {
    err_ << "fuzz: no case that sends anything passes against this server as written; fuzzing "
            "starts from cases that pass (sockspec run shows why they fail)\n";
    return 2;
  }
  Dictionary dict = collect_dictionary(loaded_.suites);
  for (auto& w : workers_) w->adopt(seeds_, dict);
  Coverage* cov = first.coverage();
  if (cov && cov->attached()) {
    sh_.coverage = true;
    first.take_edges();
    sh_.mode = "coverage feedback: the seeds reached " + std::to_string(sh_.edges_reached()) +
               " of " + std::to_string(cov->edges()) + " edges";
  } else {
    sh_.mode = o_.no_coverage          ? "black-box (--no-coverage)"
               : o_.server_cmd.empty() ? "black-box (coverage comes from a --server-cmd built with "
                                         "sockspec's coverage runtime, docs/fuzz.md)"
                                       : "black-box (the server reports no coverage: build it with "
                                         "clang -fsanitize-coverage=trace-pc-guard and sockspec's "
                                         "coverage runtime, docs/fuzz.md)";
    for (auto& w : workers_) w->drop_coverage();
  }
  out_ << "fuzz: " << total << " seed case(s) from " << seeds_.size() << " suite(s); " << sh_.mode
       << "; seed " << sh_.seed
       << (o_.jobs > 1 ? "; " + std::to_string(o_.jobs) + " jobs, each with its own " +
                             (first.server() ? "server" : "connections to the target")
                       : std::string())
       << "\n";
  return 0;
}

// The jobs side by side, each on a thread of its own; job 0 on this one. A job that fails
// (an event loop's error) stops the others and the campaign, which reports what it had.
void Campaign::inputs() {
  sh_.begin(o_.duration_s);
  std::vector<std::thread> threads;
  auto run = [this](Worker& w, unsigned job) {
    try {
      w.loop();
    } catch (const std::exception& e) {
      sh_.say("\nfuzz: job " + std::to_string(job) + " stopped: " + e.what() + "\n", true);
    }
    sh_.stopped = true;  // the rest stop at their next input (each ends the input it runs)
  };
  for (size_t j = 1; j < workers_.size(); ++j)
    threads.emplace_back(run, std::ref(*workers_[j]), static_cast<unsigned>(j));
  run(*workers_[0], 0);
  for (auto& t : threads) t.join();
  sh_.progress(true);
}

int Campaign::finish() {
  for (auto& w : workers_) w->stop();
  reports::RunMeta meta;
  meta.version = SOCKSPEC_FUZZ_VERSION;
  meta.command_line = o_.command_line;
  meta.target = workers_[0]->target().name;
  meta.address = workers_[0]->target().addr.to_string();
  meta.seed = sh_.seed;
  meta.started_at = started_at_;
  meta.host = runner::host_name();
  uint64_t execs = sh_.execs.load();
  Tally t{std::chrono::duration<double>(Clock::now() - sh_.started).count(),
          execs,
          sh_.restarts.load(),
          sh_.unconfirmed.load(),
          sh_.mode,
          "",
          o_.jobs};
  if (sh_.coverage) {
    t.coverage_end = "; at the end " + std::to_string(sh_.edges_reached()) + " edges, " +
                     std::to_string(sh_.kept.load()) + " inputs kept as seeds for new edges";
  }
  std::vector<Found> found = sh_.found_in_order();
  std::vector<const Found*> ptrs;
  for (const auto& fd : found) ptrs.push_back(&fd);
  reports::RunReport r = campaign_report(std::move(meta), t, ptrs);
  // Job 0's server speaks for the others (the same command; a finding's own output is in
  // its reproducer).
  if (workers_[0]->server()) r.server = workers_[0]->server()->output();
  out_ << "\n"
       << found.size() << " finding(s) in " << execs << " inputs (seed " << sh_.seed << ")\n";
  if (!o_.out_dir.empty()) {
    runner::ReportPaths paths;
    paths.defaults_in(o_.out_dir, "", "index.html");
    if (!runner::write_report_files(r, paths, out_, err_)) return 2;
  }
  return r.exit_code;
}

int Campaign::run() {
  if (int rc = load()) return rc;
  if (o_.jobs < 1 || o_.jobs > kMaxJobs) {
    err_ << "fuzz: --jobs must be 1 to " << kMaxJobs << "\n";
    return 2;
  }
  sh_.seed =
      o_.seed_given ? o_.seed : static_cast<uint64_t>(Clock::now().time_since_epoch().count());
  started_at_ = runner::utc_now_iso8601();
  int rc = start();
  if (rc == 0) rc = baseline();
  if (rc != 0) {
    for (auto& w : workers_) w->stop();
    return rc;
  }
  inputs();
  return finish();
}

}  // namespace

int fuzz(const FuzzOptions& o, std::ostream& out, std::ostream& err) {
  Campaign c(o, out, err);
  return c.run();
}

}  // namespace sockspec::fuzzer
