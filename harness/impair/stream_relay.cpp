#include "impair/stream_relay.h"

#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "impair/conditions.h"
#include "net/socket.h"

namespace sockspec::impair {

namespace {
// Bytes read ahead of what has been forwarded, per direction: past this the relay stops
// reading, so a stalled or slow direction pushes back on the sender like a real link.
constexpr size_t kMaxQueued = 256 * 1024;
constexpr size_t kReadSize = 64 * 1024;
constexpr auto kEndGrace = std::chrono::seconds(2);
using Clock = std::chrono::steady_clock;

void earliest(std::optional<TimePoint>& wake, TimePoint t) {
  if (!wake || t < *wake) wake = t;
}
}  // namespace

StreamRelay::StreamRelay(net::Fd client, net::Fd server, net::SockAddr upstream, TimePoint now,
                         uint64_t seed, uint64_t id)
    : client_(std::move(client)),
      server_(std::move(server)),
      upstream_(upstream),
      opened_(now),
      random_(seed),
      id_(id) {
  pipes_[0].to_server = true;
  pipes_[1].to_server = false;
}

bool StreamRelay::can_read(const Pipe& p, const Direction& d) const {
  return !d.stall && !p.src_eof && p.queued < kMaxQueued;
}

uint32_t StreamRelay::interest(int fd) const {
  if (state_ == State::finished) return 0;
  if (state_ == State::connecting) return fd == server_.get() ? uint32_t{EPOLLOUT} : uint32_t{0};
  if (state_ == State::closing) return EPOLLIN;  // drain until each peer closes
  if (state_ == State::resetting) return 0;      // polled on a timer
  uint32_t ev = 0;
  for (const Pipe& p : pipes_) {
    // Reading is re-enabled by pump(); level-triggered EPOLLIN would spin while paused.
    if (src(p) == fd && !p.src_eof && p.queued < kMaxQueued) ev |= EPOLLIN;
    if (dst(p) == fd && p.dst_blocked) ev |= EPOLLOUT;
  }
  return ev;
}

// Each chunk is stamped with the clock read after its recv returned, never with a time taken
// before: bytes that arrive while this thread waits for a core between an earlier reading and
// the recv would otherwise leave before their delay is over.
bool StreamRelay::read_side(Pipe& p, const Direction& d) {
  char buf[kReadSize];
  while (can_read(p, d)) {
    ssize_t n = ::recv(src(p), buf, sizeof buf, 0);
    TimePoint stamp = Clock::now();
    if (n > 0) {
      TimePoint release = std::max(stamp + draw_delay(d, random_), p.last_release);
      p.last_release = release;
      p.queue.push_back({release, std::string(buf, static_cast<size_t>(n)), 0, stamp, p.read});
      p.queued += static_cast<size_t>(n);
      p.read += static_cast<uint64_t>(n);
      continue;
    }
    if (n == 0) {
      p.src_eof = true;
      p.fin_release = std::max(stamp + draw_delay(d, random_), p.last_release) + d.slow_close;
      return true;
    }
    if (errno == EAGAIN || errno == EINTR) return true;
    return false;  // the peer reset: pass the reset on
  }
  return true;
}

bool StreamRelay::write_side(Pipe& p, const Direction& d, TimePoint now, StreamCounts& counts,
                             ReleaseRecorder& releases, std::optional<TimePoint>& wake) {
  if (d.stall) return true;
  std::optional<uint64_t> limit = d.reset_after_bytes;
  if (d.close_after_bytes && (!limit || *d.close_after_bytes < *limit)) limit = d.close_after_bytes;
  bool limit_resets = limit && limit == d.reset_after_bytes;
  auto strike = [&] {
    if (limit_resets)
      begin_reset(now, counts);
    else
      begin_close(now, counts);
    return false;
  };
  if (limit && p.forwarded >= *limit) return strike();
  p.dst_blocked = false;
  while (!p.queue.empty()) {
    Chunk& c = p.queue.front();
    // Due or not is judged by the clock read just before the send, not by `now`.
    TimePoint released = Clock::now();
    if (c.release > released) return earliest(wake, c.release), true;
    if (p.next_write > released) return earliest(wake, p.next_write), true;
    size_t n = c.bytes.size() - c.sent;
    if (d.slice_bytes) n = std::min<size_t>(n, d.slice_bytes);
    if (limit) n = std::min<size_t>(n, *limit - p.forwarded);
    ssize_t w = ::send(dst(p), c.bytes.data() + c.sent, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0 && c.sent == 0)
      releases.note({p.to_server, id_, c.offset, c.bytes.size(), c.stamp, c.release, released});
    if (w < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        p.dst_blocked = true;
        return true;
      }
      return false;  // the receiving peer is gone: reset the other
    }
    auto sent = static_cast<size_t>(w);
    c.sent += sent;
    p.queued -= sent;
    p.forwarded += sent;
    (p.to_server ? counts.bytes_to_server : counts.bytes_to_client) += sent;
    ++(p.to_server ? counts.writes_to_server : counts.writes_to_client);
    if (c.sent == c.bytes.size()) p.queue.pop_front();
    if (d.rate_bps) {
      auto on_wire = Duration(
          static_cast<int64_t>(static_cast<double>(sent) * 8e9 / static_cast<double>(d.rate_bps)));
      p.next_write = std::max(p.next_write, released) + on_wire;
    }
    if (d.slice_bytes && d.slice_delay.count() > 0)
      p.next_write = std::max(p.next_write, released + d.slice_delay);
    if (limit && p.forwarded >= *limit) return strike();
  }
  if (p.src_eof && !p.fin_sent) {
    if (p.fin_release > Clock::now()) return earliest(wake, p.fin_release), true;
    ::shutdown(dst(p), SHUT_WR);
    p.fin_sent = true;
  }
  return true;
}

