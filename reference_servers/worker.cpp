#include "reference_servers/worker.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

namespace sockspec::refserver {

namespace {
constexpr size_t kReadSize = 64 * 1024;
constexpr size_t kHighWater = 256 * 1024;    // stop reading while this much is unsent
constexpr size_t kLowWater = 64 * 1024;      // resume below this
constexpr size_t kChatMaxBacklog = 1 << 20;  // a chat client this far behind is dropped
constexpr size_t kResetAfter = 1024;         // reset-midstream: bytes sent before the RST
constexpr auto kDrainLimit = std::chrono::seconds(10);
constexpr uint64_t kListenTag = ~0ull, kUdpTag = ~0ull - 1, kStopTag = ~0ull - 2;

void epoll_add(int ep, int fd, uint32_t events, uint64_t tag) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag;
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}
}  // namespace

Worker::Worker(const Config& cfg, int listen_fd, int udp_fd, int wrong_port_fd, int stop_fd,
               Shared& shared, std::ostream& err, const TlsContext* tls)
    : cfg_(cfg),
      listen_fd_(listen_fd),
      udp_fd_(udp_fd),
      wrong_port_fd_(wrong_port_fd),
      stop_fd_(stop_fd),
      shared_(shared),
      err_(err),
      tls_(tls),
      epoll_(epoll_create1(EPOLL_CLOEXEC)),
      reserve_(::open("/dev/null", O_RDONLY | O_CLOEXEC)),
      rx_(kReadSize),
      rdhup_(cfg.fault == Fault::drop_after_fin ? static_cast<uint32_t>(EPOLLRDHUP) : 0u) {
  epoll_add(epoll_.get(), stop_fd_, EPOLLIN, kStopTag);
  if (udp_fd_ >= 0) epoll_add(epoll_.get(), udp_fd_, EPOLLIN, kUdpTag);
  if (udp_fd_ >= 0 && cfg.fault == Fault::udp_schedule) {
    schedule_ = std::make_unique<UdpSchedule>(cfg.drop_every, cfg.duplicate_every, cfg.hold_every);
  }
  watch_listener(listen_fd_ >= 0);
  rng_ ^= static_cast<uint64_t>(std::time(nullptr));
}

void Worker::watch_listener(bool on) {
  if (listen_fd_ < 0 || on == listener_watched_) return;
  if (on) {
    // With several workers, EPOLLEXCLUSIVE wakes one of them per connection, not all.
    uint32_t ev = EPOLLIN | (cfg_.threads > 1 ? EPOLLEXCLUSIVE : 0u);
    epoll_add(epoll_.get(), listen_fd_, ev, kListenTag);
  } else {
    epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, listen_fd_, nullptr);
  }
  listener_watched_ = on;
}

// Until the next timer, to the microsecond: a reply held back for 50 us must not wait for the
// next whole millisecond (epoll_pwait2 takes a timespec where epoll_wait takes milliseconds).
timespec Worker::poll_timeout() const {
  auto wait = std::chrono::microseconds(1'000'000);  // idle and drain sweeps at least once a second
  if (!timers_.empty()) {
    auto left = std::chrono::ceil<std::chrono::microseconds>(timers_.top().at - Clock::now());
    wait = std::clamp(left, std::chrono::microseconds(0), wait);
  }
  auto us = wait.count();
  return timespec{static_cast<time_t>(us / 1'000'000), static_cast<long>(us % 1'000'000) * 1000};
}

