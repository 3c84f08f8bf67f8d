#include "fuzzer/campaign.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "engine/case_run.h"
#include "fuzzer/campaign_report.h"
#include "fuzzer/coverage.h"
#include "fuzzer/finding.h"
#include "fuzzer/input.h"
#include "fuzzer/minimize.h"
#include "fuzzer/mutate.h"
#include "fuzzer/reproducer.h"
#include "runner/policy.h"
#include "runner/report_files.h"
#include "runner/suites.h"
#include "runner/target.h"
#include "sockspec-coverage.h"

namespace sockspec::fuzzer {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kStartLimit = std::chrono::seconds(10);
constexpr auto kMinimizeLimit = std::chrono::seconds(120);
constexpr size_t kMaxSeeds = 4096;  // per suite, with the inputs kept for new coverage

// One suite's part of the campaign: its passing cases mutate; one of them checks liveness.
struct SuiteSeeds {
  const scenario::Suite* suite;
  std::vector<scenario::Case> seeds;
  scenario::Case liveness;
  std::unique_ptr<Mutator> mutator;
};

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
      : o_(o), out_(out), err_(err) {}
  int run();

 private:
  int load();
  int start();
  int baseline();
  void loop();
  engine::CaseOutcome run_input(const scenario::Case& c, const scenario::Suite& s,
                                double timeout_scale = 1.0);
  std::string liveness_failure(const SuiteSeeds& ss);
  std::optional<Finding> check(const SuiteSeeds& ss);
  bool restart();
  bool replays(const scenario::Case& input, const SuiteSeeds& ss, const std::string& key);
  void record(const Finding& f, const Mutant& m, const SuiteSeeds& ss, std::string output);
  void progress(bool last);
  int finish();

  const FuzzOptions& o_;
  std::ostream& out_;
  std::ostream& err_;
  runner::TargetSpec spec_;
  runner::Loaded loaded_;
  std::vector<SuiteSeeds> seeds_;
  engine::Target target_;
  std::unique_ptr<runner::ManagedServer> server_;
  uint64_t seed_ = 0;
  payload::SplitMix64 pick_{0};
  uint64_t execs_ = 0, restarts_ = 0;
  uint64_t unconfirmed_ = 0;  // findings its input did not give again on a fresh server
  Clock::time_point started_, last_progress_;
  std::map<std::string, Found> found_;  // by key
  std::vector<std::string> order_;      // keys in the order found
  std::string started_at_;
  bool stopped_ = false;  // the target is gone and cannot be restarted, or the user stopped us
  std::unique_ptr<Coverage> cov_;  // null: black-box
  uint64_t kept_ = 0;              // inputs that reached new code, kept as seeds
  std::string mode_;               // "black-box ..." or "coverage feedback ...", for the report
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
  // Coverage needs a server we start (it inherits the map's name) built with our runtime;
  // whether it was is known once it runs (baseline()).
  runner::ServerEnv env;
  if (!o_.no_coverage && !o_.server_cmd.empty()) {
    std::string why;
    cov_ = Coverage::create(why);
    if (cov_) {
      env.push_back({SOCKSPEC_COVERAGE_ENV, cov_->name()});
    } else {
      err_ << "fuzz: no coverage map (" << why << "): black-box\n";
    }
  }
  runner::Prepared p = runner::prepare_target(spec_, o_.target, o_.server_cmd, o_.self_exe, tcp,
                                              udp, -1, false, env);
  server_ = std::move(p.server);
  if (!p.error.empty()) {
    err_ << "fuzz: " << p.error << "\n";
    return 3;
  }
  target_ = p.target;
  return 0;
}

engine::CaseOutcome Campaign::run_input(const scenario::Case& c, const scenario::Suite& s,
                                        double timeout_scale) {
  engine::RunCaseOptions ro{target_,
                            seed_,
                            s.default_timeout_ms,
                            nullptr,
                            o_.cancel_fd,
                            [](const std::string& n) -> std::optional<std::string> {
                              const char* v = std::getenv(n.c_str());
                              return v ? std::optional<std::string>(v) : std::nullopt;
                            }};
  ro.timeout_scale = timeout_scale;
  return engine::run_case(c, ro);
}

