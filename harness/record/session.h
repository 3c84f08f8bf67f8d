// One recorded client session turned into scenario steps, as events arrive. Pure: the proxy
// (record/proxy) feeds it what it saw and when; this decides which steps that makes.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scenario/model.h"

namespace sockspec::record {

using Clock = std::chrono::steady_clock;

struct RecordOptions {
  uint64_t pause_ms = 250;             // a client pause longer than this becomes a sleep
  uint64_t max_expect_bytes = 65536;   // a longer reply is checked by its length only
  bool regex_digits = false;           // text replies become regexes, digit runs [0-9]+
  uint64_t default_timeout_ms = 2000;  // the suite's; a slower recorded reply gets its own
  bool one_case = false;               // every session in one case (see one_case below)
  // Streams: messages cut by this frame, each one send or expect of typed parts (--frame).
  std::optional<codec::Frame> frame;
  bool tls = false;  // recorded through TLS: every connect says "tls": true
};

// A step and when the proxy saw what it stands for; pauses are worked out from these times
// when the steps are written (see to_case, one_case).
struct TimedStep {
  Clock::time_point at;
  scenario::Step step;
  bool by_client = false;  // a send, shutdown or close: what a pause before it is measured for
};

// A stream session (TCP, AF_UNIX stream) or a datagram one (UDP, unixgram: one client
// address), on the conn named `conn`.
class Session {
 public:
  Session(scenario::Transport transport, std::string client, std::string conn,
          Clock::time_point start, const RecordOptions& options);

  void client_sent(std::string_view bytes, Clock::time_point at);  // one read = one send step
  void server_sent(std::string_view bytes, Clock::time_point at);  // stream: joined until the
                                                                   // client acts again
  void client_eof(Clock::time_point at);  // FIN: a half-close, or the close after the server's
  void client_reset(Clock::time_point at);
  void server_eof(Clock::time_point at);
  void server_reset(Clock::time_point at);

  bool ended() const { return ended_; }  // nothing more can happen on this session
  const std::string& client() const { return client_; }
  // The steps so far, closed off: the pending reply flushed, the conn closed if still open.
  std::vector<TimedStep> timeline() const;

 private:
  void client_acts(scenario::Op op, Clock::time_point at);  // flushes the reply first
  void flush_reply(std::vector<TimedStep>& out) const;
  void flush_client(Clock::time_point at);  // --frame: what is left of a message, as bytes
  bool framed() const { return opt_.frame && transport_ == scenario::Transport::tcp; }
  void push(scenario::Op op, Clock::time_point at, bool by_client) {
    steps_.push_back({at, scenario::Step{std::move(op), {}, {}, {}}, by_client});
  }

  scenario::Transport transport_;
  std::string client_, conn_;
  RecordOptions opt_;
  std::vector<TimedStep> steps_;
  std::string reply_;    // stream: server bytes not yet written as an expect
  std::string request_;  // --frame: client bytes not yet a whole message
  Clock::time_point last_client_, reply_done_;
  bool client_eof_ = false, server_eof_ = false, ended_ = false;
};

// One case per session, the usual shape.
scenario::Case to_case(const Session& s, const std::string& id, const RecordOptions& options);
// Every session as one case (conns c1, c2...), steps in the order the proxy saw them: for
// servers whose clients talk to each other, like a chat room, where a case per client could
// not be replayed on its own.
scenario::Case one_case(const std::vector<const Session*>& sessions, const std::string& id,
                        const RecordOptions& options);

// The conn of the `index`th session (from 0): "c", or c1, c2... when they share one case.
std::string conn_name(size_t index, const RecordOptions& options);
// The cases of a recording: to_case for each session, or one_case for them all.
std::vector<scenario::Case> recorded_cases(const std::vector<const Session*>& sessions,
                                           const RecordOptions& options);

// Bytes as a payload: text when they are printable UTF-8 (tab, CR, LF allowed) with no "${",
// hex otherwise.
scenario::Payload payload_of(std::string_view bytes);

// The expect steps that check `bytes`: exact, length-only over the limit, or regexes.
scenario::Steps expects_for(std::string_view bytes, scenario::Transport transport,
                            const RecordOptions& options, const std::string& conn);

}  // namespace sockspec::record

namespace sockspec::record {

// A suite name from the output file's name: "my Session.json" -> "my-session".
std::string suite_name_for(const std::string& output_path);

// The recorded cases as suite JSON text (format 1), checked by reading it back through the
// parser: `error` names what did not survive the trip, which would be a bug of ours.
struct SuiteText {
  std::string text;
  std::string error;
};
SuiteText suite_text(const std::string& name, const std::string& title,
                     scenario::Transport transport, uint64_t default_timeout_ms,
                     std::vector<scenario::Case> cases);

}  // namespace sockspec::record
