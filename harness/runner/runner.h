// `sockspec run`: load suites, set up the target (and managed server), run the selected
// cases in parallel, decide verdicts, write reports, and say how the run went (exit code).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "net/tls.h"
#include "observe/observer.h"

namespace sockspec::runner {

struct RunOptions {
  std::vector<std::string> paths;
  std::string target;      // "host:port", "builtin:SERVICE" or "" (with server_cmd)
  std::string server_cmd;  // with {port}
  std::vector<std::string> filters, tags;
  bool strict = false;
  unsigned jobs = 0;  // 0: one per core
  uint64_t seed = 0;
  bool seed_given = false;
  std::string expect_fail;
  std::string report_json, junit, html, markdown, out_dir;
  std::string command_line;
  std::string self_exe;    // this binary, for builtin servers
  std::string invoked_as;  // argv[0], for rerun commands a user can paste
  std::vector<std::string> builtin_services;
  bool color = false;
  bool github_annotations = false;   // also print failures as GitHub Actions annotations
  int cancel_fd = -1;                // readable when the user interrupts the run
  std::string impair, impair_level;  // network conditions between clients and target
  // Multiplies every step's and case's timeout. 0: automatic, 1 on a clean network and
  // kImpairedTimeoutScale under an --impair that delays or loses (runner/impairment.h).
  double timeout_scale = 0;
  observe::ObserveOptions observe;  // --metrics, --push: cases finished so far (docs/observe.md)
  double metrics_linger_s = 0;
  net::TlsSettings tls;  // --tls-*: under every TLS connection's own settings
};

// Exit codes: 0 all good; 1 failures; 2 bad usage or invalid scenarios; 3 target unreachable.
int run(const RunOptions& opts, std::ostream& out, std::ostream& err);

}  // namespace sockspec::runner