void Worker::run() {
  epoll_event events[256];
  last_sweep_ = Clock::now();
  // The faults that hold replies back wake on timers: without slack (50 us by default) a
  // delay of 50 us would be one of 50 to 100.
  if (cfg_.fault == Fault::slow || cfg_.fault == Fault::busy) prctl(PR_SET_TIMERSLACK, 1UL);
  for (;;) {
    // Bytes held inside a TLS session wake no epoll: with any listed, only look, do not wait.
    timespec timeout = tls_pending_.empty() ? poll_timeout() : timespec{0, 0};
    int n = epoll_pwait2(epoll_.get(), events, 256, &timeout, nullptr);
    if (n < 0 && errno != EINTR) {
      err_ << sys_error("epoll_pwait2", "", errno) << std::endl;
      return;
    }
    for (int i = 0; i < n; ++i) {
      uint64_t tag = events[i].data.u64;
      if (tag == kStopTag) {
        shared_.stopping = true;  // tells a blocking UDP thread, which has no epoll, to stop
        return;
      }
      if (tag == kListenTag) {
        accept_all();
      } else if (tag == kUdpTag) {
        on_udp();
      } else {
        auto it = conns_.find(static_cast<int>(tag));
        if (it != conns_.end()) on_conn_event(*it->second, events[i].events);
      }
    }
    run_tls_pending();
    run_timers();
    if (Clock::now() - last_sweep_ >= std::chrono::seconds(1)) sweep();
  }
}

void Worker::accept_all() {
  for (int budget = 0; budget < 64; ++budget) {
    Addr peer;
    peer.len = sizeof peer.ss;
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer.ss), &peer.len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      if (e == EAGAIN || e == EINTR || e == ECONNABORTED) return;
      if ((e == EMFILE || e == ENFILE) && reserve_) {
        // Out of descriptors: use the spare to take the connection off the queue and close it,
        // so the listener stops reporting it (no busy loop) and the client is told at once.
        reserve_.reset();
        Fd shed(::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC));
        shed.reset();
        reserve_ = Fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        auto now = Clock::now();
        if (now - last_emfile_report_ > std::chrono::seconds(1)) {
          err_ << sys_error("accept", "", e) << ": shedding connections (" << conns_.size()
               << " open in this thread)" << std::endl;
          last_emfile_report_ = now;
        }
        continue;
      }
      err_ << sys_error("accept", "", e) << std::endl;
      return;
    }
    Fd conn(fd);
    if (cfg_.max_connections > 0 && shared_.connections.load() >= cfg_.max_connections) {
      continue;  // over the limit: closed at once
    }
    add_conn(std::move(conn), peer);
    if (cfg_.fault == Fault::iterative) {
      watch_listener(false);  // the bug: nobody else is accepted until this client leaves
      return;
    }
  }
}

