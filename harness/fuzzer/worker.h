// One job of a campaign: its own server (or the shared --target), its own coverage map and
// mutators, running inputs one at a time; and what the jobs of one campaign share (counters,
// findings, the edges any of them reached). `sockspec fuzz --jobs N` runs N of these side by
// side, each on its own thread with its own server on its own port.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "engine/case_run.h"
#include "fuzzer/campaign.h"
#include "fuzzer/campaign_report.h"
#include "fuzzer/coverage.h"
#include "fuzzer/mutate.h"
#include "runner/target.h"

namespace sockspec::fuzzer {

using Clock = std::chrono::steady_clock;

// One suite's part of the campaign: its passing cases mutate; one of them checks liveness.
// Each job has its own (its mutator draws its own sequence).
struct SuiteSeeds {
  const scenario::Suite* suite = nullptr;
  std::vector<scenario::Case> seeds;
  scenario::Case liveness;
  std::unique_ptr<Mutator> mutator;
};

// What the jobs share. Counters are atomic; the rest is behind `mutex`, which a job takes
// around a finding, an input that reached new code and the progress line: never while an
// input runs.
class Shared {
 public:
  Shared(const FuzzOptions& options, std::ostream& out, std::ostream& err)
      : o(options), out_(out), err_(err) {}
  const FuzzOptions& o;
  uint64_t seed = 0;
  std::string mode;  // "black-box ..." or "coverage feedback ...", for the report
  Clock::time_point started, deadline;
  std::atomic<uint64_t> execs{0}, restarts{0}, unconfirmed{0}, kept{0};
  std::atomic<bool> stopped{false};  // a target gone for good, or a job told the rest to stop
  bool coverage = false;             // the jobs' servers report their edges

  // The inputs start now, for `duration_s` seconds.
  void begin(double duration_s);
  // Whether the campaign is over: stopped, out of time, or the user said so.
  bool over() const;
  // A number for the next input, or nullopt once --max-execs inputs ran.
  std::optional<uint64_t> next_input();
  void say(const std::string& text, bool to_err = false);
  void progress(bool last);

  // Slots of a coverage map, marked by some job's server: how many no job had reached.
  size_t add_edges(const std::vector<uint32_t>& slots, uint32_t total);
  size_t edges_reached();

  // A finding of key `key` came up: true when this job is to confirm and reduce it (no job
  // has it, none is reducing it, fewer than 100 are known); false counts it as one more hit.
  bool claim(const std::string& key);
  // The job that claimed `key` is done with it: `fd` is its reproducer, or null when the input
  // did not give it again on a fresh server. Returns the number of findings known (0 for null).
  size_t settle(const std::string& key, Found* fd);
  // A name no other reproducer of this campaign has: `slug`, else `slug`-2, -3...
  std::string unique_file_name(const std::string& slug);
  std::vector<Found> found_in_order();

 private:
  std::ostream& out_;
  std::ostream& err_;
  std::mutex mutex_;
  std::map<std::string, Found> found_;  // by key
  std::vector<std::string> order_;      // keys in the order found
  std::set<std::string> reducing_;
  std::set<std::string> names_;  // reproducers' file names taken
  std::map<std::string, uint64_t> hits_;
  std::vector<uint8_t> edges_seen_;
  size_t edges_reached_ = 0;
  uint32_t edges_total_ = 0;
  Clock::time_point last_progress_;
};

class Worker {
 public:
  Worker(Shared& shared, unsigned job) : sh_(shared), job_(job) {}
  // Starts this job's server (with a coverage map in its environment unless --no-coverage):
  // empty, or why it could not.
  std::string start(const runner::TargetSpec& spec, bool tcp, bool udp);
  engine::CaseOutcome run_input(const scenario::Case& c, const scenario::Suite& s,
                                double timeout_scale = 1.0);
  // The seeds found passing (by job 0's baseline), with this job's mutators.
  void adopt(const std::vector<SuiteSeeds>& seeds, const Dictionary& dict);
  void loop();
  void stop();

  runner::ManagedServer* server() { return server_.get(); }
  const engine::Target& target() const { return target_; }
  Coverage* coverage() { return cov_.get(); }
  void drop_coverage() { cov_.reset(); }
  // Marks what the map holds as reached (job 0, after the seeds ran).
  void take_edges();

 private:
  std::string liveness_failure(const SuiteSeeds& ss);
  std::optional<Finding> check(const SuiteSeeds& ss);
  bool restart();
  bool replays(const scenario::Case& input, const SuiteSeeds& ss, const std::string& key);
  void found(const Finding& f, const Mutant& m, const SuiteSeeds& ss, uint64_t input);
  void record(const Finding& f, const Mutant& m, const SuiteSeeds& ss, std::string output,
              uint64_t input);

  Shared& sh_;
  unsigned job_;
  engine::Target target_;
  std::unique_ptr<runner::ManagedServer> server_;
  std::unique_ptr<Coverage> cov_;  // null: black-box
  std::vector<SuiteSeeds> seeds_;
  payload::SplitMix64 pick_{0};
  std::vector<uint32_t> fresh_;  // slots the last input marked that this map had not
};

// A job's own stream of random numbers: job 0 draws what a one-job campaign draws.
uint64_t job_seed(uint64_t seed, unsigned job);

}  // namespace sockspec::fuzzer
