#include "load/search.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace sockspec::load {

Search::Search(const SearchSettings& s) : s_(s) {
  s_.repeats = std::max(1u, s_.repeats);
  s_.growth = std::max(1.01, s_.growth);
  knob_ = round(s_.min);
}

double Search::round(double v) const { return s_.integer ? std::max(1.0, std::round(v)) : v; }

std::optional<double> Search::next() const {
  if (done()) return std::nullopt;
  return knob_;
}

void Search::move_to(double knob) {
  knob_ = knob;
  runs_ = passes_ = fails_ = limited_ = 0;
  tput_sum_ = 0;
}

void Search::out_of_budget() {
  if (!done()) outcome_ = Outcome::budget;
}

void Search::record(const RunOutcome& r) {
  if (done()) return;
  ++runs_;
  if (r.passed) {
    ++passes_;
    tput_sum_ += r.throughput;
  } else {
    ++fails_;
    if (r.generator_limited) ++limited_;
  }
  bool first_run = runs_ == 1;
  bool agreed = !first_run && r.passed == last_run_passed_;
  last_run_passed_ = r.passed;
  // A passing growth step is far from any failure seen: one run is enough. Anything else
  // settles when two runs in a row agree or the repeat limit is reached (the majority
  // decides; a tie counts as a failure, the cautious side).
  // Nor is one run that would end the search on a plateau.
  bool flat =
      s_.plateau_gain > 0 && last_pass_ && r.throughput < last_pass_tput_ * (1 + s_.plateau_gain);
  bool trusted = first_run && r.passed && !bisecting_ && !flat;
  if (trusted || agreed || runs_ >= s_.repeats || s_.repeats == 1) {
    bool passed = trusted || agreed ? r.passed : passes_ > fails_;
    settle(passed, limited_ * 2 > fails_);  // most failures were the generator's
  }
}

void Search::settle(bool passed, bool generator_limited) {
  if (passed) {
    double tput = passes_ ? tput_sum_ / passes_ : 0;
    if (s_.plateau_gain > 0 && !bisecting_ && last_pass_ &&
        tput < last_pass_tput_ * (1 + s_.plateau_gain)) {
      outcome_ = Outcome::plateau;  // the previous step is where throughput stopped growing
      return;
    }
    last_pass_ = knob_;
    last_pass_tput_ = tput;
    last_pass_runs_ = runs_;
    if (passed_.empty() || passed_.back().first != knob_) passed_.emplace_back(knob_, tput);
    if (!bisecting_) {
      if (knob_ >= s_.max) {
        outcome_ = Outcome::max_passed;
        return;
      }
      move_to(std::min(round(knob_ * s_.growth), s_.max));
      if (*last_pass_ >= knob_) outcome_ = Outcome::max_passed;  // rounding cannot grow further
      return;
    }
  } else {
    if (generator_limited) {
      first_fail_ = knob_;
      outcome_ = Outcome::generator_limit;
      return;
    }
    // A value that passed before (once) and now fails its confirmation is no pass at all:
    // the bracket moves below it (to values from the growth, not checked again).
    size_t removed = std::erase_if(passed_, [&](const auto& p) { return p.first >= knob_; });
    if (passed_.empty()) {
      last_pass_.reset();
      first_fail_ = knob_;
      outcome_ = Outcome::min_failed;
      return;
    }
    if (removed > 0) {
      last_pass_ = passed_.back().first;
      last_pass_tput_ = passed_.back().second;
      last_pass_runs_ = s_.repeats;
    }
    first_fail_ = knob_;
    bisecting_ = true;
  }
  narrow();
}

// Bisects the bracket, or ends the search once it is narrow enough and its lower end was
// measured more than once.
void Search::narrow() {
  double lp = *last_pass_, ff = *first_fail_;
  double mid = round((lp + ff) / 2);
  if (ff - lp <= s_.precision * lp || mid <= lp || mid >= ff) {
    if (last_pass_runs_ < 2 && s_.repeats > 1) {
      move_to(lp);  // confirm it: one more pass agrees with the first
      runs_ = passes_ = 1;
      tput_sum_ = last_pass_tput_;
      last_run_passed_ = true;
      bisecting_ = true;
      return;
    }
    outcome_ = Outcome::found;
    return;
  }
  move_to(mid);
}

const char* to_string(Search::Outcome o) {
  switch (o) {
    case Search::Outcome::running:
      return "running";
    case Search::Outcome::found:
      return "found";
    case Search::Outcome::min_failed:
      return "min-failed";
    case Search::Outcome::max_passed:
      return "max-passed";
    case Search::Outcome::plateau:
      return "plateau";
    case Search::Outcome::generator_limit:
      return "generator-limit";
    case Search::Outcome::budget:
      return "budget";
  }
  return "?";
}

std::optional<double> parse_precision(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str()) return std::nullopt;
  std::string rest(end);
  if (rest == "%") {
    v /= 100;
  } else if (!rest.empty()) {
    return std::nullopt;
  }
  if (!(v > 0 && v < 1)) return std::nullopt;
  return v;
}

}  // namespace sockspec::load
