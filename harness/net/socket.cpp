#include "net/socket.h"

#include <netinet/tcp.h>
#include <poll.h>

#include <cerrno>

#include "common/codec.h"

namespace sockspec::net {

std::string NetError::to_string() const {
  return op + (peer.empty() ? "" : " " + peer) + ": " + sockspec::errno_name(err);
}

std::string NetError::errno_name() const { return sockspec::errno_name(err); }

namespace {
NetError setopt(int fd, int level, int name, int value, const char* what) {
  if (setsockopt(fd, level, name, &value, sizeof value) != 0) {
    return {std::string("setsockopt ") + what, "", errno};
  }
  return {};
}
}  // namespace

SocketResult open_socket(int family, int type, const Options& o) {
  SocketResult r;
  r.fd = Fd(::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!r.fd) {
    r.error = {"socket", "", errno};
    return r;
  }
  int fd = r.fd.get();
  NetError e;
  if (o.reuseaddr >= 0) e = setopt(fd, SOL_SOCKET, SO_REUSEADDR, o.reuseaddr, "SO_REUSEADDR");
  if (!e.err && o.reuseport >= 0)
    e = setopt(fd, SOL_SOCKET, SO_REUSEPORT, o.reuseport, "SO_REUSEPORT");
  // AF_UNIX streams have no Nagle delay to turn off: nodelay is already true there.
  if (!e.err && o.nodelay >= 0 && type == SOCK_STREAM && family != AF_UNIX) {
    e = setopt(fd, IPPROTO_TCP, TCP_NODELAY, o.nodelay, "TCP_NODELAY");
  }
  if (!e.err && o.cork >= 0 && type == SOCK_STREAM)
    e = setopt(fd, IPPROTO_TCP, TCP_CORK, o.cork, "TCP_CORK");
  if (!e.err && o.v6only >= 0 && family == AF_INET6) {
    e = setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, o.v6only, "IPV6_V6ONLY");
  }
  if (!e.err && o.rcvbuf > 0) e = setopt(fd, SOL_SOCKET, SO_RCVBUF, o.rcvbuf, "SO_RCVBUF");
  if (!e.err && o.sndbuf > 0) e = setopt(fd, SOL_SOCKET, SO_SNDBUF, o.sndbuf, "SO_SNDBUF");
  if (e.err) {
    r.fd.reset();
    r.error = e;
  }
  return r;
}

NetError bind_to(int fd, const SockAddr& addr) {
  if (::bind(fd, addr.get(), addr.len) != 0) return {"bind", addr.to_string(), errno};
  return {};
}

NetError start_connect(int fd, const SockAddr& addr) {
  if (::connect(fd, addr.get(), addr.len) != 0) return {"connect", addr.to_string(), errno};
  return {};
}

NetError finish_connect(int fd, const SockAddr& addr) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  return {"connect", addr.to_string(), err};
}

NetError set_abortive_close(int fd) {
  linger l{1, 0};
  if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l) != 0) {
    return {"setsockopt SO_LINGER", "", errno};
  }
  return {};
}

NetError probe_connect(const SockAddr& a, int timeout_ms) {
  auto s = open_socket(a.family(), SOCK_STREAM, {});
  if (!s.ok()) return s.error;
  auto e = start_connect(s.fd.get(), a);
  if (e.err != EINPROGRESS) return e;
  pollfd p{s.fd.get(), POLLOUT, 0};
  if (poll(&p, 1, timeout_ms) != 1) return {"connect", a.to_string(), ETIMEDOUT};
  return finish_connect(s.fd.get(), a);
}

}  // namespace sockspec::net
