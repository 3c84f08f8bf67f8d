#include "net/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace sockspec::net {

int tls_version_from_name(const std::string& name) {
  std::string n = name.rfind("tls", 0) == 0 || name.rfind("TLS", 0) == 0 ? name.substr(3) : name;
  if (!n.empty() && (n[0] == 'v' || n[0] == ' ')) n.erase(0, 1);
  if (n == "1.2") return TLS1_2_VERSION;
  if (n == "1.3") return TLS1_3_VERSION;
  return 0;
}

std::string tls_version_name(int version) {
  switch (version) {
    case TLS1_VERSION:
      return "1.0";
    case TLS1_1_VERSION:
      return "1.1";
    case TLS1_2_VERSION:
      return "1.2";
    case TLS1_3_VERSION:
      return "1.3";
    default:
      return "0x" + std::to_string(version);
  }
}

namespace {

// The reason of the oldest error OpenSSL queued for this thread ("wrong version number"),
// and the queue emptied so the next operation starts clean.
std::string drain_errors() {
  std::string why;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    if (!why.empty()) continue;
    const char* r = ERR_reason_error_string(e);
    why = r ? r : "error " + std::to_string(ERR_GET_REASON(e));
  }
  return why;
}

bool is_ip_literal(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

// ---- TlsSession ----

TlsSession::~TlsSession() {
  if (ssl_) SSL_free(ssl_);
}

TlsIo TlsSession::outcome(int ret, const char* op) {
  int code = SSL_get_error(ssl_, ret);
  switch (code) {
    case SSL_ERROR_WANT_READ:
      return TlsIo::want_read;
    case SSL_ERROR_WANT_WRITE:
      return TlsIo::want_write;
    case SSL_ERROR_ZERO_RETURN:
      drain_errors();
      return TlsIo::closed;
    case SSL_ERROR_SYSCALL: {
      int e = errno;
      std::string why = drain_errors();
      if (e == 0 || e == EAGAIN) return TlsIo::truncated;  // an EOF OpenSSL did not classify
      sys_errno_ = e;
      std::string prefix = std::string_view(op) == "handshake" ? "" : std::string(op) + ": ";
      error_ = prefix + (why.empty()
                             ? std::string(strerrorname_np(e) ? strerrorname_np(e) : "socket error")
                             : why);
      return TlsIo::failed;
    }
    default: {
      unsigned long first = ERR_peek_error();
      if (ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        drain_errors();
        return TlsIo::truncated;
      }
      std::string why = drain_errors();
      long v = SSL_get_verify_result(ssl_);
      if (v != X509_V_OK && std::string_view(op) == "handshake") {
        why = "certificate verify failed: " + std::string(X509_verify_cert_error_string(v));
      }
      // A handshake's failure is said by whoever drives it ("tls handshake with PEER: ...").
      std::string prefix = std::string_view(op) == "handshake" ? "" : std::string(op) + ": ";
      error_ = prefix + (why.empty() ? "failed" : why);
      return TlsIo::failed;
    }
  }
}

TlsIo TlsSession::handshake() {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    verified_ =
        SSL_get_verify_mode(ssl_) != SSL_VERIFY_NONE && SSL_get_verify_result(ssl_) == X509_V_OK;
    return TlsIo::ok;
  }
  TlsIo io = outcome(r, "handshake");
  // The server closing before its hello is a failed handshake, not the end of a stream.
  if (io == TlsIo::truncated || io == TlsIo::closed) {
    error_ = "the server closed the connection before the handshake finished";
    return TlsIo::failed;
  }
  return io;
}

TlsIo TlsSession::read(char* buf, size_t cap, size_t& got) {
  got = 0;
  ERR_clear_error();
  errno = 0;
  if (SSL_read_ex(ssl_, buf, cap, &got) == 1) return TlsIo::ok;
  return outcome(0, "read");
}

TlsIo TlsSession::write(const char* buf, size_t len, size_t& put) {
  put = 0;
  ERR_clear_error();
  errno = 0;
  if (SSL_write_ex(ssl_, buf, len, &put) == 1) return TlsIo::ok;
  return outcome(0, "write");
}

TlsIo TlsSession::renegotiate() {
  ERR_clear_error();
  tls13_ = SSL_version(ssl_) >= TLS1_3_VERSION;
  int ok = tls13_ ? SSL_key_update(ssl_, SSL_KEY_UPDATE_REQUESTED) : SSL_renegotiate(ssl_);
  if (ok != 1) {
    error_ = drain_errors();
    if (error_.empty()) error_ = "OpenSSL would not start it";
    return TlsIo::failed;
  }
  return TlsIo::ok;
}

