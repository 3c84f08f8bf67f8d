#include "record/proxy.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>

#include "common/codec.h"
#include "net/address.h"
#include "net/socket.h"
#include "record/side_io.h"
#include "scenario/endpoint.h"

namespace sockspec::record {

namespace {

using scenario::Transport;
constexpr size_t kMaxPending = 4 << 20;  // stop reading a side while this much waits to be sent
constexpr uint64_t kCancelTag = ~0ull, kListenTag = ~0ull - 1;

struct AddrOr {
  net::SockAddr addr;
  std::string error;
};

AddrOr address_of(const std::string& text, int socktype) {
  auto ep = scenario::parse_endpoint(text);
  if (!ep.endpoint || ep.endpoint->is_target)
    return {{}, ep.endpoint ? "name an address, not \"target\"" : ep.error};
  if (ep.endpoint->is_unix()) return {net::unix_address(ep.endpoint->unix_path), ""};
  auto r = net::resolve(ep.endpoint->host, ep.endpoint->port, socktype);
  if (r.addrs.empty()) return {{}, r.error};
  return {r.addrs.front(), ""};
}

bool is_reset(int err) { return err == ECONNRESET || err == EPIPE || err == ECONNABORTED; }

class Epoll {
 public:
  Epoll() : fd_(epoll_create1(EPOLL_CLOEXEC)) {}
  void set(int fd, uint32_t events, uint64_t tag, bool add) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = tag;
    epoll_ctl(fd_.get(), add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
  }
  void del(int fd) { epoll_ctl(fd_.get(), EPOLL_CTL_DEL, fd, nullptr); }
  int wait(epoll_event* evs, int n) { return epoll_wait(fd_.get(), evs, n, 1000); }

 private:
  net::Fd fd_;
};

// What both proxies hold: the options, the listening socket, the upstream and one epoll loop
// that already watches the listener and the stop signal.
class ProxyBase {
 public:
  ProxyBase(const ProxyOptions& o, net::Fd listener, net::SockAddr upstream, std::ostream& err)
      : o_(o), listener_(std::move(listener)), upstream_(upstream), err_(err) {
    ep_.set(listener_.get(), EPOLLIN, kListenTag, true);
    if (o_.cancel_fd >= 0) ep_.set(o_.cancel_fd, EPOLLIN, kCancelTag, true);
  }

 protected:
  const ProxyOptions& o_;
  net::Fd listener_;
  net::SockAddr upstream_;
  std::ostream& err_;
  Epoll ep_;
};

// The proxy for stream sockets: each accepted client gets its own upstream connection.
class StreamProxy : ProxyBase {
 public:
  using ProxyBase::ProxyBase;

  std::vector<scenario::Case> run() {
    epoll_event evs[64];
    while (!(o_.sessions && ended_ >= o_.sessions)) {
      int n = ep_.wait(evs, 64);
      bool cancel = false;
      for (int i = 0; i < n; ++i) {
        uint64_t tag = evs[i].data.u64;
        if (tag == kCancelTag) {
          cancel = true;
        } else if (tag == kListenTag) {
          accept_one();
        } else {
          on_event(tag >> 1, (tag & 1) != 0, evs[i].events);
        }
      }
      if (cancel) break;
    }
    // What already arrived (a client's last FIN) still belongs to the recording.
    for (size_t id = 0; id < flows_.size(); ++id) {
      if (flows_[id]->open()) {
        on_event(id, false, EPOLLIN);
        on_event(id, true, EPOLLIN);
      }
    }
    std::vector<const Session*> sessions;
    for (const auto& f : flows_) {
      if (f->connected) sessions.push_back(&f->rec);  // one never relayed is not a session
    }
    return recorded_cases(sessions, o_.record);
  }

 private:
  struct Flow {
    Flow(net::Fd c, net::Fd s, bool connected_now, Session r)
        : client(std::move(c)), server(std::move(s)), connected(connected_now), rec(std::move(r)) {}
    net::Fd client, server;
    std::unique_ptr<net::TlsSession> client_tls, server_tls;      // recording through TLS
    bool client_wants_write = false, server_wants_write = false;  // TLS needs room to go on
    bool connected = false;
    std::string to_server, to_client;
    bool client_done = false, server_done = false;  // EOF read
    bool client_gone = false, server_gone = false;  // hung up after its EOF: no longer watched
    bool done = false;
    Session rec;
    bool open() const { return !done; }
  };

