#include "record/side_io.h"

#include <sys/socket.h>

#include <cerrno>

namespace sockspec::record {

ssize_t side_read(int fd, net::TlsSession* tls, char* buf, size_t n, bool& wants_write) {
  wants_write = false;
  if (!tls) return ::recv(fd, buf, n, 0);
  size_t got = 0;
  switch (tls->read(buf, n, got)) {
    case net::TlsIo::ok:
      return static_cast<ssize_t>(got);
    case net::TlsIo::want_write:
      wants_write = true;
      [[fallthrough]];
    case net::TlsIo::want_read:
      errno = EAGAIN;
      return -1;
    case net::TlsIo::closed:
    case net::TlsIo::truncated:
      return 0;
    case net::TlsIo::failed:
      break;
  }
  errno = tls->sys_errno() ? tls->sys_errno() : EPROTO;
  return -1;
}

ssize_t side_write(int fd, net::TlsSession* tls, std::string_view bytes) {
  if (!tls) return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  size_t put = 0;
  switch (tls->write(bytes.data(), bytes.size(), put)) {
    case net::TlsIo::ok:
      return static_cast<ssize_t>(put);
    case net::TlsIo::want_read:
    case net::TlsIo::want_write:
      errno = EAGAIN;
      return -1;
    default:
      errno = tls->sys_errno() ? tls->sys_errno() : EPIPE;
      return -1;
  }
}

void side_end(int fd, net::TlsSession* tls) {
  if (tls) {
    tls->close_notify();
    return;
  }
  ::shutdown(fd, SHUT_WR);
}

}  // namespace sockspec::record
