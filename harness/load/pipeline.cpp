#include "load/pipeline.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "engine/receive.h"
#include "engine/resolve.h"
#include "net/socket.h"

namespace sockspec::load {

using scenario::Transport;

namespace {

bool fixed_payload(const scenario::Payload& p) { return p.fixed(); }

// A matcher that is the same for every iteration, so it is resolved once.
bool fixed_matcher(const scenario::Matcher& m) {
  if (const auto* p = std::get_if<scenario::Payload>(&m.kind)) return fixed_payload(*p);
  if (const auto* r = std::get_if<scenario::RegexMatch>(&m.kind))
    return !r->pattern.has_vars() && !r->bytes_expr;
  if (const auto* l = std::get_if<scenario::LengthMatch>(&m.kind)) return !l->exact;
  if (const auto* pm = std::get_if<scenario::PartsMatch>(&m.kind)) {
    return !codec::has_variables(pm->parts);
  }
  return true;  // echo (of a fixed payload)
}

void put_tag(std::string& wire, uint64_t tag) {
  char buf[engine::UdpSequence::kTagSize + 1];
  std::snprintf(buf, sizeof buf, "#%016llX#", static_cast<unsigned long long>(tag));
  wire.append(buf, engine::UdpSequence::kTagSize);
}

}  // namespace

Pipeline::Pipeline(const PipelineSteps& steps, scenario::Transport transport, engine::CaseEnv& env,
                   scenario::VarValues vars, unsigned capacity, unsigned tag_offset, bool closed,
                   Tally& tally, std::function<void()> on_change)
    : steps_(steps),
      transport_(transport),
      env_(env),
      vars_(std::move(vars)),
      capacity_(capacity),
      tag_offset_(tag_offset),
      closed_(closed),
      tally_(tally),
      on_change_(std::move(on_change)) {
  const auto& send = std::get<scenario::SendOp>(steps_.send->op);
  const auto& expect = std::get<scenario::ExpectOp>(steps_.expect->op);
  if (fixed_payload(send.payload) && fixed_matcher(expect.matcher)) {
    std::string error;
    fixed_ = prepare(0, fixed_payload_, error);  // null on error: each start reports it
  }
}

void Pipeline::attach(engine::Conn& conn) {
  detach();
  conn_ = &conn;
  ledger_ = UdpLedger();
  booked_ = {};
  counting_ = broken_ = changed_ = retry_ = false;
  linger_until_ = TimePoint::max();
}

void Pipeline::detach() {
  env_.loop.disarm(*this);
  conn_ = nullptr;
  slots_.clear();
  awaited_ = 0;
  out_.clear();
  datagrams_.clear();
}

// The bytes to send for iteration `number` and the matcher of its reply (null with `error`).
std::shared_ptr<const match::Resolved> Pipeline::prepare(uint64_t number, std::string& payload,
                                                         std::string& error) {
  const auto& send = std::get<scenario::SendOp>(steps_.send->op);
  const auto& expect = std::get<scenario::ExpectOp>(steps_.expect->op);
  vars_.i = number;
  auto bytes = engine::payload_bytes(send.payload, vars_);
  if (!bytes.error.empty()) {
    error = "send: " + bytes.error;
    return nullptr;
  }
  payload = std::move(bytes.bytes);
  if (udp() && payload.size() < tag_offset_) {
    error = "send: the payload has " + std::to_string(payload.size()) +
            " bytes, fewer than udp_tag_offset (" + std::to_string(tag_offset_) + ")";
    return nullptr;
  }
  // An echo matcher expects what this iteration sent: resolve it against those bytes alone.
  engine::Conn view;
  view.transport = transport_;
  (udp() ? view.last_datagram : view.sent_since_expect) = payload;
  auto m = engine::resolve_matcher(expect.matcher, view, vars_);
  if (!m.matcher) {
    error = "expect: " + m.error;
    return nullptr;
  }
  return std::make_shared<const match::Resolved>(std::move(*m.matcher));
}

bool Pipeline::start(TimePoint intended) {
  uint64_t number = next_number_++;
  Slot s;
  s.number = number;
  s.intended = intended;
  std::string own, error;
  const std::string* payload = &fixed_payload_;
  s.matcher = fixed_ ? fixed_ : prepare(number, own, error);
  if (!fixed_) payload = &own;
  TimePoint now = net::Clock::now();
  s.sent = now;
  s.deadline = now + std::chrono::milliseconds(steps_.timeout_ms);
  if (!s.matcher) {
    retry_ = true;
    fail(s, "other", "send (step " + steps_.send_path + ")", error);
  } else if (udp()) {
    if (!counting_ && tally_.counts(intended)) {
      ledger_.count_from_next();
      counting_ = true;
    }
    // Queued, and sent from the loop with every other start due now: one sendmmsg() for all.
    s.tag = ledger_.next_tag();
    ledger_.sent();
    datagrams_.emplace_back(*payload, 0, tag_offset_);
    put_tag(datagrams_.back(), s.tag);
    datagrams_.back().append(*payload, tag_offset_);
    s.in_window = true;
    ++awaited_;
    slots_.push_back(std::move(s));
    env_.loop.post(*this);
    return !retry_;
  } else {
    // Written from the loop once every start due now is queued: one send() carries them all
    // (a send per request would cost a loopback delivery, and a wake-up of the server, each).
    out_.append(*payload);
    if (tally_.counts(intended)) tally_.part().bytes_sent += payload->size();
    s.in_window = true;
    ++awaited_;
    slots_.push_back(std::move(s));
    env_.loop.post(*this);
    return !retry_;
  }
  settle(now);
  // Replies and timeouts handled here are told to the user from the loop, never from inside
  // its own call to start().
  if (changed_ && !retry_) env_.loop.post(*this);
  return !retry_;
}

void Pipeline::on_event(uint32_t) {
  TimePoint now = net::Clock::now();
  bool retry = retry_;  // the pause after a failed send is over
  retry_ = false;
  if (!broken_ && !udp() && !out_.empty()) flush_stream();
  if (!datagrams_.empty()) flush_datagrams(now);
  settle(now);
  // While lingering every wake-up goes to the user, who asks linger_over() again. A send that
  // failed just now is told after a pause (wait()), so a refusing peer is not retried at once.
  if (((changed_ || retry) && !retry_) || linger_until_ != TimePoint::max()) {
    changed_ = false;
    on_change_();  // may start more iterations, or destroy this pipeline: nothing after it
  }
}

bool Pipeline::linger_over(TimePoint now) {
  if (!udp() || broken_) return true;
  if (linger_until_ == TimePoint::max()) {
    linger_until_ = now + std::chrono::milliseconds(steps_.timeout_ms);
    wait();
  }
  return now >= linger_until_;
}

// Reads what came, gives up on what is overdue, and waits for the rest.
void Pipeline::settle(TimePoint now) {
  if (!broken_) {
    if (udp()) {
      read_datagrams(now);
    } else {
      read_stream(now);
    }
  }
  if (!broken_) expire(now);
  while (!slots_.empty() && slots_.front().done) slots_.pop_front();
  if (udp()) {
    const UdpCounts& c = ledger_.counts();
    tally_.udp(booked_, c, now);
    booked_ = c;
  }
  wait();
}

void Pipeline::wait() {
  if (broken_) {
    env_.loop.disarm(*this);
    return;
  }
  TimePoint deadline = TimePoint::max();
  for (const Slot& s : slots_) {
    if (!s.done) {
      deadline = s.deadline;
      break;
    }
  }
  // A failed send with nothing in flight: the user tries again a little later, not at once.
  if (slots_.empty() && retry_) deadline = net::Clock::now() + std::chrono::milliseconds(10);
  if (slots_.empty() && linger_until_ != TimePoint::max()) {
    if (net::Clock::now() >= linger_until_) {  // over: the user is told, nothing more to wait for
      env_.loop.disarm(*this);
      return;
    }
    deadline = linger_until_;
  }
  uint32_t events = EPOLLIN | EPOLLRDHUP | (out_.empty() ? 0u : static_cast<uint32_t>(EPOLLOUT));
  env_.loop.arm(*this, conn_->fd.get(), events, deadline);
}

void Pipeline::read_datagrams(TimePoint now) {
  engine::Datagram d;
  for (;;) {
    int r = engine::recv_datagram(*conn_, env_.loop, d);
    if (r == 0) return;
    if (r < 0) {
      // Connected UDP reports an earlier datagram's ICMP error here; the socket stays usable.
      stray(net::NetError{"recv", conn_->peer.to_string(), errno}.to_string(), now);
      continue;
    }
    if (tally_.counts(now)) tally_.part().bytes_received += d.full_size;
    std::string_view bytes = d.bytes;
    auto tag = engine::UdpSequence::parse(bytes.substr(std::min(tag_offset_, bytes.size())));
    if (!tag) {
      std::string where = tag_offset_ ? " at offset " + std::to_string(tag_offset_) : "";
      stray("a datagram without a tag" + where + ": \"" + d.bytes.substr(0, 40) + "\"", now);
      continue;
    }
    switch (ledger_.reply(*tag)) {
      case UdpLedger::Reply::unknown:
        stray("a datagram with a tag never sent: " + engine::UdpSequence::tag(*tag), now);
        continue;
      case UdpLedger::Reply::duplicate:
      case UdpLedger::Reply::late:
        continue;  // counted by the ledger; its datagram was settled already
      case UdpLedger::Reply::on_time:
      case UdpLedger::Reply::reordered:
        break;
    }
    Slot& s = slots_[static_cast<size_t>(*tag - slots_.front().tag)];
    std::string step = "expect (step " + steps_.expect_path + ")";
    if (d.full_size > d.bytes.size()) {
      fail(s, "mismatch", step,
           "datagram of " + std::to_string(d.full_size) + " bytes is larger than any UDP payload");
    } else if (!(d.from == conn_->peer)) {
      fail(s, "mismatch", step,
           "datagram from " + d.from.to_string() + ", expected from " + conn_->peer.to_string());
    } else {
      std::string_view body = bytes.substr(engine::UdpSequence::kTagSize);
      if (tag_offset_ > 0) {  // the reply as the payload was, before the tag went in
        body_.assign(bytes.substr(0, tag_offset_));
        body_.append(bytes.substr(tag_offset_ + engine::UdpSequence::kTagSize));
        body = body_;
      }
      auto out = match::match_datagram(*s.matcher, body);
      if (out.kind == match::Outcome::Kind::matched) {
        pass(s, now);
      } else {
        std::optional<reports::Mismatch> mm;
        if (out.diff_offset) mm = engine::make_mismatch(out.expected, out.actual, *out.diff_offset);
        fail(s, "mismatch", step, out.why + "; expected " + match::describe(*s.matcher), mm);
      }
    }
  }
}

void Pipeline::read_stream(TimePoint now) {
  uint64_t received = 0;
  for (;;) {
    while (!slots_.empty() && !slots_.front().done) {
      Slot& s = slots_.front();
      auto out = match::match_stream(*s.matcher, conn_->rx, conn_->eof);
      if (out.kind == match::Outcome::Kind::need_more) {
        if (!conn_->eof) break;
        fail(s, "reset", "expect (step " + steps_.expect_path + ")",
             "the peer closed the connection (FIN) before the reply; expected " +
                 match::describe(*s.matcher));
        return break_off("the connection closed");
      }
      if (out.kind == match::Outcome::Kind::mismatch) {
        std::optional<reports::Mismatch> mm;
        if (out.diff_offset) mm = engine::make_mismatch(out.expected, out.actual, *out.diff_offset);
        fail(s, "mismatch", "expect (step " + steps_.expect_path + ")",
             out.why + "; expected " + match::describe(*s.matcher), mm);
        return break_off("an earlier reply on the connection did not match");
      }
      conn_->rx.erase(0, out.consumed);
      pass(s, now);
      slots_.pop_front();
    }
    if (conn_->eof && slots_.empty()) return;
    int err = 0;
    switch (engine::read_some(*conn_, env_.loop, received, err)) {
      case engine::Read::data:
      case engine::Read::eof:
        if (tally_.counts(now)) tally_.part().bytes_received += received;
        received = 0;
        continue;
      case engine::Read::again:
        return;
      case engine::Read::failed:
        if (!slots_.empty()) {
          fail(slots_.front(), "reset", "expect (step " + steps_.expect_path + ")",
               net::NetError{"recv", conn_->peer.to_string(), err}.to_string());
        }
        return break_off("the connection failed");
    }
  }
}

void Pipeline::flush_stream() {
  while (!out_.empty()) {
    ssize_t n = ::send(conn_->fd.get(), out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      int err = errno;
      if (!slots_.empty()) {
        fail(slots_.back(), engine::is_reset(err) ? "reset" : "other",
             "send (step " + steps_.send_path + ")",
             net::NetError{"send", conn_->peer.to_string(), err}.to_string());
      }
      return break_off("a send on the connection failed");
    }
    out_.erase(0, static_cast<size_t>(n));
  }
}

// The queued datagrams, in batches; they are the newest slots, in the same order.
void Pipeline::flush_datagrams(TimePoint now) {
  constexpr size_t kBatch = 64;
  bool connected = conn_->kind == engine::Conn::Kind::udp_connected;
  size_t first = slots_.size() - datagrams_.size(), done = 0;
  while (done < datagrams_.size()) {
    mmsghdr msgs[kBatch] = {};
    iovec iov[kBatch];
    size_t n = std::min(kBatch, datagrams_.size() - done);
    for (size_t i = 0; i < n; ++i) {
      std::string& d = datagrams_[done + i];
      iov[i] = {d.data(), d.size()};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      if (!connected) {
        msgs[i].msg_hdr.msg_name = const_cast<sockaddr*>(conn_->peer.get());
        msgs[i].msg_hdr.msg_namelen = conn_->peer.len;
      }
    }
    int sent = ::sendmmsg(conn_->fd.get(), msgs, static_cast<unsigned>(n), 0);
    if (sent < 0 && errno == EINTR) continue;
    // The first datagram not sent fails with the error; the rest are tried again.
    size_t ok = sent < 0 ? 0 : static_cast<size_t>(sent);
    for (size_t i = 0; i < ok; ++i) {
      Slot& s = slots_[first + done + i];
      s.sent = now;
      s.deadline = now + std::chrono::milliseconds(steps_.timeout_ms);
      if (tally_.counts(s.intended)) {
        ++tally_.part().datagrams_sent;
        tally_.part().bytes_sent += msgs[i].msg_len;
      }
    }
    done += ok;
    if (sent < 0) {
      int err = errno;
      Slot& s = slots_[first + done];
      ledger_.unsent(s.tag);
      retry_ = true;
      net::NetError e{"send", conn_->peer.to_string(), err};
      fail(s, err == ECONNREFUSED ? "refused" : "other", "send (step " + steps_.send_path + ")",
           e.to_string());
      ++done;
    }
  }
  datagrams_.clear();
}

void Pipeline::expire(TimePoint now) {
  for (Slot& s : slots_) {
    if (s.done) continue;
    if (s.deadline > now) return;  // deadlines grow with the send order
    std::string within = " within " + std::to_string(steps_.timeout_ms) + " ms";
    std::string step = "expect (step " + steps_.expect_path + ")";
    if (udp()) {
      ledger_.expired(s.tag);
      fail(s, "loss", step,
           "datagram lost: no reply to " + engine::UdpSequence::tag(s.tag) + within);
      continue;
    }
    fail(s, "timeout", step,
         "no reply to iteration " + std::to_string(s.number) + within + "; expected " +
             match::describe(*s.matcher) + ", have " + std::to_string(conn_->rx.size()) + " bytes");
    return break_off("an earlier reply on the connection timed out");
  }
}

void Pipeline::pass(Slot& s, TimePoint now) {
  s.done = true;
  if (s.in_window) --awaited_;
  changed_ = true;
  if (tally_.counts(s.intended))
    tally_.passed(s.intended, s.sent, closed_ ? s.sent : s.intended, s.sent, now);
}

void Pipeline::fail(Slot& s, const std::string& kind, const std::string& step, std::string message,
                    std::optional<reports::Mismatch> mismatch) {
  s.done = true;
  if (s.in_window) --awaited_;
  changed_ = true;
  if (!tally_.counts(s.intended)) return;
  reports::ErrorSample sample{kind,
                              step + ", iteration " + std::to_string(s.number) + " of its user",
                              std::move(message), std::nullopt};
  if (mismatch) sample.mismatch = std::move(*mismatch);
  tally_.failed(s.intended, std::move(sample));
}

// A reply that belongs to no iteration: an error of its own, in the second it came.
void Pipeline::stray(const std::string& message, TimePoint now) {
  if (!tally_.counts(now)) return;
  tally_.failed(now,
                {"mismatch", "expect (step " + steps_.expect_path + ")", message, std::nullopt});
}

void Pipeline::break_off(const std::string& why) {
  broken_ = true;
  changed_ = true;
  for (Slot& s : slots_) {
    if (!s.done) fail(s, "abandoned", "expect (step " + steps_.expect_path + ")", why);
  }
  slots_.clear();
}

}  // namespace sockspec::load
