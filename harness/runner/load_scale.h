// What a load run needs from the system (descriptors, ephemeral ports) and from its shard (the
// slice, the run id, the common start). Kept apart from the command so each is read alone.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "load/shard.h"
#include "reports/model.h"

namespace sockspec::runner {

// Raises the soft descriptor limit to the hard one when `connections` need it. Returns an
// error naming the limit and the ways out when even the hard limit is too low.
std::string ensure_descriptors(uint64_t connections);

// TCP connections to one address need one ephemeral port each per source address: refuses
// (with the fix) a run that cannot have that many ports.
std::string check_ephemeral_ports(uint64_t connections, unsigned source_addresses);

// Notes for the report when connects failed for want of ports or descriptors.
void add_resource_hints(const reports::LoadResult& l, std::vector<std::string>& notes);

struct ShardPlan {
  load::Shard shard;
  std::optional<double> start_at;  // epoch seconds
  std::string run_id;
  std::string error;  // usage error: exit 2
};
// --shard / --shards / the environment, --start-at and --run-id, checked together.
ShardPlan plan_shard(const std::string& shard_option, unsigned shards_option,
                     const std::string& start_at, const std::string& run_id,
                     const std::string& profile_name, const std::string& started_at,
                     const std::function<const char*(const char*)>& env);

// Waits (cancellably) until the run should start so its t0 lands on `start_at`. Returns how
// late the shard is (0 if on time), or none when cancelled.
std::optional<double> wait_for_start(double start_at, int cancel_fd, std::ostream& err,
                                     const std::string& who);

}  // namespace sockspec::runner
