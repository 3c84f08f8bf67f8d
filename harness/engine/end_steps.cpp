// expect_eof, expect_reset, expect_silence: how a conversation ends, or that nothing more comes.
#include <sys/epoll.h>

#include <cerrno>

#include "common/codec.h"
#include "engine/client.h"
#include "engine/machine.h"
#include "engine/receive.h"
#include "net/socket.h"

namespace sockspec::engine {

namespace {

using scenario::Transport;

class ExpectEofMachine : public Machine {
 public:
  using Machine::Machine;
  Progress advance(uint32_t ev) override {
    const auto& op = std::get<scenario::ExpectEofOp>(step_.op);
    Conn* c = conn(op.conn);
    if (!c) return {true};
    for (;;) {
      if (!c->rx.empty()) {
        return fail(std::to_string(c->rx.size()) +
                    " unread bytes instead of EOF: " + preview(c->rx));
      }
      if (c->eof && c->tls && c->close_notify) return pass("peer closed its side (close_notify)");
      if (c->eof && c->tls) {
        // A bare FIN ends a TLS stream the way a truncation attack would.
        std::string what = "peer closed its side with a bare FIN, without close_notify";
        if (op.close_notify) return fail(what + " (close_notify was required)");
        return pass(what + " (a truncation would look the same)");
      }
      if (c->eof) return pass("peer closed its side (FIN)");
      if (c->reset_errno) {
        return fail("connection reset (" + errno_name(c->reset_errno) + "), not an orderly close",
                    c->reset_errno);
      }
      if (ev == 0)
        return fail("no EOF " + within() + " (the peer kept the connection open)", ETIMEDOUT);
      int err = 0;
      Read r = read_some(*c, scope_.env.loop, result.bytes_received, err);
      if (r == Read::again) return wait(c->fd.get(), EPOLLIN | EPOLLRDHUP);
      if (r == Read::failed && !c->reset_errno) return fail(read_error(*c, err), err);
    }
  }
};

class ExpectResetMachine : public Machine {
 public:
  using Machine::Machine;
  Progress advance(uint32_t ev) override {
    Conn* c = conn(std::get<scenario::ExpectResetOp>(step_.op).conn);
    if (!c) return {true};
    for (;;) {
      if (c->reset_errno) {
        result.errno_name = errno_name(c->reset_errno);
        std::string skipped = discarded_ ? " after " + std::to_string(discarded_) + " bytes" : "";
        return pass("connection reset (" + result.errno_name + ")" + skipped);
      }
      if (c->eof) return fail("orderly close (FIN), not a reset");
      if (ev == 0) return fail("no reset " + within(), ETIMEDOUT);
      // Data the peer sent before its RST is read and dropped: the assertion is the reset.
      discarded_ += c->rx.size();
      c->rx.clear();
      int err = 0;
      Read r = read_some(*c, scope_.env.loop, result.bytes_received, err);
      if (r == Read::again) return wait(c->fd.get(), EPOLLIN | EPOLLRDHUP);
      if (r == Read::failed && !c->reset_errno) return fail(read_error(*c, err), err);
    }
  }

 private:
  size_t discarded_ = 0;
};

class ExpectTlsAlertMachine : public Machine {
 public:
  using Machine::Machine;
  Progress advance(uint32_t ev) override {
    const auto& op = std::get<scenario::ExpectTlsAlertOp>(step_.op);
    Conn* c = conn(op.conn);
    if (!c) return {true};
    if (!c->tls) return error("expect_tls_alert: '" + op.conn + "' does not speak TLS");
    for (;;) {
      if (!c->tls_error.empty()) return alerted(*c, op);
      if (c->reset_errno) {
        return fail("connection reset (" + errno_name(c->reset_errno) + ") with no TLS alert",
                    c->reset_errno);
      }
      if (c->eof) {
        return fail(std::string("the peer closed (") +
                    (c->close_notify ? "close_notify" : "a bare FIN") + ") with no TLS alert");
      }
      if (ev == 0) return fail("no TLS alert " + within(), ETIMEDOUT);
      // Data that comes first is read and dropped: the assertion is the alert.
      discarded_ += c->rx.size();
      c->rx.clear();
      int err = 0;
      Read r = read_some(*c, scope_.env.loop, result.bytes_received, err);
      if (r == Read::again) return wait(c->fd.get(), EPOLLIN | EPOLLRDHUP);
      if (r == Read::failed && c->tls_error.empty()) return fail(read_error(*c, err), err);
    }
  }

