#include "reference_servers/sock.h"

#include <arpa/inet.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>

namespace sockspec::refserver {

uint16_t Addr::port() const {
  if (ss.ss_family == AF_UNIX) return 0;
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
}

std::string Addr::str() const {
  if (ss.ss_family == AF_UNIX) {
    constexpr size_t kOffset = offsetof(sockaddr_un, sun_path);
    const char* p = reinterpret_cast<const sockaddr_un*>(&ss)->sun_path;
    if (len <= kOffset) return "(unnamed)";
    size_t n = len - kOffset;
    if (p[0] == '\0') return "@" + std::string(p + 1, n - 1);
    return std::string(p, strnlen(p, n));
  }
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(port());
  }
  inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
  return std::string(buf) + ":" + std::to_string(port());
}

bool parse_addr(const std::string& host_in, uint16_t port, Addr& out) {
  std::string host = host_in;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  out = Addr{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.ss);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

bool unix_addr(const std::string& path, Addr& out) {
  out = Addr{};
  auto* un = reinterpret_cast<sockaddr_un*>(&out.ss);
  if (path.empty() || path.size() >= sizeof un->sun_path) return false;
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path.data(), path.size());
  bool abstract = path[0] == '@';
  if (abstract) un->sun_path[0] = '\0';  // the name is exactly the bytes after '@'
  out.len =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (abstract ? 0 : 1));
  return true;
}

std::string sys_error(const std::string& op, const std::string& where, int err) {
  const char* name = strerrorname_np(err);
  return op + (where.empty() ? "" : " " + where) + ": " + (name ? name : std::to_string(err));
}

}  // namespace sockspec::refserver
