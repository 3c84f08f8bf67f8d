#include "record/session.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "scenario/parse.h"
#include "scenario/write.h"

namespace sockspec::record {

namespace {

using scenario::Transport;

constexpr const char* kConn = "c";

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

scenario::Step expect_step(scenario::Matcher m) {
  return scenario::Step{
      scenario::ExpectOp{kConn, std::move(m), std::nullopt, std::nullopt}, {}, {}, {}};
}

scenario::Step regex_step(std::string_view text, std::optional<std::string> until,
                          std::optional<uint64_t> bytes) {
  return expect_step({scenario::RegexMatch{{digits_pattern(text)}, std::move(until), bytes}});
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

scenario::Steps expects_for(std::string_view bytes, Transport transport, const RecordOptions& opt) {
  scenario::Steps out;
  if (bytes.size() > opt.max_expect_bytes) {
    out.push_back(expect_step({scenario::LengthMatch{bytes.size(), bytes.size()}}));
    return out;
  }
  if (!opt.regex_digits || !printable_text(bytes) || !has_digit(bytes)) {
    out.push_back(expect_step({payload_of(bytes)}));
    return out;
  }
  if (transport == Transport::udp) {  // the whole datagram is matched
    out.push_back(regex_step(bytes, std::nullopt, std::nullopt));
    return out;
  }
  // A stream: a regex per line (up to its newline, which is consumed); exact bytes for the
  // lines with no digit and for a last piece with no newline.
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t nl = bytes.find('\n', pos);
    std::string_view piece = bytes.substr(pos, nl == std::string_view::npos ? nl : nl - pos + 1);
    if (nl != std::string_view::npos && has_digit(piece)) {
      out.push_back(regex_step(piece.substr(0, piece.size() - 1), "\n", std::nullopt));
    } else {
      out.push_back(expect_step({payload_of(piece)}));
    }
    pos += piece.size();
  }
  return out;
}

Session::Session(Transport transport, std::string client, Clock::time_point start,
                 const RecordOptions& options)
    : transport_(transport),
      client_(std::move(client)),
      opt_(options),
      last_event_(start),
      last_client_(start),
      reply_done_(start) {
  scenario::ConnectOp c;
  c.conn = kConn;
  c.transport = transport;
  push(std::move(c));
}

void Session::flush_reply(scenario::Steps& steps) const {
  if (reply_.empty()) return;
  auto expects = expects_for(reply_, transport_, opt_);
  // A reply slower than half the default bound gets room of its own: twice what it took.
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(reply_done_ - last_client_);
  auto ms = static_cast<uint64_t>(std::max<int64_t>(0, took.count()));
  if (ms * 2 > opt_.default_timeout_ms) expects.front().timeout_ms = ms * 2 + 1000;
  for (auto& e : expects) steps.push_back(std::move(e));
}

void Session::client_acts(Clock::time_point at) {
  flush_reply(steps_);
  reply_.clear();
  auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(at - last_event_).count();
  if (gap > 0 && static_cast<uint64_t>(gap) > opt_.pause_ms)
    push(scenario::SleepOp{static_cast<uint64_t>(gap)});
  last_event_ = last_client_ = at;
}

void Session::client_sent(std::string_view bytes, Clock::time_point at) {
  if (ended_) return;
  client_acts(at);
  push(scenario::SendOp{kConn, payload_of(bytes), std::nullopt, 1, std::nullopt});
}

void Session::server_sent(std::string_view bytes, Clock::time_point at) {
  if (ended_) return;
  last_event_ = reply_done_ = at;
  if (transport_ == Transport::tcp) {
    reply_.append(bytes);
    return;
  }
  for (auto& e : expects_for(bytes, transport_, opt_)) steps_.push_back(std::move(e));
}

void Session::client_eof(Clock::time_point at) {
  if (ended_ || client_eof_) return;
  client_acts(at);
  client_eof_ = true;
  if (server_eof_) {  // the server had finished: this is the client's close
    push(scenario::CloseOp{kConn, false});
    ended_ = true;
    return;
  }
  push(scenario::ShutdownOp{kConn, scenario::ShutdownHow::write});
}

void Session::client_reset(Clock::time_point at) {
  if (ended_) return;
  client_acts(at);
  push(scenario::CloseOp{kConn, true});
  ended_ = true;
}

void Session::server_eof(Clock::time_point at) {
  if (ended_ || server_eof_) return;
  last_event_ = at;
  flush_reply(steps_);
  reply_.clear();
  server_eof_ = true;
  push(scenario::ExpectEofOp{kConn});
  if (client_eof_) {
    push(scenario::CloseOp{kConn, false});
    ended_ = true;
  }
}

void Session::server_reset(Clock::time_point at) {
  if (ended_) return;
  last_event_ = at;
  flush_reply(steps_);
  reply_.clear();
  push(scenario::ExpectResetOp{kConn});
  ended_ = true;
}

scenario::Case Session::to_case(const std::string& id) const {
  scenario::Case c;
  c.id = id;
  c.title = "recorded from " + client_;
  c.steps = steps_;
  if (!ended_) {
    flush_reply(c.steps);
    c.steps.push_back(scenario::Step{scenario::CloseOp{kConn, false}, {}, {}, {}});
  }
  return c;
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
