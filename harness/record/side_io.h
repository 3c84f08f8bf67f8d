// One side of a recorded stream, plain or TLS: a read, a write and the end of what it sends,
// each worded as recv/send/shutdown are (-1 and errno; EAGAIN: not now), so the proxy's flow
// logic is one whether the session is encrypted or not.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string_view>

#include "net/tls.h"

namespace sockspec::record {

// > 0 bytes, 0 the side's end, -1 with errno. With TLS, `wants_write` says the session needs
// the socket writable to go on (a handshake flight); a failure's reason is tls->error().
ssize_t side_read(int fd, net::TlsSession* tls, char* buf, size_t n, bool& wants_write);
ssize_t side_write(int fd, net::TlsSession* tls, std::string_view bytes);
// close_notify on TLS (once), else a FIN.
void side_end(int fd, net::TlsSession* tls);

}  // namespace sockspec::record
