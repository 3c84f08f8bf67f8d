// send and expect (the checks that nothing more comes are in end_steps.cpp).
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/codec.h"
#include "engine/client.h"
#include "engine/machine.h"
#include "engine/receive.h"
#include "engine/resolve.h"
#include "engine/sender.h"
#include "engine/step_cache.h"
#include "engine/udp_batch.h"
#include "net/socket.h"

namespace sockspec::engine {

namespace {

using scenario::Transport;

class SendMachine : public Machine {
 public:
  using Machine::Machine;

  Progress advance(uint32_t ev) override {
    const auto& op = std::get<scenario::SendOp>(step_.op);
    c_ = conn(op.conn);
    if (!c_) return {true};
    if (ev == kStart) {
      std::string why;
      const std::string* kept = scope_.env.step_cache
                                    ? scope_.env.step_cache->payload(op.payload, scope_.vars, why)
                                    : nullptr;
      if (!why.empty()) return error("send: " + why);
      if (kept) {
        bytes_ = *kept;  // the cache's map nodes outlive this step
      } else {
        auto b = payload_bytes(op.payload, scope_.vars);
        if (!b.error.empty()) return error("send: " + b.error);
        own_ = std::move(b.bytes);
        bytes_ = own_;
      }
      if (op.to) {
        auto to = resolve_endpoint(*op.to, scope_.vars, scope_.env.target, SOCK_DGRAM);
        if (!to.error.empty()) return error("send: " + to.error);
        dest_ = to.addr;
      } else {
        dest_ = c_->peer;
      }
    } else if (ev == 0 && read_at_ < deadline_ && net::Clock::now() < deadline_) {
      return read_slowly(op);  // the send waited kReadEvery without room: time for one read
    } else if (ev == 0) {
      return fail("sent " + std::to_string(result.bytes_sent) + " of " +
                      std::to_string(bytes_.size() * op.repeat) + " bytes " + within() +
                      " (the peer is not reading)",
                  ETIMEDOUT);
    }
    return c_->transport == Transport::tcp ? stream(op) : datagrams(op);
  }

 private:
  Progress stream(const scenario::SendOp& op) {
    while (copy_ < op.repeat) {
      if (bytes_.empty()) {
        ++copy_;
        continue;
      }
      int err = 0;
      ssize_t n = write_some(*c_, bytes_.data() + offset_, bytes_.size() - offset_, err);
      if (n < 0) {
        if (err != EAGAIN && err != EINTR) return failed(err);
        if (op.read_while_blocked == 0) return wait(c_->fd.get(), EPOLLOUT);
        return wait_then_read();
      }
      result.bytes_sent += static_cast<uint64_t>(n);
      c_->bytes_sent += static_cast<uint64_t>(n);
      remember(bytes_.substr(offset_, static_cast<size_t>(n)));
      offset_ += static_cast<size_t>(n);
      if (offset_ == bytes_.size()) {
        offset_ = 0;
        ++copy_;
      }
    }
    if (op.expect_error) return fail("send succeeded, but " + *op.expect_error + " was expected");
    return pass_described([&] { return "sent " + std::to_string(result.bytes_sent) + " bytes"; });
  }

  // A slow reader reads at most N bytes for every kReadEvery its send waits, never more: a
  // client that read whenever it could (each time the send blocked) would drain the server's
  // replies as fast as they came, its send buffer would never fill, and a server whose partial
  // writes lose bytes would pass. A correct server that blocks in its write while the client's
  // send waits still moves N bytes each kReadEvery, so the two never deadlock.
  static constexpr auto kReadEvery = std::chrono::milliseconds(10);

  Progress wait_then_read() {
    read_at_ = std::min(deadline_, net::Clock::now() + kReadEvery);
    return {false, c_->fd.get(), EPOLLOUT, read_at_};
  }

  Progress read_slowly(const scenario::SendOp& op) {
    int err = 0;
    Read r = read_some(*c_, scope_.env.loop, result.bytes_received, err,
                       static_cast<size_t>(op.read_while_blocked));
    if (r == Read::failed) return failed(err);
    return stream(op);  // the send may have room now; if not, it waits kReadEvery again
  }

