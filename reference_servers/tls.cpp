#include "reference_servers/tls.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>

#include "reference_servers/sock.h"

namespace sockspec::refserver {

namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using CtxPtr = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX, SSL_CTX_free>>;

// The oldest error on this thread's OpenSSL queue, which is then emptied: a stale entry would
// make the next SSL_get_error on this thread misreport.
std::string take_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no reason given";
  if (const char* reason = ERR_reason_error_string(e)) return reason;
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

CtxPtr new_server_ctx(std::string& error) {
  CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) {
    error = "tls: SSL_CTX_new: " + take_error();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // PARTIAL_WRITE: SSL_write returns after each record, as send() returns a short count, so the
  // worker's output offset works unchanged. MOVING_WRITE_BUFFER: a retried write may come from
  // another address (the output string grows and reallocates between tries). RELEASE_BUFFERS:
  // idle connections hold no 16 KiB record buffers (10,000 of them must fit).
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
  // TLS 1.2 renegotiation asked by a client costs the server a handshake each time: refuse it.
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION);
  return ctx;
}

bool add_ext(X509* cert, int nid, const char* value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);  // self-signed: issuer is subject
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A self-signed leaf that clients use as their own trust anchor. No keyUsage extension:
// without keyCertSign there OpenSSL would not take the certificate as its own issuer, and the
// chain of one would not verify.
X509Ptr self_signed(EVP_PKEY* key, CertKind kind) {
  X509Ptr cert(X509_new());
  BnPtr serial(BN_new());
  if (!cert || !serial || X509_set_version(cert.get(), X509_VERSION_3) != 1) return nullptr;
  // A random serial: clients that cache certificates by issuer and serial would otherwise
  // confuse the throw-away certificates of two runs.
  if (BN_rand(serial.get(), 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())))
    return nullptr;
  constexpr long kHour = 3600, kDay = 24 * kHour;
  long not_before = kind == CertKind::expired ? -2 * kDay : -kHour;  // -1h: clock skew
  long not_after = kind == CertKind::expired ? -kDay : 7 * kDay;
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), not_before) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), not_after))
    return nullptr;
  const char* host = kind == CertKind::wrong_name ? "wrong.invalid" : "localhost";
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(host), -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1 || X509_set_pubkey(cert.get(), key) != 1)
    return nullptr;
  const char* san =
      kind == CertKind::wrong_name ? "DNS:wrong.invalid" : "DNS:localhost,IP:127.0.0.1,IP:::1";
  if (!add_ext(cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_ext(cert.get(), NID_subject_alt_name, san) ||
      !add_ext(cert.get(), NID_ext_key_usage, "serverAuth") ||
      !add_ext(cert.get(), NID_subject_key_identifier, "hash"))
    return nullptr;
  if (X509_sign(cert.get(), key, EVP_sha256()) == 0) return nullptr;
  return cert;
}

std::string to_pem(X509* cert) {
  BioPtr mem(BIO_new(BIO_s_mem()));
  if (!mem || PEM_write_bio_X509(mem.get(), cert) != 1) return {};
  char* data = nullptr;
  long n = BIO_get_mem_data(mem.get(), &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

}  // namespace

std::unique_ptr<TlsContext> TlsContext::from_files(const std::string& cert_file,
                                                   const std::string& key_file,
                                                   std::string& error) {
  CtxPtr ctx = new_server_ctx(error);
  if (!ctx) return nullptr;
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert_file.c_str()) != 1) {
    error = "tls: load certificate " + cert_file + ": " + take_error();
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    error = "tls: load key " + key_file + ": " + take_error();
    return nullptr;
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    error =
        "tls: key " + key_file + " does not match certificate " + cert_file + ": " + take_error();
    return nullptr;
  }
  return std::unique_ptr<TlsContext>(new TlsContext(ctx.release()));
}

