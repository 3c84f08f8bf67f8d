// Load profiles: the same format-1 steps, run by many virtual users under an executor.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "load/pipeline_steps.h"
#include "reports/thresholds.h"
#include "scenario/model.h"
#include "scenario/parse.h"

namespace sockspec::load {

// The largest in-flight window per connection (slots are small; this bounds a typo).
inline constexpr unsigned kMaxInFlight = 65536;

struct Stage {
  double duration_s = 0;
  double rate = 0;  // iterations per second reached at the end of the stage (linear ramp)
};

struct Profile {
  std::string file, name, title, service;
  scenario::Transport transport = scenario::Transport::tcp;
  uint64_t default_timeout_ms = 2000;
  enum class Executor { closed, constant_rate, ramping_rate };
  Executor executor = Executor::closed;
  unsigned connections = 1;   // closed: virtual users; open loop: at most this many at once
  double rate = 0;            // constant-rate
  std::vector<Stage> stages;  // ramping-rate
  double duration_s = 10, warmup_s = 0;
  unsigned threads = 0;  // 0: one per core
  scenario::Steps setup, iteration, teardown;
  std::vector<reports::Threshold> thresholds;
  // Tag datagrams to count loss, duplicates, late and reordered replies: on by default for a UDP
  // profile whose replies echo the request (every expect is `echo`), the only replies that
  // carry the tag back; any other UDP profile says what it wants (parse_profile refuses it).
  bool udp_sequence = false;
  // Number the requests in a field of their own protocol and match replies by it, instead of
  // a tag (the iteration runs through a window even with in_flight 1).
  std::optional<MatchBy> match_by;
  // Where the tag goes in each datagram: after this many bytes of the payload, so a server that
  // reads a header of its own first (sockperf's) still answers. Only a window places a tag
  // inside the payload, so the iteration runs through one even with in_flight 1.
  unsigned udp_tag_offset = 0;
  // Iterations outstanding at once on each connection; above 1 the iteration must be one send
  // and one expect on one conn (see Pipeline).
  unsigned in_flight = 1;
  // "in_flight": "auto", or an open loop over UDP that gives none: the window is sized from
  // the rate, the timeout and the connections when the run starts (load/window.h).
  bool in_flight_auto = false;
  uint64_t iterations_per_vu =
      0;  // closed loop: stop after this many per user (0: run for the duration)
  unsigned source_addresses = 0;  // spread connects over 127.0.0.1..N (IPv4 loopback targets)

  // Whether iterations run through a Pipeline window with `in_flight` outstanding at once.
  bool windowed(unsigned window) const { return window > 1 || match_by || udp_tag_offset > 0; }
};

const char* to_string(Profile::Executor e);

// True when `test` holds for the setup, the iteration or the teardown.
inline bool any_list(const Profile& p, bool (*test)(const scenario::Steps&)) {
  return test(p.setup) || test(p.iteration) || test(p.teardown);
}

struct ProfileParse {
  std::optional<Profile> profile;
  std::vector<scenario::Diagnostic> errors;
};
// Why `in_flight` iterations cannot overlap in this profile ("" when they can).
std::string in_flight_problem(const Profile& p, unsigned in_flight);

ProfileParse parse_profile(std::string_view json_text, const std::string& file);

}  // namespace sockspec::load
