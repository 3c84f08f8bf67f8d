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

// A variable's value: bytes (a regex capture, an env variable, a datagram's sender) or an
// integer (${i}, ${client}, a `set`, a typed integer field). In a string an integer is written
// as ASCII decimal and bytes as themselves; in an expression bytes count only when they are
// ASCII decimal digits.
struct Value {
  enum class Type { bytes, integer };
  Type type = Type::bytes;
  std::string bytes;    // Type::bytes
  int64_t integer = 0;  // Type::integer
  bool is_integer() const { return type == Type::integer; }
  // What the value writes into a string.
  std::string text() const { return is_integer() ? std::to_string(integer) : bytes; }
};

// Values bound by `capture` on an expect (and by `set`) in one client: a case's script, a
// parallel copy, or a virtual user. A few names, looked up in order; rebinding a name reuses
// its string, so a virtual user's iterations allocate nothing once the values have grown.
class Captures {
 public:
  const Value* find(std::string_view name) const {
    for (const auto& [n, v] : values_) {
      if (n == name) return &v;
    }
    return nullptr;
  }
  void set(std::string_view name, std::string_view bytes) {
    Value& v = slot(name);
    v.type = Value::Type::bytes;
    v.bytes.assign(bytes);
  }
  void set_integer(std::string_view name, int64_t value) {
    Value& v = slot(name);
    v.type = Value::Type::integer;
    v.bytes.clear();
    v.integer = value;
  }
  bool empty() const { return values_.empty(); }
  // For messages: token="9f3a", room="2", next=3 (bytes quoted and escaped, long values cut
  // short; integers bare).
  std::string describe() const;
  // In the order they were first bound.
  const std::vector<std::pair<std::string, Value>>& all() const { return values_; }

 private:
  Value& slot(std::string_view name) {
    for (auto& [n, v] : values_) {
      if (n == name) return v;
    }
    return values_.emplace_back(std::string(name), Value{}).second;
  }
  std::vector<std::pair<std::string, Value>> values_;
};

// What ${name} refers to, or nothing when no variable is so named.
std::optional<VarRef> parse_ref(std::string_view name);
// The message for an unknown ${name}.
std::string unknown_var_message(std::string_view name);

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

// The value of one reference, or why it has none (not captured, outside a repeat, ...).
struct Lookup {
  Value value;
  std::string error;
};
Lookup lookup(const VarRef& ref, const VarValues& values);
// How a reference is written: ${name}.
std::string ref_text(const VarRef& ref);
// True for the references that are integers whenever they have a value (${i}, ${target.port}).
bool always_integer(const VarRef& ref);

struct Expanded {
  std::string text;
  std::string error;  // non-empty when a variable had no value
};
// `quote`, when given, rewrites each inserted value (a regex quotes it, so a captured value
// matches itself). Integers are inserted as ASCII decimal, bytes as they are; `$${` writes `${`.
using Quote = std::string (*)(std::string_view);
Expanded expand(std::string_view text, const VarValues& values, Quote quote = nullptr);
// The template whose text is `literal` as it is: each `${` written `$${`.
std::string escape_literal(std::string_view literal);

}  // namespace sockspec::scenario
