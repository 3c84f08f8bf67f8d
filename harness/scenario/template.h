// ${...} variables in scenario strings: static checking at parse time, expansion at run time. Pure.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sockspec::scenario {

struct VarRef {
  enum class Kind { target_host, target_port, conn_local_port, i, client, seed, env, capture };
  Kind kind;
  std::string name;  // conn name, env name or captured name
};

// A name `capture` may bind: [A-Za-z_][A-Za-z0-9_]*. Empty when it may, else why not.
std::string capture_name_problem(std::string_view name);

// Values captured from replies (`capture` on an expect) by one client: a case's script, a
// parallel copy, or a virtual user. A few names, looked up in order; rebinding a name reuses
// its string, so a virtual user's iterations allocate nothing once the values have grown.
class Captures {
 public:
  const std::string* find(std::string_view name) const {
    for (const auto& [n, v] : values_) {
      if (n == name) return &v;
    }
    return nullptr;
  }
  void set(std::string_view name, std::string_view value) {
    for (auto& [n, v] : values_) {
      if (n == name) {
        v.assign(value);
        return;
      }
    }
    values_.emplace_back(std::string(name), std::string(value));
  }
  bool empty() const { return values_.empty(); }
  // For messages: token="9f3a", room="2" (bytes escaped, long values cut short).
  std::string describe() const;
  // In the order they were first bound.
  const std::vector<std::pair<std::string, std::string>>& all() const { return values_; }

 private:
  std::vector<std::pair<std::string, std::string>> values_;
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
  const Captures* captures = nullptr;  // null: nothing captured (yet)
};

struct Expanded {
  std::string text;
  std::string error;  // non-empty when a variable had no value
};
// `quote`, when given, rewrites each captured value before it is inserted (a regex quotes it,
// so a captured value matches itself).
using Quote = std::string (*)(std::string_view);
Expanded expand(std::string_view text, const VarValues& values, Quote quote = nullptr);

}  // namespace sockspec::scenario