 private:
  Progress alerted(const Conn& c, const scenario::ExpectTlsAlertOp& op) {
    // OpenSSL's words: "tlsv13 alert certificate required", "sslv3 alert handshake failure".
    const std::string& why = c.tls_error;
    size_t at = why.find("alert ");
    if (at == std::string::npos) return fail("a TLS error that is not an alert: " + why);
    std::string got = why.substr(at + 6);
    std::string skipped = discarded_ ? " after " + std::to_string(discarded_) + " bytes" : "";
    if (!op.alert) return pass("TLS alert: " + got + skipped);
    std::string want = *op.alert;
    for (char& ch : want) ch = ch == '_' ? ' ' : ch;
    if (got == want) return pass("TLS alert: " + got + skipped);
    return fail("TLS alert " + got + ", not " + *op.alert);
  }
  size_t discarded_ = 0;
};

class ExpectSilenceMachine : public Machine {
 public:
  using Machine::Machine;
  Progress advance(uint32_t ev) override {
    const auto& op = std::get<scenario::ExpectSilenceOp>(step_.op);
    Conn* c = conn(op.conn);
    if (!c) return {true};
    if (ev == kStart) {
      window_end_ = net::Clock::now() + std::chrono::milliseconds(op.for_ms);
      if (window_end_ > deadline_) {
        return fail("the case's deadline ends before the " + std::to_string(op.for_ms) +
                    " ms silence window");
      }
      if (!c->rx.empty()) return extra(*c, op, "unread data already buffered");
      if (c->eof) {
        if (op.allow_eof) return pass("nothing more: the peer had closed its side (FIN)");
        return fail("the peer had already closed the connection");
      }
    }
    if (ev == 0) return pass("nothing arrived in " + std::to_string(op.for_ms) + " ms");
    if (c->kind == Conn::Kind::listener) {
      return fail("a connection arrived during the " + std::to_string(op.for_ms) + " ms window");
    }
    if (c->transport == Transport::udp) {
      Datagram d;
      int r = recv_datagram(*c, scope_.env.loop, d);
      if (r == 0) return silence(*c);
      if (r < 0) return fail(net::NetError{"recv", c->peer.to_string(), errno}.to_string(), errno);
      result.bytes_received += d.full_size;
      return fail("a datagram arrived from " + d.from.to_string() + ": " + preview(d.bytes));
    }
    int err = 0;
    switch (read_some(*c, scope_.env.loop, result.bytes_received, err)) {
      case Read::again:
        return silence(*c);
      case Read::data:
        return extra(*c, op, "data arrived");
      case Read::eof:
        if (op.allow_eof) return pass("nothing more: the peer closed its side (FIN)");
        return fail("the peer closed the connection (FIN)");
      case Read::failed:
        return fail(read_error(*c, err), err);
    }
    return {true};
  }

 private:
  Progress silence(Conn& c) { return {false, c.fd.get(), EPOLLIN | EPOLLRDHUP, window_end_}; }
  // Bytes where none may come. With allow_eof the step is the "nothing more than expected"
  // check of a case, and says so: a server that answers twice is shown what it sent too many.
  Progress extra(const Conn& c, const scenario::ExpectSilenceOp& op, const std::string& what) {
    if (op.allow_eof) {
      return fail(std::to_string(c.rx.size()) + (c.rx.size() == 1 ? " byte" : " bytes") +
                  " more than expected (" + what + "): " + preview(c.rx));
    }
    return fail(what + ": " + preview(c.rx));
  }
  net::Deadline window_end_;
};

}  // namespace

std::unique_ptr<Machine> make_end_machine(StepScope& s, const scenario::Step& step, net::Deadline d,
                                          std::string& bound) {
  using namespace scenario;
  if (std::holds_alternative<ExpectEofOp>(step.op))
    return std::make_unique<ExpectEofMachine>(s, step, d, bound);
  if (std::holds_alternative<ExpectResetOp>(step.op))
    return std::make_unique<ExpectResetMachine>(s, step, d, bound);
  if (std::holds_alternative<ExpectTlsAlertOp>(step.op))
    return std::make_unique<ExpectTlsAlertMachine>(s, step, d, bound);
  if (std::holds_alternative<ExpectSilenceOp>(step.op)) {
    return std::make_unique<ExpectSilenceMachine>(s, step, d, bound);
  }
  return nullptr;
}

}  // namespace sockspec::engine
