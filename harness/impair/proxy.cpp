#include "impair/proxy.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <queue>
#include <thread>
#include <unordered_map>
#include <vector>

#include "impair/datagram_pipes.h"
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

}  // namespace

struct Proxy::Impl {
  Impl(const Options& opts, std::shared_ptr<ReleaseLog> log)
      : o(opts),
        mailbox(opts.spec),
        spec(opts.spec),
        pipes(opts.spec, opts.seed),
        releases(std::move(log)) {}

  Options o;
  net::SockAddr address;
  net::Fd epoll, tcp_listen, udp_listen;
  Mailbox mailbox;
  std::thread thread;

  // Owned by the relay thread.
  Spec spec;
  Stats stats;
  DatagramPipes pipes;
  ReleaseRecorder releases;
  uint64_t next_id = 1;
  std::unordered_map<std::string, uint64_t> flow_of_client;
  std::unordered_map<uint64_t, Flow> flows;
  std::unordered_map<uint64_t, std::unique_ptr<StreamRelay>> relays;
  std::unordered_map<int, uint32_t> registered;  // fd -> events, for the relays' sockets
  std::priority_queue<std::pair<TimePoint, uint64_t>, std::vector<std::pair<TimePoint, uint64_t>>,
                      std::greater<>>
      relay_timers;

  void run();
  void on_wake(TimePoint now);
  void on_udp_listen();
  void on_flow(uint64_t id);
  void on_accept(TimePoint now);
  void pump_relay(uint64_t id, TimePoint now);
  void send_due(bool to_server, const Emit& e);
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

// Each datagram is stamped with the clock read after its recv returned (see StreamRelay).
void Proxy::Impl::on_udp_listen() {
  char buf[kMaxDatagram];
  for (int k = 0; k < 64; ++k) {  // bounded, so TCP and replies get their turn
    net::SockAddr from;
    from.len = sizeof from.storage;
    ssize_t n = ::recvfrom(udp_listen.get(), buf, sizeof buf, 0, from.get(), &from.len);
    if (n < 0) return;
    TimePoint stamp = Clock::now();
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
    pipes.admit(true, std::string(buf, static_cast<size_t>(n)), f->second, stamp);
  }
}

void Proxy::Impl::on_flow(uint64_t id) {
  auto f = flows.find(id);
  if (f == flows.end()) return;
  char buf[kMaxDatagram];
  for (int k = 0; k < 64; ++k) {
    ssize_t n = ::recv(f->second.upstream.get(), buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      continue;  // ECONNREFUSED from an earlier datagram: the target was not listening
    }
    pipes.admit(false, std::string(buf, static_cast<size_t>(n)), id, Clock::now());
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
                                                     now, o.seed + id, id));
    pump_relay(id, now);
  }
}

