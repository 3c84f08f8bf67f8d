#include "engine/receive.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "common/codec.h"
#include "net/socket.h"

namespace sockspec::engine {

std::string preview(std::string_view bytes, size_t max) {
  return "\"" + escape_bytes(bytes.substr(0, max)) + (bytes.size() > max ? "\"..." : "\"");
}

namespace {
constexpr size_t kReadChunk = 64 * 1024;
// Datagrams taken per recvmmsg(). A burst of replies costs one call per this many; a lone
// reply costs the same one call, and a partial batch proves the socket empty.
constexpr unsigned kRecvBatch = 8;
}  // namespace

// It reads into the stack and appends what came, so an idle conn holds no 64 KiB buffer
// (15,000 of them would).
namespace {

// TLS: OpenSSL reads the socket; it may hold decrypted bytes the socket no longer shows.
Read read_tls(Conn& c, net::EventLoop& loop, uint64_t& received, int& err, char* chunk,
              size_t want) {
  size_t got = 0;
  switch (c.tls->read(chunk, want, got)) {
    case net::TlsIo::ok:
      c.rx.append(chunk, got);
      received += got;
      c.bytes_received += got;
      return Read::data;
    case net::TlsIo::want_read:
      loop.drained(c.fd.get(), EPOLLIN);
      return Read::again;
    case net::TlsIo::want_write:  // a renegotiation or key update waits for room to answer
      return Read::again;
    case net::TlsIo::closed:
      c.close_notify = true;
      c.eof = true;
      return Read::eof;
    case net::TlsIo::truncated:
      c.eof = true;
      return Read::eof;
    case net::TlsIo::failed:
      err = c.tls->sys_errno() ? c.tls->sys_errno() : EPROTO;
      c.tls_error = c.tls->error();
      if (is_reset(err)) c.reset_errno = err;
      return Read::failed;
  }
  return Read::failed;
}

}  // namespace

Read read_some(Conn& c, net::EventLoop& loop, uint64_t& received, int& err, size_t max) {
  bool held = c.tls && c.tls->pending();
  if (!held && loop.known_idle(c.fd.get(), EPOLLIN)) return Read::again;  // nothing since EAGAIN
  char chunk[kReadChunk];
  size_t want = max == 0 ? sizeof chunk : std::min(max, sizeof chunk);
  if (c.tls) return read_tls(c, loop, received, err, chunk, want);
  ssize_t n = ::recv(c.fd.get(), chunk, want, 0);
  if (n > 0) {
    // Short: the receive queue ran dry (TCP copies until it does or the buffer is full).
    if (static_cast<size_t>(n) < want) loop.drained(c.fd.get(), EPOLLIN);
    c.rx.append(chunk, static_cast<size_t>(n));
    received += static_cast<uint64_t>(n);
    c.bytes_received += static_cast<uint64_t>(n);
    return Read::data;
  }
  if (n == 0) {
    c.eof = true;
    return Read::eof;
  }
  err = errno;
  if (err == EAGAIN || err == EINTR) return Read::again;
  if (is_reset(err)) c.reset_errno = err;
  return Read::failed;
}

std::string read_error(const Conn& c, int err) {
  if (c.tls && !c.tls_error.empty() && !is_reset(err))
    return "tls " + c.tls_error.substr(0, c.tls_error.find(':')) + " " + c.peer.to_string() +
           c.tls_error.substr(c.tls_error.find(':'));
  return net::NetError{"recv", c.peer.to_string(), err}.to_string();
}

ssize_t write_some(Conn& c, const char* data, size_t len, int& err) {
  if (!c.tls) {
    ssize_t n = ::send(c.fd.get(), data, len, MSG_NOSIGNAL);
    if (n < 0) err = errno;
    return n;
  }
  size_t put = 0;
  switch (c.tls->write(data, len, put)) {
    case net::TlsIo::ok:
      return static_cast<ssize_t>(put);
    case net::TlsIo::want_read:
    case net::TlsIo::want_write:
      err = EAGAIN;
      return -1;
    case net::TlsIo::closed:
    case net::TlsIo::truncated:
      err = EPIPE;
      return -1;
    case net::TlsIo::failed:
      err = c.tls->sys_errno() ? c.tls->sys_errno() : EPROTO;
      c.tls_error = c.tls->error();
      return -1;
  }
  return -1;
}

int recv_datagram(Conn& c, net::EventLoop& loop, Datagram& d) {
  if (!c.inbox.empty()) {
    d = std::move(c.inbox.front());
    c.inbox.erase(c.inbox.begin());
    return 1;
  }
  if (loop.known_idle(c.fd.get(), EPOLLIN)) return 0;  // nothing came since the last EAGAIN
  // Full-size buffers on the stack (the pages a reply does not reach are never touched), so
  // a datagram is never cut short unseen, and a conn holds no buffer between reads.
  static_assert(kRecvBatch * kMaxDatagram <= 512 * 1024, "keep the stack frame bounded");
  char buffers[kRecvBatch][kMaxDatagram];
  iovec iov[kRecvBatch];
  mmsghdr msgs[kRecvBatch] = {};
  net::SockAddr from[kRecvBatch];
  for (unsigned i = 0; i < kRecvBatch; ++i) {
    iov[i] = {buffers[i], kMaxDatagram};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = from[i].get();
    msgs[i].msg_hdr.msg_namelen = sizeof from[i].storage;
  }
  // MSG_TRUNC makes each msg_len the datagram's real size, so truncation is visible.
  int n = ::recvmmsg(c.fd.get(), msgs, kRecvBatch, MSG_TRUNC, nullptr);
  if (n < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
  if (static_cast<unsigned>(n) < kRecvBatch) loop.drained(c.fd.get(), EPOLLIN);
  for (int i = 0; i < n; ++i) {
    Datagram& out = i == 0 ? d : c.inbox.emplace_back();
    out.full_size = msgs[i].msg_len;
    out.bytes.assign(buffers[i], std::min(out.full_size, kMaxDatagram));
    out.from = from[i];
    out.from.len = msgs[i].msg_hdr.msg_namelen;
  }
  return 1;
}

}  // namespace sockspec::engine
