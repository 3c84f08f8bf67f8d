#include "impair/proxy.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_map>
#include <vector>

#include "impair/stream_relay.h"
#include "net/socket.h"

namespace sockspec::impair {

namespace {

using Clock = std::chrono::steady_clock;

// epoll data: an id and what it is.
enum Kind : uint64_t { kWakeFd = 0, kTcpListen = 1, kUdpListen = 2, kRelay = 3, kFlow = 4 };
uint64_t tagged(uint64_t id, Kind k) { return id << 3 | k; }

constexpr size_t kMaxDatagram = 65536;

// A UDP client seen by the proxy, and the relay's own socket towards the target for it, so
// replies find their way back to the right client.
struct Flow {
  net::SockAddr client;
  net::Fd upstream;
};

struct Pending {
  TimePoint when;
  uint64_t seq;  // equal times leave in the order they were decided
  bool to_server;
  Emit emit;
  bool operator>(const Pending& o) const { return when != o.when ? when > o.when : seq > o.seq; }
};

std::string counts_text(const char* name, const Counts& c) {
  std::string s = std::string(name) + ": " + std::to_string(c.arrived) + " arrived, " +
                  std::to_string(c.sent) + " sent";
  auto add = [&](const char* what, uint64_t n) {
    if (n) s += ", " + std::to_string(n) + " " + what;
  };
  add("dropped", c.dropped);
  add("dropped by the full rate-limited queue", c.overflowed);
  add("duplicated", c.duplicated);
  add("reordered", c.reordered);
  add("corrupted", c.corrupted);
  add("truncated", c.truncated);
  return s;
}

}  // namespace

std::string describe(const Stats& s) {
  std::string out;
  if (s.to_server.arrived || s.to_client.arrived)
    out = counts_text("datagrams to server", s.to_server) + "; " +
          counts_text("datagrams to client", s.to_client);
  if (s.stream.connections) {
    if (!out.empty()) out += "; ";
    out += "stream: " + std::to_string(s.stream.connections) + " connections, " +
           std::to_string(s.stream.bytes_to_server) + " bytes to server in " +
           std::to_string(s.stream.writes_to_server) + " writes, " +
           std::to_string(s.stream.bytes_to_client) + " bytes to client in " +
           std::to_string(s.stream.writes_to_client) + " writes";
    if (s.stream.resets) out += ", " + std::to_string(s.stream.resets) + " reset";
    if (s.stream.closes) out += ", " + std::to_string(s.stream.closes) + " closed";
    if (s.stream.upstream_failures)
      out += ", " + std::to_string(s.stream.upstream_failures) + " could not reach the target";
  }
  return out.empty() ? "no traffic" : out;
}

struct Proxy::Impl {
  Options o;
  net::SockAddr address;
  net::Fd epoll, wake, tcp_listen, udp_listen;

  mutable std::mutex mu;  // guards the four below, shared with the caller's thread
  std::condition_variable applied_cv;
  Spec shared_spec;
  uint64_t wanted = 0, applied = 0;  // generations of shared_spec
  Stats published;

  std::atomic<bool> stopping{false};
  std::thread thread;

  // Owned by the relay thread.
  Spec spec;
  Stats stats;
  Shaper up{{}, 0}, down{{}, 0};
  uint64_t next_id = 1, seq = 0;
  std::unordered_map<std::string, uint64_t> flow_of_client;
  std::unordered_map<uint64_t, Flow> flows;
  std::unordered_map<uint64_t, std::unique_ptr<StreamRelay>> relays;
  std::unordered_map<int, uint32_t> registered;  // fd -> events, for the relays' sockets
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> pending;
  std::priority_queue<std::pair<TimePoint, uint64_t>, std::vector<std::pair<TimePoint, uint64_t>>,
                      std::greater<>>
      relay_timers;
  std::vector<Emit> scratch;

  void run();
  void on_udp_listen(TimePoint now);
  void on_flow(uint64_t id, TimePoint now);
  void on_accept(TimePoint now);
  void pump_relay(uint64_t id, TimePoint now);
  void queue(bool to_server, TimePoint now);
  void deliver(TimePoint now);
  void watch(int fd, uint32_t events, uint64_t data);
};

void Proxy::Impl::watch(int fd, uint32_t events, uint64_t data) {
  if (fd < 0) return;
  auto it = registered.find(fd);
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = data;
  if (it == registered.end()) {
    epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &ev);
    registered.emplace(fd, events);
  } else if (it->second != events) {
    epoll_ctl(epoll.get(), EPOLL_CTL_MOD, fd, &ev);
    it->second = events;
  }
}

void Proxy::Impl::queue(bool to_server, TimePoint now) {
  (void)now;
  for (Emit& e : scratch) pending.push({e.when, seq++, to_server, std::move(e)});
  scratch.clear();
}

