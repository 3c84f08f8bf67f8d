#include "engine/receive.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "common/codec.h"

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
Read read_some(Conn& c, net::EventLoop& loop, uint64_t& received, int& err, size_t max) {
  if (loop.known_idle(c.fd.get(), EPOLLIN)) return Read::again;  // nothing came since EAGAIN
  char chunk[kReadChunk];
  size_t want = max == 0 ? sizeof chunk : std::min(max, sizeof chunk);
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
