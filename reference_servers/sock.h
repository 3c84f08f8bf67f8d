// The reference servers' own small socket layer. Deliberately separate from the harness's
// net code: a bug in one cannot make both the checker and the checked agree.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <utility>

namespace sockspec::refserver {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Addr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  uint16_t port() const;    // 0 for AF_UNIX
  std::string str() const;  // 127.0.0.1:7, [::1]:7, /path or @abstract
  // An AF_UNIX datagram sender that bound no name: it cannot be answered.
  bool unnamed_unix() const { return ss.ss_family == AF_UNIX && len <= sizeof(sa_family_t); }
};

// A numeric IPv4 or IPv6 address (brackets allowed) with a port; false if not numeric.
bool parse_addr(const std::string& host, uint16_t port, Addr& out);

// An AF_UNIX path, or "@name" for the abstract namespace; false if it does not fit.
bool unix_addr(const std::string& path, Addr& out);

// Error text naming the call, the address and the errno name: "bind 127.0.0.1:7: EADDRINUSE".
std::string sys_error(const std::string& op, const std::string& where, int err);

}  // namespace sockspec::refserver
