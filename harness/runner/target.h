// The --target of a run: parsed, resolved, and checked for reachability.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/context.h"
#include "runner/managed_server.h"

namespace sockspec::runner {

struct TargetSpec {
  std::string builtin;  // service name for builtin:SERVICE
  std::string host;     // host part of host:port ("" for builtin)
  uint16_t port = 0;
  // AF_UNIX: unix:PATH, unixgram:PATH, or a --server-cmd with {path} (a fresh path).
  bool unix = false;
  std::optional<bool> unix_dgram;  // unset: the transport of what runs decides
  std::string unix_path;           // "" with {path}: the harness makes one
  std::string error;
};
TargetSpec parse_target(const std::string& text);

// --target and --server-cmd as a command got them: checked together (exit 2 on error).
TargetSpec check_target_options(const std::string& target, const std::string& server_cmd,
                                const std::vector<std::string>& builtin_services);

// The server a command talks to: reached (a plain --target) or started and ready (builtin:
// or --server-cmd). `error` set means exit 3.
struct Prepared {
  engine::Target target;
  std::unique_ptr<ManagedServer> server;
  int unix_type = 0;   // an AF_UNIX target's socket type (SOCK_STREAM, SOCK_DGRAM); 0 for IP
  std::string error;   // for the console: the reason, the command, the end of its stderr
  std::string reason;  // one line, for the reports' note (the error itself when it is one line)
};
// With `netns_fd`, a managed server starts in that network namespace (packet-level
// impairment); `spec.host` is then its address there.
Prepared prepare_target(const TargetSpec& spec, const std::string& target_text,
                        const std::string& server_cmd, const std::string& self_exe, bool tcp,
                        bool udp, int netns_fd = -1);

struct Reach {
  engine::Target target;
  std::string error;
};
// Resolves the host; with `probe_tcp`, takes the first address that accepts a connection
// (so "localhost" works whether the server listens on ::1 or 127.0.0.1).
Reach reach_target(const std::string& name, const std::string& host, uint16_t port, bool probe_tcp);

}  // namespace sockspec::runner