  void accept_one() {
    net::SockAddr peer;
    peer.len = sizeof peer.storage;
    int fd = ::accept4(listener_.get(), peer.get(), &peer.len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    net::Fd client(fd);
    auto sock = net::open_socket(upstream_.family(), SOCK_STREAM, {});
    net::NetError e = sock.ok() ? net::start_connect(sock.fd.get(), upstream_) : sock.error;
    if (e.err != 0 && e.err != EINPROGRESS) {
      err_ << "record: client " << peer.to_string() << " not relayed: " << e.to_string() << "\n";
      return;
    }
    std::string who = peer.family() == AF_UNIX ? "an AF_UNIX client" : peer.to_string();
    auto f = std::make_unique<Flow>(
        std::move(client), std::move(sock.fd), e.err == 0,
        Session(Transport::tcp, who, conn_name(flows_.size(), o_.record), Clock::now(), o_.record));
    if (o_.tls_server) {
      std::string why;
      f->client_tls = o_.tls_server->accept(f->client.get(), why);
      if (!f->client_tls) {
        err_ << "record: client " << who << " not relayed: " << why << "\n";
        return;
      }
    }
    if (f->connected && !start_upstream_tls(*f)) return;
    size_t id = flows_.size();
    ep_.set(f->client.get(), EPOLLIN, id << 1, true);
    ep_.set(f->server.get(), EPOLLOUT, id << 1 | 1, true);
    flows_.push_back(std::move(f));
  }

  void finish(Flow& f) {
    if (f.done) return;
    f.done = true;
    f.client.reset();
    f.server.reset();
    if (f.connected) ++ended_;
  }

  // RST towards `fd`'s peer where the family has one (SO_LINGER 0), then the flow is over.
  void abort_to(Flow& f, net::Fd& fd) {
    if (fd) net::set_abortive_close(fd.get());
    finish(f);
  }

  void on_event(size_t id, bool server_side, uint32_t ev) {
    Flow& f = *flows_[id];
    if (f.done) return;
    if (server_side && !f.connected) {
      if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      net::NetError e = net::finish_connect(f.server.get(), upstream_);
      if (e.err == EINPROGRESS || e.err == EALREADY) return;
      if (e.err != 0) {
        err_ << "record: " << f.rec.client() << " not relayed: " << e.to_string() << "\n";
        abort_to(f, f.client);
        return;
      }
      f.connected = true;
      if (!start_upstream_tls(f)) return;
    }
    // A side that sent its EOF and then hung up (AF_UNIX reports that for as long as it
    // lasts) is no longer watched, or the loop would spin on it.
    if ((ev & (EPOLLHUP | EPOLLERR)) && (server_side ? f.server_done : f.client_done)) {
      ep_.del((server_side ? f.server : f.client).get());
      (server_side ? f.server_gone : f.client_gone) = true;
    }
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_side(f, server_side);
    // TLS may also go on when the socket becomes writable (a handshake's flight).
    if ((ev & EPOLLOUT) && (server_side ? f.server_wants_write : f.client_wants_write))
      read_side(f, server_side);
    if (!f.done) flush(f);
    // OpenSSL may hold decrypted bytes the socket no longer shows: epoll would not say so.
    for (int round = 0; round < 8 && !f.done; ++round) {
      bool more = false;
      for (bool side : {false, true}) {
        auto& t = side ? f.server_tls : f.client_tls;
        bool done = side ? f.server_done : f.client_done;
        const std::string& to = side ? f.to_client : f.to_server;
        if (t && !done && t->pending() && to.size() < kMaxPending) {
          read_side(f, side);
          more = true;
        }
      }
      if (!more || f.done) break;
      flush(f);
    }
    if (!f.done) interest(f, id);
  }

  // The proxy's TLS to the server begins as soon as TCP's connect does: its first flight now.
  bool start_upstream_tls(Flow& f) {
    if (!o_.tls_server) return true;
    std::string why;
    f.server_tls = tls_client_.start(f.server.get(), o_.upstream_tls, upstream_.to_string(), why);
    if (!f.server_tls) {
      err_ << "record: " << f.rec.client() << " not relayed: " << why << "\n";
      abort_to(f, f.client);
      return false;
    }
    if (f.server_tls->handshake() == net::TlsIo::failed) {
      err_ << "record: " << f.rec.client() << " not relayed: tls handshake with "
           << upstream_.to_string() << ": " << f.server_tls->error() << "\n";
      abort_to(f, f.client);
      return false;
    }
    return true;
  }

  void read_side(Flow& f, bool server_side) {
    bool& done = server_side ? f.server_done : f.client_done;
    if (done || (server_side && !f.connected)) return;
    std::string& to = server_side ? f.to_client : f.to_server;
    char buf[64 * 1024];
    for (int reads = 0; reads < 16 && to.size() < kMaxPending; ++reads) {
      net::TlsSession* tls = (server_side ? f.server_tls : f.client_tls).get();
      ssize_t n = side_read((server_side ? f.server : f.client).get(), tls, buf, sizeof buf,
                            server_side ? f.server_wants_write : f.client_wants_write);
      if (n < 0 && tls && errno != EAGAIN) {
        err_ << "record: " << f.rec.client() << ": tls with the "
             << (server_side ? "server: " : "client: ") << tls->error() << "\n";
      }
      auto now = Clock::now();
      if (n > 0) {
        std::string_view got(buf, static_cast<size_t>(n));
        server_side ? f.rec.server_sent(got, now) : f.rec.client_sent(got, now);
        to.append(got);
        continue;
      }
      if (n == 0) {
        done = true;
        server_side ? f.rec.server_eof(now) : f.rec.client_eof(now);
        return;
      }
      if (errno == EAGAIN || errno == EINTR) return;
      // A reset (or any other failure) ends the flow; the other side learns it by an RST.
      server_side ? f.rec.server_reset(now) : f.rec.client_reset(now);
      abort_to(f, server_side ? f.client : f.server);
      return;
    }
  }

  // Writes what waits; a side whose peer finished and whose queue is empty gets the FIN.
  void flush(Flow& f) {
    auto write = [&](std::string& q, bool to_server) {
      while (!q.empty()) {
        ssize_t n = side_write((to_server ? f.server : f.client).get(),
                               (to_server ? f.server_tls : f.client_tls).get(), q);
        if (n > 0) {
          q.erase(0, static_cast<size_t>(n));
          continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
        if (n < 0 && is_reset(errno) && to_server) f.rec.server_reset(Clock::now());
        finish(f);  // the receiver is gone: nothing more can be relayed
        return false;
      }
      return true;
    };
    if (f.connected && !write(f.to_server, true)) return;
    if (!write(f.to_client, false)) return;
    if (f.client_done && f.to_server.empty() && f.connected)
      side_end(f.server.get(), f.server_tls.get());
    if (f.server_done && f.to_client.empty()) side_end(f.client.get(), f.client_tls.get());
    if (f.client_done && f.server_done && f.to_server.empty() && f.to_client.empty()) finish(f);
  }

  void interest(Flow& f, size_t id) {
    uint32_t c = (!f.client_done && f.to_server.size() < kMaxPending ? EPOLLIN : 0u) |
                 (f.to_client.empty() && !f.client_wants_write ? 0u : EPOLLOUT);
    uint32_t s = !f.connected
                     ? EPOLLOUT
                     : (!f.server_done && f.to_client.size() < kMaxPending ? EPOLLIN : 0u) |
                           (f.to_server.empty() && !f.server_wants_write ? 0u : EPOLLOUT);
    if (!f.client_gone) ep_.set(f.client.get(), c, id << 1, false);
    if (!f.server_gone) ep_.set(f.server.get(), s, id << 1 | 1, false);
  }

  net::TlsClient tls_client_;  // the proxy's TLS to the server (before the flows: they use it)
  std::vector<std::unique_ptr<Flow>> flows_;
  uint64_t ended_ = 0;
};

// The proxy for datagram sockets: each client address gets its own upstream socket, so the
// server's replies can be told apart and sent back to the right client.
class DatagramProxy : ProxyBase {
 public:
  using ProxyBase::ProxyBase;

  std::vector<scenario::Case> run() {
    epoll_event evs[64];
    for (bool cancel = false; !cancel;) {
      int n = ep_.wait(evs, 64);
      for (int i = 0; i < n; ++i) {
        uint64_t tag = evs[i].data.u64;
        if (tag == kCancelTag) cancel = true;
        if (tag == kListenTag) from_clients();
        if (tag < peers_.size()) from_server(tag);
      }
    }
    from_clients();  // what already arrived belongs to the recording
    for (size_t id = 0; id < peers_.size(); ++id) from_server(id);
    std::vector<const Session*> sessions;
    for (const auto& p : peers_) sessions.push_back(&p->rec);
    return recorded_cases(sessions, o_.record);
  }

 private:
  struct Peer {
    net::SockAddr client;
    net::Fd server;  // connected to the upstream
    Session rec;
  };

  void from_clients() {
    char buf[65536];
    for (int round = 0; round < 64; ++round) {
      net::SockAddr from;
      from.len = sizeof from.storage;
      ssize_t n = ::recvfrom(listener_.get(), buf, sizeof buf, 0, from.get(), &from.len);
      if (n < 0) return;
      std::string key = from.to_string();
      if (from.family() == AF_UNIX && from.unix_path().empty()) {
        err_ << "record: a datagram from an unbound AF_UNIX socket cannot be answered; skipped\n";
        continue;
      }
      auto it = by_client_.find(key);
      if (it == by_client_.end()) {
        auto id = open_peer(from);
        if (!id) continue;
        it = by_client_.emplace(key, *id).first;
      }
      Peer& p = *peers_[it->second];
      p.rec.client_sent(std::string_view(buf, static_cast<size_t>(n)), Clock::now());
      if (::send(p.server.get(), buf, static_cast<size_t>(n), MSG_DONTWAIT) < 0) {
        err_ << "record: " << net::NetError{"send", upstream_.to_string(), errno}.to_string()
             << "\n";
      }
    }
  }

  std::optional<size_t> open_peer(const net::SockAddr& client) {
    auto sock = net::open_socket(upstream_.family(), SOCK_DGRAM, {});
    net::NetError e = sock.error;
    // An AF_UNIX datagram socket needs a name of its own to be answered.
    if (!e.err && upstream_.family() == AF_UNIX)
      e = net::bind_to(sock.fd.get(), net::any_address(AF_UNIX));
    if (!e.err) e = net::start_connect(sock.fd.get(), upstream_);
    if (e.err) {
      err_ << "record: client " << client.to_string() << " not relayed: " << e.to_string() << "\n";
      return std::nullopt;
    }
    size_t id = peers_.size();
    ep_.set(sock.fd.get(), EPOLLIN, id, true);
    peers_.push_back(
        std::make_unique<Peer>(Peer{client, std::move(sock.fd),
                                    Session(Transport::udp, client.to_string(),
                                            conn_name(id, o_.record), Clock::now(), o_.record)}));
    return id;
  }

  void from_server(size_t id) {
    Peer& p = *peers_[id];
    char buf[65536];
    for (int round = 0; round < 64; ++round) {
      ssize_t n = ::recv(p.server.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0) return;  // EAGAIN, or an ICMP error for an earlier datagram: nothing to relay
      p.rec.server_sent(std::string_view(buf, static_cast<size_t>(n)), Clock::now());
      ::sendto(listener_.get(), buf, static_cast<size_t>(n), MSG_DONTWAIT, p.client.get(),
               p.client.len);
    }
  }

  std::vector<std::unique_ptr<Peer>> peers_;
  std::map<std::string, size_t> by_client_;
};

// Removes the listening socket's file when recording ends (abstract names leave none).
struct RemoveSocketFile {
  std::string path;
  ~RemoveSocketFile() {
    if (!path.empty() && path[0] != '@') ::unlink(path.c_str());
  }
};

}  // namespace

Recorded record_sessions(const ProxyOptions& o, std::ostream& out, std::ostream& err) {
  Recorded r;
  bool dgram = o.transport == Transport::udp;
  int type = dgram ? SOCK_DGRAM : SOCK_STREAM;
  auto listen_at = address_of(o.listen, type);
  auto upstream = address_of(o.upstream, type);
  if (!listen_at.error.empty() || !upstream.error.empty()) {
    r.exit_code = 2;
    r.error = !listen_at.error.empty() ? "--listen " + o.listen + ": " + listen_at.error
                                       : "--upstream " + o.upstream + ": " + upstream.error;
    return r;
  }
  auto sock = net::open_socket(listen_at.addr.family(), type, {.reuseaddr = 1});
  net::NetError e = sock.error;
  if (!e.err) e = net::bind_to(sock.fd.get(), listen_at.addr);
  if (!e.err && !dgram && ::listen(sock.fd.get(), 128) != 0)
    e = {"listen", listen_at.addr.to_string(), errno};
  if (e.err) {
    r.exit_code = 2;
    r.error = "--listen: " + e.to_string();
    return r;
  }
  if (!dgram) {  // one connection first, so a typo fails now rather than at the first client
    if (auto reach = net::probe_connect(upstream.addr, 2000); reach.err) {
      r.exit_code = 3;
      r.error = "--upstream cannot be reached: " + reach.to_string();
      return r;
    }
  }
  RemoveSocketFile cleanup{listen_at.addr.unix_path()};
  net::SockAddr local = net::local_address(sock.fd.get());
  std::string kind =
      local.family() == AF_UNIX ? (dgram ? "unixgram " : "unix ") : (dgram ? "udp " : "tcp ");
  out << "listening " << kind << (local.family() == AF_UNIX ? local.unix_path() : local.to_string())
      << "\n";
  out.flush();
  r.cases = dgram ? DatagramProxy(o, std::move(sock.fd), upstream.addr, err).run()
                  : StreamProxy(o, std::move(sock.fd), upstream.addr, err).run();
  return r;
}

}  // namespace sockspec::record
