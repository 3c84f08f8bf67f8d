// TLS on a connected, non-blocking TCP socket, for the engine's client side (OpenSSL).
//
// The engine sees a byte stream with a close kind: read and write move plaintext and say what
// the socket must become ready for when they cannot go on; a close is either the peer's
// close_notify or a bare end of the TCP stream (which is also what a truncation attack looks
// like, so the two are told apart). A TlsSession never owns its socket: the Conn's Fd does.
//
// A TlsClient belongs to one event loop (one thread): it builds the OpenSSL contexts a run
// needs on first use and keeps the last session ticket per server, for resumption. No state
// is shared between threads (OpenSSL 3 needs no global set-up).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

// OpenSSL's types, declared here so the engine's headers need none of OpenSSL's.
struct ssl_st;
struct ssl_session_st;
struct ssl_ctx_st;

namespace sockspec::net {

// What a connection's handshake asks for: the run's defaults (--tls-*), then a step's own.
struct TlsSettings {
  bool verify = true;               // check the certificate chain and the name
  std::string ca_file;              // trust anchors (PEM); empty: the system's store
  std::string cert_file, key_file;  // a client certificate (mTLS)
  std::string sni;                  // server name sent; empty: none
  std::string verify_name;          // the name or address the certificate must carry
  std::vector<std::string> alpn;
  int min_version = 0, max_version = 0;  // TLS1_2_VERSION...; 0: OpenSSL's default
  // The share of connections that offer the last session ticket this loop got from the
  // server (when it has one), spread evenly: 1 all, 0 none (every handshake a full one).
  double resume = 1.0;
};

// Parses "1.2" / "1.3" (also "tls1.2"); 0 when it is neither.
int tls_version_from_name(const std::string& name);
std::string tls_version_name(int version);

enum class TlsIo {
  ok,          // done (some bytes moved, or the handshake finished)
  want_read,   // wait for the socket to be readable, then call again
  want_write,  // wait for it to be writable, then call again
  closed,      // the peer sent close_notify
  truncated,   // the TCP stream ended without close_notify
  failed,      // see error() / sys_errno()
};

class TlsSession {
 public:
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  TlsIo handshake();  // either side: drives it on; `ok` once it is done
  TlsIo read(char* buf, size_t cap, size_t& got);
  TlsIo write(const char* buf, size_t len, size_t& put);
  // Asks for a new handshake on this connection: TLS 1.2's renegotiation, or in TLS 1.3 (which
  // has none) a KeyUpdate that asks for the peer's. Then handshake() until `ok`.
  TlsIo renegotiate();
  bool key_update() const { return tls13_; }  // renegotiate() sent a KeyUpdate
  // Sends close_notify (once); the connection can still be read (TLS 1.3 half-close).
  TlsIo close_notify();
  // Bytes OpenSSL already holds: readable without the socket becoming ready.
  bool pending() const;

  // After `failed`: why, in OpenSSL's words ("certificate verify failed: certificate has
  // expired", "tlsv1 alert unknown ca"), and the errno when the socket itself failed.
  const std::string& error() const { return error_; }
  int sys_errno() const { return sys_errno_; }
  // After the handshake: "TLS 1.3, TLS_AES_256_GCM_SHA384, ALPN h2, resumed".
  std::string describe() const;
  bool resumed() const;
  std::string alpn() const;
  std::string version() const;
  std::string cipher() const;
  bool verified() const { return verified_; }
  bool sent_close_notify() const { return sent_close_notify_; }

 private:
  friend class TlsClient;
  friend class TlsServer;
  TlsSession() = default;
  TlsIo outcome(int ret, const char* op);

  ::ssl_st* ssl_ = nullptr;
  std::string ticket_key_;  // where the resumption store keeps this server's tickets
  std::string error_;
  int sys_errno_ = 0;
  bool verified_ = false, sent_close_notify_ = false, tls13_ = false;
};

class TlsClient {
 public:
  TlsClient();
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  // A session on `fd` (connected), ready for handshake(); null with `error` set when the
  // settings cannot be used (a CA or certificate file that does not load).
  // `peer` keys the resumption store: a ticket is offered only to the server that gave it.
  std::unique_ptr<TlsSession> start(int fd, const TlsSettings& s, const std::string& peer,
                                    std::string& error);

 private:
  struct Context;
  Context* context(const TlsSettings& s, std::string& error);
  static int on_new_session(::ssl_st* ssl, ::ssl_session_st* session);

  std::map<std::string, std::unique_ptr<Context>> contexts_;  // by CA, certificate, key
  std::map<std::string, ::ssl_session_st*> tickets_;          // by peer and name: the newest
  uint64_t started_ = 0, offered_ = 0;  // connections, and those that offered a ticket
};

// The server side, for `record`'s proxy: it terminates the clients' TLS with the certificate
// and key the user gives (the server's own), so what they say can be read and written down.
class TlsServer {
 public:
  // Null with `error` set when the files do not load or do not match.
  static std::unique_ptr<TlsServer> load(const std::string& cert_file, const std::string& key_file,
                                         std::string& error);
  ~TlsServer();
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;
  // A session on an accepted socket; its handshake runs within the first reads and writes.
  std::unique_ptr<TlsSession> accept(int fd, std::string& error) const;

 private:
  TlsServer() = default;
  ::ssl_ctx_st* ctx_ = nullptr;
};

}  // namespace sockspec::net
