// connect, open, listen, accept, shutdown, close.
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>

#include "common/codec.h"
#include "engine/machine.h"
#include "engine/receive.h"
#include "engine/resolve.h"
#include "engine/tls_handshake.h"
#include "net/socket.h"

namespace sockspec::engine {

namespace {

using scenario::Transport;

net::Options to_net(const scenario::SocketOptions& o) {
  net::Options n;
  auto b = [](const std::optional<bool>& v) { return v ? (*v ? 1 : 0) : -1; };
  n.reuseaddr = b(o.reuseaddr);
  n.reuseport = b(o.reuseport);
  n.nodelay = b(o.nodelay);
  n.v6only = b(o.v6only);
  n.cork = b(o.cork);
  n.rcvbuf = o.rcvbuf.value_or(0);
  n.sndbuf = o.sndbuf.value_or(0);
  return n;
}

int socktype(Transport t) { return t == Transport::tcp ? SOCK_STREAM : SOCK_DGRAM; }

// Every socket a step creates. The loop keeps fds registered until they close, so it must
// hear that this number now names a new file (see EventLoop::adopt).
net::SocketResult open_step_socket(const StepScope& s, int family, int type,
                                   const scenario::SocketOptions& o) {
  auto sock = net::open_socket(family, type, to_net(o));
  if (sock.ok()) s.env.loop.adopt(sock.fd.get());
  return sock;
}

// Shared by connect and listen: an operation that may be asserted to fail with an errno.
class ErrnoAsserting : public Machine {
 public:
  ErrnoAsserting(StepScope& s, const scenario::Step& step, net::Deadline d, std::string& bound,
                 std::optional<std::string> expect_error)
      : Machine(s, step, d, bound), expect_error_(std::move(expect_error)) {}

 protected:
  Progress failed(const net::NetError& e) { return failed_call(e, expect_error_); }
  // The operation worked: fail when a failure was asserted.
  bool unexpected_success(const std::string& what) {
    if (!expect_error_) return false;
    fail(what + " succeeded, but " + *expect_error_ + " was expected");
    return true;
  }
  std::optional<std::string> expect_error_;
};

class ConnectMachine : public ErrnoAsserting {
 public:
  ConnectMachine(StepScope& s, const scenario::Step& step, net::Deadline d, std::string& bound)
      : ErrnoAsserting(s, step, d, bound, std::get<scenario::ConnectOp>(step.op).expect_error),
        op_(std::get<scenario::ConnectOp>(step.op)) {}

  Progress advance(uint32_t ev) override {
    if (ev == kStart) return begin();
    if (conn_.fd) return handshaking(handshake_.resume(), ev == 0);
    if (ev == 0) {
      std::string msg = "connect " + peer_.to_string() + ": no answer " + within();
      if (expect_error_) msg += " (expected " + *expect_error_ + ")";
      return fail(msg, ETIMEDOUT);
    }
    net::NetError e = net::finish_connect(fd_.get(), peer_);
    if (e.err == EINPROGRESS || e.err == EALREADY) return wait(fd_.get(), EPOLLOUT);
    if (e.err != 0) return failed(e);
    return connected();
  }

 private:
  Progress begin() {
    Transport t = op_.transport.value_or(Transport::tcp);
    auto to = resolve_endpoint(op_.to, scope_.vars, scope_.env.target, socktype(t));
    if (!to.error.empty()) return error("connect: " + to.error);
    peer_ = to.addr;
    auto sock = open_step_socket(scope_, peer_.family(), socktype(t), op_.options);
    if (!sock.ok()) return error(sock.error.to_string(), sock.error.err);
    fd_ = std::move(sock.fd);
    if (op_.bind) {
      auto b = resolve_endpoint(*op_.bind, scope_.vars, scope_.env.target, socktype(t));
      if (!b.error.empty()) return error("bind: " + b.error);
      if (auto e = net::bind_to(fd_.get(), b.addr); e.err) return failed(e);
    } else if (peer_.family() == AF_UNIX && t == Transport::udp) {
      // An unbound AF_UNIX datagram socket cannot be answered: take an abstract name.
      if (auto e = net::bind_to(fd_.get(), net::any_address(AF_UNIX)); e.err) return failed(e);
    } else if (scope_.env.source_addresses > 0 && peer_.family() == AF_INET &&
               peer_.is_loopback()) {
      auto n = scope_.vars.client.value_or(0) % scope_.env.source_addresses;
      auto src = net::resolve("127.0.0." + std::to_string(1 + n), 0, socktype(t));
      if (!src.addrs.empty()) {
        if (auto e = net::bind_to(fd_.get(), src.addrs.front()); e.err) return failed(e);
      }
    }
    net::NetError e = net::start_connect(fd_.get(), peer_);
    if (e.err == EINPROGRESS) return wait(fd_.get(), EPOLLOUT);
    if (e.err != 0) return failed(e);
    return connected();
  }

  // TLS when the step says so, or when it reaches a tls: target and does not say otherwise.
  bool wants_tls() const {
    if (op_.tls) return *op_.tls;
    return scope_.env.target.tls && op_.transport.value_or(Transport::tcp) == Transport::tcp &&
           op_.to.text == "target";
  }

