// `sockspec load`: a profile against a target, with progress, reports and thresholds.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "net/tls.h"
#include "observe/observer.h"
#include "runner/find_max.h"

namespace sockspec::runner {

struct LoadCommandOptions {
  std::string profile;
  std::string target, server_cmd;
  double duration_s = 0, warmup_s = -1, rate = 0;
  unsigned connections = 0, threads = 0, in_flight = 0;
  bool in_flight_auto = false;  // --in-flight auto
  bool busy_poll = false;
  uint64_t seed = 0;
  bool seed_given = false;
  std::string report_json, junit, html, markdown, out_dir;
  std::string command_line, self_exe;
  std::vector<std::string> builtin_services;
  bool color = false, progress = false;
  bool github_annotations = false;  // also print failed thresholds as GitHub annotations
  int cancel_fd = -1;
  std::string impair, impair_level;  // network conditions between clients and target
  // Sharding (docs/scale-out.md): --shard I/N, or --shards N with JOB_COMPLETION_INDEX, or
  // Slurm's array variables; read through `env` (getenv by default).
  std::string shard, start_at, run_id;
  unsigned shards = 0;
  std::function<const char*(const char*)> env = [](const char* name) { return std::getenv(name); };
  std::vector<std::string> thresholds;  // replace the profile's thresholds when given
  FindMaxOptions find_max;
  observe::ObserveOptions observe;  // --metrics, --push (docs/observe.md)
  double metrics_linger_s = 0;      // the endpoint stays up this long after the run
  net::TlsSettings tls;             // --tls-*: under every TLS connection's own settings
};

// Exit codes: 0 thresholds met and schedule kept (--find-max: a rate was found); 1 a threshold
// failed or starts were missed (--find-max: even the minimum failed); 2 bad usage or an invalid
// profile; 3 target unreachable.
int run_load_command(const LoadCommandOptions& o, std::ostream& out, std::ostream& err);

}  // namespace sockspec::runner
