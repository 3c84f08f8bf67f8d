// Finding and reading scenario files (suites, and load profiles among them).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "scenario/parse.h"

namespace sockspec::runner {

struct Loaded {
  std::vector<scenario::Suite> suites;
  std::vector<scenario::Diagnostic> errors;
  // Files that are load profiles (a "profile" key, no "suite"), checked as such: each is
  // listed here when valid, its problems are in `errors` when not.
  std::vector<std::string> profiles;
  // JSON files a folder held that are no scenario (reports --out wrote there): "FILE: why".
  std::vector<std::string> skipped;
};

// Files as given; directories are searched for *.json, skipping their schema/ and load/
// folders (JSON Schema and load profiles, not suites) and passing over JSON files that have
// none of "format", "suite", "profile" (`skipped`). Suite names must be unique.
Loaded load_suites(const std::vector<std::string>& paths);

// For commands that take suites only: one error per load profile in `l`, saying what to run.
void reject_profiles(Loaded& l);

// A whole regular file's bytes (at most reports::kMaxJsonBytes); nullopt when it is not one
// or cannot be read, with the reason in `why` ("is a FIFO; only regular files are read").
std::optional<std::string> read_file(const std::string& path, std::string* why = nullptr);

// Where the built-in suites live: $SOCKSPEC_SCENARIOS, else PREFIX/share/sockspec when
// `self_exe` (this binary's path) is an installed PREFIX/bin/sockspec, else the source tree's
// scenarios/.
std::string builtin_scenarios_dir(const std::string& self_exe);

}  // namespace sockspec::runner