  Progress connected() {
    bool tls = wants_tls();
    bool tls_expected = expect_error_ && scenario::is_tls_error_name(*expect_error_);
    if (!tls_expected && unexpected_success("connect " + peer_.to_string())) return {true};
    Transport t = op_.transport.value_or(Transport::tcp);
    Conn c;
    c.fd = std::move(fd_);
    c.transport = t;
    c.kind = t == Transport::tcp ? Conn::Kind::stream : Conn::Kind::udp_connected;
    c.peer = peer_;
    c.frame = op_.frame;
    if (t == Transport::udp && scope_.env.udp_sequence)
      c.sequence = std::make_unique<UdpSequence>();
    from_ = net::local_address(c.fd.get()).to_string();
    if (tls) {
      conn_ = std::move(c);
      std::string host = op_.to.text == "target" ? scope_.env.target.host : peer_.host();
      auto settings = tls_settings(scope_.env.target, op_.tls_options, host);
      return handshaking(handshake_.start(scope_.env, conn_, settings), false);
    }
    if (tls_expected) return fail("connected without TLS, but " + *expect_error_ + " was expected");
    scope_.conns[op_.conn] = std::move(c);
    return pass_described([&] { return "connected to " + peer_.to_string() + " from " + from_; });
  }

  Progress handshaking(TlsHandshake::State st, bool timed_out) {
    using State = TlsHandshake::State;
    if (st == State::want_read || st == State::want_write) {
      if (!timed_out) return wait(conn_.fd.get(), st == State::want_read ? EPOLLIN : EPOLLOUT);
      std::string msg = "tls handshake with " + peer_.to_string() + ": no answer " + within();
      if (expect_error_) msg += " (expected " + *expect_error_ + ")";
      return fail(msg, ETIMEDOUT);
    }
    if (st == State::failed) {
      std::string why = "tls handshake with " + peer_.to_string() + ": " + handshake_.error();
      if (expect_error_ && tls_error_matches(*expect_error_, handshake_.error()))
        return pass(why + ", as expected");
      if (handshake_.sys_errno())
        return failed(net::NetError{"tls handshake", peer_.to_string(), handshake_.sys_errno()});
      if (expect_error_) why += " (expected " + *expect_error_ + ")";
      return fail(why);
    }
    if (expect_error_) {
      return fail("tls handshake with " + peer_.to_string() + " succeeded, but " + *expect_error_ +
                  " was expected");
    }
    conn_.tls = handshake_.take();
    scope_.conns[op_.conn] = std::move(conn_);
    return pass_described([&] {
      return "connected to " + peer_.to_string() + " from " + from_ + "; " + handshake_.summary();
    });
  }

  const scenario::ConnectOp& op_;
  net::Fd fd_;
  net::SockAddr peer_;
  Conn conn_;  // while its TLS handshake runs
  TlsHandshake handshake_;
  std::string from_;
};

class OpenMachine : public Machine {
 public:
  using Machine::Machine;
  Progress advance(uint32_t) override {
    const auto& op = std::get<scenario::OpenOp>(step_.op);
    net::SockAddr local = net::any_address(scope_.env.target.addr.family());
    if (op.bind) {
      auto b = resolve_endpoint(*op.bind, scope_.vars, scope_.env.target, SOCK_DGRAM);
      if (!b.error.empty()) return error("bind: " + b.error);
      local = b.addr;
    }
    auto sock = open_step_socket(scope_, local.family(), SOCK_DGRAM, op.options);
    if (!sock.ok()) return error(sock.error.to_string(), sock.error.err);
    // Bind now (port 0 if not asked), so ${conn.NAME.local_port} is known before a send.
    if (auto e = net::bind_to(sock.fd.get(), local); e.err) return fail(e.to_string(), e.err);
    Conn c;
    c.fd = std::move(sock.fd);
    c.transport = Transport::udp;
    c.kind = Conn::Kind::udp_open;
    c.peer = scope_.env.target.addr;
    if (scope_.env.udp_sequence) c.sequence = std::make_unique<UdpSequence>();
    std::string where = net::local_address(c.fd.get()).to_string();
    scope_.conns[op.conn] = std::move(c);
    return pass("bound " + where);
  }
};

class ListenMachine : public ErrnoAsserting {
 public:
  ListenMachine(StepScope& s, const scenario::Step& step, net::Deadline d, std::string& bound)
      : ErrnoAsserting(s, step, d, bound, std::get<scenario::ListenOp>(step.op).expect_error) {}

