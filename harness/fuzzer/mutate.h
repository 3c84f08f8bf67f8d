// Mutations that know the protocol: a case of a suite in, a runnable variant of it out.
// The case's steps up to the mutated send run as written (so a login answered and a token
// captured stay valid); the send is changed through its typed parts where it has them
// (boundary values, lengths that disagree with what follows, overlong varints, bad checksums),
// byte by byte where it has not, or the step sequence around it is (repeated, dropped,
// reordered, cut by a half-close or a reset, dripped a byte at a time). Pure: no sockets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fuzzer/input.h"
#include "payload/payload.h"
#include "scenario/model.h"

namespace sockspec::fuzzer {

struct Mutant {
  scenario::Case kase;
  std::string what;  // what was changed, for the finding ("/steps/3: u16 set to 65535")
};

// The seeds: cases that passed against the server as written.
class Mutator {
 public:
  Mutator(std::vector<scenario::Case> seeds, scenario::Transport transport, Dictionary dict,
          uint64_t seed);
  bool empty() const { return sites_.empty(); }
  Mutant next();
  // Another case to mutate: an input that reached code no earlier one did (coverage feedback).
  void add_seed(scenario::Case c);
  size_t seeds() const { return seeds_.size(); }

 private:
  struct Site {
    size_t seed;  // index in seeds_
    size_t step;  // top-level index of a send step
  };
  uint64_t below(uint64_t n) { return n == 0 ? 0 : rng_.next() % n; }
  void mutate_bytes(std::string& b, std::string& what);
  bool mutate_parts(codec::Parts& parts, std::string& what);
  bool mutate_sequence(scenario::Steps& steps, size_t at, std::string& what);
  const std::string& donor();  // the bytes of some other send, for splices

  std::vector<scenario::Case> seeds_;
  scenario::Transport transport_;
  Dictionary dict_;
  std::vector<Site> sites_;  // the seeds' first, then those of the inputs kept
  size_t originals_ = 0;     // sites of the seeds given to the constructor
  std::vector<std::string> donors_;
  payload::SplitMix64 rng_;
  uint64_t payload_seed_;  // for the random bytes of a seed's fill payloads
};

}  // namespace sockspec::fuzzer
