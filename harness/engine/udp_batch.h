// Many copies of one datagram in few system calls: UDP GSO (one sendmsg that the kernel splits
// into up to 64 datagrams) where the socket takes it, else sendmmsg batches. With a sequence
// each copy carries its own tag before the payload, so tagged load keeps the batching too.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/address.h"

namespace sockspec::engine {

class UdpBatch {
 public:
  static constexpr size_t kMaxCopies = 64;

  // Sends up to `n` copies of `payload` on `fd` to `peer` (named in each message unless the
  // socket is `connected` to it).
  // `first_tag`: tag the copies first_tag, first_tag + 1, ... The kernel may take fewer than
  // asked (a full buffer): the return value says how many went, the first of them first;
  // -1 with errno when none did. `no_gso` is set (and stays) when the socket refused GSO.
  ssize_t send(int fd, const net::SockAddr& peer, bool connected, std::string_view payload,
               std::optional<uint64_t> first_tag, size_t n, bool& no_gso);

 private:
  // Lays out `n` copies end to end in buf_; returns the size of one.
  size_t lay_out(std::string_view payload, std::optional<uint64_t> first_tag, size_t n);
  ssize_t send_gso(int fd, const net::SockAddr* dest, size_t segment, size_t n);
  ssize_t send_mmsg(int fd, const net::SockAddr* dest, size_t segment, size_t n);

  std::string buf_;
  // What buf_ holds: its payload copies are reused while the payload stays (only tags change).
  size_t laid_segment_ = 0, laid_copies_ = 0;
  bool laid_tagged_ = false;
};

}  // namespace sockspec::engine
