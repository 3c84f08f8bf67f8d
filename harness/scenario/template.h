// ${...} variables in scenario strings: static checking at parse time, expansion at run time. Pure.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sockspec::scenario {

struct VarRef {
  enum class Kind { target_host, target_port, conn_local_port, i, client, seed, env };
  Kind kind;
  std::string name;  // conn name or env name
};

// Every ${...} reference in `text`, or an error message for the first malformed one.
struct VarScan {
  std::vector<VarRef> refs;
  std::string error;
};
VarScan scan_vars(std::string_view text);

// The values visible to one step when it runs.
struct VarValues {
  std::string target_host;
  uint16_t target_port = 0;
  uint64_t seed = 0;
  std::optional<uint64_t> i;
  std::optional<uint64_t> client;
  std::function<std::optional<uint16_t>(const std::string&)> conn_local_port;
  std::function<std::optional<std::string>(const std::string&)> env;
};

struct Expanded {
  std::string text;
  std::string error;  // non-empty when a variable had no value
};
Expanded expand(std::string_view text, const VarValues& values);

}  // namespace sockspec::scenario