TlsIo TlsSession::close_notify() {
  if (sent_close_notify_) return TlsIo::ok;
  ERR_clear_error();
  errno = 0;
  int r = SSL_shutdown(ssl_);
  if (r >= 0) {  // 0: ours went out, the peer's not seen yet; 1: both
    sent_close_notify_ = true;
    return TlsIo::ok;
  }
  return outcome(r, "close_notify");
}

bool TlsSession::pending() const { return SSL_has_pending(ssl_) == 1; }

bool TlsSession::resumed() const { return SSL_session_reused(ssl_) == 1; }

std::string TlsSession::alpn() const {
  const unsigned char* p = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_, &p, &len);
  return p ? std::string(reinterpret_cast<const char*>(p), len) : std::string();
}

std::string TlsSession::version() const { return tls_version_name(SSL_version(ssl_)); }

std::string TlsSession::cipher() const {
  const char* c = SSL_get_cipher_name(ssl_);
  return c ? c : "";
}

std::string TlsSession::describe() const {
  std::string s = "TLS " + version() + ", " + cipher();
  if (auto a = alpn(); !a.empty()) s += ", ALPN " + a;
  s += resumed() ? ", resumed" : ", full handshake";
  s += verified_ ? ", certificate verified" : ", certificate NOT verified";
  return s;
}

// ---- TlsClient ----

struct TlsClient::Context {
  SSL_CTX* ctx = nullptr;
  ~Context() {
    if (ctx) SSL_CTX_free(ctx);
  }
};

TlsClient::TlsClient() = default;

TlsClient::~TlsClient() {
  for (auto& [k, s] : tickets_) SSL_SESSION_free(s);
}

// OpenSSL hands over each new session (TLS 1.3: the tickets that follow the handshake); the
// newest per server is kept for the next connection to offer.
int TlsClient::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* self = static_cast<TlsClient*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  auto* key = static_cast<const std::string*>(SSL_get_app_data(ssl));
  if (!self || !key) return 0;
  auto [it, fresh] = self->tickets_.try_emplace(*key, session);
  if (!fresh) {
    SSL_SESSION_free(it->second);
    it->second = session;
  }
  return 1;  // we keep the reference
}

// A file's identity for the context cache: a server restarted with a new throw-away
// certificate at the same path must not be checked against the old one.
static std::string file_stamp(const std::string& path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return path;
  return path + '@' + std::to_string(st.st_mtim.tv_sec) + '.' + std::to_string(st.st_mtim.tv_nsec) +
         '/' + std::to_string(st.st_size);
}

TlsClient::Context* TlsClient::context(const TlsSettings& s, std::string& error) {
  std::string key = file_stamp(s.ca_file) + '\n' + s.cert_file + '\n' + s.key_file;
  auto it = contexts_.find(key);
  if (it != contexts_.end()) return it->second.get();
  auto c = std::make_unique<Context>();
  c->ctx = SSL_CTX_new(TLS_client_method());
  if (!c->ctx) {
    error = "tls: cannot create a context: " + drain_errors();
    return nullptr;
  }
  SSL_CTX_set_app_data(c->ctx, this);
  SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(c->ctx, &TlsClient::on_new_session);
  ERR_clear_error();
  int ok = s.ca_file.empty() ? SSL_CTX_set_default_verify_paths(c->ctx)
                             : SSL_CTX_load_verify_locations(c->ctx, s.ca_file.c_str(), nullptr);
  if (ok != 1) {
    error = "tls: cannot load the trust anchors " +
            (s.ca_file.empty() ? std::string("of the system") : "from " + s.ca_file) + ": " +
            drain_errors();
    return nullptr;
  }
  if (!s.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(c->ctx, s.cert_file.c_str()) != 1) {
      error = "tls: cannot load the client certificate " + s.cert_file + ": " + drain_errors();
      return nullptr;
    }
    const std::string& k = s.key_file.empty() ? s.cert_file : s.key_file;
    if (SSL_CTX_use_PrivateKey_file(c->ctx, k.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(c->ctx) != 1) {
      error = "tls: cannot use the client key " + k + ": " + drain_errors();
      return nullptr;
    }
  }
  return contexts_.emplace(key, std::move(c)).first->second.get();
}

