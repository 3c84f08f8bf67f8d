// TLS steps on an open conn: starttls (the handshake in mid-case) and renegotiate.
#include <sys/epoll.h>

#include <cerrno>

#include "engine/machine.h"
#include "engine/receive.h"
#include "engine/tls_handshake.h"

namespace sockspec::engine {

namespace {

// STARTTLS: the handshake on a conn that spoke plaintext until now.
class StartTlsMachine : public Machine {
 public:
  using Machine::Machine;
  Progress advance(uint32_t ev) override {
    const auto& op = std::get<scenario::StartTlsOp>(step_.op);
    Conn* c = conn(op.conn);
    if (!c) return {true};
    TlsHandshake::State st;
    if (ev == kStart) {
      if (c->tls) return error("starttls: " + op.conn + " already speaks TLS");
      if (!c->rx.empty()) {
        return fail("starttls: " + std::to_string(c->rx.size()) + " bytes received before it " +
                    preview(c->rx) + " would be taken for TLS; expect them first");
      }
      auto settings =
          tls_settings(scope_.env.target, op.tls_options,
                       c->peer == scope_.env.target.addr ? scope_.env.target.host : c->peer.host());
      st = handshake_.start(scope_.env, *c, settings);
    } else {
      st = handshake_.resume();
    }
    using State = TlsHandshake::State;
    if (st == State::want_read || st == State::want_write) {
      if (ev != 0) return wait(c->fd.get(), st == State::want_read ? EPOLLIN : EPOLLOUT);
      return fail("tls handshake with " + c->peer.to_string() + ": no answer " + within(),
                  ETIMEDOUT);
    }
    if (st == State::failed) {
      std::string why = "tls handshake with " + c->peer.to_string() + ": " + handshake_.error();
      // The conn stays, dead for anything but close and expect_eof.
      c->tls = handshake_.take();
      if (op.expect_error && tls_error_matches(*op.expect_error, handshake_.error()))
        return pass(why + ", as expected");
      if (op.expect_error) why += " (expected " + *op.expect_error + ")";
      return fail(why, handshake_.sys_errno());
    }
    c->tls = handshake_.take();
    if (op.expect_error)
      return fail("tls handshake succeeded, but " + *op.expect_error + " was expected");
    return pass_described([&] { return handshake_.summary(); });
  }

 private:
  TlsHandshake handshake_;
};

// A new handshake on a TLS conn: TLS 1.2's renegotiation, a KeyUpdate in TLS 1.3.
class RenegotiateMachine : public Machine {
 public:
  using Machine::Machine;
  Progress advance(uint32_t ev) override {
    const auto& op = std::get<scenario::RenegotiateOp>(step_.op);
    Conn* c = conn(op.conn);
    if (!c) return {true};
    if (!c->tls) return error("renegotiate: '" + op.conn + "' does not speak TLS");
    net::TlsIo io;
    if (ev == kStart) {
      io = c->tls->renegotiate();
      if (io == net::TlsIo::ok) io = c->tls->handshake();
    } else if (ev == 0) {
      return fail("renegotiation with " + c->peer.to_string() + ": no answer " + within(),
                  ETIMEDOUT);
    } else {
      io = c->tls->handshake();
    }
    if (io == net::TlsIo::want_read || io == net::TlsIo::want_write)
      return wait(c->fd.get(), io == net::TlsIo::want_read ? EPOLLIN : EPOLLOUT);
    if (io == net::TlsIo::ok) {
      if (op.expect_error)
        return fail("renegotiation succeeded, but " + *op.expect_error + " was expected");
      if (c->tls->key_update())
        return pass("TLS 1.3 has no renegotiation: a KeyUpdate asking for the server's was sent");
      return pass("renegotiated: " + c->tls->describe());
    }
    // OpenSSL ends the connection after a refusal: the conn is good for nothing more.
    const std::string why = c->tls->error();
    c->tls_error = why;
    c->reset_errno = c->tls->sys_errno();
    std::string what = "renegotiation with " + c->peer.to_string() + ": " + why;
    bool declined = why.find("no renegotiation") != std::string::npos;
    if (declined && op.refusal_ok)
      return pass("the server declined renegotiation with a no_renegotiation alert");
    if (op.expect_error && tls_error_matches(*op.expect_error, why))
      return pass(what + ", as expected");
    if (!declined && op.refusal_ok)
      what += " (neither done nor declined with a no_renegotiation alert)";
    if (op.expect_error) what += " (expected " + *op.expect_error + ")";
    return fail(what, c->tls->sys_errno());
  }
};

}  // namespace

std::unique_ptr<Machine> make_tls_machine(StepScope& s, const scenario::Step& step, net::Deadline d,
                                          std::string& bound) {
  if (std::holds_alternative<scenario::StartTlsOp>(step.op))
    return std::make_unique<StartTlsMachine>(s, step, d, bound);
  if (std::holds_alternative<scenario::RenegotiateOp>(step.op))
    return std::make_unique<RenegotiateMachine>(s, step, d, bound);
  return nullptr;
}

}  // namespace sockspec::engine
