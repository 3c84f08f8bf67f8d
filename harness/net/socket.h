// Socket system calls with errors that say what failed, with whom, and the errno name.
#pragma once

#include <string>

#include "net/address.h"
#include "net/fd.h"

namespace sockspec::net {

// A failed syscall: "connect 127.0.0.1:7007: ECONNREFUSED".
struct NetError {
  std::string op;    // connect, bind, send...
  std::string peer;  // the address involved, if any
  int err = 0;
  std::string to_string() const;
  std::string errno_name() const;
};

struct SocketResult {
  Fd fd;
  NetError error;  // err == 0 on success
  bool ok() const { return error.err == 0; }
};

struct Options {
  int reuseaddr = -1, reuseport = -1, nodelay = -1, v6only = -1,
      cork = -1;               // -1: leave the default
  int rcvbuf = 0, sndbuf = 0;  // 0: leave the default
};

// A non-blocking, close-on-exec socket with the options applied.
SocketResult open_socket(int family, int type, const Options& opts);
NetError bind_to(int fd, const SockAddr& addr);
// Non-blocking connect: err == EINPROGRESS means wait for writability, then finish_connect.
NetError start_connect(int fd, const SockAddr& addr);
NetError finish_connect(int fd, const SockAddr& addr);  // reads SO_ERROR
NetError set_abortive_close(int fd);                    // SO_LINGER {1, 0}: close sends RST
// A stream connection opened and closed again, waiting at most `timeout_ms`: is anyone there?
NetError probe_connect(const SockAddr& addr, int timeout_ms);

}  // namespace sockspec::net