  Progress advance(uint32_t) override {
    const auto& op = std::get<scenario::ListenOp>(step_.op);
    Transport t = op.transport.value_or(Transport::tcp);
    auto b = resolve_endpoint(op.bind, scope_.vars, scope_.env.target, socktype(t));
    if (!b.error.empty()) return error("bind: " + b.error);
    auto sock = open_step_socket(scope_, b.addr.family(), socktype(t), op.options);
    if (!sock.ok()) return error(sock.error.to_string(), sock.error.err);
    if (auto e = net::bind_to(sock.fd.get(), b.addr); e.err) return failed(e);
    if (t == Transport::tcp && ::listen(sock.fd.get(), op.backlog) != 0) {
      return failed({"listen", b.addr.to_string(), errno});
    }
    std::string where = net::local_address(sock.fd.get()).to_string();
    if (unexpected_success("bind " + where)) return {true};
    Conn c;
    c.fd = std::move(sock.fd);
    c.transport = t;
    c.kind = t == Transport::tcp ? Conn::Kind::listener : Conn::Kind::udp_open;
    c.peer = scope_.env.target.addr;
    scope_.conns[op.conn] = std::move(c);
    return pass(std::string(t == Transport::tcp ? "listening on " : "bound ") + where);
  }
};

class AcceptMachine : public Machine {
 public:
  using Machine::Machine;
  Progress advance(uint32_t ev) override {
    const auto& op = std::get<scenario::AcceptOp>(step_.op);
    Conn* l = conn(op.conn);
    if (!l) return {true};
    if (ev == 0) return fail("no connection arrived on " + op.conn + " " + within(), ETIMEDOUT);
    net::SockAddr peer;
    peer.len = sizeof peer.storage;
    int fd = ::accept4(l->fd.get(), peer.get(), &peer.len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
        return wait(l->fd.get(), EPOLLIN);
      return error(
          net::NetError{"accept", net::local_address(l->fd.get()).to_string(), errno}.to_string(),
          errno);
    }
    scope_.env.loop.adopt(fd);
    Conn c;
    c.fd = net::Fd(fd);
    c.transport = Transport::tcp;
    c.kind = Conn::Kind::stream;
    c.peer = peer;
    c.frame = op.frame;
    scope_.conns[op.as] = std::move(c);
    return pass("accepted " + peer.to_string() + " as " + op.as);
  }
};

class ShutdownMachine : public Machine {
 public:
  using Machine::Machine;
  Progress advance(uint32_t) override {
    const auto& op = std::get<scenario::ShutdownOp>(step_.op);
    Conn* c = conn(op.conn);
    if (!c) return {true};
    int how = op.how == scenario::ShutdownHow::write  ? SHUT_WR
              : op.how == scenario::ShutdownHow::read ? SHUT_RD
                                                      : SHUT_RDWR;
    if (c->tls && how != SHUT_RD) {
      // TLS ends the writing side with close_notify and keeps the TCP stream open for the
      // peer's answer and its own close_notify (TLS 1.3 half-close); both also closes TCP's.
      auto r = c->tls->close_notify();
      if (r == net::TlsIo::want_write) {
        if (!sent_retry_) {
          sent_retry_ = true;
          return wait(c->fd.get(), EPOLLOUT);
        }
      }
      if (r == net::TlsIo::failed) {
        return fail("close_notify to " + c->peer.to_string() + ": " + c->tls->error(),
                    c->tls->sys_errno());
      }
      if (how == SHUT_WR) return pass("sent close_notify");
    }
    if (::shutdown(c->fd.get(), how) != 0) {
      return fail(net::NetError{"shutdown", c->peer.to_string(), errno}.to_string(), errno);
    }
    return pass();
  }

 private:
  bool sent_retry_ = false;
};

class CloseMachine : public Machine {
 public:
  using Machine::Machine;
  Progress advance(uint32_t) override {
    const auto& op = std::get<scenario::CloseOp>(step_.op);
    Conn* c = conn(op.conn);
    if (!c) return {true};
    if (op.abort) {
      if (auto e = net::set_abortive_close(c->fd.get()); e.err) return error(e.to_string(), e.err);
    }
    // A TLS conn says close_notify first (if the socket takes it now: a close never waits).
    bool notified = c->tls && !op.abort && c->tls->close_notify() == net::TlsIo::ok;
    scope_.conns.erase(op.conn);  // the Fd closes here
    return pass(op.abort ? "closed with RST" : notified ? "closed after close_notify" : "closed");
  }
};

}  // namespace

std::unique_ptr<Machine> make_socket_machine(StepScope& s, const scenario::Step& step,
                                             net::Deadline d, std::string& bound) {
  using namespace scenario;
  if (std::holds_alternative<ConnectOp>(step.op))
    return std::make_unique<ConnectMachine>(s, step, d, bound);
  if (std::holds_alternative<OpenOp>(step.op))
    return std::make_unique<OpenMachine>(s, step, d, bound);
  if (std::holds_alternative<ListenOp>(step.op))
    return std::make_unique<ListenMachine>(s, step, d, bound);
  if (std::holds_alternative<AcceptOp>(step.op))
    return std::make_unique<AcceptMachine>(s, step, d, bound);
  if (std::holds_alternative<ShutdownOp>(step.op))
    return std::make_unique<ShutdownMachine>(s, step, d, bound);
  if (std::holds_alternative<CloseOp>(step.op))
    return std::make_unique<CloseMachine>(s, step, d, bound);
  return nullptr;
}

}  // namespace sockspec::engine
