// Several iterations in flight on one connection (a profile's `in_flight` > 1).
//
// The iteration is one `send` and one `expect` on one conn (the profile parser checks it). Each
// start sends at once, whatever is still awaited, and gets a slot; the window holds at most
// `in_flight` slots. UDP: every datagram carries a tag (UdpSequence's "#<16 hex>#", first or
// after `udp_tag_offset` bytes of the payload), or with `match_by` its number in a field of the
// protocol; a reply goes to the slot its tag or field names, and a slot with no reply by its
// deadline is lost (nothing waits for it). TCP: a stream keeps order, so replies belong to the
// slots oldest first, each checked byte for byte against its own request (with `match_by`, its
// field too); a failed reply breaks the connection (what follows it in the stream can no longer
// be placed) and the slots behind it are abandoned.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/conn.h"
#include "engine/context.h"
#include "load/pipeline_steps.h"
#include "load/tally.h"
#include "load/udp_ledger.h"
#include "match/matcher.h"
#include "scenario/model.h"
#include "scenario/template.h"

namespace sockspec::load {

class Pipeline : public net::Waiter {
 public:
  // `closed`: latency from the actual send (closed loop), else from the intended start.
  // `on_change` runs (from the loop) after a slot was freed or the connection broke.
  // One per virtual user for the whole run (the event loop may still hold its timers), bound
  // to each new connection with attach().
  // `tag_offset`: UDP, where the tag goes in each datagram (after that many payload bytes).
  // `match_by`: number the requests in that field instead of tagging them.
  Pipeline(const PipelineSteps& steps, scenario::Transport transport, engine::CaseEnv& env,
           scenario::VarValues vars, unsigned capacity, unsigned tag_offset,
           std::optional<MatchBy> match_by, bool closed, Tally& tally,
           std::function<void()> on_change);
  // Starts afresh on `conn` (the user's setup opened it); detach() lets go of it, dropping
  // anything in flight uncounted (the run ended, or the user reconnects).
  void attach(engine::Conn& conn);
  void detach();

  // Only iterations still awaited count: answered ones behind an awaited one take no room.
  bool full() const { return awaited_ >= capacity_; }
  bool empty() const { return awaited_ == 0; }
  bool broken() const { return broken_; }
  // Sends one iteration now (the window must not be full). False when it could not be sent
  // (counted as a failed iteration): start no more until on_change says so.
  bool start(TimePoint intended);
  void on_event(uint32_t revents) override;
  // UDP, at the end: keep reading for one timeout after the last datagram settled, so
  // duplicate and late replies to the last datagrams are counted too. True once that is over.
  bool linger_over(TimePoint now);

 private:
  struct Slot {
    uint64_t number = 0;  // the iteration's number on this virtual user (${i})
    uint64_t tag = 0;     // UDP
    TimePoint intended, sent, deadline;
    std::shared_ptr<const match::Resolved> matcher;
    bool done = false;
  };

  bool udp() const { return transport_ == scenario::Transport::udp; }
  // The request numbered `number` goes out in `wire` from `at` (match_by); its reply's
  // matcher, when it has the field's bytes, expects that number there too.
  std::shared_ptr<const match::Resolved> number_request(std::string& wire, size_t at,
                                                        uint64_t number,
                                                        std::shared_ptr<const match::Resolved> m);
  std::optional<uint64_t> reply_tag(std::string_view datagram, TimePoint now);
  std::string datagram_name(uint64_t tag) const;
  std::shared_ptr<const match::Resolved> prepare(uint64_t number, std::string& payload,
                                                 std::string& error);
  void read_datagrams(TimePoint now);
  void read_stream(TimePoint now);
  void flush_stream();
  void flush_datagrams(TimePoint now);
  void expire(TimePoint now);
  // A slot enters the window only through admit() and leaves it (done) only through
  // settle_slot(): the two places that keep awaited_.
  void admit(Slot s);
  void settle_slot(Slot& s);
  void pass(Slot& s, TimePoint now);
  void fail(Slot& s, const std::string& kind, const std::string& step, std::string message,
            std::optional<reports::Mismatch> mismatch = std::nullopt);
  // The error of an iteration, counted if it belongs to the measured window.
  // (`unanswered`: or if, started in the warm-up, it held its place into the window; see Tally.)
  void record(const Slot& s, const std::string& kind, const std::string& step, std::string message,
              std::optional<reports::Mismatch> mismatch = std::nullopt, bool unanswered = false);
  void stray(const std::string& message, TimePoint now);
  // `timed_out`: the oldest request went unanswered (its followers may count as held up).
  void break_off(const std::string& why, bool timed_out = false);
  void settle(TimePoint now);
  void wait();

  const PipelineSteps& steps_;
  scenario::Transport transport_;
  engine::Conn* conn_ = nullptr;
  engine::CaseEnv& env_;
  scenario::VarValues vars_;
  unsigned capacity_;
  size_t tag_offset_;
  std::optional<MatchBy> match_by_;
  bool closed_;
  Tally& tally_;
  std::function<void()> on_change_;
  std::deque<Slot> slots_;  // oldest first; UDP tags are consecutive
  UdpLedger ledger_;
  UdpCounts booked_;  // the ledger's counts already given to the tally
  bool counting_ = false, broken_ = false, changed_ = false;
  bool retry_ = false;  // a send failed: the next start waits a little
  // UDP, at the end: reading goes on until then for late and duplicate replies (linger_over).
  TimePoint linger_until_ = TimePoint::max();
  uint64_t next_number_ = 0;
  unsigned awaited_ = 0;  // slots in slots_ not done (see admit and settle_slot)
  std::shared_ptr<const match::Resolved> fixed_;  // the matcher, when no iteration changes it
  std::string fixed_payload_, out_;               // out_: TCP bytes not yet written
  std::string body_;                              // a reply without its tag
  std::vector<std::string> datagrams_;  // UDP: queued, tagged, not yet sent (the newest slots)
};

}  // namespace sockspec::load
