// The typed scenario model: what a suite file means once parsed and validated.
// The engine works only on these structs; it never sees JSON.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "codec/frame.h"
#include "codec/parts.h"
#include "impair/spec.h"
#include "match/regex.h"
#include "payload/payload.h"
#include "scenario/expr.h"

namespace sockspec::scenario {

using Bytes = std::string;  // raw octets; std::string because it is what sockets take

enum class Transport { tcp, udp };
enum class Level { must, should, may };

const char* to_string(Transport t);
const char* to_string(Level l);

// A string that may hold ${...} variables, resolved when the step runs.
struct Template {
  std::string text;
  bool has_vars() const { return text.find("${") != std::string::npos; }
};

// Generated payloads belong to payload/, which sits below the model (a codec uses them too).
using payload::Fill;
using payload::FillPattern;

// Bytes to send or to expect. Exactly one source.
struct Payload {
  enum class Kind { text, literal, fill, parts };
  Kind kind = Kind::literal;
  Template text;         // Kind::text, resolved then encoded
  std::string encoding;  // Kind::text; empty means UTF-8
  Bytes literal;         // Kind::literal: hex and base64, decoded at parse time
  Fill fill;             // Kind::fill
  codec::Parts parts;    // Kind::parts: typed fields, resolved and encoded when sent
  // The same bytes every time it is sent (no ${...} and no expression), so built once.
  bool fixed() const {
    if (kind == Kind::text) return !text.has_vars();
    if (kind == Kind::parts) return !codec::has_variables(parts);
    return true;
  }
};

struct EchoMatch {
  bool upper = false;  // "ascii-upper": a-z upper-cased, every other byte unchanged
};
// `capture`: group `group` of the match (0: all of it) becomes ${name} for later steps.
struct Capture {
  std::string name;
  uint32_t group = 0;
};
struct RegexMatch {
  Template pattern;
  // Compiled once at parse time when the pattern has no variables (else at each resolve).
  std::shared_ptr<const match::Pattern> compiled;
  std::optional<Bytes> until;     // TCP: the segment ends at this delimiter (consumed, not matched)
  std::optional<uint64_t> bytes;  // TCP: the segment is this many bytes
  // Instead of `bytes`: a count computed when the step runs ("${len} + 2").
  std::optional<Expr> bytes_expr{};
  // Extension (TCP): the segment is everything up to the peer's close (a daytime answer, which
  // RFC 867 gives no syntax: any text, then the close).
  bool until_eof = false;
  std::vector<Capture> capture{};  // sorted by name (a JSON object keeps no order)
  // 1 + the highest captured group; 0 when nothing is captured (the match copies no group).
  size_t groups_needed() const {
    size_t n = 0;
    for (const auto& c : capture) n = std::max<size_t>(n, c.group + 1);
    return n;
  }
};
struct LengthMatch {
  uint64_t min = 0;
  uint64_t max = 0;  // equal to min for an exact length
  // Instead of min/max: an exact length computed when the step runs ("${n}").
  std::optional<Expr> exact{};
};

// `"parts": [...]` in an expect: the message matched field by field (codec/parts.h).
struct PartsMatch {
  codec::Parts parts;
};

struct Matcher {
  std::variant<Payload, EchoMatch, RegexMatch, LengthMatch, PartsMatch> kind;
};

struct SocketOptions {
  std::optional<bool> reuseaddr, reuseport, nodelay, v6only;
  std::optional<bool> cork;  // extension: TCP_CORK, so data and FIN can leave in one segment
  std::optional<int> rcvbuf, sndbuf;
};

// TLS settings a `connect` (with "tls") or a `starttls` may give; unset ones come from the
// run (--tls-* options, or what the target implies).
struct TlsOptions {
  std::optional<std::string> sni;  // server name sent and checked ("" sends none)
  std::optional<bool> verify;      // false: accept any certificate (said in the step's result)
  std::optional<std::string> ca, cert, key;  // files: trust anchor; client certificate and key
  std::optional<std::vector<std::string>> alpn;
  std::optional<std::string> min_version, max_version;  // "1.2" or "1.3"
  std::optional<bool> resume;  // offer the session ticket of an earlier connection
  bool operator==(const TlsOptions&) const = default;
};

struct Step;
using Steps = std::vector<Step>;

struct ConnectOp {
  std::string conn;
  std::optional<Transport> transport;
  Template to{"target"};
  std::optional<Template> bind;
  SocketOptions options;
  std::optional<std::string> expect_error;
  std::optional<codec::Frame> frame;  // every later expect on this conn takes one message
  // TLS after the TCP handshake: true/false as written ("tls": {...} is true with settings);
  // unset, a TCP connect to the target uses TLS when the target is tls:HOST:PORT.
  std::optional<bool> tls;
  TlsOptions tls_options;
};
// Upgrades an open TCP conn to TLS in mid-case (SMTP's STARTTLS, IMAP, XMPP): the handshake
// runs on the bytes that follow; what was already received and not consumed is an error.
struct StartTlsOp {
  std::string conn;
  TlsOptions tls_options;
  std::optional<std::string> expect_error;
};
// Asks the server for a new handshake on a TLS conn (TLS 1.2 renegotiation; a KeyUpdate in 1.3).
struct RenegotiateOp {
  std::string conn;
  // A server may decline with a no_renegotiation alert (RFC 5246, 7.2.2): that passes too.
  bool refusal_ok = false;
  std::optional<std::string> expect_error;
};
// expect_error's TLS values: "tls" (any failed handshake) or "tls:REASON" (REASON found, in
// any case, in OpenSSL's words for the failure: "tls:certificate has expired").
bool is_tls_error_name(const std::string& e);
struct OpenOp {
  std::string conn;
  std::optional<Template> bind;
  SocketOptions options;
};
struct ListenOp {
  std::string conn;
  std::optional<Transport> transport;
  Template bind;
  int backlog = 128;
  SocketOptions options;
  std::optional<std::string> expect_error;
};
struct AcceptOp {
  std::string conn;
  std::string as;
  std::optional<codec::Frame> frame;  // the accepted conn's default frame
};
struct SendOp {
  std::string conn;
  Payload payload;
  std::optional<Template> to;
  uint64_t repeat = 1;
  std::optional<std::string> expect_error;  // extension: e.g. ECONNREFUSED on connected UDP
  // Extension (TCP): while the send cannot go on (the peer's window is full), read at most
  // this many bytes into the conn's buffer (kept for the next expect) for every 10 ms the send
  // waits. A client that reads slowly while it keeps sending: a server's writes go partial
  // while it is still reading, which is what catches a server that drops the rest of a
  // partial write. 0: off.
  uint64_t read_while_blocked = 0;
};
struct ExpectOp {
  std::string conn;
  Matcher matcher;
  std::optional<Template> from;  // also "any" or "HOST:*" (any port), checked when it runs
  std::optional<std::string> expect_error;    // extension: the receive fails with this errno
  std::optional<std::string> capture_from{};  // binds the sender ("127.0.0.1:5353") as bytes
  std::optional<codec::Frame> frame{};        // this step only: one whole message, then match
};
struct ExpectEofOp {
  std::string conn;
  bool close_notify = false;  // TLS: a bare FIN (no close_notify) fails the step
};
// TLS: the peer sends a fatal alert (after the handshake, or one a failed handshake left for
// the first read, as TLS 1.3 servers do when they refuse a client certificate).
struct ExpectTlsAlertOp {
  std::string conn;
  std::optional<std::string> alert;  // RFC 8446 name, "certificate_required"; none: any alert
};
struct ExpectResetOp {
  std::string conn;
};
struct ExpectSilenceOp {
  std::string conn;
  uint64_t for_ms = 0;
  // Extension: the peer may close its side (FIN) in the window, which ends it with a pass;
  // only data fails. The "nothing more" check for cases that are not about closing.
  bool allow_eof = false;
};
enum class ShutdownHow { write, read, both };
struct ShutdownOp {
  std::string conn;
  ShutdownHow how = ShutdownHow::write;
};
struct CloseOp {
  std::string conn;
  bool abort = false;
};
struct SleepOp {
  uint64_t ms = 0;
};
struct RepeatOp {
  uint64_t times = 0;  // with `until`: the bound (`max`)
  Steps steps;
  std::optional<Expr> until{};  // checked after each iteration; true (non-zero) ends the loop
};
// Binds integer variables, all computed from the values before the step.
struct SetOp {
  std::vector<std::pair<std::string, Expr>> values;  // sorted by name
};
struct ParallelOp {
  uint64_t clients = 0;
  Steps steps;
};
enum class ServerAction { start, stop, restart, kill };
struct ServerOp {
  ServerAction action = ServerAction::start;
  std::optional<uint64_t> ready_timeout_ms;
};

// Extension: new network conditions between the case's clients and the target, from now on.
struct ImpairOp {
  impair::Spec spec;  // validated at parse time
};

using Op =
    std::variant<ConnectOp, StartTlsOp, RenegotiateOp, OpenOp, ListenOp, AcceptOp, SendOp, ExpectOp,
                 ExpectEofOp, ExpectResetOp, ExpectTlsAlertOp, ExpectSilenceOp, ShutdownOp, CloseOp,
                 SleepOp, RepeatOp, ParallelOp, ServerOp, ImpairOp, SetOp>;

struct Step {
  Op op;
  std::optional<uint64_t> timeout_ms;
  std::string label;
  std::string pointer;  // JSON pointer of this step in its file, for messages
};

const char* op_name(const Op& op);

// What a case may `require`. Unmet, the case is skipped with the reason. The last two are the
// suites' marks for impaired networks (docs/impairments.md): `lossless-datagrams` counts on every
// datagram arriving once, whole and in order; `clean-network` measures the server's speed, which
// any impairment would hide behind the network's.
inline constexpr const char* kCapabilities[] = {
    "managed-server", "exclusive-server",   "ipv4",          "ipv6",
    "inet",           "lossless-datagrams", "clean-network", "tls-target"};

struct Case {
  std::string id;
  std::string title;
  std::string spec_ref;
  std::string description;  // free text (a fuzzer finding: what was sent, what the server said)
  Level level = Level::must;
  std::vector<std::string> tags;
  std::vector<std::string> requires_;  // kCapabilities; "managed-server" is added for server steps
  std::optional<uint64_t> timeout_ms;
  Steps steps;
  std::string pointer;
};

struct Suite {
  std::string file;  // path as given by the user
  std::string suite;
  std::string title;
  std::string spec;
  std::string service;
  Transport transport = Transport::tcp;
  uint64_t default_timeout_ms = 2000;
  std::vector<Case> cases;
};

// True when `pred` holds for any step, nested ones (repeat, parallel) included.
template <typename Pred>
bool any_step(const Steps& steps, const Pred& pred) {
  for (const auto& s : steps) {
    if (pred(s)) return true;
    if (auto* r = std::get_if<RepeatOp>(&s.op); r && any_step(r->steps, pred)) return true;
    if (auto* p = std::get_if<ParallelOp>(&s.op); p && any_step(p->steps, pred)) return true;
  }
  return false;
}

// True when the case, or any nested step, uses `server`.
bool uses_server(const Steps& steps);
// True when the case, or any nested step, changes the impairment.
bool uses_impair(const Steps& steps);
// True when any expect matches with `echo` (which needs what was sent kept until then).
bool uses_echo(const Steps& steps);

}  // namespace sockspec::scenario
