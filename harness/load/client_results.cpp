#include "load/client_results.h"

namespace sockspec::load {

namespace {

std::string error_kind(const reports::StepResult& r) {
  if (r.message.rfind("datagram lost", 0) == 0) return "loss";
  if (r.errno_name == "ETIMEDOUT") return r.op == "connect" ? "connect" : "timeout";
  if (r.errno_name == "ECONNRESET" || r.errno_name == "EPIPE") return "reset";
  if (r.errno_name == "ECONNREFUSED") return "refused";
  if (r.op == "connect") return "connect";
  if (r.op == "expect" || r.op == "expect_eof" || r.op == "expect_silence") return "mismatch";
  return "other";
}

// Moves the traffic and UDP sequence counters of the user's sockets into the totals (or
// drops them, outside the measured window).
void collect(Tally& tally, engine::Client& c, bool counted) {
  auto& part = tally.part();
  c.for_each_conn([&](engine::Conn& conn) {
    if (counted) {
      part.datagrams_sent += conn.datagrams_sent;
      part.bytes_sent += conn.bytes_sent;
      part.bytes_received += conn.bytes_received;
    }
    conn.datagrams_sent = conn.bytes_sent = conn.bytes_received = 0;
    if (!conn.sequence) return;
    auto& s = *conn.sequence;
    if (counted)
      tally.udp({}, {s.sent, s.lost, s.late, s.duplicates, s.reordered}, net::Clock::now());
    s.sent = s.lost = s.duplicates = s.late = s.reordered = 0;
  });
}

}  // namespace

void record_passed(Tally& tally, TimePoint intended, TimePoint started, engine::Client& c,
                   bool open_loop) {
  if (!tally.counts(intended)) {  // warm-up, or after the end
    collect(tally, c, false);
    return;
  }
  TimePoint first = c.first_send() == TimePoint{} ? started : c.first_send();
  TimePoint last = c.last_expect() == TimePoint{} ? net::Clock::now() : c.last_expect();
  tally.passed(intended, started, open_loop ? intended : first, first, last);
  for (const auto& r : c.results()) {
    if (r.op == "connect") tally.part().connect.record(static_cast<uint64_t>(r.elapsed_ms * 1e6));
  }
  collect(tally, c, true);
}

std::string record_failed(Tally& tally, TimePoint intended, engine::Client& c) {
  const reports::StepResult* failed = nullptr;
  for (const auto& r : c.results()) {
    if (r.verdict != reports::Verdict::pass) {
      failed = &r;
      break;
    }
  }
  std::string kind = failed ? error_kind(*failed) : "other";
  collect(tally, c, tally.counts(intended));
  if (!tally.counts(intended)) return kind;
  reports::ErrorSample sample{kind, "", "", std::nullopt};
  if (failed) {
    sample = {kind, failed->op + " (step " + failed->path + ")", failed->message, failed->mismatch};
  }
  tally.failed(intended, std::move(sample));
  return kind;
}

}  // namespace sockspec::load
