#include "reference_servers/protocol.h"

#include <array>

namespace sockspec::refserver {

const std::vector<std::pair<Service, Named>>& services() {
  static const std::vector<std::pair<Service, Named>> kAll = {
      {Service::echo,
       {"echo", "RFC 862: sends back every byte (TCP) or datagram (UDP) it receives"}},
      {Service::discard, {"discard", "RFC 863: reads and throws away everything, never replies"}},
      {Service::chargen,
       {"chargen",
        "RFC 864: TCP streams 72-character rotating lines; UDP answers each datagram "
        "with 0-512 characters"}},
      {Service::daytime, {"daytime", "RFC 867: sends the date and time as one line, then closes"}},
      {Service::time,
       {"time", "RFC 868: sends 4 bytes, seconds since 1900 big-endian, then closes"}},
      {Service::upper,
       {"upper", "replies with the bytes upper-cased (ASCII a-z only; all else unchanged)"}},
      {Service::chat,
       {"chat",
        "relay: TCP bytes go to every other client; UDP datagrams to every other peer "
        "heard from within --chat-ttl seconds"}},
  };
  return kAll;
}

const std::vector<std::pair<Fault, Named>>& faults() {
  static const std::vector<std::pair<Fault, Named>> kAll = {
      {Fault::truncate_1024,
       {"truncate-1024",
        "one recv() of at most 1024 bytes per message: TCP answers once then "
        "closes, UDP datagrams are cut to 1024 bytes"}},
      {Fault::iterative,
       {"iterative", "serves one TCP client at a time; others wait in the backlog"}},
      {Fault::drop_after_fin,
       {"drop-after-fin",
        "closes as soon as the client half-closes, dropping replies not yet sent"}},
      {Fault::close_after_first,
       {"close-after-first", "answers the first read of a connection, then closes it"}},
      {Fault::ignore_partial_send,
       {"ignore-partial-send",
        "calls send() once per reply and drops whatever it did not take "
        "(with a 16 KiB SO_SNDBUF, so short sends are common)"}},
      {Fault::crlf, {"crlf", "rewrites every \\n in a reply to \\r\\n"}},
      {Fault::reply_wrong_port,
       {"reply-wrong-port", "sends UDP replies from a second socket with another port"}},
      {Fault::no_reuseaddr,
       {"no-reuseaddr",
        "listens without SO_REUSEADDR, so a restart fails while old connections "
        "linger (EADDRINUSE)"}},
      {Fault::slow, {"slow", "delays every reply by --delay-ms (default 1500)"}},
      {Fault::reset_midstream,
       {"reset-midstream", "sends the first 1024 bytes of a connection's replies, then resets it"}},
      {Fault::no_close_on_fin,
       {"no-close-on-fin",
        "never closes after the client's FIN: the client waits for EOF forever"}},
      {Fault::chat_echo_sender,
       {"chat-echo-sender", "chat relays a message back to its sender too"}},
      {Fault::duplicate_reply,
       {"duplicate-reply",
        "sends every reply twice: a TCP reply's bytes again right after it, a UDP reply as a "
        "second datagram"}},
      {Fault::busy,
       {"busy",
        "serves one request (TCP read or UDP datagram) at a time, each taking --busy-us "
        "(default 1000): capacity is 1,000,000 / busy-us requests per second"}},
      {Fault::udp_schedule,
       {"udp-schedule",
        "UDP, per client: drops every --drop-every'th reply, sends every --duplicate-every'th "
        "twice, holds every --hold-every'th back until after the next; prints its counts on "
        "exit"}},
      {Fault::tls_expired_cert,
       {"tls-expired-cert",
        "--tls: the generated certificate expired yesterday (valid from 2 days ago to 1 day ago)"}},
      {Fault::tls_wrong_name,
       {"tls-wrong-name",
        "--tls: the generated certificate names only wrong.invalid (no localhost, no IP)"}},
      {Fault::tls_no_close_notify,
       {"tls-no-close-notify",
        "--tls: closes connections with a bare TCP FIN, never sending close_notify"}},
      {Fault::tls_renegotiation_reset,
       {"tls-renegotiation-reset",
        "--tls: refuses a client's TLS 1.2 renegotiation by dropping the connection, where a "
        "server that will not renegotiate answers with a no_renegotiation alert"}},
  };
  return kAll;
}

std::optional<Service> service_from_name(std::string_view name) {
  for (const auto& [s, n] : services()) {
    if (name == n.name) return s;
  }
  return std::nullopt;
}

std::optional<Fault> fault_from_name(std::string_view name) {
  if (name == "none") return Fault::none;
  for (const auto& [f, n] : faults()) {
    if (name == n.name) return f;
  }
  return std::nullopt;
}

const char* name_of(Service s) {
  for (const auto& [x, n] : services()) {
    if (x == s) return n.name;
  }
  return "?";
}

const char* name_of(Fault f) {
  for (const auto& [x, n] : faults()) {
    if (x == f) return n.name;
  }
  return "none";
}

std::string Chargen::next_line() {
  std::string line(kLineLength + 2, '\0');
  for (size_t i = 0; i < kLineLength; ++i) line[i] = static_cast<char>(' ' + (line_ + i) % 95);
  line[kLineLength] = '\r';
  line[kLineLength + 1] = '\n';
  ++line_;
  return line;
}

std::string Chargen::datagram(size_t characters) {
  std::string out;
  while (out.size() < characters) out += next_line();
  out.resize(characters);
  return out;
}

std::string daytime(std::time_t now) {
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%A, %B %d, %Y %H:%M:%S-UTC\r\n", &tm);
  return std::string(buf, n);
}

std::string rfc868_time(std::time_t now) {
  // 2,208,988,800 seconds from 1900-01-01 to 1970-01-01.
  uint32_t v = static_cast<uint32_t>(static_cast<uint64_t>(now) + 2208988800ull);
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i)
    out[static_cast<size_t>(i)] = static_cast<char>((v >> (24 - 8 * i)) & 0xFF);
  return out;
}

std::string ascii_upper(std::string_view bytes) {
  std::string out(bytes);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
  return out;
}

std::string lf_to_crlf(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes) {
    if (c == '\n') out.push_back('\r');
    out.push_back(c);
  }
  return out;
}

void SockperfFramer::rewrite(char* data, size_t n) {
  constexpr uint64_t kFlagsLow = 9, kLenStart = 10, kHeaderEnd = 14;
  for (size_t i = 0; i < n; ++i) {
    if (pos_ == kFlagsLow) data[i] = static_cast<char>(data[i] & ~1);
    if (pos_ >= kLenStart && pos_ < kHeaderEnd)
      len_ = len_ << 8 | static_cast<unsigned char>(data[i]);
    ++pos_;
    // A length shorter than the header cannot be right; resynchronise at the header's end.
    if (pos_ >= kHeaderEnd && pos_ >= len_) {
      pos_ = 0;
      len_ = 0;
    }
  }
}

bool udp_reply_allowed(uint16_t port) {
  constexpr std::array<uint16_t, 6> kServicePorts = {0, 7, 9, 13, 19, 37};
  for (uint16_t p : kServicePorts) {
    if (port == p) return false;
  }
  return true;
}

}  // namespace sockspec::refserver