void Proxy::Impl::on_udp_listen(TimePoint now) {
  char buf[kMaxDatagram];
  for (int k = 0; k < 64; ++k) {  // bounded, so TCP and replies get their turn
    net::SockAddr from;
    from.len = sizeof from.storage;
    ssize_t n = ::recvfrom(udp_listen.get(), buf, sizeof buf, 0, from.get(), &from.len);
    if (n < 0) return;
    std::string key = from.to_string();
    auto f = flow_of_client.find(key);
    if (f == flow_of_client.end()) {
      auto s = net::open_socket(o.upstream.family(), SOCK_DGRAM, {});
      if (!s.ok() || ::connect(s.fd.get(), o.upstream.get(), o.upstream.len) != 0) continue;
      uint64_t id = next_id++;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = tagged(id, kFlow);
      epoll_ctl(epoll.get(), EPOLL_CTL_ADD, s.fd.get(), &ev);
      flows.emplace(id, Flow{from, std::move(s.fd)});
      f = flow_of_client.emplace(key, id).first;
    }
    up.admit(std::string(buf, static_cast<size_t>(n)), f->second, now, scratch);
    queue(true, now);
  }
}

void Proxy::Impl::on_flow(uint64_t id, TimePoint now) {
  auto f = flows.find(id);
  if (f == flows.end()) return;
  char buf[kMaxDatagram];
  for (int k = 0; k < 64; ++k) {
    ssize_t n = ::recv(f->second.upstream.get(), buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      continue;  // ECONNREFUSED from an earlier datagram: the target was not listening
    }
    down.admit(std::string(buf, static_cast<size_t>(n)), id, now, scratch);
    queue(false, now);
  }
}

void Proxy::Impl::on_accept(TimePoint now) {
  for (int k = 0; k < 64; ++k) {
    int c = ::accept4(tcp_listen.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) return;
    net::Fd client(c);
    // Writes leave as the pump makes them (a slice is a segment), not when Nagle allows.
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    net::Options nodelay;
    nodelay.nodelay = 1;
    auto s = net::open_socket(o.upstream.family(), SOCK_STREAM, nodelay);
    if (!s.ok()) continue;  // out of descriptors: the client's connection just closes
    net::start_connect(s.fd.get(), o.upstream);
    uint64_t id = next_id++;
    ++stats.stream.connections;
    relays.emplace(id, std::make_unique<StreamRelay>(std::move(client), std::move(s.fd), o.upstream,
                                                     now, o.seed + id));
    pump_relay(id, now);
  }
}

void Proxy::Impl::pump_relay(uint64_t id, TimePoint now) {
  auto it = relays.find(id);
  if (it == relays.end()) return;
  StreamRelay& r = *it->second;
  int fds[2] = {r.client_fd(), r.server_fd()};
  auto when = r.pump(spec, now, stats.stream);
  for (int fd : fds) {
    if (fd < 0) continue;
    if (fd != r.client_fd() && fd != r.server_fd()) {
      registered.erase(fd);  // closed by the relay: epoll forgot it too
      continue;
    }
    watch(fd, r.interest(fd), tagged(id, kRelay));
  }
  if (r.finished()) {
    relays.erase(it);
    return;
  }
  if (when) relay_timers.push({*when, id});
}

void Proxy::Impl::deliver(TimePoint now) {
  while (!pending.empty() && pending.top().when <= now) {
    const Pending& p = pending.top();
    auto f = flows.find(p.emit.tag);
    if (f != flows.end()) {
      if (p.to_server)
        ::send(f->second.upstream.get(), p.emit.bytes.data(), p.emit.bytes.size(), MSG_DONTWAIT);
      else
        ::sendto(udp_listen.get(), p.emit.bytes.data(), p.emit.bytes.size(), MSG_DONTWAIT,
                 f->second.client.get(), f->second.client.len);
    }
    pending.pop();
  }
}

