// A fuzzer input as a suite again: checked by writing it and parsing it back (so every input
// run is one `sockspec run` could read), and, for a finding, written with the liveness check
// after it so that replaying it fails. Pure.
#pragma once

#include <optional>
#include <string>

#include "scenario/model.h"

namespace sockspec::fuzzer {

// `c` as the parser would give it from a suite like `s` (conns, variables and parts checked);
// nullopt when it is no longer a valid case (a mutation or a reduction broke it).
std::optional<scenario::Case> reparse(const scenario::Case& c, const scenario::Suite& s);

// The liveness case's steps with every connection renamed ("live-" + name), appended to `input`:
// one case that sends the input, then checks that the server still answers as it did.
scenario::Case with_liveness(const scenario::Case& input, const scenario::Case& liveness);

// Whether a case can serve as the liveness check (no server or impair steps, no listeners).
bool can_check_liveness(const scenario::Case& c);

// The suite file of one finding: `kase` (the reduced input and the liveness check) titled by
// `summary`, with `description` (what was changed, the server's output, the sanitizer's
// report). Valid for `sockspec run`.
std::string finding_suite_json(const scenario::Suite& from, scenario::Case kase,
                               const std::string& name, const std::string& summary,
                               const std::string& description);

}  // namespace sockspec::fuzzer