  Progress datagrams(const scenario::SendOp& op) {
    bool connected = c_->kind == Conn::Kind::udp_connected;
    UdpSequence* seq = c_->sequence.get();
    // Many datagrams: in batches (UdpBatch), tagged or not, rather than a syscall each.
    while (op.repeat - copy_ > 1) {
      size_t want =
          static_cast<size_t>(std::min<uint64_t>(UdpBatch::kMaxCopies, op.repeat - copy_));
      std::optional<uint64_t> first_tag;
      if (seq) first_tag = seq->next;
      ssize_t sent =
          batch_.send(c_->fd.get(), dest_, connected, bytes_, first_tag, want, c_->no_gso);
      if (sent < 0) {
        if (errno == EAGAIN || errno == EINTR) return wait(c_->fd.get(), EPOLLOUT);
        return failed(errno);
      }
      auto n = static_cast<uint64_t>(sent);
      uint64_t bytes = n * (bytes_.size() + (seq ? UdpSequence::kTagSize : 0));
      copy_ += n;
      result.bytes_sent += bytes;
      c_->datagrams_sent += n;
      c_->bytes_sent += bytes;
      c_->last_datagram = bytes_;
      if (seq) {
        seq->next += n;
        seq->sent += n;
        seq->waiting.extend_to(seq->next);
      }
    }
    while (copy_ < op.repeat) {
      std::string_view wire = seq ? (tagged_ = UdpSequence::tag(seq->next)).append(bytes_) : bytes_;
      ssize_t n = connected
                      ? ::send(c_->fd.get(), wire.data(), wire.size(), 0)
                      : ::sendto(c_->fd.get(), wire.data(), wire.size(), 0, dest_.get(), dest_.len);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return wait(c_->fd.get(), EPOLLOUT);
        return failed(errno);
      }
      result.bytes_sent += static_cast<uint64_t>(n);
      c_->datagrams_sent += 1;
      c_->bytes_sent += static_cast<uint64_t>(n);
      c_->last_datagram = bytes_;
      if (seq) {
        seq->waiting.extend_to(++seq->next);
        ++seq->sent;
      }
      ++copy_;
    }
    if (op.expect_error) return fail("send succeeded, but " + *op.expect_error + " was expected");
    return pass_described([&] {
      return "sent " + std::to_string(op.repeat) + " datagram(s) of " +
             std::to_string(bytes_.size()) + " bytes to " + dest_.to_string();
    });
  }

  Progress failed(int err) {
    const auto& op = std::get<scenario::SendOp>(step_.op);
    if (is_reset(err)) c_->reset_errno = err;
    std::string tls = c_->tls && !c_->tls_error.empty() ? " (" + c_->tls_error + ")" : "";
    return failed_call({"send", dest_.to_string(), err}, op.expect_error,
                       tls + " after " + std::to_string(result.bytes_sent) + " bytes");
  }

  void remember(std::string_view sent) {
    if (c_->sent_overflow || !scope_.env.keep_sent) return;
    if (c_->sent_since_expect.size() + sent.size() > kMaxEchoBytes) {
      c_->sent_overflow = true;
      std::string().swap(c_->sent_since_expect);  // clear() would keep the capacity
      return;
    }
    c_->sent_since_expect.append(sent);
  }

  Conn* c_ = nullptr;
  std::string_view bytes_;  // the payload: own_, or the run's cache of fixed payloads
  std::string own_, tagged_;
  UdpBatch batch_;
  net::SockAddr dest_;
  uint64_t copy_ = 0;
  size_t offset_ = 0;
  net::Deadline read_at_ = net::Deadline::max();  // when a blocked send takes its next read
};

class ExpectMachine : public Machine {
 public:
  using Machine::Machine;