void Proxy::Impl::run() {
  epoll_event events[64];
  while (!stopping.load(std::memory_order_relaxed)) {
    auto now = Clock::now();
    // The nearest thing due: a datagram, a relay's timer, a held-back datagram.
    TimePoint due = now + std::chrono::seconds(1);
    if (!pending.empty()) due = std::min(due, pending.top().when);
    if (!relay_timers.empty()) due = std::min(due, relay_timers.top().first);
    for (Shaper* s : {&up, &down})
      if (auto h = s->hold_deadline()) due = std::min(due, *h);
    auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(due - now).count();
    int n = epoll_wait(epoll.get(), events, 64, static_cast<int>(std::max<int64_t>(0, wait_ms)));
    now = Clock::now();
    for (int k = 0; k < n; ++k) {
      uint64_t data = events[k].data.u64;
      uint64_t id = data >> 3;
      switch (data & 7) {
        case kWakeFd: {
          uint64_t v;
          [[maybe_unused]] auto r = ::read(wake.get(), &v, sizeof v);
          std::lock_guard<std::mutex> lock(mu);
          if (applied != wanted) {
            spec = shared_spec;
            applied = wanted;
            up.set(spec.to_server);
            down.set(spec.to_client);
            for (auto& [rid, relay] : relays) relay_timers.push({now, rid});  // they apply now
            applied_cv.notify_all();
          }
          break;
        }
        case kTcpListen:
          on_accept(now);
          break;
        case kUdpListen:
          on_udp_listen(now);
          break;
        case kRelay:
          pump_relay(id, now);
          break;
        case kFlow:
          on_flow(id, now);
          break;
      }
    }
    for (Shaper* s : {&up, &down}) {
      s->expire(now, scratch);
      queue(s == &up, now);
    }
    deliver(now);
    while (!relay_timers.empty() && relay_timers.top().first <= now) {
      uint64_t id = relay_timers.top().second;
      relay_timers.pop();
      pump_relay(id, now);
    }
    stats.to_server = up.counts();
    stats.to_client = down.counts();
    std::lock_guard<std::mutex> lock(mu);
    published = stats;
  }
}

std::unique_ptr<Proxy> Proxy::start(const Options& o, std::string& error) {
  auto impl = std::make_unique<Impl>();
  impl->o = o;
  impl->spec = impl->shared_spec = o.spec;
  impl->up = Shaper(o.spec.to_server, o.seed ^ 0x5EB7E5u);
  impl->down = Shaper(o.spec.to_client, o.seed ^ 0xC11E47u);
  impl->epoll = net::Fd(epoll_create1(EPOLL_CLOEXEC));
  impl->wake = net::Fd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!impl->epoll || !impl->wake) {
    error = std::string("impairment proxy: ") + std::strerror(errno);
    return nullptr;
  }
  // TCP and UDP on the same port number, as the target has: a few tries, since another
  // program may hold the TCP port of the UDP one we got.
  // Loopback of the target's family, whatever address the target has.
  auto lo = net::resolve(o.upstream.family() == AF_INET6 ? "::1" : "127.0.0.1", 0, SOCK_DGRAM);
  if (lo.addrs.empty()) {
    error = "impairment proxy: no loopback address: " + lo.error;
    return nullptr;
  }
  net::SockAddr local = lo.addrs.front();
  for (int attempt = 0; attempt < 20 && !impl->tcp_listen; ++attempt) {
    auto u = net::open_socket(local.family(), SOCK_DGRAM, {});
    if (!u.ok()) break;
    if (auto e = net::bind_to(u.fd.get(), local); e.err) {
      error = "impairment proxy: " + e.to_string();
      return nullptr;
    }
    net::SockAddr bound = net::local_address(u.fd.get());
    net::Options topts;
    topts.reuseaddr = 1;
    auto t = net::open_socket(local.family(), SOCK_STREAM, topts);
    if (!t.ok() || net::bind_to(t.fd.get(), bound).err || ::listen(t.fd.get(), 4096) != 0) continue;
    impl->address = bound;
    impl->udp_listen = std::move(u.fd);
    impl->tcp_listen = std::move(t.fd);
  }
  if (!impl->tcp_listen) {
    error = "impairment proxy: no port free for both TCP and UDP on " + local.host();
    return nullptr;
  }
  for (auto [fd, kind] : {std::pair{impl->wake.get(), kWakeFd},
                          {impl->tcp_listen.get(), kTcpListen},
                          {impl->udp_listen.get(), kUdpListen}}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tagged(0, kind);
    epoll_ctl(impl->epoll.get(), EPOLL_CTL_ADD, fd, &ev);
  }
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<Proxy>(new Proxy(std::move(impl)));
}

Proxy::Proxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Proxy::~Proxy() {
  impl_->stopping = true;
  uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(impl_->wake.get(), &one, sizeof one);
  impl_->thread.join();
}

const net::SockAddr& Proxy::address() const { return impl_->address; }

// Returns once the relay thread applies it, so traffic the caller sends next meets the new
// conditions (an `impair` step followed by a `send`).
void Proxy::set(const Spec& spec) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->shared_spec = spec;
  uint64_t gen = ++impl_->wanted;
  uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(impl_->wake.get(), &one, sizeof one);
  impl_->applied_cv.wait_for(lock, std::chrono::seconds(2), [&] { return impl_->applied >= gen; });
}

Spec Proxy::spec() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->shared_spec;
}

Stats Proxy::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->published;
}

}  // namespace sockspec::impair
