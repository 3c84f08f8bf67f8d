#include "net/address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/un.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace sockspec::net {

uint16_t SockAddr::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

void SockAddr::set_port(uint16_t port) {
  if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&storage)->sin_port = htons(port);
  if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port = htons(port);
}

std::string SockAddr::host() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, buf, sizeof buf);
  } else if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, buf,
              sizeof buf);
  } else if (family() == AF_UNIX) {
    return unix_path();
  } else {
    return "?";
  }
  return buf;
}

std::string SockAddr::unix_path() const {
  if (family() != AF_UNIX) return "";
  constexpr size_t kOffset = offsetof(sockaddr_un, sun_path);
  if (len <= kOffset) return "";
  const char* p = reinterpret_cast<const sockaddr_un*>(&storage)->sun_path;
  size_t n = std::min<size_t>(len - kOffset, sizeof(sockaddr_un::sun_path));
  if (p[0] == '\0') return "@" + std::string(p + 1, n - 1);  // abstract: every byte counts
  return std::string(p, strnlen(p, n));
}

std::string SockAddr::to_string() const {
  if (family() == AF_UNIX) {
    std::string p = unix_path();
    return p.empty() ? "unix:(unnamed)" : "unix:" + p;
  }
  if (family() == AF_INET6) return "[" + host() + "]:" + std::to_string(port());
  return host() + ":" + std::to_string(port());
}

bool SockAddr::operator==(const SockAddr& o) const {
  if (family() != o.family() || port() != o.port()) return false;
  // The kernel reports a path's length with or without its NUL; compare the names.
  if (family() == AF_UNIX) return unix_path() == o.unix_path();
  if (family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in*>(&o.storage)->sin_addr.s_addr;
  }
  if (family() == AF_INET6) {
    return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr,
                       &reinterpret_cast<const sockaddr_in6*>(&o.storage)->sin6_addr,
                       sizeof(in6_addr)) == 0;
  }
  return false;
}

bool SockAddr::is_loopback() const {
  if (family() == AF_INET) {
    return (ntohl(reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr.s_addr) >> 24) == 127;
  }
  if (family() == AF_INET6) {
    return IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr);
  }
  return false;
}

Resolved resolve(const std::string& host, uint16_t port, int socktype) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  Resolved out;
  if (rc != 0) {
    out.error = "resolve " + host + ": " + gai_strerror(rc);
    return out;
  }
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    SockAddr a;
    std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
    a.len = ai->ai_addrlen;
    bool dup = false;
    for (const auto& b : out.addrs) dup = dup || b == a;
    if (!dup) out.addrs.push_back(a);
  }
  freeaddrinfo(res);
  if (out.addrs.empty()) out.error = "resolve " + host + ": no addresses";
  return out;
}

SockAddr any_address(int family) {
  SockAddr a;
  if (family == AF_UNIX) {
    a.storage.ss_family = AF_UNIX;
    a.len = sizeof(sa_family_t);  // only the family: bind() picks an abstract name
  } else if (family == AF_INET6) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    s6->sin6_family = AF_INET6;
    s6->sin6_addr = in6addr_any;
    a.len = sizeof(sockaddr_in6);
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&a.storage);
    s4->sin_family = AF_INET;
    s4->sin_addr.s_addr = htonl(INADDR_ANY);
    a.len = sizeof(sockaddr_in);
  }
  return a;
}

SockAddr unix_address(const std::string& path) {
  SockAddr a;
  auto* un = reinterpret_cast<sockaddr_un*>(&a.storage);
  un->sun_family = AF_UNIX;
  size_t n = std::min(path.size(), sizeof un->sun_path - 1);
  std::memcpy(un->sun_path, path.data(), n);
  if (n > 0 && path[0] == '@') {
    un->sun_path[0] = '\0';  // abstract: the name is exactly these bytes, no terminator
    a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n);
  } else {
    a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n + 1);
  }
  return a;
}

SockAddr local_address(int fd) {
  SockAddr a;
  a.len = sizeof(a.storage);
  if (getsockname(fd, a.get(), &a.len) != 0) a.len = 0;
  return a;
}

}  // namespace sockspec::net
