#include "record/session.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "record/framed.h"
#include "scenario/parse.h"
#include "scenario/write.h"

namespace sockspec::record {

namespace {

using scenario::Transport;

// What the JSON writer accepts as UTF-8 is what may go into a "text" field.
bool valid_utf8(std::string_view s) {
  try {
    (void)nlohmann::json(std::string(s)).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

bool printable_text(std::string_view s) {
  if (s.find("${") != std::string_view::npos || !valid_utf8(s)) return false;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) return false;
  }
  return true;
}

// The text as a regex matching itself, with every run of digits as [0-9]+.
std::string digits_pattern(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= '0' && c <= '9') {
      while (i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '9') ++i;
      out += "[0-9]+";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      if (std::string_view("^$\\.*+?()[]{}|").find(c) != std::string_view::npos) out += '\\';
      out += c;
    }
  }
  return out;
}

bool has_digit(std::string_view s) {
  return s.find_first_of("0123456789") != std::string_view::npos;
}

scenario::Step expect_step(const std::string& conn, scenario::Matcher m) {
  return scenario::Step{
      scenario::ExpectOp{conn, std::move(m), std::nullopt, std::nullopt, std::nullopt}, {}, {}, {}};
}

scenario::Step regex_step(const std::string& conn, std::string_view text,
                          std::optional<std::string> until) {
  scenario::RegexMatch r;  // not compiled here: the written suite is read back, which compiles it
  r.pattern.text = digits_pattern(text);
  r.until = std::move(until);
  return expect_step(conn, {std::move(r)});
}

}  // namespace

scenario::Payload payload_of(std::string_view bytes) {
  scenario::Payload p;
  if (printable_text(bytes)) {
    p.kind = scenario::Payload::Kind::text;
    p.text.text = std::string(bytes);
  } else {
    p.kind = scenario::Payload::Kind::literal;
    p.literal = std::string(bytes);
  }
  return p;
}

scenario::Steps expects_for(std::string_view bytes, Transport transport, const RecordOptions& opt,
                            const std::string& conn) {
  scenario::Steps out;
  if (bytes.size() > opt.max_expect_bytes) {
    out.push_back(expect_step(conn, {scenario::LengthMatch{bytes.size(), bytes.size()}}));
    return out;
  }
  if (!opt.regex_digits || !printable_text(bytes) || !has_digit(bytes)) {
    out.push_back(expect_step(conn, {payload_of(bytes)}));
    return out;
  }
  if (transport == Transport::udp) {  // the whole datagram is matched
    out.push_back(regex_step(conn, bytes, std::nullopt));
    return out;
  }
  // A stream: a regex per line (up to its newline, which is consumed); exact bytes for the
  // lines with no digit and for a last piece with no newline.
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t nl = bytes.find('\n', pos);
    std::string_view piece = bytes.substr(pos, nl == std::string_view::npos ? nl : nl - pos + 1);
    if (nl != std::string_view::npos && has_digit(piece)) {
      out.push_back(regex_step(conn, piece.substr(0, piece.size() - 1), "\n"));
    } else {
      out.push_back(expect_step(conn, {payload_of(piece)}));
    }
    pos += piece.size();
  }
  return out;
}

Session::Session(Transport transport, std::string client, std::string conn, Clock::time_point start,
                 const RecordOptions& options)
    : transport_(transport),
      client_(std::move(client)),
      conn_(std::move(conn)),
      opt_(options),
      last_client_(start),
      reply_done_(start) {
  scenario::ConnectOp c;
  c.conn = conn_;
  c.transport = transport;
  if (framed()) c.frame = opt_.frame;
  if (opt_.tls && transport == Transport::tcp) c.tls = true;
  push(std::move(c), start, false);
}

namespace {
scenario::Payload parts_payload(codec::Parts parts) {
  scenario::Payload p;
  p.kind = scenario::Payload::Kind::parts;
  p.parts = std::move(parts);
  return p;
}
}  // namespace

