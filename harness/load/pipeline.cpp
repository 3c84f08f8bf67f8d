#include "load/pipeline.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

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
  char buf[engine::UdpSequence::kTagSize];
  engine::UdpSequence::write_tag(buf, tag);
  wire.append(buf, sizeof buf);
}

}  // namespace

Pipeline::Pipeline(const PipelineSteps& steps, scenario::Transport transport, engine::CaseEnv& env,
                   scenario::VarValues vars, unsigned capacity, unsigned tag_offset,
                   std::optional<MatchBy> match_by, bool closed, Tally& tally,
                   std::function<void()> on_change)
    : steps_(steps),
      transport_(transport),
      env_(env),
      vars_(std::move(vars)),
      capacity_(capacity),
      tag_offset_(tag_offset),
      match_by_(match_by),
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
  if (match_by_ && payload.size() < match_by_->offset + match_by_->width) {
    error = "send: the payload has " + std::to_string(payload.size()) +
            " bytes, too few for the match_by field (offset " + std::to_string(match_by_->offset) +
            ", width " + std::to_string(match_by_->width) + ")";
    return nullptr;
  }
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
    changed_ = true;
    record(s, "other", "send (step " + steps_.send_path + ")", error);  // it took no place
  } else if (udp()) {
    if (!counting_ && tally_.counts(intended)) {
      ledger_.count_from_next();
      counting_ = true;
    }
    // Queued, and sent from the loop with every other start due now: one sendmmsg() for all.
    s.tag = ledger_.next_tag();
    ledger_.sent();
    if (match_by_) {
      datagrams_.push_back(*payload);
      s.matcher = number_request(datagrams_.back(), 0, s.tag, std::move(s.matcher));
    } else {
      datagrams_.emplace_back(*payload, 0, tag_offset_);
      put_tag(datagrams_.back(), s.tag);
      datagrams_.back().append(*payload, tag_offset_);
    }
    admit(std::move(s));
    return !retry_;
  } else {
    // Written from the loop once every start due now is queued: one send() carries them all
    // (a send per request would cost a loopback delivery, and a wake-up of the server, each).
    size_t at = out_.size();
    out_.append(*payload);
    if (match_by_) s.matcher = number_request(out_, at, s.number, std::move(s.matcher));
    if (tally_.counts(intended)) tally_.part().bytes_sent += payload->size();
    admit(std::move(s));
    return !retry_;
  }
  settle(now);
  // Replies and timeouts handled here are told to the user from the loop, never from inside
  // its own call to start().
  if (changed_ && !retry_) env_.loop.post(*this);
  return !retry_;
}

std::shared_ptr<const match::Resolved> Pipeline::number_request(
    std::string& wire, size_t at, uint64_t number, std::shared_ptr<const match::Resolved> m) {
  match_by_->put(wire, at, number);
  // The expected reply carries the request's own number where the field is (an `echo`, a
  // `hex` written with any id there); a regex or length matcher sees the reply as it came.
  const auto* exact = std::get_if<match::Exact>(m.get());
  if (!exact || exact->bytes.size() < match_by_->offset + match_by_->width) return m;
  match::Exact own = *exact;
  match_by_->put(own.bytes, 0, number);
  return std::make_shared<const match::Resolved>(std::move(own));
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

void Pipeline::read_stream(TimePoint now) {
  uint64_t received = 0;
  for (;;) {
    while (!slots_.empty() && !slots_.front().done) {
      Slot& s = slots_.front();
      // A framed conn (or expect) takes one whole message per reply, as a case run does.
      const auto& step_frame = std::get<scenario::ExpectOp>(steps_.expect->op).frame;
      const auto& frame = step_frame ? step_frame : conn_->frame;
      auto out = frame ? match::match_framed(*s.matcher, *frame, conn_->rx, conn_->eof)
                       : match::match_stream(*s.matcher, conn_->rx, conn_->eof);
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
        // With the oldest open request, as its iteration counts (by its intended time): a
        // reply that arrives after the window closed belongs to a request the report counts.
        if (tally_.counts(slots_.empty() ? now : slots_.front().intended))
          tally_.part().bytes_received += received;
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
    int err = 0;
    ssize_t n = engine::write_some(*conn_, out_.data(), out_.size(), err);
    if (n < 0) {
      if (err == EAGAIN || err == EINTR) return;
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

void Pipeline::expire(TimePoint now) {
  for (Slot& s : slots_) {
    if (s.done) continue;
    if (s.deadline > now) return;  // deadlines grow with the send order
    std::string within = " within " + std::to_string(steps_.timeout_ms) + " ms";
    std::string step = "expect (step " + steps_.expect_path + ")";
    if (udp()) {
      ledger_.expired(s.tag);
      fail(s, "loss", step, "datagram lost: no reply to " + datagram_name(s.tag) + within);
      continue;
    }
    fail(s, "timeout", step,
         "no reply to iteration " + std::to_string(s.number) + within + "; expected " +
             match::describe(*s.matcher) + ", have " + std::to_string(conn_->rx.size()) + " bytes");
    return break_off("an earlier reply on the connection timed out", true);
  }
}

void Pipeline::admit(Slot s) {
  ++awaited_;
  slots_.push_back(std::move(s));
  env_.loop.post(*this);
}

void Pipeline::settle_slot(Slot& s) {
  s.done = true;
  --awaited_;
  changed_ = true;
}

void Pipeline::pass(Slot& s, TimePoint now) {
  settle_slot(s);
  if (tally_.counts(s.intended))
    tally_.passed(s.intended, s.sent, closed_ ? s.sent : s.intended, s.sent, now);
}

void Pipeline::fail(Slot& s, const std::string& kind, const std::string& step, std::string message,
                    std::optional<reports::Mismatch> mismatch) {
  settle_slot(s);
  record(s, kind, step, std::move(message), std::move(mismatch), kind == "timeout");
}

void Pipeline::record(const Slot& s, const std::string& kind, const std::string& step,
                      std::string message, std::optional<reports::Mismatch> mismatch,
                      bool unanswered) {
  // A warm-up request that went unanswered into the measured window kept measured starts out
  // of its place: its timeout (and the requests abandoned behind it) are errors of the window.
  TimePoint at = unanswered ? tally_.held_into_window(s.intended, net::Clock::now()) : s.intended;
  if (!tally_.counts(at)) return;
  reports::ErrorSample sample{kind,
                              step + ", iteration " + std::to_string(s.number) + " of its user",
                              std::move(message), std::nullopt};
  if (mismatch) sample.mismatch = std::move(*mismatch);
  tally_.failed(at, std::move(sample));
}

// A reply that belongs to no iteration: an error of its own, in the second it came.
void Pipeline::stray(const std::string& message, TimePoint now) {
  if (!tally_.counts(now)) return;
  tally_.failed(now,
                {"mismatch", "expect (step " + steps_.expect_path + ")", message, std::nullopt});
}

void Pipeline::break_off(const std::string& why, bool timed_out) {
  broken_ = true;
  changed_ = true;
  for (Slot& s : slots_) {
    if (s.done) continue;
    settle_slot(s);
    record(s, "abandoned", "expect (step " + steps_.expect_path + ")", why, std::nullopt,
           timed_out);
  }
  slots_.clear();
}

}  // namespace sockspec::load
