#include "fuzzer/worker.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fuzzer/finding.h"
#include "fuzzer/minimize.h"
#include "fuzzer/reproducer.h"
#include "runner/policy.h"
#include "runner/report_files.h"
#include "sockspec-coverage.h"

namespace sockspec::fuzzer {

namespace {

constexpr auto kStartLimit = std::chrono::seconds(10);
constexpr auto kMinimizeLimit = std::chrono::seconds(120);
constexpr auto kLivenessSettle = std::chrono::milliseconds(300);  // before the liveness retry
constexpr size_t kMaxSeeds = 4096;    // per suite, with the inputs kept for new coverage
constexpr size_t kMaxFindings = 100;  // distinct ones; more are counted, not reduced

}  // namespace

uint64_t job_seed(uint64_t seed, unsigned job) {
  return seed ^ (static_cast<uint64_t>(job) * 0x9e3779b97f4a7c15ull);
}

// ---- what the jobs share ----

bool Shared::over() const {
  if (stopped.load(std::memory_order_relaxed) || Clock::now() >= deadline) return true;
  return runner::cancel_requested(o.cancel_fd);
}

std::optional<uint64_t> Shared::next_input() {
  uint64_t n = execs.load(std::memory_order_relaxed);
  do {
    if (o.max_execs != 0 && n >= o.max_execs) return std::nullopt;
  } while (!execs.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
  return n + 1;
}

void Shared::say(const std::string& text, bool to_err) {
  std::lock_guard<std::mutex> lock(mutex_);
  (to_err ? err_ : out_) << text;
  (to_err ? err_ : out_).flush();
}

void Shared::begin(double duration_s) {
  started = last_progress_ = Clock::now();
  deadline = started +
             std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(duration_s));
}

void Shared::progress(bool last) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto now = Clock::now();
  bool tty = isatty(STDERR_FILENO);
  auto every = tty ? std::chrono::seconds(1) : std::chrono::seconds(10);
  if (!last && now - last_progress_ < every) return;
  last_progress_ = now;
  double s = std::chrono::duration<double>(now - started).count();
  uint64_t n = execs.load();
  char line[200];
  std::snprintf(line, sizeof line,
                "fuzz: %.0f s, %llu inputs (%.0f/s), %zu finding(s), %llu restarts", s,
                static_cast<unsigned long long>(n), s > 0 ? static_cast<double>(n) / s : 0.0,
                found_.size(), static_cast<unsigned long long>(restarts.load()));
  std::string cov;
  if (coverage) {
    cov = ", " + std::to_string(edges_reached_) + "/" + std::to_string(edges_total_) + " edges, " +
          std::to_string(kept.load()) + " inputs kept";
  }
  err_ << (tty ? "\r" : "") << line << cov << (tty && !last ? "" : "\n");
  err_.flush();
}

size_t Shared::add_edges(const std::vector<uint32_t>& slots, uint32_t total) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (edges_seen_.empty()) edges_seen_.assign(SOCKSPEC_COVERAGE_SLOTS, 0);
  edges_total_ = std::max(edges_total_, total);
  size_t fresh = 0;
  for (uint32_t s : slots) {
    if (s < edges_seen_.size() && !edges_seen_[s]) {
      edges_seen_[s] = 1;
      ++fresh;
    }
  }
  edges_reached_ += fresh;
  return fresh;
}

size_t Shared::edges_reached() {
  std::lock_guard<std::mutex> lock(mutex_);
  return edges_reached_;
}

bool Shared::claim(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++hits_[key];
  if (found_.count(key) || reducing_.count(key)) return false;
  if (found_.size() + reducing_.size() >= kMaxFindings) return false;
  reducing_.insert(key);
  return true;
}

size_t Shared::settle(const std::string& key, Found* fd) {
  std::lock_guard<std::mutex> lock(mutex_);
  reducing_.erase(key);
  if (!fd) return 0;
  order_.push_back(key);
  found_.emplace(key, *fd);
  if (o.max_findings != 0 && found_.size() >= o.max_findings) stopped = true;
  return found_.size();
}

std::string Shared::unique_file_name(const std::string& slug) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string name = slug;
  for (int n = 2; names_.count(name); ++n) name = slug + "-" + std::to_string(n);
  names_.insert(name);
  return name;
}

std::vector<Found> Shared::found_in_order() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Found> v;
  for (const auto& key : order_) {
    Found fd = found_.at(key);
    fd.seen = hits_[key];
    v.push_back(std::move(fd));
  }
  return v;
}

// ---- one job ----

