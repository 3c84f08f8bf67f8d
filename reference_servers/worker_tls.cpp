// The worker's TLS connections: the same services and faults as plain TCP (worker.cpp), with
// SSL_read/SSL_write in place of recv/send. The close_notify is TLS's FIN: the peer's ends
// its input (echo still answers what came before it, then sends its own), ours is sent
// before every orderly close unless the tls-no-close-notify fault forgets it.
#include <sys/epoll.h>

#include "reference_servers/worker.h"

namespace sockspec::refserver {

namespace {
constexpr size_t kReadSize = 64 * 1024;  // as worker.cpp: SSL_read gives one record at most
constexpr int kReadsPerEvent = 16;       // then other connections get their turn
}  // namespace

void Worker::on_tls_event(Conn& c, uint32_t ev) {
  const int key = c.fd.get();
  if (ev & EPOLLERR) {  // a pending socket error (reset): the connection is dead
    close_conn(c, false);
    return;
  }
  if ((ev & EPOLLRDHUP) && cfg_.fault == Fault::drop_after_fin) {
    close_conn(c, false);
    return;
  }
  c.tls_extra = 0;  // whatever blocks next says again what it waits for
  if (!c.tls->handshake_done()) {
    if (!tls_handshake(c)) return;
    start_service(c);
    if (!conns_.count(key)) return;
  }
  // Output first: a write that waited for room (or, rarely, for the peer's bytes).
  if (c.out_off != c.out.size() || c.close_notify_waiting || cfg_.service == Service::chargen) {
    flush(c);
    if (!conns_.count(key)) return;
  }
  size_t want = cfg_.fault == Fault::truncate_1024 ? 1024 : kReadSize;
  for (int reads = 0; reads < kReadsPerEvent && (c.events & EPOLLIN) && !c.peer_fin; ++reads) {
    TlsResult r = c.tls->read(rx_.data(), want);
    switch (r.status) {
      case TlsStatus::ok:
        c.last_active = Clock::now();
        if (c.draining) continue;  // after our close_notify: read and drop until the peer's
        on_data(c, std::string_view(rx_.data(), r.n));
        if (!conns_.count(key)) return;
        continue;
      case TlsStatus::want_read:
        reads = kReadsPerEvent;
        continue;
      case TlsStatus::want_write:
        c.tls_extra |= EPOLLOUT;
        reads = kReadsPerEvent;
        continue;
      case TlsStatus::closed:  // close_notify: the end of input, as FIN is on plain TCP
      case TlsStatus::eof:     // a FIN without it: truncation the peer risks; taken as FIN
        on_fin(c);
        return;
      case TlsStatus::failed:
        close_conn(c, false);
        return;
    }
  }
  // Both directions closed and nothing more will be read (input stopped after the peer's end,
  // or backpressure): level-triggered EPOLLHUP would fire forever.
  if ((ev & EPOLLHUP) && !(c.events & EPOLLIN)) {
    close_conn(c, false);
    return;
  }
  update(c);
  note_tls_pending(c);  // the read budget ran out with a record still inside the session
}

// True once the handshake is done; false while it waits for the socket or when it failed
// (then the connection is closed).
bool Worker::tls_handshake(Conn& c) {
  switch (c.tls->handshake()) {
    case TlsStatus::ok:
      c.last_active = Clock::now();
      return true;
    case TlsStatus::want_read:
      update(c);
      return false;
    case TlsStatus::want_write:
      c.tls_extra = EPOLLOUT;
      update(c);
      return false;
    case TlsStatus::failed:
      report_tls_failure(c);
      close_conn(c, false);
      return false;
    case TlsStatus::closed:
    case TlsStatus::eof:  // a client that connected and left (a port probe): nothing to say
      close_conn(c, false);
      return false;
  }
  return false;
}

// As send(): bytes taken, 0 when the session must wait (EPOLLOUT follows from the pending
// output), -1 when the connection is dead.
ssize_t Worker::tls_send(Conn& c, const char* data, size_t n) {
  TlsResult r = c.tls->write(data, n);
  switch (r.status) {
    case TlsStatus::ok:
      return static_cast<ssize_t>(r.n);
    case TlsStatus::want_write:
      return 0;
    case TlsStatus::want_read:  // a key update or the like: needs the peer's record first
      c.tls_extra |= EPOLLIN;
      return 0;
    default:
      return -1;
  }
}

// Our close_notify before an orderly close: true when sent (or never to be sent: plain TCP,
// the tls-no-close-notify fault, a failed session); false while it waits for room.
bool Worker::send_close_notify(Conn& c) {
  if (!c.tls || cfg_.fault == Fault::tls_no_close_notify) return true;
  bool waiting = c.tls->close_notify() == TlsStatus::want_write;
  if (waiting != c.close_notify_waiting) {
    c.close_notify_waiting = waiting;
    update(c);
  }
  return !waiting;
}

void Worker::note_tls_pending(Conn& c) {
  if (!c.tls || c.tls_listed || c.peer_fin || !c.tls->has_pending()) return;
  c.tls_listed = true;
  tls_pending_.push_back(c.fd.get());
}

// Reads what sessions hold, as if epoll had said they were readable. A connection closed
// since it was listed is skipped; one that took over its fd number just finds nothing.
void Worker::run_tls_pending() {
  if (tls_pending_.empty()) return;
  std::vector<int> due;
  due.swap(tls_pending_);
  for (int fd : due) {
    auto it = conns_.find(fd);
    if (it == conns_.end() || !it->second->tls) continue;
    it->second->tls_listed = false;
    on_tls_event(*it->second, EPOLLIN);
  }
}

void Worker::report_tls_failure(const Conn& c) {
  int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  int64_t last = shared_.last_tls_report_ns.load();
  constexpr int64_t kSecond = 1'000'000'000;
  if (now - last < kSecond || !shared_.last_tls_report_ns.compare_exchange_strong(last, now)) {
    ++shared_.tls_failures_unreported;
    return;
  }
  unsigned more = shared_.tls_failures_unreported.exchange(0);
  err_ << "tls handshake " << c.peer.str() << ": " << c.tls->error();
  if (more > 0) err_ << " (and " << more << " more failed handshakes since the last report)";
  err_ << std::endl;
}

}  // namespace sockspec::refserver
