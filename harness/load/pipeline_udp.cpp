// The UDP side of the pipeline: datagrams sent in batches, replies read and given to their slot
// by tag or by match_by field (the rest of Pipeline is in pipeline.cpp).
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "common/codec.h"
#include "engine/receive.h"
#include "engine/resolve.h"
#include "load/pipeline.h"
#include "net/socket.h"

namespace sockspec::load {

// The tag of the datagram a reply answers (its tag, or its match_by field); nullopt, after
// counting it as stray, when it names none.
std::optional<uint64_t> Pipeline::reply_tag(std::string_view bytes, TimePoint now) {
  if (match_by_) {
    auto id = match_by_->get(bytes);
    if (!id) {
      stray("a datagram of " + std::to_string(bytes.size()) +
                " bytes, too short for the match_by field (offset " +
                std::to_string(match_by_->offset) + ", width " + std::to_string(match_by_->width) +
                ")",
            now);
      return std::nullopt;
    }
    std::optional<uint64_t> tag;
    if (ledger_.next_tag() > 0)
      tag = MatchBy::newest_with(*id, ledger_.next_tag() - 1, match_by_->range_bits());
    if (!tag) stray("a datagram with id " + std::to_string(*id) + ", which no request had", now);
    return tag;
  }
  auto tag = engine::UdpSequence::parse(bytes.substr(std::min(tag_offset_, bytes.size())));
  if (!tag) {
    std::string where = tag_offset_ ? " at offset " + std::to_string(tag_offset_) : "";
    // Escaped: a hostile server's bytes must not reach the console or the report raw.
    stray("a datagram without a tag" + where + ": \"" + escape_bytes(bytes.substr(0, 40)) + "\"",
          now);
  }
  return tag;
}

// How a datagram is named in messages: by its tag, or by its match_by id.
std::string Pipeline::datagram_name(uint64_t tag) const {
  return match_by_ ? "request id " + std::to_string(match_by_->id(tag))
                   : engine::UdpSequence::tag(tag);
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
    // A reply's bytes count with its request (by the request's intended time, as the
    // iteration does): a reply that arrives after the window closed still belongs to a
    // request the report counts. A datagram that answers no open request counts by arrival.
    auto count_bytes = [&](TimePoint when) {
      if (tally_.counts(when)) tally_.part().bytes_received += d.full_size;
    };
    std::string_view bytes = d.bytes;
    auto tag = reply_tag(bytes, now);
    if (!tag) {
      count_bytes(now);
      continue;
    }
    switch (ledger_.reply(*tag)) {
      case UdpLedger::Reply::unknown:
        count_bytes(now);
        stray("a datagram for a request never sent: " + datagram_name(*tag), now);
        continue;
      case UdpLedger::Reply::duplicate:
      case UdpLedger::Reply::late:
        count_bytes(now);
        continue;  // counted by the ledger; its datagram was settled already
      case UdpLedger::Reply::on_time:
      case UdpLedger::Reply::reordered:
        break;
    }
    Slot& s = slots_[static_cast<size_t>(*tag - slots_.front().tag)];
    count_bytes(s.intended);
    std::string step = "expect (step " + steps_.expect_path + ")";
    if (d.full_size > d.bytes.size()) {
      fail(s, "mismatch", step,
           "datagram of " + std::to_string(d.full_size) + " bytes is larger than any UDP payload");
    } else if (!(d.from == conn_->peer)) {
      fail(s, "mismatch", step,
           "datagram from " + d.from.to_string() + ", expected from " + conn_->peer.to_string());
    } else {
      std::string_view body = bytes;
      if (!match_by_) body = bytes.substr(engine::UdpSequence::kTagSize);
      if (!match_by_ && tag_offset_ > 0) {  // the reply as the payload was, before the tag went in
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

}  // namespace sockspec::load