  Progress advance(uint32_t ev) override {
    const auto& op = std::get<scenario::ExpectOp>(step_.op);
    c_ = conn(op.conn);
    if (!c_) return {true};
    if (ev == kStart) {
      std::string why;
      matcher_ = scope_.env.step_cache
                     ? scope_.env.step_cache->matcher(op.matcher, scope_.vars, why)
                     : nullptr;
      if (!why.empty()) return error("expect: " + why);
      if (!matcher_) {
        auto m = resolve_matcher(op.matcher, *c_, scope_.vars);
        if (!m.matcher) return error("expect: " + m.error);
        own_matcher_ = std::move(*m.matcher);
        matcher_ = &*own_matcher_;
      }
      if (c_->transport == Transport::udp) {
        auto f = resolve_sender(op.from, c_->peer, scope_.vars, scope_.env.target);
        if (!f.error.empty()) return error("expect: " + f.error);
        sender_ = f.rule;
      }
    }
    if (ev == 0) return timed_out();
    return c_->transport == Transport::tcp ? stream() : datagram();
  }

 private:
  Progress stream() {
    const auto& op = std::get<scenario::ExpectOp>(step_.op);
    for (;;) {
      const auto& frame = op.frame ? op.frame : c_->frame;
      auto out = frame ? match::match_framed(*matcher_, *frame, c_->rx, c_->eof)
                       : match::match_stream(*matcher_, c_->rx, c_->eof);
      if (out.kind == match::Outcome::Kind::matched) {
        std::string got = op.expect_error || !scope_.env.brief
                              ? preview(std::string_view(c_->rx).substr(0, out.consumed))
                              : std::string();
        c_->rx.erase(0, out.consumed);
        c_->sent_since_expect.clear();
        c_->sent_overflow = false;
        if (op.expect_error)
          return fail("received " + got + ", but " + *op.expect_error + " was expected");
        if (auto err = capture(op, out); !err.empty()) return fail(err);
        return pass_described([&] {
          return "matched " + std::to_string(out.consumed) + " bytes " + got + captured(op);
        });
      }
      if (out.kind == match::Outcome::Kind::mismatch) return mismatch(out);
      if (c_->reset_errno) return reset(c_->reset_errno);
      int err = 0;
      switch (read_some(*c_, scope_.env.loop, result.bytes_received, err)) {
        case Read::data:
        case Read::eof:
          continue;
        case Read::again:
          return wait(c_->fd.get(), EPOLLIN | EPOLLRDHUP);
        case Read::failed:
          return reset(err);
      }
    }
  }

  Progress datagram() {
    const auto& op = std::get<scenario::ExpectOp>(step_.op);
    Datagram d;
    UdpSequence* seq = c_->sequence.get();
    if (seq && !seq->waiting.empty() && seq->early.count(seq->waiting.front())) {
      d.bytes = std::move(seq->early[seq->waiting.front()]);  // it came early; it is its turn now
      seq->early.erase(seq->waiting.front());
      d.full_size = d.bytes.size();
      d.from = c_->peer;
      take(*seq);
      return judge(op, d);
    }
    for (;;) {
      int r = recv_datagram(*c_, scope_.env.loop, d);
      if (r == 0) return wait(c_->fd.get(), EPOLLIN);
      if (r < 0) return reset(errno);
      result.bytes_received += d.full_size;
      c_->bytes_received += d.full_size;
      if (!seq || seq->waiting.empty()) break;
      auto tag = UdpSequence::parse(d.bytes);
      if (!tag) break;  // untagged: judged (and failed) as it is
      if (*tag == seq->waiting.front()) {
        d.bytes.erase(0, UdpSequence::kTagSize);
        d.full_size -= UdpSequence::kTagSize;
        take(*seq);
        break;
      }
      if (seq->answered.count(*tag)) {
        ++seq->duplicates;
      } else if (seq->abandoned.count(*tag)) {
        ++seq->late;
        seq->abandoned.erase(*tag);
        seq->answered.insert(*tag);
      } else if (seq->waiting.contains(*tag)) {
        ++seq->reordered;
        seq->early[*tag] = d.bytes.substr(UdpSequence::kTagSize);
      } else {
        break;  // a tag we never sent: judged as a wrong reply
      }
    }
    return judge(op, d);
  }

  std::string capture(const scenario::ExpectOp& op, const match::Outcome& out) {
    if (out.groups.empty() && out.fields.empty()) return "";
    return bind_captures(op.matcher, out, scope_.client.captures());
  }
  std::string captured(const scenario::ExpectOp& op) const {
    const auto* r = std::get_if<scenario::RegexMatch>(&op.matcher.kind);
    bool parts = std::holds_alternative<scenario::PartsMatch>(op.matcher.kind);
    if ((!r || r->capture.empty()) && !op.capture_from && !parts) return "";
    if (parts && !op.capture_from && scope_.client.captures().empty()) return "";
    return "; captured " + scope_.client.captures().describe();
  }

