// The reference servers' own TLS (OpenSSL 3), kept apart from the harness's like sock.h: a
// server context from PEM files or a generated throw-away certificate, and a non-blocking
// server session that the worker's epoll loop drives. No OpenSSL type leaks into callers
// beyond the opaque pointers; every status is one enum, as sock.h's calls return errno.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

struct ssl_ctx_st;  // SSL_CTX
struct ssl_st;      // SSL

namespace sockspec::refserver {

// Which certificate to generate: a good one, or one of the TLS faults' broken ones.
enum class CertKind {
  good,        // CN=localhost, SAN DNS:localhost IP:127.0.0.1 IP:::1, valid now-1h .. now+7d
  expired,     // as good, but valid now-2d .. now-1d
  wrong_name,  // CN and SAN DNS:wrong.invalid only, no IP SAN
};

class TlsContext {
 public:
  // From a PEM certificate (chain) file and its PEM private key; `error` says why not.
  static std::unique_ptr<TlsContext> from_files(const std::string& cert_file,
                                                const std::string& key_file, std::string& error);
  // With a fresh EC P-256 key and a self-signed certificate; cert_pem() is what clients trust.
  static std::unique_ptr<TlsContext> generated(CertKind kind, std::string& error);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  ssl_ctx_st* get() const { return ctx_; }
  // The tls-renegotiation-reset fault: a client's renegotiation starts instead of being declined.
  void let_clients_renegotiate();
  const std::string& cert_pem() const { return cert_pem_; }  // empty when loaded from files

 private:
  explicit TlsContext(ssl_ctx_st* ctx) : ctx_(ctx) {}
  ssl_ctx_st* ctx_;
  std::string cert_pem_;
};

enum class TlsStatus {
  ok,          // done (n bytes for read/write)
  want_read,   // retry when the socket is readable
  want_write,  // retry when the socket is writable
  closed,      // the peer's close_notify: the TLS end of input
  eof,         // a bare TCP FIN without close_notify (the peer's mistake; treated as FIN)
  failed,      // a protocol or socket error: the session cannot be used any more
};

struct TlsResult {
  TlsStatus status;
  size_t n = 0;
};

// One accepted connection's server side. Does not own the fd.
class TlsSession {
 public:
  TlsSession(ssl_ctx_st* ctx, int fd);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;
  bool valid() const { return ssl_ != nullptr; }

  bool handshake_done() const { return done_; }
  // The tls-renegotiation-reset fault: a read that finds a renegotiation begun fails, and the
  // worker drops the connection (no alert, no close_notify).
  void fail_on_renegotiation();
  void saw_renegotiation() { renegotiation_seen_ = true; }
  TlsStatus handshake();
  TlsResult read(char* buf, size_t n);
  TlsResult write(const char* buf, size_t n);
  // Sends our close_notify (once). ok when sent or when it never can be (a failed session);
  // want_write when the socket has no room for it yet.
  TlsStatus close_notify();
  // Decrypted bytes, or undecrypted ones, held inside OpenSSL: level-triggered epoll will not
  // report them, since they already left the socket.
  bool has_pending() const;
  // Why the last call failed ("sslv3 alert bad certificate", "recv: ECONNRESET").
  const std::string& error() const { return error_; }

 private:
  TlsStatus status_of(int ret);

  ssl_st* ssl_;
  bool done_ = false, broken_ = false, notified_ = false, fail_on_renegotiation_ = false;
  bool renegotiation_seen_ = false;  // a ClientHello came after the first handshake
  std::string error_;
};

}  // namespace sockspec::refserver