// Every seed once, as written: those that pass are the corpus; the smallest of each suite that
// passes again checks liveness after every input.
int Campaign::baseline() {
  std::vector<SuiteSeeds> kept;
  size_t total = 0;
  for (auto& ss : seeds_) {
    std::vector<scenario::Case> passing;
    for (auto& c : ss.seeds) {
      auto r = run_input(c, *ss.suite);
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
      if (run_input(quick[i], *ss.suite).verdict == reports::Verdict::pass) {
        ss.liveness = quick[i];
        break;
      }
    }
    if (ss.liveness.steps.empty()) continue;
    total += passing.size();
    ss.seeds = std::move(passing);
    ss.mutator = std::make_unique<Mutator>(ss.seeds, ss.suite->transport,
                                           collect_dictionary(loaded_.suites), seed_ ^ kept.size());
    if (ss.mutator->empty()) continue;
    kept.push_back(std::move(ss));
  }
  seeds_ = std::move(kept);
  if (server_) {
    if (std::string e = server_->ended(); !e.empty()) {
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
  if (cov_ && cov_->attached()) {
    cov_->take_new();
    mode_ = "coverage feedback: the seeds reached " + std::to_string(cov_->reached()) + " of " +
            std::to_string(cov_->edges()) + " edges";
  } else {
    mode_ = o_.no_coverage          ? "black-box (--no-coverage)"
            : o_.server_cmd.empty() ? "black-box (coverage comes from a --server-cmd built with "
                                      "sockspec's coverage runtime, docs/fuzz.md)"
                                    : "black-box (the server reports no coverage: build it with "
                                      "clang -fsanitize-coverage=trace-pc-guard and sockspec's "
                                      "coverage runtime, docs/fuzz.md)";
    cov_.reset();
  }
  out_ << "fuzz: " << total << " seed case(s) from " << seeds_.size() << " suite(s); " << mode_
       << "; seed " << seed_ << "\n";
  return 0;
}

std::string Campaign::liveness_failure(const SuiteSeeds& ss) {
  // A quarter of the suite's timeouts first (a hang costs that, after every input that hangs);
  // then, before calling it, once more with the suite's own: a busy machine is not a hung
  // server.
  auto r = run_input(ss.liveness, *ss.suite, 0.25);
  if (r.verdict == reports::Verdict::pass) return "";
  auto again = run_input(ss.liveness, *ss.suite, 1.0);
  if (again.verdict == reports::Verdict::pass) return "";
  return ss.suite->suite + "/" + ss.liveness.id + " failed: " + again.reason;
}

std::optional<Finding> Campaign::check(const SuiteSeeds& ss) {
  std::string ended = server_ ? server_->ended() : "";
  std::string live = ended.empty() ? liveness_failure(ss) : "";
  if (server_ && ended.empty() && !live.empty()) ended = server_->ended();
  std::string err_text = server_ ? server_->output().stderr_text : "";
  return classify(err_text, ended, live);
}

bool Campaign::restart() {
  if (!server_) return false;
  server_->stop(std::chrono::milliseconds(500));
  server_->clear_output();
  ++restarts_;
  std::string e = server_->start_and_wait(kStartLimit);
  if (!e.empty()) {
    err_ << "\nfuzz: the server could not be started again: " << e << "\n";
    stopped_ = true;
    return false;
  }
  return true;
}

// Whether `input` (then the liveness check) on a fresh server gives the finding `key` again.
bool Campaign::replays(const scenario::Case& input, const SuiteSeeds& ss, const std::string& key) {
  auto valid = reparse(input, *ss.suite);
  if (!valid || !restart()) return false;
  run_input(*valid, *ss.suite);
  auto f = check(ss);
  return f && f->key == key;
}

void Campaign::record(const Finding& f, const Mutant& m, const SuiteSeeds& ss, std::string output) {
  double after_s = std::chrono::duration<double>(Clock::now() - started_).count();
  scenario::Case input = m.kase;
  size_t before = input.steps.size();
  if (server_) {
    out_ << "\nfuzz: found " << f.summary << "; reducing it\n";
    // Bounded in replays and in time: a hang costs the liveness check's timeouts per replay.
    auto until = Clock::now() + kMinimizeLimit;
    input = minimize_case(
        m.kase,
        [&](const scenario::Case& t) { return Clock::now() < until && replays(t, ss, f.key); },
        o_.minimize_budget);
    // The reduced input once more, for the server's own words about it.
    if (replays(input, ss, f.key)) output = server_->output().stderr_text;
  }
  std::string name = slug(f);
  for (int n = 2;
       std::any_of(found_.begin(), found_.end(),
                   [&](const auto& kv) {
                     return kv.second.file.find("/" + name + ".json") != std::string::npos;
                   });
       ++n)
    name = slug(f) + "-" + std::to_string(n);
  std::string dir = (o_.out_dir.empty() ? std::string("fuzz-out") : o_.out_dir) + "/findings";
  std::filesystem::create_directories(dir);
  std::string file = dir + "/" + name + ".json";
  std::string description =
      "Found by sockspec fuzz (seed " + std::to_string(seed_) + ", input " +
      std::to_string(execs_) + ") from " + ss.suite->suite + "/" + m.kase.id + ": " + m.what +
      ". Reduced from " + std::to_string(before) + " steps to " +
      std::to_string(input.steps.size()) + ". The steps after the input (" +
      "labelled \"still answering\") are the liveness check. Server stderr:\n" +
      output.substr(0, 16384);
  std::ofstream(file) << finding_suite_json(*ss.suite, with_liveness(input, ss.liveness),
                                            "finding-" + name, f.summary, description);
  Found fd{f, file, m.what, execs_, after_s, 1, ""};
  fd.rerun = runner::shell_quote(o_.invoked_as) + " run " + runner::shell_quote(file) +
             (o_.server_cmd.empty() ? "" : " --server-cmd " + runner::shell_quote(o_.server_cmd)) +
             (o_.target.empty() ? "" : " --target " + runner::shell_quote(o_.target));
  out_ << "fuzz: finding " << found_.size() + 1 << ": " << f.summary
       << "\n      reproducer: " << file << "\n      replay: " << fd.rerun << "\n";
  order_.push_back(f.key);
  found_.emplace(f.key, std::move(fd));
}

void Campaign::progress(bool last) {
  auto now = Clock::now();
  bool tty = isatty(STDERR_FILENO);
  auto every = tty ? std::chrono::seconds(1) : std::chrono::seconds(10);
  if (!last && now - last_progress_ < every) return;
  last_progress_ = now;
  double s = std::chrono::duration<double>(now - started_).count();
  char line[200];
  std::snprintf(
      line, sizeof line, "fuzz: %.0f s, %llu inputs (%.0f/s), %zu finding(s), %llu restarts", s,
      static_cast<unsigned long long>(execs_), s > 0 ? static_cast<double>(execs_) / s : 0.0,
      found_.size(), static_cast<unsigned long long>(restarts_));
  std::string cov;
  if (cov_) {
    cov = ", " + std::to_string(cov_->reached()) + "/" + std::to_string(cov_->edges()) +
          " edges, " + std::to_string(kept_) + " inputs kept";
  }
  err_ << (tty ? "\r" : "") << line << cov << (tty && !last ? "" : "\n");
  err_.flush();
}

void Campaign::loop() {
  auto deadline = started_ + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(o_.duration_s));
  size_t sites = 0;
  for (const auto& ss : seeds_) sites += ss.seeds.size();
  while (!stopped_ && Clock::now() < deadline && (o_.max_execs == 0 || execs_ < o_.max_execs) &&
         (o_.max_findings == 0 || found_.size() < o_.max_findings)) {
    if (runner::cancel_requested(o_.cancel_fd)) break;
    // A suite in proportion to its seeds.
    size_t k = pick_.next() % sites;
    size_t i = 0;
    while (k >= seeds_[i].seeds.size()) k -= seeds_[i++].seeds.size();
    SuiteSeeds& ss = seeds_[i];
    Mutant m = ss.mutator->next();
    auto valid = reparse(m.kase, *ss.suite);
    if (!valid) continue;  // the mutation broke the case (a name it needed): draw again
    m.kase = std::move(*valid);
    run_input(m.kase, *ss.suite);
    ++execs_;
    auto f = check(ss);
    // An input that reached code no earlier one did is mutated in its turn (the edges a crash
    // reached are taken too, so they are not credited to the next input).
    size_t fresh = cov_ ? cov_->take_new() : 0;
    if (!f && fresh > 0 && ss.mutator->seeds() < kMaxSeeds) {
      ss.mutator->add_seed(m.kase);
      ++kept_;
    }
    if (f) {
      auto it = found_.find(f->key);
      if (it != found_.end()) {
        ++it->second.seen;
      } else if (found_.size() < 100) {
        // A managed server gets the input again, fresh: what does not come back is the
        // machine's (a datagram lost under load), not the server's, and is only counted.
        std::string output = server_ ? server_->output().stderr_text : "";
        if (!server_ || replays(m.kase, ss, f->key)) {
          record(*f, m, ss, output);
        } else {
          ++unconfirmed_;
          out_ << "\nfuzz: not confirmed on a fresh server, left out: " << f->summary << "\n";
        }
      }
      if (!server_) {
        stopped_ = true;  // not ours to restart: the campaign ends with what it found
        err_ << "\nfuzz: the target stopped answering and is not managed (--server-cmd); "
                "stopping\n";
      } else {
        restart();
      }
    } else if (o_.restart_every && execs_ % o_.restart_every == 0) {
      restart();
    }
    progress(false);
  }
  progress(true);
}

int Campaign::finish() {
  if (server_) server_->stop(runner::kStopGrace);
  reports::RunMeta meta;
  meta.version = SOCKSPEC_FUZZ_VERSION;
  meta.command_line = o_.command_line;
  meta.target = target_.name;
  meta.address = target_.addr.to_string();
  meta.seed = seed_;
  meta.started_at = started_at_;
  meta.host = runner::host_name();
  Tally t{std::chrono::duration<double>(Clock::now() - started_).count(),
          execs_,
          restarts_,
          unconfirmed_,
          mode_,
          ""};
  if (cov_) {
    t.coverage_end = "; at the end " + std::to_string(cov_->reached()) + " edges, " +
                     std::to_string(kept_) + " inputs kept as seeds for new edges";
  }
  std::vector<const Found*> found;
  for (const auto& key : order_) found.push_back(&found_.at(key));
  reports::RunReport r = campaign_report(std::move(meta), t, found);
  if (server_) r.server = server_->output();
  out_ << "\n"
       << found_.size() << " finding(s) in " << execs_ << " inputs (seed " << seed_ << ")\n";
  if (!o_.out_dir.empty()) {
    runner::ReportPaths paths;
    paths.defaults_in(o_.out_dir, "", "index.html");
    if (!runner::write_report_files(r, paths, out_, err_)) return 2;
  }
  return r.exit_code;
}

int Campaign::run() {
  if (int rc = load()) return rc;
  seed_ = o_.seed_given ? o_.seed : static_cast<uint64_t>(Clock::now().time_since_epoch().count());
  pick_ = payload::SplitMix64(seed_);
  started_at_ = runner::utc_now_iso8601();
  if (int rc = start()) return rc;
  if (int rc = baseline()) {
    if (server_) server_->stop(runner::kStopGrace);
    return rc;
  }
  started_ = last_progress_ = Clock::now();
  loop();
  return finish();
}

}  // namespace

int fuzz(const FuzzOptions& o, std::ostream& out, std::ostream& err) {
  Campaign c(o, out, err);
  return c.run();
}

}  // namespace sockspec::fuzzer