void Session::flush_reply(std::vector<TimedStep>& out) const {
  if (reply_.empty()) return;
  scenario::Steps expects;
  std::string rest = reply_;
  if (framed()) {
    bool bad = false;
    for (const auto& m : take_messages(*opt_.frame, rest, bad)) {
      auto parts = message_parts(*opt_.frame, m, opt_.max_expect_bytes);
      expects.push_back(expect_step(conn_, {scenario::PartsMatch{std::move(parts)}}));
    }
  }
  if (!rest.empty()) {
    for (auto& e : expects_for(rest, transport_, opt_, conn_)) expects.push_back(std::move(e));
  }
  // A reply slower than half the default bound gets room of its own: twice what it took.
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(reply_done_ - last_client_);
  auto ms = static_cast<uint64_t>(std::max<int64_t>(0, took.count()));
  if (ms * 2 > opt_.default_timeout_ms) expects.front().timeout_ms = ms * 2 + 1000;
  for (auto& e : expects) out.push_back({reply_done_, std::move(e), false});
}

void Session::client_acts(scenario::Op op, Clock::time_point at) {
  flush_reply(steps_);
  reply_.clear();
  last_client_ = at;
  push(std::move(op), at, true);
}

void Session::client_sent(std::string_view bytes, Clock::time_point at) {
  if (ended_) return;
  if (!framed()) {
    client_acts(scenario::SendOp{conn_, payload_of(bytes), std::nullopt, 1, std::nullopt}, at);
    return;
  }
  request_.append(bytes);
  bool bad = false;
  for (const auto& m : take_messages(*opt_.frame, request_, bad)) {
    auto parts = message_parts(*opt_.frame, m, UINT64_MAX);  // a send has no `rest`
    client_acts(
        scenario::SendOp{conn_, parts_payload(std::move(parts)), std::nullopt, 1, std::nullopt},
        at);
  }
  if (bad) flush_client(at);  // not this protocol's framing after all: the bytes as they came
}

void Session::flush_client(Clock::time_point at) {
  if (request_.empty()) return;
  std::string bytes = std::move(request_);
  request_.clear();
  client_acts(scenario::SendOp{conn_, payload_of(bytes), std::nullopt, 1, std::nullopt}, at);
}

void Session::server_sent(std::string_view bytes, Clock::time_point at) {
  if (ended_) return;
  reply_done_ = at;
  reply_.append(bytes);
  // A datagram is its own reply: matched whole, never joined with the next one.
  if (transport_ == Transport::udp) {
    flush_reply(steps_);
    reply_.clear();
  }
}

void Session::client_eof(Clock::time_point at) {
  if (ended_ || client_eof_) return;
  flush_client(at);
  client_eof_ = true;
  if (server_eof_) {  // the server had finished: this is the client's close
    client_acts(scenario::CloseOp{conn_, false}, at);
    ended_ = true;
    return;
  }
  client_acts(scenario::ShutdownOp{conn_, scenario::ShutdownHow::write}, at);
}

void Session::client_reset(Clock::time_point at) {
  if (ended_) return;
  flush_client(at);
  client_acts(scenario::CloseOp{conn_, true}, at);
  ended_ = true;
}

void Session::server_eof(Clock::time_point at) {
  if (ended_ || server_eof_) return;
  flush_reply(steps_);
  reply_.clear();
  server_eof_ = true;
  push(scenario::ExpectEofOp{conn_}, at, false);
  if (client_eof_) {
    push(scenario::CloseOp{conn_, false}, at, true);
    ended_ = true;
  }
}

void Session::server_reset(Clock::time_point at) {
  if (ended_) return;
  flush_reply(steps_);
  reply_.clear();
  push(scenario::ExpectResetOp{conn_}, at, false);
  ended_ = true;
}