std::string Worker::start(const runner::TargetSpec& spec, bool tcp, bool udp) {
  // Coverage needs a server we start (it inherits the map's name) built with our runtime;
  // whether it was is known once it runs (after the seeds ran).
  runner::ServerEnv env;
  if (!sh_.o.no_coverage && !sh_.o.server_cmd.empty()) {
    std::string why;
    cov_ = Coverage::create(why);
    if (cov_) {
      env.push_back({SOCKSPEC_COVERAGE_ENV, cov_->name()});
    } else if (job_ == 0) {
      sh_.say("fuzz: no coverage map (" + why + "): black-box\n", true);
    }
  }
  runner::Prepared p = runner::prepare_target(spec, sh_.o.target, sh_.o.server_cmd, sh_.o.self_exe,
                                              tcp, udp, -1, false, env);
  server_ = std::move(p.server);
  target_ = p.target;
  return p.error;
}

engine::CaseOutcome Worker::run_input(const scenario::Case& c, const scenario::Suite& s,
                                      double timeout_scale) {
  engine::RunCaseOptions ro{target_,
                            sh_.seed,
                            s.default_timeout_ms,
                            nullptr,
                            sh_.o.cancel_fd,
                            [](const std::string& n) -> std::optional<std::string> {
                              const char* v = std::getenv(n.c_str());
                              return v ? std::optional<std::string>(v) : std::nullopt;
                            }};
  ro.timeout_scale = timeout_scale;
  return engine::run_case(c, ro);
}

void Worker::adopt(const std::vector<SuiteSeeds>& seeds, const Dictionary& dict) {
  seeds_.clear();
  for (size_t i = 0; i < seeds.size(); ++i) {
    SuiteSeeds ss{seeds[i].suite, seeds[i].seeds, seeds[i].liveness, nullptr};
    ss.mutator = std::make_unique<Mutator>(ss.seeds, ss.suite->transport, dict,
                                           job_seed(sh_.seed, job_) ^ i);
    seeds_.push_back(std::move(ss));
  }
  pick_ = payload::SplitMix64(job_seed(sh_.seed, job_));
}

void Worker::take_edges() {
  if (!cov_) return;
  fresh_.clear();
  cov_->take_new(&fresh_);
  sh_.add_edges(fresh_, cov_->edges());
}

void Worker::stop() {
  if (server_) server_->stop(runner::kStopGrace);
}

std::string Worker::liveness_failure(const SuiteSeeds& ss) {
  // A quarter of the suite's timeouts first (a hang costs that, after every input that hangs);
  // then, before calling it, once more with the suite's own: a busy machine is not a hung
  // server.
  auto r = run_input(ss.liveness, *ss.suite, 0.25);
  if (r.verdict == reports::Verdict::pass) return "";
  // A pause first: a server that relays between its clients (a chat room) may still be passing
  // on what the input or the first try sent when their connections closed, and would relay it to
  // the retry's clients, a wrong answer that is not the server's.
  std::this_thread::sleep_for(kLivenessSettle);
  auto again = run_input(ss.liveness, *ss.suite, 1.0);
  if (again.verdict == reports::Verdict::pass) return "";
  return ss.suite->suite + "/" + ss.liveness.id + " failed: " + again.reason;
}

std::optional<Finding> Worker::check(const SuiteSeeds& ss) {
  std::string ended = server_ ? server_->ended() : "";
  std::string live = ended.empty() ? liveness_failure(ss) : "";
  if (server_ && ended.empty() && !live.empty()) ended = server_->ended();
  std::string err_text = server_ ? server_->output().stderr_text : "";
  return classify(err_text, ended, live);
}

bool Worker::restart() {
  if (!server_) return false;
  server_->stop(std::chrono::milliseconds(500));
  server_->clear_output();
  ++sh_.restarts;
  std::string e = server_->start_and_wait(kStartLimit);
  if (!e.empty()) {
    sh_.say("\nfuzz: the server could not be started again: " + e + "\n", true);
    sh_.stopped = true;
    return false;
  }
  return true;
}

// Whether `input` (then the liveness check) on a fresh server gives the finding `key` again.
bool Worker::replays(const scenario::Case& input, const SuiteSeeds& ss, const std::string& key) {
  auto valid = reparse(input, *ss.suite);
  if (!valid || !restart()) return false;
  run_input(*valid, *ss.suite);
  auto f = check(ss);
  return f && f->key == key;
}

