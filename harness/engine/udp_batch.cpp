#include "engine/udp_batch.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "engine/conn.h"

namespace sockspec::engine {

namespace {
// Segments this size or smaller fit a 1500-byte MTU with the headers, so GSO works past
// loopback too; larger ones are batched with sendmmsg.
constexpr size_t kMaxGsoSegment = 1400;
// A GSO send is one UDP packet to the kernel: its payload must stay under 64 KiB.
constexpr size_t kMaxGsoBytes = 65000;
}  // namespace

size_t UdpBatch::lay_out(std::string_view payload, std::optional<uint64_t> first_tag, size_t n) {
  size_t tag = first_tag ? UdpSequence::kTagSize : 0;
  size_t segment = tag + payload.size();
  // The copies already there serve again when they are of the same payload (one compare).
  bool same = laid_segment_ == segment && laid_tagged_ == first_tag.has_value() &&
              laid_copies_ >= n && std::memcmp(&buf_[tag], payload.data(), payload.size()) == 0;
  if (!same) {
    buf_.resize(n * segment);
    for (size_t i = 0; i < n; ++i)
      std::memcpy(&buf_[i * segment + tag], payload.data(), payload.size());
    laid_segment_ = segment;
    laid_copies_ = n;
    laid_tagged_ = first_tag.has_value();
  }
  if (first_tag) {
    for (size_t i = 0; i < n; ++i) UdpSequence::write_tag(&buf_[i * segment], *first_tag + i);
  }
  return segment;
}

ssize_t UdpBatch::send(int fd, const net::SockAddr& peer, bool connected, std::string_view payload,
                       std::optional<uint64_t> first_tag, size_t n, bool& no_gso) {
  n = std::min(n, kMaxCopies);
  size_t segment = (first_tag ? UdpSequence::kTagSize : 0) + payload.size();
  const net::SockAddr* dest = connected ? nullptr : &peer;
  bool inet = peer.family() == AF_INET || peer.family() == AF_INET6;
  // AF_UNIX ignores UDP_SEGMENT without an error and would send the copies as one datagram.
  bool gso = !no_gso && inet && n > 1 && segment > 0 && segment <= kMaxGsoSegment;
  if (gso) n = std::min(n, kMaxGsoBytes / segment);
  lay_out(payload, first_tag, n);
  if (gso) {
    ssize_t sent = send_gso(fd, dest, segment, n);
    if (sent >= 0 ||
        (errno != EINVAL && errno != EIO && errno != ENOPROTOOPT && errno != EOPNOTSUPP))
      return sent;
    no_gso = true;  // this path cannot segment: batch with sendmmsg from now on
  }
  return send_mmsg(fd, dest, segment, n);
}

ssize_t UdpBatch::send_gso(int fd, const net::SockAddr* dest, size_t segment, size_t n) {
  iovec iov{buf_.data(), segment * n};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(uint16_t))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (dest) {
    msg.msg_name = const_cast<sockaddr*>(dest->get());
    msg.msg_namelen = dest->len;
  }
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_UDP;
  cm->cmsg_type = UDP_SEGMENT;
  cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  auto seg = static_cast<uint16_t>(segment);
  std::memcpy(CMSG_DATA(cm), &seg, sizeof seg);
  ssize_t sent = ::sendmsg(fd, &msg, 0);
  return sent < 0 ? -1 : static_cast<ssize_t>(n);  // one packet: all of it went, or none
}

ssize_t UdpBatch::send_mmsg(int fd, const net::SockAddr* dest, size_t segment, size_t n) {
  mmsghdr msgs[kMaxCopies] = {};
  iovec iov[kMaxCopies];
  for (size_t i = 0; i < n; ++i) {
    iov[i] = {buf_.data() + i * segment, segment};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    if (dest) {
      msgs[i].msg_hdr.msg_name = const_cast<sockaddr*>(dest->get());
      msgs[i].msg_hdr.msg_namelen = dest->len;
    }
  }
  int sent = ::sendmmsg(fd, msgs, static_cast<unsigned>(n), 0);
  return sent < 0 ? -1 : sent;
}

}  // namespace sockspec::engine