void Worker::add_conn(Fd fd, const Addr& peer) {
  auto c = std::make_unique<Conn>();
  c->fd = std::move(fd);
  c->peer = peer;
  if (tls_) {
    c->tls = std::make_unique<TlsSession>(tls_->get(), c->fd.get());
    if (!c->tls->valid()) return;  // out of memory: closed at once, as over the limit
    if (cfg_.fault == Fault::tls_renegotiation_reset) c->tls->fail_on_renegotiation();
    // TLS writes a reply right behind its own records (the session tickets after a handshake):
    // with Nagle on, the reply waits for the client's delayed ACK of those, 40 ms on Linux.
    int one = 1;
    if (peer.ss.ss_family != AF_UNIX)
      ::setsockopt(c->fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  if (cfg_.fault == Fault::ignore_partial_send) {
    // A small send buffer, as small stacks have, so short sends happen under ordinary load.
    int sndbuf = 16 * 1024;
    setsockopt(c->fd.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  }
  c->last_active = Clock::now();
  int key = c->fd.get();
  Conn& ref = *c;
  conns_[key] = std::move(c);
  ++shared_.connections;
  ref.events = EPOLLIN | rdhup_;
  epoll_add(epoll_.get(), key, ref.events, static_cast<uint64_t>(key));
  if (!ref.tls) start_service(ref);  // TLS: once the handshake is done
}

// What a service sends unasked when a connection opens.
void Worker::start_service(Conn& ref) {
  std::time_t now = std::time(nullptr);
  switch (cfg_.service) {
    case Service::daytime:
      ref.close_after_flush = true;
      reply(ref, daytime(now), false);
      break;
    case Service::time:
      ref.close_after_flush = true;
      reply(ref, rfc868_time(now), false);
      break;
    case Service::chargen:
      flush(ref);  // flush refills chargen output while the socket takes it
      break;
    default:
      break;
  }
}

void Worker::on_conn_event(Conn& c, uint32_t ev) {
  if (c.tls) {
    on_tls_event(c, ev);
    return;
  }
  int key = c.fd.get();
  if (ev & EPOLLERR) {  // a pending socket error (reset): the connection is dead
    close_conn(c, false);
    return;
  }
  if ((ev & EPOLLRDHUP) && cfg_.fault == Fault::drop_after_fin) {
    close_conn(c, false);  // the bug: FIN seen, so quit, though input ahead of it is unread
    return;
  }
  if (ev & EPOLLOUT) {
    flush(c);
    if (!conns_.count(key)) return;
  }
  if (ev & (EPOLLIN | EPOLLHUP)) {
    size_t want = cfg_.fault == Fault::truncate_1024 ? 1024 : kReadSize;
    for (int reads = 0; reads < 16 && (c.events & EPOLLIN); ++reads) {
      ssize_t n = ::recv(key, rx_.data(), want, 0);
      if (n > 0) {
        c.last_active = Clock::now();
        if (c.draining) continue;  // after our FIN: read and drop until the client closes
        on_data(c, std::string_view(rx_.data(), static_cast<size_t>(n)));
        if (!conns_.count(key)) return;
        if (static_cast<size_t>(n) < want) break;
        continue;
      }
      if (n == 0) {
        on_fin(c);
        return;
      }
      if (errno == EAGAIN || errno == EINTR) break;
      close_conn(c, false);  // ECONNRESET and the like: the client is gone
      return;
    }
    if ((ev & EPOLLHUP) && !(c.events & EPOLLIN)) close_conn(c, false);  // nothing more can move
  }
}

// A reply can close `c` (the client reset it), so after one `c` is used only if its key is
// still in conns_.
void Worker::on_data(Conn& c, std::string_view data) {
  bool once = cfg_.fault == Fault::truncate_1024 || cfg_.fault == Fault::close_after_first;
  if (once && c.answered) return;
  const int key = c.fd.get();
  switch (cfg_.service) {
    case Service::echo:
    case Service::upper:
      c.answered = true;
      reply(c, data, cfg_.service == Service::upper);
      break;
    case Service::chat: {
      std::vector<Conn*> to;
      for (auto& [fd, other] : conns_) {
        if (fd != key || cfg_.fault == Fault::chat_echo_sender) to.push_back(other.get());
      }
      for (Conn* o : to) {
        if (o->draining || o->peer_fin) continue;
        if (o->out.size() - o->out_off > kChatMaxBacklog) {
          close_conn(*o, false);  // too slow to keep up with the room
          continue;
        }
        reply(*o, data);
      }
      return;
    }
    default:
      return;  // discard, chargen, daytime, time: input is thrown away
  }
  if (once && conns_.count(key)) {
    c.close_after_flush = true;
    after_flush(c);
  }
}

void Worker::on_fin(Conn& c) {
  c.peer_fin = true;
  if (c.draining || cfg_.fault == Fault::drop_after_fin) {
    close_conn(c, false);
    return;
  }
  update(c);
  after_flush(c);
}

// Appends a reply to the connection's output (no temporary copy on the common path) and
// sends what the socket takes.
void Worker::reply(Conn& c, std::string_view bytes, bool upper) {
  std::string rewritten;
  if (cfg_.fault == Fault::crlf || cfg_.fault == Fault::slow || cfg_.fault == Fault::busy ||
      cfg_.fault == Fault::reset_midstream) {
    rewritten = upper ? ascii_upper(bytes) : std::string(bytes);
    if (!apply_reply_fault(c, rewritten)) return;
    bytes = rewritten;
    upper = false;
  }
  if (c.out_off > 0 && c.out_off == c.out.size()) {
    c.out.clear();
    c.out_off = 0;
  }
  size_t start = c.out.size();
  c.out.append(bytes);
  if (cfg_.fault == Fault::duplicate_reply) c.out.append(bytes);
  if (cfg_.sockperf_compat) c.sockperf.rewrite(c.out.data() + start, bytes.size());
  if (upper) {
    for (size_t i = start; i < c.out.size(); ++i) {
      if (c.out[i] >= 'a' && c.out[i] <= 'z') c.out[i] = static_cast<char>(c.out[i] - 32);
    }
  }
  flush(c);
}

// The faults that change a reply: false when the reply is held back (slow) for later.
bool Worker::apply_reply_fault(Conn& c, std::string& bytes) {
  if (cfg_.fault == Fault::crlf) bytes = lf_to_crlf(bytes);
  if (cfg_.fault == Fault::slow || cfg_.fault == Fault::busy) {
    auto at = reply_time(Clock::now());
    c.delayed.emplace_back(at, std::move(bytes));
    timers_.push({at, c.fd.get()});
    return false;
  }
  if (cfg_.fault == Fault::reset_midstream) {
    uint64_t queued = c.sent_total + (c.out.size() - c.out_off);
    uint64_t room = kResetAfter - std::min<uint64_t>(kResetAfter, queued);
    if (bytes.size() >= room) {
      bytes.resize(room);
      c.reset_after_flush = true;
    }
  }
  return true;
}

// When a held-back reply leaves. slow: a fixed delay after the request. busy: requests are
// served one after another, each taking busy-us after the previous one, as one thread busy
// that long per request would serve them: capacity 1 / busy-us. The time is kept on a timer
// instead of burning CPU, so a shared machine leaving the server little CPU does not lower it.
// A server that was not scheduled for a while reads late what came in meanwhile; counting its
// queue from the read would lose that time, so up to kBusyCredit of idle time before the read
// counts as already spent (its queue then drains faster, never more than kBusyCredit / busy-us
// requests beyond the rate). Every reply still takes at least busy-us.
Clock::time_point Worker::reply_time(Clock::time_point now) {
  if (cfg_.fault == Fault::slow)
    return now + (cfg_.delay_us ? std::chrono::microseconds(cfg_.delay_us)
                                : std::chrono::microseconds(cfg_.delay_ms * 1000ULL));
  constexpr auto kBusyCredit = std::chrono::milliseconds(50);
  auto busy = std::chrono::microseconds(cfg_.busy_us);
  busy_until_ = std::max(busy_until_, now - kBusyCredit) + busy;
  return std::max(busy_until_, now + busy);
}

void Worker::flush(Conn& c) {
  // A TLS session writes nothing before its handshake ends: what a chat room sends it
  // meanwhile waits in `out`.
  if (c.tls && !c.tls->handshake_done()) return;
  for (;;) {
    if (c.out_off == c.out.size()) {
      c.out.clear();
      c.out_off = 0;
      if (cfg_.service != Service::chargen || c.peer_fin || c.draining) break;
      while (c.out.size() < kReadSize) c.out += c.chargen.next_line();
    }
    const char* data = c.out.data() + c.out_off;
    size_t left = c.out.size() - c.out_off;
    ssize_t n = c.tls ? tls_send(c, data, left) : ::send(c.fd.get(), data, left, MSG_NOSIGNAL);
    bool again = c.tls ? n == 0 : n < 0 && (errno == EAGAIN || errno == EINTR);
    if (n > 0) {
      c.out_off += static_cast<size_t>(n);
      c.sent_total += static_cast<uint64_t>(n);
      if (cfg_.fault == Fault::ignore_partial_send) {
        c.out.clear();  // the bug: whatever send() did not take is forgotten
        c.out_off = 0;
        break;
      }
      continue;
    }
    if (again) {
      if (cfg_.fault == Fault::ignore_partial_send) {
        c.out.clear();
        c.out_off = 0;
      }
      break;
    }
    close_conn(c, false);  // EPIPE / ECONNRESET: the client went away
    return;
  }
  update(c);
  after_flush(c);
}

// What to do once nothing is left to send.
void Worker::after_flush(Conn& c) {
  if (!conns_.count(c.fd.get())) return;
  if (c.out_off != c.out.size() || !c.delayed.empty()) return;
  if (c.reset_after_flush) {
    close_conn(c, true);
    return;
  }
  if (c.close_after_flush && !c.draining) {
    // Half-close and keep reading until the client closes: closing with unread input
    // would turn our FIN into an RST and could destroy the reply in flight. Over TLS the
    // close_notify is the half-close; the FIN after it tells clients that wait for EOF.
    if (!send_close_notify(c)) return;
    ::shutdown(c.fd.get(), SHUT_WR);
    c.draining = true;
    c.last_active = Clock::now();
    if (c.peer_fin) close_conn(c, false);
    return;
  }
  if (c.peer_fin && cfg_.fault != Fault::no_close_on_fin) {
    if (!send_close_notify(c)) return;
    close_conn(c, false);
  }
}

void Worker::update(Conn& c) {
  size_t pending = c.out.size() - c.out_off;
  // Backpressure with hysteresis: stop reading above the high mark, resume below the low one.
  bool reading = (c.events & EPOLLIN) != 0;
  if (c.peer_fin) {
    reading = false;
  } else if (pending > kHighWater) {
    reading = false;
  } else if (pending <= kLowWater) {
    reading = true;
  }
  bool writing = pending > 0 || c.close_notify_waiting;
  uint32_t want = (reading ? EPOLLIN : 0u) | (writing ? EPOLLOUT : 0u) | rdhup_ | c.tls_extra;
  if (c.tls) {
    // A handshake waits for one direction only; both would spin on a level-triggered one.
    if (!c.tls->handshake_done()) want = (c.tls_extra ? c.tls_extra : EPOLLIN) | rdhup_;
    if (reading) note_tls_pending(c);
  }
  if (want == c.events) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = static_cast<uint64_t>(c.fd.get());
  epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
  c.events = want;
}

void Worker::close_conn(Conn& c, bool reset) {
  int key = c.fd.get();
  if (reset) {
    linger l{1, 0};
    setsockopt(key, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  } else if (c.tls && cfg_.fault != Fault::tls_no_close_notify) {
    c.tls->close_notify();  // best effort: a socket with no room now gets none
  }
  conns_.erase(key);  // closes the fd, which also leaves the epoll set
  --shared_.connections;
  if (cfg_.fault == Fault::iterative && conns_.empty()) watch_listener(true);
}

void Worker::run_timers() {
  auto now = Clock::now();
  while (!timers_.empty() && timers_.top().at <= now) {
    int fd = timers_.top().fd;
    timers_.pop();
    if (fd < 0) {
      while (!udp_delayed_.empty() && udp_delayed_.front().at <= now) {
        send_datagram(udp_delayed_.front().to, udp_delayed_.front().bytes);
        udp_delayed_.pop_front();
      }
      continue;
    }
    auto it = conns_.find(fd);
    if (it == conns_.end()) continue;
    Conn& c = *it->second;
    while (!c.delayed.empty() && c.delayed.front().first <= now) {
      c.out += c.delayed.front().second;
      c.delayed.pop_front();
    }
    flush(c);
  }
}

void Worker::sweep() {
  auto now = Clock::now();
  last_sweep_ = now;
  std::vector<Conn*> expired;
  for (auto& [fd, c] : conns_) {
    auto idle = now - c->last_active;
    if (c->draining && idle > kDrainLimit) expired.push_back(c.get());
    if (cfg_.idle_timeout_s > 0 && idle > std::chrono::seconds(cfg_.idle_timeout_s)) {
      expired.push_back(c.get());
    }
  }
  for (Conn* c : expired) {
    if (conns_.count(c->fd.get())) close_conn(*c, false);
  }
}

}  // namespace sockspec::refserver
