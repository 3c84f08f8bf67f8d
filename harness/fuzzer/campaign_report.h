// The report of a campaign in the runner's model, so every writer renders it: a `campaign`
// case that fails when anything was found, one failing case per finding (summary, stack,
// reproducer, replay command), and a note with the counts. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fuzzer/finding.h"
#include "reports/model.h"

namespace sockspec::fuzzer {

// A distinct finding, as written to DIR/findings/.
struct Found {
  Finding finding;
  std::string file;  // DIR/findings/NAME.json
  std::string what;  // the mutation that found it
  uint64_t exec = 0;
  double after_s = 0;  // seconds into the campaign (before its reduction)
  uint64_t seen = 1;   // inputs that hit it
  std::string rerun;
};

// What the campaign did, for its note.
struct Tally {
  double secs = 0;
  uint64_t execs = 0, restarts = 0;
  uint64_t unconfirmed = 0;  // findings their input did not give again on a fresh server
  std::string mode;          // "black-box (...)" or "coverage feedback: ..."
  std::string coverage_end;  // "" or "; at the end N edges, K inputs kept ..."
  unsigned jobs = 1;
};

// `meta` as the campaign filled it; `found` in the order found.
reports::RunReport campaign_report(reports::RunMeta meta, const Tally& t,
                                   const std::vector<const Found*>& found);

}  // namespace sockspec::fuzzer
