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

#include "payload/payload.h"
#include "scenario/model.h"

namespace sockspec::fuzzer {

// Literals of the suites (texts, hex strings, delimiters), spliced into mutated bytes.
struct Dictionary {
  std::vector<std::string> tokens;
};
Dictionary collect_dictionary(const std::vector<scenario::Suite>& suites);

// The steps after the mutated one: their waits (expect, expect_eof, silence, sleep) are left
// out, since they rarely match a mutated exchange and a fuzzer that waited them out would run
// a few inputs a second; an expect that captures a value a later step needs stays, waiting
// this long at most.
inline constexpr uint64_t kTailTimeoutMs = 100;

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
  std::vector<Site> sites_;
  std::vector<std::string> donors_;
  payload::SplitMix64 rng_;
};

// A send's payload as parts whose literal bytes can be changed in place: literal bytes and a
// text become bytes parts, each ${...} of a text stays a text part of its own. nullopt for a
// payload that cannot be (a text in another charset with variables, a fill over 64 KiB).
std::optional<codec::Parts> as_parts(const scenario::Payload& p, uint64_t run_seed);

// The tail after step `at` as above (`nested`: a repeat's or parallel's body, only capped).
void trim_tail(scenario::Steps& steps, size_t at, bool nested);

}  // namespace sockspec::fuzzer
