// Sharding: one load run split across processes or hosts. A shard is an ordinary run of a
// slice of the profile (its share of users, connections and rate); the reports are joined by
// `sockspec merge`. Everything here is pure: no clocks, no environment of its own.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "load/profile.h"

namespace sockspec::load {

struct Shard {
  unsigned index = 0, count = 1;
  bool sharded() const { return count > 1; }
};

struct ShardChoice {
  std::optional<Shard> shard;  // none: an error
  std::string source;          // where it came from: "--shard", "JOB_COMPLETION_INDEX", ...
  std::string error;
};

// "I/N" with 0 <= I < N <= 100000.
ShardChoice parse_shard(std::string_view text);

// The shard of this process: --shard I/N if given; else Kubernetes' JOB_COMPLETION_INDEX with
// the count from --shards (shards_option > 0) or SOCKSPEC_SHARDS; else Slurm's
// SLURM_ARRAY_TASK_ID (less SLURM_ARRAY_TASK_MIN) of SLURM_ARRAY_TASK_COUNT; else 0 of 1.
// `env` reads a variable (nullptr when unset), so tests pass their own.
ShardChoice choose_shard(std::string_view shard_option, unsigned shards_option,
                         const std::function<const char*(const char*)>& env);

// Shard s's part of an integer total, like k6's execution segments: shard i gets
// floor(total*(i+1)/n) - floor(total*i/n), so the parts add up to the total exactly and
// differ by at most one.
uint64_t share_of(uint64_t total, Shard s);
// The first of the total's units that shard s holds (users are numbered from it).
uint64_t share_start(uint64_t total, Shard s);

// Rates are split in micro-iterations per second, the same way: the shards' rates add up to
// the whole (to the microhertz the rate is given in).
constexpr double kRateUnitsPerIteration = 1e6;
uint64_t rate_units(double rate);
double rate_share(double rate, Shard s);

struct Slice {
  std::optional<Profile> profile;  // none: the profile cannot be split this way (error says why)
  uint64_t first_user = 0;         // the slice's users are numbered from here
  std::string error;
};
// The profile with the command line's overrides applied (0: keep the profile's), cut to shard
// s's slice: its users (closed) or connections (open loop) and its rate, every stage's too.
Slice slice_profile(Profile p, Shard s, unsigned connections_override, double rate_override);

// Each shard's own seed; shard 0 keeps the run's seed, so 0/1 is an unsharded run.
inline uint64_t shard_seed(uint64_t run_seed, Shard s) { return run_seed + s.index; }

// --start-at: RFC 3339 ("2026-11-24T19:00:00Z", "...T20:00:00.5+01:00") or epoch seconds
// ("1795028400", "1795028400.25"). Returns seconds since the epoch, or none.
std::optional<double> parse_start_at(std::string_view text);
// The canonical form for run ids and reports: RFC 3339 in UTC, to the millisecond when needed.
std::string format_utc(double epoch_s);

}  // namespace sockspec::load
