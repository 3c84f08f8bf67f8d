// The --target of a run: parsed, resolved, and checked for reachability.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/context.h"
#include "reports/model.h"
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
  bool tls = false;                // tls:...: TLS on the target's stream connections
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
  // The plain TCP target was resolved but not connected to (see reach_target's `deferred`):
  // the run's first cases tell whether it is up (reach_seen).
  bool reach_unchecked = false;
  // tls:builtin:SERVICE: the reference server's throw-away certificate (the run's trust
  // anchor unless --tls-ca names another).
  std::string tls_ca;
};
// The run's --tls-* settings on the prepared target, with the builtin server's certificate.
void apply_tls(Prepared& p, const net::TlsSettings& run_settings);
// With `netns_fd`, a managed server starts in that network namespace (packet-level
// impairment); `spec.host` is then its address there.
Prepared prepare_target(const TargetSpec& spec, const std::string& target_text,
                        const std::string& server_cmd, const std::string& self_exe, bool tcp,
                        bool udp, int netns_fd = -1, bool defer_tcp_check = false,
                        ServerEnv server_env = {});

struct Reach {
  engine::Target target;
  std::string error;
  bool probed = false;  // a connection was opened (and closed) to check the target
};
// Resolves the host; with `probe_tcp`, takes the first address that accepts a connection
// (so "localhost" works whether the server listens on ::1 or 127.0.0.1). With `deferred` the
// probe happens only when the name has several addresses to choose from: a real server logs a
// probe as a client that came and left, and one that counts clients counts it (issue 22).
Reach reach_target(const std::string& name, const std::string& host, uint16_t port, bool probe_tcp,
                   bool deferred = false);

// What one finished case says about a target that was not probed: it connected to it (yes),
// a connect to it failed the way an absent server fails (no: ECONNREFUSED, ETIMEDOUT,
// EHOSTUNREACH, ENETUNREACH; `why` gets the step's message), or it did not try (unknown).
enum class Reached { unknown, yes, no };
Reached reach_seen(const reports::CaseResult& c, const std::string& target_addr, std::string* why);

}  // namespace sockspec::runner
