// What each service says, free of sockets: the bytes a reference server sends. Pure.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sockspec::refserver {

enum class Service { echo, discard, chargen, daytime, time, upper, chat };
enum class Fault {
  none,
  truncate_1024,
  iterative,
  drop_after_fin,
  close_after_first,
  ignore_partial_send,
  crlf,
  reply_wrong_port,
  no_reuseaddr,
  slow,
  reset_midstream,
  no_close_on_fin,
  chat_echo_sender,
  duplicate_reply,
  busy,
  udp_schedule,
  // TLS only (serve --tls with a generated certificate, except tls_no_close_notify).
  tls_expired_cert,
  tls_wrong_name,
  tls_no_close_notify,
  tls_renegotiation_reset,
};

struct Named {
  const char* name;
  const char* doc;  // one line, shown by --help and in docs
};
const std::vector<std::pair<Service, Named>>& services();
const std::vector<std::pair<Fault, Named>>& faults();
std::optional<Service> service_from_name(std::string_view name);
std::optional<Fault> fault_from_name(std::string_view name);
const char* name_of(Service s);
const char* name_of(Fault f);

// RFC 864: the 95 printable ASCII characters (0x20..0x7e) in a ring; line k is 72
// characters starting at position k of the ring, followed by CR LF.
class Chargen {
 public:
  static constexpr size_t kLineLength = 72;
  std::string next_line();                  // 74 bytes
  std::string datagram(size_t characters);  // UDP: the next `characters` bytes of the stream
 private:
  uint64_t line_ = 0;
};

// RFC 867 recommends no format; ours is "Weekday, Month Day, Year HH:MM:SS-UTC\r\n" as the RFC's
// example, in UTC.
std::string daytime(std::time_t now);
// RFC 868: seconds since 1900-01-01 00:00 UTC as 32 big-endian bits (wraps in 2036).
std::string rfc868_time(std::time_t now);

std::string ascii_upper(std::string_view bytes);
std::string lf_to_crlf(std::string_view bytes);

// Benchmark adapter, not a protocol: sockperf's ping-pong client only accepts a reply whose
// header has its "client" flag cleared (flags: 16 bits big-endian at offset 8, client = bit 0;
// message length: 32 bits big-endian at offset 10). An RFC 862 echo returns the flag as sent,
// so `serve echo --sockperf-compat` rewrites that one bit per message to let sockperf measure
// our event loop against its own server. Works across any TCP chunking.
class SockperfFramer {
 public:
  void rewrite(char* data, size_t n);

 private:
  uint64_t pos_ = 0;  // offset within the current message
  uint32_t len_ = 0;  // the current message's length, once its header has passed
};

// UDP amplification guard: no reply to port 0 or to the well-known ports of these services,
// where two servers would answer each other forever.
bool udp_reply_allowed(uint16_t source_port);

}  // namespace sockspec::refserver
