// Reading a conn's socket (and writing its stream): TCP bytes (through TLS when the conn has it)
// into the conn's buffer, UDP datagrams in batches. Both tell the event loop when a read left the
// socket empty, and ask it first: when nothing came since the last EAGAIN they return "nothing yet"
// without a syscall. Right after a send, a request's reply has almost never arrived, so an expect
// waits at once instead of first making a recv() that fails with EAGAIN.
#pragma once

#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/conn.h"
#include "net/event_loop.h"

namespace sockspec::engine {

// The largest datagram read whole; a bigger one shows as full_size > bytes.size().
inline constexpr size_t kMaxDatagram = 65536;

enum class Read { data, eof, again, failed };

inline bool is_reset(int err) { return err == ECONNRESET || err == EPIPE; }

// Received bytes quoted for a message, cut after `max`: "abc\\n"...
std::string preview(std::string_view bytes, size_t max = 48);

// One recv() of at most `max` bytes (0: a large chunk) appended to c.rx; what it got is added
// to `received`. On failure `err` is the errno, and c.reset_errno is set when the connection
// was reset.
Read read_some(Conn& c, net::EventLoop& loop, uint64_t& received, int& err, size_t max = 0);

// "recv 127.0.0.1:7: EPROTO", or on a TLS conn OpenSSL's reason ("tls read 127.0.0.1:443:
// decryption failed or bad record mac").
std::string read_error(const Conn& c, int err);

// One write of a stream conn's bytes (through its TLS when it has one): the bytes taken, or
// -1 with `err` (EAGAIN: wait until the socket is writable).
ssize_t write_some(Conn& c, const char* data, size_t len, int& err);

// The next datagram: from c.inbox, else from one recvmmsg() that queues any further datagrams
// in c.inbox. -1 with errno set, 0 nothing queued, 1 a datagram in d.
int recv_datagram(Conn& c, net::EventLoop& loop, Datagram& d);

}  // namespace sockspec::engine
