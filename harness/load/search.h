// Capacity search (`sockspec load --find-max`): which rate (open loop) or how many virtual
// users (closed loop) to try next, from the verdicts of the runs so far. Pure: no sockets, no
// clocks; the runner measures each step with an ordinary load run and feeds the outcome back.
//
// The search grows the knob geometrically from `min` until a step fails, then bisects between
// the last passing and the first failing value until they are within `precision` of each
// other. A step's verdict is the majority of up to `repeats` runs: a run that disagrees with
// the one before it is outvoted only by another run, so one noisy run cannot end the growth
// or move the bracket. Passing growth steps far from any failure are trusted after one run,
// but the answer is not: a last pass measured once is run again before the search ends, and
// if it then fails the bracket moves below it.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sockspec::load {

struct SearchSettings {
  double min = 1, max = 1e7;  // bounds of the knob (iterations/s, or virtual users)
  double precision = 0.05;    // stop when first_fail - last_pass <= precision * last_pass
  double growth = 2;          // factor between growth steps
  unsigned repeats = 3;       // at most this many runs of one step
  bool integer = false;       // the knob is a count (virtual users)
  // Closed loop: a passing step whose throughput grew by less than this fraction over the
  // previous passing step means throughput stopped growing (0: not checked).
  double plateau_gain = 0;
};

// What one run said.
struct RunOutcome {
  bool passed = false;             // every threshold held and the schedule was kept
  bool generator_limited = false;  // failed because of the generator, not the server
  double throughput = 0;           // iterations per second achieved
};

class Search {
 public:
  enum class Outcome {
    running,
    found,            // the bracket is narrower than the precision
    min_failed,       // even `min` fails
    max_passed,       // `max` passes: the capacity is at least max
    plateau,          // closed loop: more users gave no more throughput
    generator_limit,  // a failure was the generator's, not the server's
    budget,           // the time budget ran out before the bracket closed
  };

  explicit Search(const SearchSettings& s);

  // The knob for the next run; nullopt once the search is over.
  std::optional<double> next() const;
  void record(const RunOutcome& r);
  // The caller cannot afford another run: the search ends with what it has.
  void out_of_budget();

  Outcome outcome() const { return outcome_; }
  bool done() const { return outcome_ != Outcome::running; }
  // The highest value whose step passed, and the lowest whose step failed (if any).
  std::optional<double> last_pass() const { return last_pass_; }
  std::optional<double> first_fail() const { return first_fail_; }
  // The throughput the last passing step achieved (mean of its passing runs).
  double last_pass_throughput() const { return last_pass_tput_; }
  bool bisecting() const { return bisecting_; }

 private:
  void settle(bool passed, bool generator_limited);
  void narrow();
  void move_to(double knob);
  double round(double v) const;

  SearchSettings s_;
  Outcome outcome_ = Outcome::running;
  double knob_;
  bool bisecting_ = false;
  unsigned runs_ = 0, passes_ = 0, fails_ = 0, limited_ = 0;
  double tput_sum_ = 0;  // over this step's passing runs
  bool last_run_passed_ = false;
  std::optional<double> last_pass_, first_fail_;
  double last_pass_tput_ = 0;
  unsigned last_pass_runs_ = 0;                    // runs behind last_pass_'s verdict
  std::vector<std::pair<double, double>> passed_;  // every passing value and its throughput
};

const char* to_string(Search::Outcome o);

// "5%" or "0.05" -> 0.05; nullopt when it is not a fraction in (0, 1).
std::optional<double> parse_precision(const std::string& text);

}  // namespace sockspec::load