std::vector<TimedStep> Session::timeline() const {
  std::vector<TimedStep> out = steps_;
  if (!ended_) {
    flush_reply(out);
    if (!request_.empty()) {  // recording stopped inside a client's message
      out.push_back({last_client_,
                     scenario::Step{scenario::SendOp{conn_, payload_of(request_), std::nullopt, 1,
                                                     std::nullopt},
                                    {},
                                    {},
                                    {}},
                     true});
    }
    // When recording stopped, which is after everything any session did.
    out.push_back({Clock::time_point::max(),
                   scenario::Step{scenario::CloseOp{conn_, false}, {}, {}, {}}, false});
  }
  return out;
}

namespace {
// The steps in order, with a sleep before a client's step that came longer than the pause
// threshold after the step before it.
scenario::Steps with_pauses(const std::vector<TimedStep>& timeline, const RecordOptions& opt) {
  scenario::Steps out;
  for (size_t i = 0; i < timeline.size(); ++i) {
    if (i > 0 && timeline[i].by_client) {
      auto gap =
          std::chrono::duration_cast<std::chrono::milliseconds>(timeline[i].at - timeline[i - 1].at)
              .count();
      if (gap > 0 && static_cast<uint64_t>(gap) > opt.pause_ms)
        out.push_back(scenario::Step{scenario::SleepOp{static_cast<uint64_t>(gap)}, {}, {}, {}});
    }
    out.push_back(timeline[i].step);
  }
  return out;
}
}  // namespace

scenario::Case to_case(const Session& s, const std::string& id, const RecordOptions& opt) {
  scenario::Case c;
  c.id = id;
  c.title = "recorded from " + s.client();
  c.steps = with_pauses(s.timeline(), opt);
  return c;
}

scenario::Case one_case(const std::vector<const Session*>& sessions, const std::string& id,
                        const RecordOptions& opt) {
  std::vector<TimedStep> all;
  std::string clients;
  for (const Session* s : sessions) {
    auto t = s->timeline();
    all.insert(all.end(), std::make_move_iterator(t.begin()), std::make_move_iterator(t.end()));
    clients += (clients.empty() ? "" : ", ") + s->client();
  }
  // Stable: steps seen at the same instant keep each session's own order.
  std::stable_sort(all.begin(), all.end(),
                   [](const TimedStep& a, const TimedStep& b) { return a.at < b.at; });
  scenario::Case c;
  c.id = id;
  c.title = "recorded from " + clients;
  c.steps = with_pauses(all, opt);
  return c;
}

std::string conn_name(size_t index, const RecordOptions& opt) {
  return opt.one_case ? "c" + std::to_string(index + 1) : "c";
}

std::vector<scenario::Case> recorded_cases(const std::vector<const Session*>& sessions,
                                           const RecordOptions& opt) {
  std::vector<scenario::Case> out;
  if (sessions.empty()) return out;
  if (opt.one_case) {
    out.push_back(one_case(sessions, "session", opt));
    return out;
  }
  for (size_t i = 0; i < sessions.size(); ++i)
    out.push_back(to_case(*sessions[i], "session-" + std::to_string(i + 1), opt));
  return out;
}

std::string suite_name_for(const std::string& output_path) {
  std::string base = output_path.substr(output_path.find_last_of('/') + 1);
  if (auto dot = base.rfind(".json"); dot != std::string::npos && dot + 5 == base.size())
    base.resize(dot);
  std::string name;
  for (char ch : base) {
    char c = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    name += ok ? c : '-';
  }
  return name.empty() ? "recorded" : name;
}

SuiteText suite_text(const std::string& name, const std::string& title, Transport transport,
                     uint64_t default_timeout_ms, std::vector<scenario::Case> cases) {
  scenario::Suite s;
  s.suite = name;
  s.title = title;
  s.transport = transport;
  s.default_timeout_ms = default_timeout_ms;
  s.cases = std::move(cases);
  SuiteText out{scenario::write_suite(s).dump(2) + "\n", ""};
  auto back = scenario::parse_suite(out.text, name + ".json");
  for (const auto& d : back.errors) out.error += d.to_string() + "\n";
  return out;
}

}  // namespace sockspec::record