void StreamRelay::abort_both() {
  for (net::Fd* f : {&client_, &server_}) {
    if (*f) net::set_abortive_close(f->get());
    f->reset();
  }
  state_ = State::finished;
}

// FIN to both peers; the sockets stay open, discarding what comes, until each peer closes
// too: closing with unread data would send an RST instead.
void StreamRelay::begin_close(TimePoint now, StreamCounts& counts) {
  ++counts.closes;
  ::shutdown(client_.get(), SHUT_WR);
  ::shutdown(server_.get(), SHUT_WR);
  state_ = State::closing;
  end_by_ = now + kEndGrace;
}

// RST to both peers, once the bytes forwarded so far have been acknowledged, so the peer
// that was sent N bytes reads exactly N before its ECONNRESET.
void StreamRelay::begin_reset(TimePoint now, StreamCounts& counts) {
  ++counts.resets;
  state_ = State::resetting;
  end_by_ = now + kEndGrace;
}

std::optional<TimePoint> StreamRelay::pump_closing(TimePoint now) {
  if (state_ == State::resetting) {
    bool acked = true;
    for (const net::Fd* f : {&client_, &server_}) {
      int unacked = 0;
      if (ioctl(f->get(), SIOCOUTQ, &unacked) == 0 && unacked > 0) acked = false;
    }
    if (acked || now >= end_by_) {
      abort_both();
      return std::nullopt;
    }
    return now + std::chrono::milliseconds(1);
  }
  bool open = false;
  char buf[kReadSize];
  for (net::Fd* f : {&client_, &server_}) {
    if (!*f) continue;
    ssize_t n;
    while ((n = ::recv(f->get(), buf, sizeof buf, 0)) > 0) {
    }
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
      f->reset();
    else
      open = true;
  }
  if (!open) {
    state_ = State::finished;
    return std::nullopt;
  }
  if (now >= end_by_) {
    abort_both();
    return std::nullopt;
  }
  return end_by_;
}

std::optional<TimePoint> StreamRelay::pump(const Spec& spec, TimePoint now, StreamCounts& counts,
                                           ReleaseRecorder& releases) {
  if (state_ == State::finished) return std::nullopt;
  if (state_ == State::closing || state_ == State::resetting) return pump_closing(now);
  if (state_ == State::connecting) {
    auto e = net::finish_connect(server_.get(), upstream_);
    if (e.err == EINPROGRESS || e.err == EALREADY) return std::nullopt;
    if (e.err != 0) {
      // The client's connect has already succeeded (to us): a reset is the closest thing to
      // the refusal the target gave.
      ++counts.upstream_failures;
      abort_both();
      return std::nullopt;
    }
    state_ = State::relaying;
  }
  std::optional<TimePoint> wake;
  const Direction* dirs[2] = {&spec.to_server, &spec.to_client};
  for (int k = 0; k < 2; ++k) {
    const Direction& d = *dirs[k];
    if (!read_side(pipes_[k], d) || !write_side(pipes_[k], d, now, counts, releases, wake)) {
      if (state_ == State::relaying) abort_both();
      return state_ == State::finished ? std::nullopt : pump_closing(now);
    }
    // Time limits count from the client's connect.
    for (auto [t, resets] : {std::pair{d.reset_after_time, true}, {d.close_after_time, false}}) {
      if (!t) continue;
      if (now >= opened_ + *t) {
        resets ? begin_reset(now, counts) : begin_close(now, counts);
        return pump_closing(now);
      }
      earliest(wake, opened_ + *t);
    }
  }
  if (pipes_[0].fin_sent && pipes_[1].fin_sent) {
    state_ = State::finished;  // both sides closed and everything was passed on
    client_.reset();
    server_.reset();
    return std::nullopt;
  }
  return wake;
}

}  // namespace sockspec::impair