std::unique_ptr<TlsContext> TlsContext::generated(CertKind kind, std::string& error) {
  CtxPtr ctx = new_server_ctx(error);
  if (!ctx) return nullptr;
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) {
    error = "tls: generate EC P-256 key: " + take_error();
    return nullptr;
  }
  X509Ptr cert = self_signed(key.get(), kind);
  if (!cert) {
    error = "tls: build self-signed certificate: " + take_error();
    return nullptr;
  }
  if (SSL_CTX_use_certificate(ctx.get(), cert.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1) {
    error = "tls: use generated certificate: " + take_error();
    return nullptr;
  }
  std::string pem = to_pem(cert.get());
  if (pem.empty()) {
    error = "tls: write generated certificate as PEM: " + take_error();
    return nullptr;
  }
  std::unique_ptr<TlsContext> out(new TlsContext(ctx.release()));
  out->cert_pem_ = std::move(pem);
  return out;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

void TlsContext::let_clients_renegotiate() {
  SSL_CTX_clear_options(ctx_, SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_options(ctx_, SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
  // A renegotiation's ClientHello suspends the handshake before anything is answered (the read
  // returns), so the worker drops the connection whatever the timing: a handshake left to run
  // could finish inside one SSL_read when the client is quick.
  SSL_CTX_set_client_hello_cb(
      ctx_,
      [](SSL* s, int*, void*) {
        auto* self = static_cast<TlsSession*>(SSL_get_app_data(s));
        if (!self || !self->handshake_done()) return SSL_CLIENT_HELLO_SUCCESS;
        self->saw_renegotiation();
        return SSL_CLIENT_HELLO_RETRY;
      },
      nullptr);
}

TlsSession::TlsSession(SSL_CTX* ctx, int fd) : ssl_(SSL_new(ctx)) {
  if (ssl_ && SSL_set_fd(ssl_, fd) != 1) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (ssl_) SSL_set_accept_state(ssl_);
  ERR_clear_error();
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

void TlsSession::fail_on_renegotiation() {
  fail_on_renegotiation_ = true;
  if (ssl_) SSL_set_app_data(ssl_, this);  // for the context's ClientHello callback
}

// Maps a failed call's result; `errno` must still be the one the call left.
TlsStatus TlsSession::status_of(int ret) {
  int sys = errno;
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
      return TlsStatus::want_read;
    case SSL_ERROR_WANT_WRITE:
      return TlsStatus::want_write;
    case SSL_ERROR_ZERO_RETURN:
      ERR_clear_error();
      return TlsStatus::closed;
    case SSL_ERROR_SYSCALL:
      // After SYSCALL or SSL errors OpenSSL forbids SSL_shutdown: no close_notify follows.
      broken_ = true;
      if (ERR_peek_error() == 0 && sys == 0) {
        error_ = "unexpected eof";
        return TlsStatus::eof;
      }
      error_ = ERR_peek_error() ? take_error() : sys_error("socket i/o", "", sys);
      ERR_clear_error();
      return TlsStatus::failed;
    default: {
      broken_ = true;
      // OpenSSL 3 reports a FIN without close_notify as this error, not as SYSCALL.
      bool eof = ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
      error_ = take_error();
      return eof ? TlsStatus::eof : TlsStatus::failed;
    }
  }
}

TlsStatus TlsSession::handshake() {
  if (done_) return TlsStatus::ok;
  ERR_clear_error();
  errno = 0;  // SSL_ERROR_SYSCALL reads it: no stale value
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    done_ = true;
    return TlsStatus::ok;
  }
  return status_of(r);
}

TlsResult TlsSession::read(char* buf, size_t n) {
  ERR_clear_error();
  size_t got = 0;
  errno = 0;  // SSL_ERROR_SYSCALL reads it: no stale value
  int r = SSL_read_ex(ssl_, buf, n, &got);
  if (fail_on_renegotiation_ && renegotiation_seen_) {
    broken_ = true;  // nothing more is written: the connection is simply dropped
    error_ = "renegotiation asked (dropped: the tls-renegotiation-reset fault)";
    return {TlsStatus::failed};
  }
  if (r == 1) return {TlsStatus::ok, got};
  return {status_of(r)};
}

TlsResult TlsSession::write(const char* buf, size_t n) {
  ERR_clear_error();
  size_t put = 0;
  errno = 0;  // SSL_ERROR_SYSCALL reads it: no stale value
  int r = SSL_write_ex(ssl_, buf, n, &put);
  if (r == 1) return {TlsStatus::ok, put};
  return {status_of(r)};
}

TlsStatus TlsSession::close_notify() {
  // Before the handshake ends there is no session to close; after a failure OpenSSL must not
  // write again.
  if (!done_ || broken_ || notified_) return TlsStatus::ok;
  ERR_clear_error();
  errno = 0;  // SSL_ERROR_SYSCALL reads it: no stale value
  int r = SSL_shutdown(ssl_);
  if (r < 0 && status_of(r) == TlsStatus::want_write) return TlsStatus::want_write;
  notified_ = true;  // sent (0 or 1), or it never will be
  ERR_clear_error();
  return TlsStatus::ok;
}

bool TlsSession::has_pending() const { return ssl_ && SSL_has_pending(ssl_) == 1; }

}  // namespace sockspec::refserver
