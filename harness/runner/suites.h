// Finding and loading suite files.
#pragma once

#include <string>
#include <vector>

#include "scenario/parse.h"

namespace sockspec::runner {

struct Loaded {
  std::vector<scenario::Suite> suites;
  std::vector<scenario::Diagnostic> errors;
};

// Files as given; directories are searched for *.json, skipping their schema/ and load/
// folders (JSON Schema and load profiles, not suites). Suite names must be unique.
Loaded load_suites(const std::vector<std::string>& paths);

// Where the built-in suites live: $SOCKSPEC_SCENARIOS, else the source tree's scenarios/.
std::string builtin_scenarios_dir();

}  // namespace sockspec::runner
