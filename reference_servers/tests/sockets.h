// Blocking client sockets with receive timeouts, for the reference server tests.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace sockspec::refserver::testing {

struct Sock {
  int fd = -1;
  explicit Sock(int f = -1) : fd(f) {}
  ~Sock() {
    if (fd >= 0) ::close(fd);
  }
  Sock(Sock&& o) noexcept : fd(o.fd) { o.fd = -1; }
  Sock(const Sock&) = delete;
};

inline sockaddr_storage addr_of(int family, uint16_t port, socklen_t& len) {
  sockaddr_storage ss{};
  if (family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    a->sin6_port = htons(port);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->sin_port = htons(port);
    len = sizeof *a;
  }
  return ss;
}

inline void set_timeout(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

inline Sock tcp_connect(int family, uint16_t port, int timeout_ms = 5000) {
  Sock s(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  set_timeout(s.fd, timeout_ms);
  socklen_t len;
  auto ss = addr_of(family, port, len);
  if (::connect(s.fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    ::close(s.fd);
    s.fd = -1;
  }
  return s;
}

inline Sock udp_socket(int family, int timeout_ms = 2000) {
  Sock s(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  set_timeout(s.fd, timeout_ms);
  socklen_t len;
  auto ss = addr_of(family, 0, len);
  ::bind(s.fd, reinterpret_cast<sockaddr*>(&ss), len);
  return s;
}

inline bool send_all(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Reads until `n` bytes, EOF, error or the socket's timeout.
inline std::string recv_n(int fd, size_t n) {
  std::string out;
  char buf[65536];
  while (out.size() < n) {
    ssize_t r = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
    if (r <= 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

// True when the peer closed (recv returns 0) within `ms`.
inline bool eof_within(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, ms) != 1) return false;
  char c;
  return ::recv(fd, &c, 1, 0) == 0;
}

// True when nothing at all is readable within `ms`.
inline bool quiet_for(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, ms) == 0;
}

struct Datagram {
  std::string bytes;
  uint16_t from_port = 0;
  bool ok = false;
};

inline bool send_to(int fd, int family, uint16_t port, const std::string& d) {
  socklen_t len;
  auto ss = addr_of(family, port, len);
  return ::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&ss), len) ==
         static_cast<ssize_t>(d.size());
}

inline Datagram recv_datagram(int fd) {
  Datagram d;
  std::string buf(65536, '\0');
  sockaddr_storage from{};
  socklen_t len = sizeof from;
  ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
  if (n < 0) return d;
  d.ok = true;
  d.bytes = buf.substr(0, static_cast<size_t>(n));
  d.from_port = ntohs(from.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&from)->sin6_port
                                                 : reinterpret_cast<sockaddr_in*>(&from)->sin_port);
  return d;
}

inline std::string pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    s[i] = static_cast<char>(x & 0xFF);
  }
  return s;
}

}  // namespace sockspec::refserver::testing
