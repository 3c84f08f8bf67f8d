// One thread's event loop: its TCP connections, and (on one worker) the UDP socket.
// Level-triggered epoll; a connection's interest is recomputed after every change, so
// reading stops while its replies are blocked (backpressure) and memory stays bounded.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <deque>
#include <memory>
#include <ostream>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "reference_servers/protocol.h"
#include "reference_servers/server.h"
#include "reference_servers/sock.h"
#include "reference_servers/tls.h"
#include "reference_servers/udp_schedule.h"

namespace sockspec::refserver {

using Clock = std::chrono::steady_clock;

// State every worker of one server shares; only counters, so no locks on the data path.
struct Shared {
  std::atomic<unsigned> connections{0};
  std::atomic<bool> stopping{false};
  // TLS handshake failures are reported at most once a second over all workers, with the
  // count of those left unreported since (a scanner or a client rejecting our certificate
  // must not flood `err`).
  std::atomic<int64_t> last_tls_report_ns{INT64_MIN / 2};
  std::atomic<unsigned> tls_failures_unreported{0};
};

class Worker {
 public:
  Worker(const Config& cfg, int listen_fd, int udp_fd, int wrong_port_fd, int stop_fd,
         Shared& shared, std::ostream& err, const TlsContext* tls = nullptr);
  void run();
  void run_udp_blocking();  // a dedicated UDP thread (no epoll): see server.cpp
  const UdpSchedule* schedule() const { return schedule_.get(); }  // udp-schedule fault

 private:
  struct Conn {
    Fd fd;
    std::string out;  // bytes to send; out_off of them already sent
    size_t out_off = 0;
    uint32_t events = 0;  // what epoll watches now
    bool peer_fin = false, close_after_flush = false, draining = false, reset_after_flush = false;
    bool answered = false;
    uint64_t sent_total = 0;
    Clock::time_point last_active;
    Chargen chargen;
    SockperfFramer sockperf;
    std::deque<std::pair<Clock::time_point, std::string>> delayed;  // slow fault
    Addr peer;                                                      // for error messages
    // TLS (worker_tls.cpp): the session; epoll bits it needs beyond what the output and
    // backpressure ask (a read that must write, a write that must read, the handshake's
    // direction); a close_notify waiting for room; on the list of sessions holding bytes.
    std::unique_ptr<TlsSession> tls;
    uint32_t tls_extra = 0;
    bool close_notify_waiting = false, tls_listed = false;
  };
  struct Timer {
    Clock::time_point at;
    int fd;  // -1: the UDP delay queue
    bool operator>(const Timer& o) const { return at > o.at; }
  };
  struct DelayedDatagram {
    Clock::time_point at;
    Addr to;
    std::string bytes;
  };

  void accept_all();
  void add_conn(Fd fd, const Addr& peer);
  void start_service(Conn& c);
  void on_conn_event(Conn& c, uint32_t ev);
  void on_data(Conn& c, std::string_view data);
  void on_fin(Conn& c);
  void reply(Conn& c, std::string_view bytes, bool upper = false);
  bool apply_reply_fault(Conn& c, std::string& bytes);
  Clock::time_point reply_time(Clock::time_point now);
  void flush(Conn& c);
  void after_flush(Conn& c);
  void update(Conn& c);
  void close_conn(Conn& c, bool reset);
  void on_tls_event(Conn& c, uint32_t ev);
  bool tls_handshake(Conn& c);
  ssize_t tls_send(Conn& c, const char* data, size_t n);
  bool send_close_notify(Conn& c);
  void note_tls_pending(Conn& c);
  void run_tls_pending();
  void report_tls_failure(const Conn& c);
  void on_udp();
  int receive_udp(int flags);
  void handle_udp(int n);
  void send_datagram(const Addr& to, const std::string& bytes);
  void run_timers();
  void sweep();
  timespec poll_timeout() const;
  void watch_listener(bool on);

  const Config& cfg_;
  int listen_fd_, udp_fd_, wrong_port_fd_, stop_fd_;
  Shared& shared_;
  std::ostream& err_;
  const TlsContext* tls_;         // null: plain TCP
  std::vector<int> tls_pending_;  // connections whose session holds bytes epoll cannot see
  Fd epoll_;
  Fd reserve_;  // a spare fd released to accept-and-close when the process runs out (EMFILE)
  bool listener_watched_ = false;
  std::unordered_map<int, std::unique_ptr<Conn>> conns_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::deque<DelayedDatagram> udp_delayed_;
  std::vector<std::pair<Addr, Clock::time_point>> chat_peers_;
  Chargen udp_chargen_;
  struct UdpBatch {
    std::vector<std::string> bufs;
    std::vector<Addr> from;
    std::vector<iovec> iov;
    std::vector<mmsghdr> msgs;
  } udp_;
  uint64_t rng_ = 0x9E3779B97F4A7C15ull;
  std::unique_ptr<UdpSchedule> schedule_;  // the udp-schedule fault, on the UDP worker
  Clock::time_point last_sweep_, last_emfile_report_;
  Clock::time_point busy_until_{};  // busy fault: when the requests taken so far are done
  std::vector<char> rx_;
  uint32_t rdhup_;  // EPOLLRDHUP for the drop-after-fin fault, which acts on the FIN alone
};

}  // namespace sockspec::refserver
