// The worker's UDP side: receiving datagrams in batches (from its epoll loop, or from a thread
// of its own blocked in recvmmsg) and answering each as the service and the fault say.
#include <fcntl.h>

#include <cstring>
#include <ctime>

#include "reference_servers/worker.h"

namespace sockspec::refserver {

namespace {
constexpr int kUdpBatch = 16;
}  // namespace

void Worker::send_datagram(const Addr& to, const std::string& bytes) {
  int fd =
      (cfg_.fault == Fault::reply_wrong_port && wrong_port_fd_ >= 0) ? wrong_port_fd_ : udp_fd_;
  // A reply the socket cannot take now is dropped, as UDP allows; the server never blocks.
  ::sendto(fd, bytes.data(), bytes.size(), MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&to.ss),
           to.len);
}

// Receives up to a batch of datagrams (flags: MSG_DONTWAIT, or MSG_WAITFORONE to block for
// the first); returns how many, or <= 0.
int Worker::receive_udp(int flags) {
  size_t cap = cfg_.fault == Fault::truncate_1024 ? 1024 : 65536;
  auto& bufs = udp_.bufs;
  if (bufs.empty()) {  // once per worker: the batch buffers are reused for every datagram
    bufs.assign(kUdpBatch, std::string(cap, '\0'));
    udp_.from.resize(kUdpBatch);
    udp_.iov.resize(kUdpBatch);
    udp_.msgs.resize(kUdpBatch);
  }
  for (int i = 0; i < kUdpBatch; ++i) {
    udp_.iov[i] = {bufs[static_cast<size_t>(i)].data(), cap};
    udp_.msgs[i] = {};
    udp_.msgs[i].msg_hdr.msg_iov = &udp_.iov[i];
    udp_.msgs[i].msg_hdr.msg_iovlen = 1;
    udp_.msgs[i].msg_hdr.msg_name = &udp_.from[i].ss;
    udp_.msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
  }
  return recvmmsg(udp_fd_, udp_.msgs.data(), kUdpBatch, flags, nullptr);
}

void Worker::on_udp() {
  for (int round = 0; round < 8; ++round) {
    int n = receive_udp(MSG_DONTWAIT);
    if (n <= 0) return;
    handle_udp(n);
    if (n < kUdpBatch) return;
  }
}

// A thread of its own for UDP: blocked in recvmmsg, then replies, two syscalls a request as a
// plain blocking server has (an epoll loop adds a third). It wakes at least every 100 ms to
// see whether the server is stopping.
void Worker::run_udp_blocking() {
  int flags = fcntl(udp_fd_, F_GETFL);
  fcntl(udp_fd_, F_SETFL, flags & ~O_NONBLOCK);
  timeval tv{0, 100'000};
  setsockopt(udp_fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  while (!shared_.stopping.load(std::memory_order_relaxed)) {
    int n = receive_udp(MSG_WAITFORONE);
    if (n > 0) handle_udp(n);
  }
}

void Worker::handle_udp(int n) {
  auto& bufs = udp_.bufs;
  auto& from = udp_.from;
  auto& msgs = udp_.msgs;
  {
    auto now = Clock::now();
    for (int i = 0; i < n; ++i) {
      Addr& src = from[static_cast<size_t>(i)];
      src.len = msgs[static_cast<size_t>(i)].msg_hdr.msg_namelen;
      std::string_view data(bufs[static_cast<size_t>(i)].data(),
                            msgs[static_cast<size_t>(i)].msg_len);
      // An AF_UNIX sender has no port to check, but one that bound no name cannot be answered.
      if (src.ss.ss_family == AF_UNIX ? src.unnamed_unix() : !udp_reply_allowed(src.port()))
        continue;
      std::string out;
      switch (cfg_.service) {
        case Service::echo:
          out = std::string(data);
          if (cfg_.sockperf_compat) SockperfFramer().rewrite(out.data(), out.size());
          break;
        case Service::upper:
          out = ascii_upper(data);
          break;
        case Service::discard:
          continue;
        case Service::daytime:
          out = daytime(std::time(nullptr));
          break;
        case Service::time:
          out = rfc868_time(std::time(nullptr));
          break;
        case Service::chargen: {
          rng_ ^= rng_ << 13, rng_ ^= rng_ >> 7, rng_ ^= rng_ << 17;
          out = udp_chargen_.datagram(static_cast<size_t>(rng_ % 513));  // RFC 864: 0..512
          break;
        }
        case Service::chat: {
          bool known = false;
          for (auto& [a, seen] : chat_peers_) {
            if (a.len == src.len && std::memcmp(&a.ss, &src.ss, src.len) == 0) {
              seen = now;
              known = true;
            }
          }
          if (!known) chat_peers_.emplace_back(src, now);
          auto ttl = std::chrono::seconds(cfg_.chat_ttl_s);
          std::erase_if(chat_peers_, [&](const auto& p) { return now - p.second > ttl; });
          for (const auto& [a, seen] : chat_peers_) {
            bool self = a.len == src.len && std::memcmp(&a.ss, &src.ss, src.len) == 0;
            if (!self || cfg_.fault == Fault::chat_echo_sender) send_datagram(a, std::string(data));
          }
          continue;
        }
      }
      if (cfg_.fault == Fault::crlf) out = lf_to_crlf(out);
      if (cfg_.fault == Fault::slow || cfg_.fault == Fault::busy) {
        auto at = reply_time(now);
        udp_delayed_.push_back({at, src, std::move(out)});
        timers_.push({at, -1});
        continue;
      }
      if (schedule_) {
        std::string peer(reinterpret_cast<const char*>(&src.ss), src.len);
        for (const auto& d : schedule_->on_request(peer, std::move(out))) send_datagram(src, d);
        continue;
      }
      send_datagram(src, out);
      if (cfg_.fault == Fault::duplicate_reply) send_datagram(src, out);
    }
  }
}

}  // namespace sockspec::refserver