void Proxy::Impl::pump_relay(uint64_t id, TimePoint now) {
  auto it = relays.find(id);
  if (it == relays.end()) return;
  StreamRelay& r = *it->second;
  int fds[2] = {r.client_fd(), r.server_fd()};
  auto when = r.pump(spec, now, stats.stream, releases);
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

void Proxy::Impl::send_due(bool to_server, const Emit& e) {
  auto f = flows.find(e.tag);
  if (f == flows.end()) return;
  releases.note({to_server, e.tag, e.index, e.bytes.size(), e.stamp, e.when, Clock::now()});
  if (to_server)
    ::send(f->second.upstream.get(), e.bytes.data(), e.bytes.size(), MSG_DONTWAIT);
  else
    ::sendto(udp_listen.get(), e.bytes.data(), e.bytes.size(), MSG_DONTWAIT, f->second.client.get(),
             f->second.client.len);
}

void Proxy::Impl::on_wake(TimePoint now) {
  auto next = mailbox.take();
  if (!next) return;
  spec = *next;
  pipes.set(spec);
  for (auto& [id, relay] : relays) relay_timers.push({now, id});  // they apply now
}

void Proxy::Impl::run() {
  epoll_event events[64];
  while (!mailbox.stopping()) {
    auto now = Clock::now();
    // The nearest thing due: a datagram, a held-back one, a relay's timer.
    TimePoint due = now + std::chrono::seconds(1);
    if (auto d = pipes.next_due()) due = std::min(due, *d);
    if (!relay_timers.empty()) due = std::min(due, relay_timers.top().first);
    auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(due - now).count();
    int n = epoll_wait(epoll.get(), events, 64, static_cast<int>(std::max<int64_t>(0, wait_ms)));
    now = Clock::now();
    for (int k = 0; k < n; ++k) {
      uint64_t data = events[k].data.u64;
      uint64_t id = data >> 3;
      switch (data & 7) {
        case kWakeFd:
          on_wake(now);
          break;
        case kTcpListen:
          on_accept(now);
          break;
        case kUdpListen:
          on_udp_listen();
          break;
        case kRelay:
          pump_relay(id, now);
          break;
        case kFlow:
          on_flow(id);
          break;
      }
    }
    pipes.deliver(now, [this](bool to_server, const Emit& e) { send_due(to_server, e); });
    while (!relay_timers.empty() && relay_timers.top().first <= now) {
      uint64_t id = relay_timers.top().second;
      relay_timers.pop();
      pump_relay(id, now);
    }
    stats.to_server = pipes.to_server();
    stats.to_client = pipes.to_client();
    stats.releases = releases.counts();
    mailbox.publish(stats);
  }
}

std::unique_ptr<Proxy> Proxy::start(const Options& o, std::string& error,
                                    std::shared_ptr<ReleaseLog> release_log) {
  auto impl = std::make_unique<Impl>(o, std::move(release_log));
  impl->epoll = net::Fd(epoll_create1(EPOLL_CLOEXEC));
  if (!impl->epoll || !impl->mailbox.ok()) {
    error = std::string("impairment proxy: ") + std::strerror(errno);
    return nullptr;
  }
  // TCP and UDP on the same port number, as the target has. The kernel picks a port free for
  // one protocol; the other may hold it (a load test's thousands of TCP connections take most
  // ephemeral TCP ports), so the tries alternate which protocol picks, and there are many: each
  // costs two binds.
  // Loopback of the target's family, whatever address the target has.
  auto lo = net::resolve(o.upstream.family() == AF_INET6 ? "::1" : "127.0.0.1", 0, SOCK_DGRAM);
  if (lo.addrs.empty()) {
    error = "impairment proxy: no loopback address: " + lo.error;
    return nullptr;
  }
  net::SockAddr local = lo.addrs.front();
  net::Options topts;
  topts.reuseaddr = 1;
  for (int attempt = 0; attempt < 200 && !impl->tcp_listen; ++attempt) {
    bool udp_picks = attempt % 2 == 0;
    auto u = net::open_socket(local.family(), SOCK_DGRAM, {});
    auto t = net::open_socket(local.family(), SOCK_STREAM, topts);
    if (!u.ok() || !t.ok()) {
      error = "impairment proxy: " + (u.ok() ? t.error : u.error).to_string();
      return nullptr;
    }
    int first = udp_picks ? u.fd.get() : t.fd.get(), second = udp_picks ? t.fd.get() : u.fd.get();
    if (auto e = net::bind_to(first, local); e.err) {
      error = "impairment proxy: " + e.to_string();
      return nullptr;
    }
    net::SockAddr bound = net::local_address(first);
    if (net::bind_to(second, bound).err || ::listen(t.fd.get(), 4096) != 0) continue;
    impl->address = bound;
    impl->udp_listen = std::move(u.fd);
    impl->tcp_listen = std::move(t.fd);
  }
  if (!impl->tcp_listen) {
    error = "impairment proxy: no port free for both TCP and UDP on " + local.host();
    return nullptr;
  }
  for (auto [fd, kind] : {std::pair{impl->mailbox.wake_fd(), kWakeFd},
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
  impl_->mailbox.stop();
  impl_->thread.join();
}

const net::SockAddr& Proxy::address() const { return impl_->address; }

// Returns once the relay thread applied it, so traffic the caller sends next meets the new
// conditions (an `impair` step followed by a `send`).
void Proxy::set(const Spec& spec) { impl_->mailbox.post(spec); }
Spec Proxy::spec() const { return impl_->mailbox.spec(); }
Stats Proxy::stats() const { return impl_->mailbox.stats(); }

}  // namespace sockspec::impair
