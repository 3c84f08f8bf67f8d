#include "runner/load_scale.h"

#include <poll.h>
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <thread>

namespace sockspec::runner {

namespace {

// Descriptors a run needs beyond its connections: stdio, epoll and wake fds per thread, the
// managed server's pipes, report files.
constexpr uint64_t kSpareDescriptors = 256;
// A start later than this behind --start-at is reported as late.
constexpr double kLateAfterS = 0.1;
// The driver begins its schedule this long after it is called (see load/driver.cpp).
constexpr double kDriverLeadS = 0.020;

std::string read_proc(const char* path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string ensure_descriptors(uint64_t connections) {
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  uint64_t need = connections + kSpareDescriptors;
  if (need <= nofile.rlim_cur) return "";
  if (need > nofile.rlim_max) {
    std::string nr_open = read_proc("/proc/sys/fs/nr_open");
    return std::to_string(connections) + " connections need about " + std::to_string(need) +
           " descriptors, but this process may open at most " + std::to_string(nofile.rlim_max) +
           " (the RLIMIT_NOFILE hard limit). Raise it where the process starts (as root: `ulimit "
           "-Hn " +
           std::to_string(need) + "`, systemd LimitNOFILE=, the container runtime's nofile " +
           "ulimit; it cannot exceed fs.nr_open = " + (nr_open.empty() ? "?" : nr_open) +
           "), or split the run across processes: --shard I/N, " +
           std::to_string(connections / (nofile.rlim_max - kSpareDescriptors) + 1) +
           " shards or more (docs/scale-out.md)";
  }
  nofile.rlim_cur = nofile.rlim_max;
  setrlimit(RLIMIT_NOFILE, &nofile);
  return "";
}

std::string check_ephemeral_ports(uint64_t connections, unsigned source_addresses) {
  std::string range = read_proc("/proc/sys/net/ipv4/ip_local_port_range");
  unsigned lo = 0, hi = 0;
  if (std::sscanf(range.c_str(), "%u %u", &lo, &hi) != 2 || hi < lo) return "";
  uint64_t ports = hi - lo + 1;
  uint64_t per_address =
      (connections + std::max(1u, source_addresses) - 1) / std::max(1u, source_addresses);
  if (per_address <= ports) return "";
  return std::to_string(connections) + " TCP connections to one address need " +
         std::to_string(per_address) + " ephemeral ports per source address, but " +
         "net.ipv4.ip_local_port_range (" + std::to_string(lo) + "-" + std::to_string(hi) +
         ") has " + std::to_string(ports) + ". Spread them over more source addresses (the " +
         "profile's \"source_addresses\": " + std::to_string(connections / ports + 1) +
         " or more, for loopback targets) or widen " +
         "the range (sysctl net.ipv4.ip_local_port_range)";
}

void add_resource_hints(const reports::LoadResult& l, std::vector<std::string>& notes) {
  bool ports = false, files = false;
  for (const auto& e : l.first_errors) {
    ports = ports || e.message.find("EADDRNOTAVAIL") != std::string::npos ||
            e.message.find("EADDRINUSE") != std::string::npos;
    files = files || e.message.find("EMFILE") != std::string::npos ||
            e.message.find("ENFILE") != std::string::npos;
  }
  if (ports)
    notes.push_back(
        "connects failed for want of ephemeral ports: use more source addresses (the profile's "
        "\"source_addresses\") or widen net.ipv4.ip_local_port_range; shards on one host share "
        "the ports");
  if (files)
    notes.push_back(
        "sockets failed for want of descriptors: raise RLIMIT_NOFILE (ulimit -n, up to "
        "fs.nr_open) or fs.file-max, or split the run with --shard I/N");
}

ShardPlan plan_shard(const std::string& shard_option, unsigned shards_option,
                     const std::string& start_at, const std::string& run_id,
                     const std::string& profile_name, const std::string& started_at,
                     const std::function<const char*(const char*)>& env) {
  ShardPlan plan;
  auto choice = load::choose_shard(shard_option, shards_option, env);
  if (!choice.shard) {
    plan.error = choice.error;
    return plan;
  }
  plan.shard = *choice.shard;
  if (!start_at.empty()) {
    plan.start_at = load::parse_start_at(start_at);
    if (!plan.start_at) {
      plan.error = "--start-at: expected RFC 3339 (2026-11-24T19:00:00Z) or epoch seconds, got \"" +
                   start_at + "\"";
      return plan;
    }
    if (*plan.start_at > unix_now() + 86400) {
      plan.error = "--start-at " + start_at + " is more than a day away";
      return plan;
    }
  }
  if (!run_id.empty()) {
    plan.run_id = run_id;
  } else if (const char* job = env("SLURM_ARRAY_JOB_ID"); job && plan.shard.sharded()) {
    plan.run_id = profile_name + "@slurm-" + job;
  } else if (plan.start_at) {
    plan.run_id = profile_name + "@" + load::format_utc(*plan.start_at);
  } else if (plan.shard.sharded()) {
    plan.error =
        "a sharded run needs --start-at TIME or --run-id ID, the same for every shard, so its "
        "reports can be merged as one run";
  } else {
    plan.run_id = profile_name + "@" + started_at;
  }
  return plan;
}

std::optional<double> wait_for_start(double start_at, int cancel_fd, std::ostream& err,
                                     const std::string& who) {
  double late = unix_now() + kDriverLeadS - start_at;
  if (late > kLateAfterS) {
    char msg[64];
    std::snprintf(msg, sizeof msg, "%.3f", late);
    err << "load: " << who << " starts " << msg << " s after --start-at "
        << load::format_utc(start_at)
        << ": it is late, its seconds will not line up with the other shards'\n";
    return late;
  }
  if (late < -1) {
    err << "load: " << who << " waits " << static_cast<long>(-late) << " s for --start-at "
        << load::format_utc(start_at) << "\n";
  }
  // Sleep in slices of at most 200 ms, watching the cancel descriptor.
  for (;;) {
    double left = start_at - kDriverLeadS - unix_now();
    if (left <= 0) return 0.0;
    int ms = static_cast<int>(std::min(200.0, std::ceil(left * 1000)));
    if (cancel_fd >= 0) {
      pollfd p{cancel_fd, POLLIN, 0};
      if (poll(&p, 1, ms) > 0) return std::nullopt;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
  }
}

}  // namespace sockspec::runner
