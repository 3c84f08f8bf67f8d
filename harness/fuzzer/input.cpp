#include "fuzzer/input.h"

#include <algorithm>
#include <set>

#include "common/codec.h"

namespace sockspec::fuzzer {

using scenario::Payload;
using scenario::SendOp;
using scenario::Step;
using scenario::Steps;

namespace {

constexpr size_t kMaxToken = 64;    // longer literals are not worth splicing whole
constexpr size_t kMaxTokens = 512;  // the dictionary's size

void add_token(std::set<std::string>& seen, std::vector<std::string>& out, std::string t) {
  if (t.empty() || t.size() > kMaxToken || out.size() >= kMaxTokens) return;
  if (t.find("${") != std::string::npos) return;
  if (seen.insert(t).second) out.push_back(std::move(t));
}

void tokens_of_parts(const codec::Parts& parts, std::set<std::string>& seen,
                     std::vector<std::string>& out) {
  for (const auto& p : parts) {
    if (p.kind == codec::Part::Kind::block) tokens_of_parts(p.parts, seen, out);
    if (p.kind == codec::Part::Kind::until) add_token(seen, out, p.delimiter);
    if (p.kind != codec::Part::Kind::bytes || p.fill) continue;
    if (p.hex) {
      if (auto b = from_hex(p.text)) add_token(seen, out, *b);
    } else if (p.encoding.empty()) {
      add_token(seen, out, p.text);
    }
  }
}

void tokens_of_payload(const Payload& p, std::set<std::string>& seen,
                       std::vector<std::string>& out) {
  switch (p.kind) {
    case Payload::Kind::literal:
      add_token(seen, out, p.literal);
      break;
    case Payload::Kind::text:
      if (p.encoding.empty()) add_token(seen, out, p.text.text);
      break;
    case Payload::Kind::parts:
      tokens_of_parts(p.parts, seen, out);
      break;
    case Payload::Kind::fill:
      break;
  }
}

void tokens_of_steps(const Steps& steps, std::set<std::string>& seen,
                     std::vector<std::string>& out) {
  for (const auto& s : steps) {
    if (auto* send = std::get_if<SendOp>(&s.op)) tokens_of_payload(send->payload, seen, out);
    if (auto* e = std::get_if<scenario::ExpectOp>(&s.op)) {
      if (auto* p = std::get_if<Payload>(&e->matcher.kind)) tokens_of_payload(*p, seen, out);
      if (auto* r = std::get_if<scenario::RegexMatch>(&e->matcher.kind); r && r->until)
        add_token(seen, out, *r->until);
    }
    if (auto* r = std::get_if<scenario::RepeatOp>(&s.op)) tokens_of_steps(r->steps, seen, out);
    if (auto* p = std::get_if<scenario::ParallelOp>(&s.op)) tokens_of_steps(p->steps, seen, out);
  }
}

bool parts_capture(const codec::Parts& parts) {
  return std::any_of(parts.begin(), parts.end(), [](const codec::Part& p) {
    return !p.capture.empty() || parts_capture(p.parts);
  });
}

bool captures(const scenario::Matcher& m) {
  if (auto* r = std::get_if<scenario::RegexMatch>(&m.kind)) return !r->capture.empty();
  if (auto* p = std::get_if<scenario::PartsMatch>(&m.kind)) return parts_capture(p->parts);
  return false;
}

}  // namespace

codec::Part bytes_part(std::string bytes) {
  codec::Part p;
  p.kind = codec::Part::Kind::bytes;
  p.source = "hex";
  p.literal = std::move(bytes);
  return p;
}

// The bytes of a part that holds bytes with no ${...}: its text, or its hex decoded.
std::optional<std::string> plain_bytes(const codec::Part& p) {
  if (p.kind != codec::Part::Kind::bytes || p.fill) return std::nullopt;
  if (p.text.empty()) return p.literal;
  if (p.text.find("${") != std::string::npos) return std::nullopt;
  if (p.hex) return from_hex(p.text);
  if (!p.encoding.empty()) return std::nullopt;
  return p.text;
}

const char* conn_of(const Step& s) {
  if (auto* x = std::get_if<SendOp>(&s.op)) return x->conn.c_str();
  if (auto* x = std::get_if<scenario::ExpectOp>(&s.op)) return x->conn.c_str();
  return nullptr;
}

// Any op on `conn` (a close, a shutdown, an expect of its end).
bool uses_conn(const Step& s, const std::string& conn) {
  return std::visit(
      [&](const auto& op) {
        if constexpr (requires { op.conn; }) {
          return op.conn == conn;
        } else {
          return false;
        }
      },
      s.op);
}

bool opens_conn(const Step& s) {
  return std::holds_alternative<scenario::ConnectOp>(s.op) ||
         std::holds_alternative<scenario::OpenOp>(s.op) ||
         std::holds_alternative<scenario::ListenOp>(s.op) ||
         std::holds_alternative<scenario::AcceptOp>(s.op);
}

// A payload's bytes when it has no variables (parts are not encoded here: see as_parts).
std::optional<std::string> fixed_bytes(const Payload& p, uint64_t run_seed) {
  auto parts = as_parts(p, run_seed);
  if (!parts) return std::nullopt;
  std::string out;
  for (const auto& part : *parts) {
    auto b = plain_bytes(part);
    if (!b) return std::nullopt;
    out += *b;
  }
  return out;
}

uint64_t width_max(unsigned width) {
  return width >= 8 ? UINT64_MAX : (uint64_t{1} << (8 * width)) - 1;
}

Dictionary collect_dictionary(const std::vector<scenario::Suite>& suites) {
  Dictionary d;
  std::set<std::string> seen;
  for (const auto& s : suites)
    for (const auto& c : s.cases) tokens_of_steps(c.steps, seen, d.tokens);
  return d;
}

std::optional<codec::Parts> as_parts(const Payload& p, uint64_t run_seed) {
  switch (p.kind) {
    case Payload::Kind::parts:
      return p.parts;
    case Payload::Kind::literal:
      return codec::Parts{bytes_part(p.literal)};
    case Payload::Kind::fill:
      if (p.fill.bytes > kMaxBytes) return std::nullopt;
      return codec::Parts{bytes_part(payload::fill_bytes(p.fill, run_seed))};
    case Payload::Kind::text:
      break;
  }
  const std::string& t = p.text.text;
  if (!p.encoding.empty()) return std::nullopt;
  // Literal runs become bytes parts; each ${...} a text part of its own; $${ is a literal ${.
  codec::Parts out;
  std::string lit;
  size_t i = 0;
  while (i < t.size()) {
    if (t.compare(i, 3, "$${") == 0) {
      lit += "${";
      i += 3;
      continue;
    }
    if (t.compare(i, 2, "${") != 0) {
      lit += t[i++];
      continue;
    }
    size_t end = t.find('}', i);
    if (end == std::string::npos) return std::nullopt;
    if (!lit.empty()) out.push_back(bytes_part(std::exchange(lit, {})));
    codec::Part hole;
    hole.kind = codec::Part::Kind::bytes;
    hole.source = "text";
    hole.text = t.substr(i, end + 1 - i);
    out.push_back(std::move(hole));
    i = end + 1;
  }
  if (!lit.empty() || out.empty()) out.push_back(bytes_part(std::move(lit)));
  return out;
}

size_t drop_waits(Steps& steps, size_t end) {
  size_t dropped = 0;
  for (size_t i = std::min(end, steps.size()); i-- > 0;) {
    if (std::holds_alternative<scenario::ExpectSilenceOp>(steps[i].op) ||
        std::holds_alternative<scenario::SleepOp>(steps[i].op)) {
      steps.erase(steps.begin() + static_cast<ptrdiff_t>(i));
      ++dropped;
    }
  }
  return dropped;
}

void trim_tail(Steps& steps, size_t at, bool nested) {
  for (size_t i = nested ? 0 : at + 1; i < steps.size();) {
    Step& s = steps[i];
    // A wait that binds nothing only slows the fuzzer down: the liveness check judges.
    auto* e = std::get_if<scenario::ExpectOp>(&s.op);
    bool binds = e && (e->capture_from || captures(e->matcher));
    bool wait = std::holds_alternative<scenario::ExpectOp>(s.op) ||
                std::holds_alternative<scenario::ExpectEofOp>(s.op) ||
                std::holds_alternative<scenario::ExpectResetOp>(s.op) ||
                std::holds_alternative<scenario::ExpectSilenceOp>(s.op) ||
                std::holds_alternative<scenario::SleepOp>(s.op);
    if (wait && !binds && !nested) {
      steps.erase(steps.begin() + static_cast<ptrdiff_t>(i));
      continue;
    }
    if (!s.timeout_ms || *s.timeout_ms > kTailTimeoutMs) s.timeout_ms = kTailTimeoutMs;
    if (auto* q = std::get_if<scenario::ExpectSilenceOp>(&s.op))
      q->for_ms = std::min(q->for_ms, kTailTimeoutMs);
    if (auto* q = std::get_if<scenario::SleepOp>(&s.op)) q->ms = std::min(q->ms, kTailTimeoutMs);
    if (auto* r = std::get_if<scenario::RepeatOp>(&s.op)) trim_tail(r->steps, 0, true);
    if (auto* p = std::get_if<scenario::ParallelOp>(&s.op)) trim_tail(p->steps, 0, true);
    ++i;
  }
}

}  // namespace sockspec::fuzzer