  void take(UdpSequence& seq) {
    seq.answered.insert(seq.waiting.front());
    seq.waiting.pop_front();
    seq.forget_old();
  }

  Progress judge(const scenario::ExpectOp& op, const Datagram& d) {
    if (d.full_size > d.bytes.size()) {
      return fail("datagram of " + std::to_string(d.full_size) +
                  " bytes is larger than any UDP payload");
    }
    if (!sender_.accepts(d.from)) {
      return fail("datagram from " + d.from.to_string() + ", expected from " + sender_.describe() +
                  ": " + preview(d.bytes));
    }
    auto out = match::match_datagram(*matcher_, d.bytes);
    if (out.kind == match::Outcome::Kind::mismatch) return mismatch(out);
    if (op.expect_error)
      return fail("received a datagram, but " + *op.expect_error + " was expected");
    if (auto err = capture(op, out); !err.empty()) return fail(err);
    if (op.capture_from) scope_.client.captures().set(*op.capture_from, d.from.to_string());
    return pass_described([&] {
      return "matched a " + std::to_string(d.bytes.size()) + "-byte datagram from " +
             d.from.to_string() + captured(op);
    });
  }

  Progress mismatch(const match::Outcome& out) {
    if (out.diff_offset)
      result.mismatch = make_mismatch(out.expected, out.actual, *out.diff_offset);
    // A regex's mismatch already names its pattern; bytes and lengths say what was expected.
    if (std::holds_alternative<match::Regex>(*matcher_)) return fail(out.why);
    return fail(out.why + "; expected " + match::describe(*matcher_));
  }

  Progress reset(int err) {
    const auto& op = std::get<scenario::ExpectOp>(step_.op);
    std::string detail;  // what a stream had buffered (a datagram socket buffers nothing)
    if (c_->transport == Transport::tcp) {
      if (c_->tls && !c_->tls_error.empty()) detail = " (" + c_->tls_error + ")";
      detail += " after " + std::to_string(c_->rx.size()) + " unmatched bytes" +
                (c_->rx.empty() ? "" : " " + preview(c_->rx));
    }
    return failed_call({"recv", c_->peer.to_string(), err}, op.expect_error, detail);
  }

  Progress timed_out() {
    if (UdpSequence* seq = c_->sequence.get(); seq && !seq->waiting.empty()) {
      uint64_t tag = seq->waiting.front();
      seq->waiting.pop_front();
      seq->abandoned.insert(tag);
      ++seq->lost;
      return fail("datagram lost: no reply to " + UdpSequence::tag(tag) + " " + within(),
                  ETIMEDOUT);
    }
    std::string msg = "no match " + within() + "; expected " + match::describe(*matcher_);
    if (c_->transport == Transport::tcp) {
      msg += ", have " + std::to_string(c_->rx.size()) + " bytes";
      if (!c_->rx.empty()) msg += " " + preview(c_->rx);
      if (auto* e = std::get_if<match::Exact>(&*matcher_)) {
        result.mismatch = make_mismatch(e->bytes, c_->rx, c_->rx.size());
      }
    } else {
      msg += ", no datagram arrived";
    }
    return fail(msg, ETIMEDOUT);
  }

  Conn* c_ = nullptr;
  std::optional<match::Resolved> own_matcher_;  // resolved for this expect alone
  const match::Resolved* matcher_ = nullptr;    // own_matcher_, or the run's (StepCache)
  SenderRule sender_;
};

}  // namespace

std::unique_ptr<Machine> make_io_machine(StepScope& s, const scenario::Step& step, net::Deadline d,
                                         std::string& bound) {
  using namespace scenario;
  if (std::holds_alternative<SendOp>(step.op))
    return std::make_unique<SendMachine>(s, step, d, bound);
  if (std::holds_alternative<ExpectOp>(step.op))
    return std::make_unique<ExpectMachine>(s, step, d, bound);
  return nullptr;
}

}  // namespace sockspec::engine
