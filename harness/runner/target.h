// The --target of a run: parsed, resolved, and checked for reachability.
#pragma once

#include <string>

#include "engine/context.h"

namespace sockspec::runner {

struct TargetSpec {
  std::string builtin;  // service name for builtin:SERVICE
  std::string host;     // host part of host:port ("" for builtin)
  uint16_t port = 0;
  std::string error;
};
TargetSpec parse_target(const std::string& text);

struct Reach {
  engine::Target target;
  std::string error;
};
// Resolves the host; with `probe_tcp`, takes the first address that accepts a connection
// (so "localhost" works whether the server listens on ::1 or 127.0.0.1).
Reach reach_target(const std::string& name, const std::string& host, uint16_t port, bool probe_tcp);

}  // namespace sockspec::runner