void Worker::record(const Finding& f, const Mutant& m, const SuiteSeeds& ss, std::string output,
                    uint64_t input_no) {
  double after_s = std::chrono::duration<double>(Clock::now() - sh_.started).count();
  scenario::Case input = m.kase;
  size_t before = input.steps.size();
  if (server_) {
    sh_.say("\nfuzz: found " + f.summary + "; reducing it\n");
    // Bounded in replays and in time: a hang costs the liveness check's timeouts per replay.
    auto until = Clock::now() + kMinimizeLimit;
    input = minimize_case(
        m.kase,
        [&](const scenario::Case& t) { return Clock::now() < until && replays(t, ss, f.key); },
        sh_.o.minimize_budget);
    // The reduced input once more, for the server's own words about it.
    if (replays(input, ss, f.key)) output = server_->output().stderr_text;
  }
  std::string name = sh_.unique_file_name(slug(f));
  std::string dir = (sh_.o.out_dir.empty() ? std::string("fuzz-out") : sh_.o.out_dir) + "/findings";
  std::filesystem::create_directories(dir);
  std::string file = dir + "/" + name + ".json";
  std::string description =
      "Found by sockspec fuzz (seed " + std::to_string(sh_.seed) +
      (job_ ? ", job " + std::to_string(job_) : std::string()) + ", input " +
      std::to_string(input_no) + ") from " + ss.suite->suite + "/" + m.kase.id + ": " + m.what +
      ". Reduced from " + std::to_string(before) + " steps to " +
      std::to_string(input.steps.size()) + ". The steps after the input (" +
      "labelled \"still answering\") are the liveness check. Server stderr:\n" +
      output.substr(0, 16384);
  std::ofstream(file) << finding_suite_json(*ss.suite, with_liveness(input, ss.liveness),
                                            "finding-" + name, f.summary, description);
  Found fd{f, file, m.what, input_no, after_s, 1, ""};
  const auto& o = sh_.o;
  fd.rerun = runner::shell_quote(o.invoked_as) + " run " + runner::shell_quote(file) +
             (o.server_cmd.empty() ? "" : " --server-cmd " + runner::shell_quote(o.server_cmd)) +
             (o.target.empty() ? "" : " --target " + runner::shell_quote(o.target));
  size_t n = sh_.settle(f.key, &fd);
  sh_.say("fuzz: finding " + std::to_string(n) + ": " + f.summary + "\n      reproducer: " + file +
          "\n      replay: " + fd.rerun + "\n");
}

void Worker::found(const Finding& f, const Mutant& m, const SuiteSeeds& ss, uint64_t input_no) {
  if (sh_.claim(f.key)) {
    // A managed server gets the input again, fresh: what does not come back is the machine's
    // (a datagram lost under load), not the server's, and is only counted.
    std::string output = server_ ? server_->output().stderr_text : "";
    if (!server_ || replays(m.kase, ss, f.key)) {
      record(f, m, ss, output, input_no);
    } else {
      sh_.settle(f.key, nullptr);
      ++sh_.unconfirmed;
      sh_.say("\nfuzz: not confirmed on a fresh server, left out: " + f.summary + "\n");
    }
  }
  if (!server_) {
    if (!sh_.stopped.exchange(true)) {
      sh_.say(
          "\nfuzz: the target stopped answering and is not managed (--server-cmd); "
          "stopping\n",
          true);
    }
  } else {
    restart();
  }
}

void Worker::loop() {
  size_t sites = 0;
  for (const auto& ss : seeds_) sites += ss.seeds.size();
  uint64_t mine = 0;  // inputs this job ran, for --restart-every
  while (!sh_.over()) {
    // A suite in proportion to its seeds.
    size_t k = pick_.next() % sites;
    size_t i = 0;
    while (k >= seeds_[i].seeds.size()) k -= seeds_[i++].seeds.size();
    SuiteSeeds& ss = seeds_[i];
    Mutant m = ss.mutator->next();
    auto valid = reparse(m.kase, *ss.suite);
    if (!valid) continue;  // the mutation broke the case (a name it needed): draw again
    m.kase = std::move(*valid);
    auto input_no = sh_.next_input();
    if (!input_no) break;
    run_input(m.kase, *ss.suite);
    ++mine;
    auto f = check(ss);
    // An input that reached code no job's earlier one did is mutated in its turn (the edges a
    // crash reached are taken too, so they are not credited to the next input).
    size_t fresh = 0;
    if (cov_) {
      fresh_.clear();
      if (cov_->take_new(&fresh_) > 0) fresh = sh_.add_edges(fresh_, cov_->edges());
    }
    if (!f && fresh > 0 && ss.mutator->seeds() < kMaxSeeds) {
      ss.mutator->add_seed(m.kase);
      ++sh_.kept;
    }
    if (f) {
      found(*f, m, ss, *input_no);
    } else if (sh_.o.restart_every && mine % sh_.o.restart_every == 0) {
      restart();
    }
    sh_.progress(false);
  }
}

}  // namespace sockspec::fuzzer
