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
  uint16_t port() const;  // 0 for AF_UNIX
  void set_port(uint16_t port);
  std::string host() const;       // numeric, no brackets; an AF_UNIX socket's path
  std::string to_string() const;  // 127.0.0.1:7, [::1]:7, unix:/run/x.sock, unix:@name
  // AF_UNIX: the path, "@name" for an abstract name, "" for an unnamed socket.
  std::string unix_path() const;
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

// The wildcard address of a family, port 0. For AF_UNIX, binding it autobinds the socket to
// a fresh abstract name: a datagram client needs a name of its own to get replies.
SockAddr any_address(int family);

// An AF_UNIX address: a path, or "@name" for the abstract namespace (no file on disk).
// The caller has checked the length (scenario::parse_endpoint does).
SockAddr unix_address(const std::string& path);

SockAddr local_address(int fd);

}  // namespace sockspec::net
