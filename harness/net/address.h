// Socket addresses and name resolution.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sockspec::net {

struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;

  int family() const { return storage.ss_family; }
  uint16_t port() const;
  void set_port(uint16_t port);
  std::string host() const;       // numeric, no brackets
  std::string to_string() const;  // 127.0.0.1:7, [::1]:7
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
  bool operator==(const SockAddr& o) const;  // family, address and port
  bool is_loopback() const;
};

struct Resolved {
  std::vector<SockAddr> addrs;
  std::string error;  // getaddrinfo's message when addrs is empty
};
// Numeric addresses never touch DNS; names go through getaddrinfo (so /etc/hosts works).
Resolved resolve(const std::string& host, uint16_t port, int socktype);

// The wildcard address of a family, port 0.
SockAddr any_address(int family);

SockAddr local_address(int fd);

}  // namespace sockspec::net
