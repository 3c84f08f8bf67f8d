// `sockspec fuzz`: the suites' cases are the seeds; mutants of them run against the server one
// at a time, each followed by a known-good case (does it still answer?); the server's exit,
// signal, sanitizer report or silence is a finding, reduced and written as a suite that
// `sockspec run` replays (docs/fuzz.md).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace sockspec::fuzzer {

struct FuzzOptions {
  std::vector<std::string> paths;
  std::vector<std::string> filters;
  std::string target, server_cmd;
  double duration_s = 60;
  uint64_t max_execs = 0;     // 0: until the duration is up
  uint64_t max_findings = 0;  // stop after this many distinct findings (0: no limit)
  uint64_t seed = 0;
  bool seed_given = false;
  unsigned jobs = 1;
  uint64_t restart_every = 0;    // restart the managed server every N inputs (0: after findings)
  size_t minimize_budget = 400;  // replays the reduction of one finding may spend
  bool no_coverage = false;      // black-box even when the server's runtime reports coverage
  std::string out_dir;
  std::string command_line, self_exe, invoked_as;
  std::vector<std::string> builtin_services;
  int cancel_fd = -1;
};

// 0 nothing found; 1 a finding; 2 bad usage or invalid suites; 3 the server never started or
// the target could not be reached.
int fuzz(const FuzzOptions& o, std::ostream& out, std::ostream& err);

}  // namespace sockspec::fuzzer
