// One TCP connection through the impairment proxy: the client's socket and the relay's own
// connection to the target, and a pump for each direction that applies delay, rate, slicing,
// stall, close/reset after N bytes or a time, and slow close. It owns both sockets; the proxy
// loop tells it when either is ready and when a time it asked for has come.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "impair/release_log.h"
#include "impair/shaper.h"
#include "impair/spec.h"
#include "net/address.h"
#include "net/fd.h"

namespace sockspec::impair {

struct StreamCounts;

class StreamRelay {
 public:
  // `server` is connecting (non-blocking) to `upstream`; `id` names the connection in the
  // release log.
  StreamRelay(net::Fd client, net::Fd server, net::SockAddr upstream, TimePoint now, uint64_t seed,
              uint64_t id);

  // Does what it can without blocking. Returns when it wants to be called again without an
  // event (nullopt: only on an event). Every chunk read is stamped with the clock read after
  // its recv returned, and leaves no earlier than stamp + delay, checked against the clock
  // read just before each send: `now` only says what time-based limits have struck.
  std::optional<TimePoint> pump(const Spec& spec, TimePoint now, StreamCounts& counts,
                                ReleaseRecorder& releases);
  bool finished() const { return state_ == State::finished; }
  int client_fd() const { return client_.get(); }
  int server_fd() const { return server_.get(); }
  // The epoll events each socket needs now (changes after every pump).
  uint32_t interest(int fd) const;

 private:
  struct Chunk {
    TimePoint release;
    std::string bytes;
    size_t sent = 0;
    TimePoint stamp;      // when its recv returned
    uint64_t offset = 0;  // of its first byte in this direction
  };
  struct Pipe {  // one direction
    bool to_server = true;
    std::deque<Chunk> queue;
    size_t queued = 0;
    TimePoint last_release{};
    TimePoint next_write{};  // rate and slice pacing
    bool src_eof = false;
    TimePoint fin_release{};
    bool fin_sent = false;
    bool dst_blocked = false;  // the last send said EAGAIN: wait for EPOLLOUT
    uint64_t forwarded = 0;
    uint64_t read = 0;  // bytes read from the source so far
  };
  enum class State { connecting, relaying, closing, resetting, finished };

  int src(const Pipe& p) const { return p.to_server ? client_.get() : server_.get(); }
  int dst(const Pipe& p) const { return p.to_server ? server_.get() : client_.get(); }
  bool can_read(const Pipe& p, const Direction& d) const;
  // false when the connection must end (a peer reset it, or a limit struck).
  bool read_side(Pipe& p, const Direction& d);
  bool write_side(Pipe& p, const Direction& d, TimePoint now, StreamCounts& counts,
                  ReleaseRecorder& releases, std::optional<TimePoint>& wake);
  void begin_close(TimePoint now, StreamCounts& counts);
  void begin_reset(TimePoint now, StreamCounts& counts);
  void abort_both();  // RST to both peers, now
  std::optional<TimePoint> pump_closing(TimePoint now);

  net::Fd client_, server_;
  net::SockAddr upstream_;
  State state_ = State::connecting;
  TimePoint opened_;
  TimePoint end_by_{};  // closing/resetting: give up waiting for the peers then
  Pipe pipes_[2];
  Random random_;
  uint64_t id_;
};

}  // namespace sockspec::impair