std::unique_ptr<TlsSession> TlsClient::start(int fd, const TlsSettings& s, const std::string& peer,
                                             std::string& error) {
  Context* c = context(s, error);
  if (!c) return nullptr;
  std::unique_ptr<TlsSession> t(new TlsSession());
  t->ssl_ = SSL_new(c->ctx);
  if (!t->ssl_ || SSL_set_fd(t->ssl_, fd) != 1) {
    error = "tls: cannot create a session: " + drain_errors();
    return nullptr;
  }
  SSL_set_connect_state(t->ssl_);
  auto fail = [&](const std::string& what) {
    error = "tls: " + what + ": " + drain_errors();
    return nullptr;
  };
  if (s.min_version && SSL_set_min_proto_version(t->ssl_, s.min_version) != 1)
    return fail("minimum version " + tls_version_name(s.min_version));
  if (s.max_version && SSL_set_max_proto_version(t->ssl_, s.max_version) != 1)
    return fail("maximum version " + tls_version_name(s.max_version));
  // RFC 6066: a server name is a host name, never an address literal.
  if (!s.sni.empty() && !is_ip_literal(s.sni) &&
      SSL_set_tlsext_host_name(t->ssl_, s.sni.c_str()) != 1)
    return fail("server name " + s.sni);
  if (!s.alpn.empty()) {
    std::string wire;
    for (const auto& p : s.alpn) {
      if (p.empty() || p.size() > 255) {
        error = "tls: an ALPN protocol name must be 1 to 255 bytes, got '" + p + "'";
        return nullptr;
      }
      wire += static_cast<char>(p.size());
      wire += p;
    }
    // SSL_set_alpn_protos returns 0 on success (unlike most of the API).
    if (SSL_set_alpn_protos(t->ssl_, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size())) != 0)
      return fail("ALPN");
  }
  if (s.verify) {
    SSL_set_verify(t->ssl_, SSL_VERIFY_PEER, nullptr);
    const std::string& name = s.verify_name.empty() ? s.sni : s.verify_name;
    if (!name.empty()) {
      int ok = is_ip_literal(name)
                   ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl_), name.c_str())
                   : SSL_set1_host(t->ssl_, name.c_str());
      if (ok != 1) return fail("name to verify " + name);
    }
  } else {
    SSL_set_verify(t->ssl_, SSL_VERIFY_NONE, nullptr);
  }
  // The resumption key names the server and the name asked for: a ticket goes back only there.
  t->ticket_key_ = peer + '\n' + s.sni;
  SSL_set_app_data(t->ssl_, &t->ticket_key_);
  ++started_;
  if (s.resume > 0 && static_cast<double>(offered_) < s.resume * static_cast<double>(started_)) {
    auto it = tickets_.find(t->ticket_key_);
    if (it != tickets_.end() && SSL_SESSION_is_resumable(it->second)) {
      SSL_set_session(t->ssl_, it->second);
      ++offered_;
    }
  }
  return t;
}

// ---- TlsServer ----

std::unique_ptr<TlsServer> TlsServer::load(const std::string& cert_file,
                                           const std::string& key_file, std::string& error) {
  std::unique_ptr<TlsServer> s(new TlsServer());
  ERR_clear_error();
  s->ctx_ = SSL_CTX_new(TLS_server_method());
  if (!s->ctx_) {
    error = "tls: cannot create a server context: " + drain_errors();
    return nullptr;
  }
  SSL_CTX_set_mode(s->ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(s->ctx_, cert_file.c_str()) != 1) {
    error = "tls: cannot load the certificate " + cert_file + ": " + drain_errors();
    return nullptr;
  }
  const std::string& k = key_file.empty() ? cert_file : key_file;
  if (SSL_CTX_use_PrivateKey_file(s->ctx_, k.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(s->ctx_) != 1) {
    error = "tls: cannot use the key " + k + ": " + drain_errors();
    return nullptr;
  }
  return s;
}

TlsServer::~TlsServer() {
  if (ctx_) SSL_CTX_free(ctx_);
}

std::unique_ptr<TlsSession> TlsServer::accept(int fd, std::string& error) const {
  std::unique_ptr<TlsSession> t(new TlsSession());
  t->ssl_ = SSL_new(ctx_);
  if (!t->ssl_ || SSL_set_fd(t->ssl_, fd) != 1) {
    error = "tls: cannot create a session: " + drain_errors();
    return nullptr;
  }
  SSL_set_accept_state(t->ssl_);
  return t;
}

}  // namespace sockspec::net
