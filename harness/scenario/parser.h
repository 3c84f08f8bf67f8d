// The scenario parser's inside, shared by parse.cpp (suites, cases, steps, payloads,
// matchers) and parse_ops.cpp (each op's fields). Not part of the scenario API: include
// scenario/parse.h instead.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "match/regex.h"
#include "scenario/fields.h"
#include "scenario/model.h"
#include "scenario/parse.h"

namespace sockspec::scenario::detail {

using json = nlohmann::json;

inline constexpr uint64_t kMaxTimeoutMs = 3'600'000;  // an hour: anything longer is a typo
inline constexpr uint64_t kMaxRepeat = 10'000'000;
inline constexpr uint64_t kMaxClients = 10'000;
// Nested repeats and parallels multiply: the bounds hold for the product, not for each level
// (10,000 clients in each of 10,000 parallel clients would be 10^8 connections).
inline constexpr uint64_t kMaxRuns = kMaxRepeat;       // times one step may run in a case
inline constexpr uint64_t kMaxFillBytes = 1ull << 30;  // 1 GiB

inline bool matches_charset(std::string_view s, bool allow_upper) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-' || (allow_upper && c >= 'A' && c <= 'Z');
    if (!ok) return false;
  }
  return true;
}

// What the validator knows of a named socket at a point in a step list.
struct ConnInfo {
  enum class Kind { stream, listener, udp_connected, udp_open };
  Kind kind;
  Transport transport;
  bool framed = false;  // a frame on connect/accept: each expect takes one whole message
};
using ConnScope = std::map<std::string, ConnInfo>;

struct StepContext {
  ConnScope conns;
  Transport default_transport;
  bool in_repeat = false;
  bool in_parallel = false;
  uint64_t clients = 1;              // product of the enclosing parallels' clients: alive at once
  uint64_t runs = 1;                 // product of the enclosing repeats and parallels
  std::set<std::string> captured{};  // names bound by `capture` in earlier steps
};

class Parser;

// parse_parts.cpp
void parts_captures(const codec::Parts& parts, std::set<std::string>& into);

class Parser {
 public:
  explicit Parser(std::string file) : file_(file), sink_(std::move(file), errors_) {}
  std::vector<Diagnostic>& errors() { return errors_; }

  void error(const std::string& ptr, std::string msg) { sink_.error(ptr, std::move(msg)); }

  std::optional<Suite> suite(const json& root);
  Steps steps_in(const json& j, const std::string& ptr, StepContext& ctx) {
    return steps(j, ptr, ctx);
  }

 private:
  Case parse_case(const json& j, const std::string& ptr, const Suite& s,
                  std::set<std::string>& ids);
  Steps steps(const json& j, const std::string& ptr, StepContext& ctx);
  std::optional<Step> step(const json& j, const std::string& ptr, StepContext& ctx);
  std::optional<Op> op(Fields& f, const std::string& name, StepContext& ctx);

  std::optional<Template> templ(Fields& f, std::string_view key, bool required, StepContext& ctx);
  std::optional<Template> address(Fields& f, std::string_view key, bool required, StepContext& ctx);
  void check_vars(const std::string& text, const std::string& ptr, StepContext& ctx);
  std::optional<Transport> transport(Fields& f);
  SocketOptions options(Fields& f);
  // An errno name; with `tls`, also "tls" or "tls:REASON" (a failed handshake, parse_tls.cpp).
  std::optional<std::string> errno_field(Fields& f, bool tls = false);
  TlsOptions tls_options(const json& j, const std::string& ptr);
  void connect_tls(Fields& f, ConnectOp& o, Transport t);
  std::optional<Op> starttls_op(Fields& f, StepContext& ctx);
  std::optional<Op> tls_alert_op(Fields& f, StepContext& ctx);
  std::optional<Op> renegotiate_op(Fields& f, StepContext& ctx);
  void stream_conn(Fields& f, StepContext& ctx, const std::string& c, const char* op);
  std::optional<Payload> payload(Fields& f, StepContext& ctx, bool required);
  std::optional<Matcher> matcher(Fields& f, StepContext& ctx, const ConnInfo* conn);
  std::vector<Capture> captures(const json& j, const std::string& ptr, const RegexMatch& rm);
  std::optional<Fill> fill(const json& j, const std::string& ptr);
  // parse_parts.cpp: typed parts and frames.
  std::optional<codec::Parts> message_parts(Fields& f, StepContext& ctx, bool send);
  std::optional<codec::Parts> parts(const json& j, const std::string& ptr, StepContext& ctx,
                                    bool send);
  std::optional<codec::Part> part(const json& j, const std::string& ptr, StepContext& ctx,
                                  bool send);
  std::optional<codec::Value> value(const json& j, const std::string& ptr, StepContext& ctx);
  std::optional<codec::Number> number(const json& j, const std::string& ptr, StepContext& ctx);
  std::optional<codec::Frame> frame(Fields& f);
  const ConnInfo* use_conn(Fields& f, const StepContext& ctx, const std::string& name);
  // parse_vars.cpp (issue 21): expressions, `set`, `repeat` with `until`, any-sender `from`.
  void check_refs(const std::vector<VarRef>& refs, const std::string& ptr, StepContext& ctx);
  std::optional<Expr> expr_value(const json& j, const std::string& ptr, StepContext& ctx);
  std::optional<Op> set_op(Fields& f, StepContext& ctx);
  std::optional<Op> repeat_op(Fields& f, StepContext& ctx);
  void sender(Fields& f, StepContext& ctx, const ConnInfo* conn, ExpectOp& o);
  // False (and reported at `ptr`) when `outer` × `count` exceeds `max`.
  bool within_product(const std::string& ptr, const char* what, uint64_t outer, uint64_t count,
                      uint64_t max) {
    if (count <= max / outer) return true;
    error(ptr, std::to_string(count) + " × " + std::to_string(outer) + " from the enclosing " +
                   "repeat/parallel steps exceeds the limit of " + std::to_string(max) + " " +
                   what);
    return false;
  }

  std::string file_;
  std::vector<Diagnostic> errors_;
  DiagnosticSink sink_;  // into errors_
  // This file's regexes: one compile per distinct pattern, all within one budget.
  match::RegexCache regexes_;
};

}  // namespace sockspec::scenario::detail
