// `serve --tls`: the services over TLS with the certificate the server generates and prints,
// the close_notify as TLS's FIN, and the TLS faults each doing their one bug. The client is a
// blocking OpenSSL one of this test's own, with the sockets' receive timeout bounding every wait.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <sys/stat.h>

#include <memory>
#include <sstream>

#include "reference_servers/tests/server_process.h"
#include "reference_servers/tests/sockets.h"

namespace sockspec::refserver::testing {
namespace {

Config tls_config(Service s = Service::echo, Fault f = Fault::none) {
  Config c;
  c.service = s;
  c.fault = f;
  c.threads = 2;
  c.udp = false;
  c.tls.enabled = true;
  return c;
}

struct CtxFree {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
};
struct SslFree {
  void operator()(SSL* p) const { SSL_free(p); }
};

// One blocking TLS client connection that verifies the server against `ca_file` as `name`
// (a host name, or an IP address checked against the certificate's IP SANs).
struct Client {
  Sock sock;
  std::unique_ptr<SSL_CTX, CtxFree> ctx;
  std::unique_ptr<SSL, SslFree> ssl;
  bool connected = false;
  long verify_result = -1;

  Client(uint16_t port, const std::string& ca_file, const std::string& name)
      : sock(tcp_connect(AF_INET, port, 10000)), ctx(SSL_CTX_new(TLS_client_method())) {
    if (sock.fd < 0 || !ctx) return;
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1) return;
    ssl.reset(SSL_new(ctx.get()));
    SSL_set_fd(ssl.get(), sock.fd);
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
    if (X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) != 1) {
      SSL_set_tlsext_host_name(ssl.get(), name.c_str());
      SSL_set1_host(ssl.get(), name.c_str());
    }
    ERR_clear_error();
    connected = SSL_connect(ssl.get()) == 1;
    verify_result = SSL_get_verify_result(ssl.get());
  }

  bool write_all(const std::string& data) {
    for (size_t off = 0; off < data.size();) {
      size_t n = 0;
      if (SSL_write_ex(ssl.get(), data.data() + off, data.size() - off, &n) != 1) return false;
      off += n;
    }
    return true;
  }

  // Until `n` bytes, the end of the stream, an error or the receive timeout; `last` keeps
  // the SSL_get_error of the read that stopped short.
  std::string read_n(size_t n, int* last = nullptr) {
    std::string out;
    std::string buf(65536, '\0');
    while (out.size() < n) {
      size_t got = 0;
      int r = SSL_read_ex(ssl.get(), buf.data(), std::min(buf.size(), n - out.size()), &got);
      if (r != 1) {
        if (last) *last = SSL_get_error(ssl.get(), r);
        break;
      }
      out.append(buf.data(), got);
    }
    return out;
  }

  // What the next read finds after the data: SSL_get_error of a read that returned nothing.
  int end_of_stream() {
    char c;
    size_t got = 0;
    ERR_clear_error();
    int r = SSL_read_ex(ssl.get(), &c, 1, &got);
    return r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl.get(), r);
  }

  // Writes `data` and reads the echo as it comes on a non-blocking socket, so the server's
  // backpressure and its short writes are exercised; bounded in rounds and per wait.
  std::string pipelined_echo(const std::string& data) {
    fcntl(sock.fd, F_SETFL, fcntl(sock.fd, F_GETFL) | O_NONBLOCK);
    std::string back, buf(65536, '\0');
    size_t off = 0;
    for (int round = 0; back.size() < data.size() && round < 1'000'000; ++round) {
      bool blocked_on_write = false;
      if (off < data.size()) {
        size_t n = 0;
        // Retried with the same bytes after WANT_WRITE, as OpenSSL requires.
        int r = SSL_write_ex(ssl.get(), data.data() + off,
                             std::min<size_t>(data.size() - off, 65536), &n);
        if (r == 1) {
          off += n;
        } else {
          int e = SSL_get_error(ssl.get(), r);
          if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) break;
          blocked_on_write = e == SSL_ERROR_WANT_WRITE;
        }
      }
      size_t got = 0;
      int r = SSL_read_ex(ssl.get(), buf.data(), buf.size(), &got);
      if (r == 1) {
        back.append(buf.data(), got);
        continue;
      }
      int e = SSL_get_error(ssl.get(), r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) break;
      if (off < data.size() && !blocked_on_write) continue;  // more to write right away
      pollfd p{sock.fd, static_cast<short>(POLLIN | (blocked_on_write ? POLLOUT : 0)), 0};
      if (poll(&p, 1, 10000) <= 0) break;
    }
    return back;
  }

  // Sends our close_notify; the server's comes later, to a read.
  bool close_notify() { return SSL_shutdown(ssl.get()) >= 0; }
};

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

TEST(TlsEcho, RoundTripsEverySizeVerifiedAsLocalhostAgainstThePrintedCertificate) {
  ServerProcess srv(tls_config());
  ASSERT_FALSE(srv.cert_path().empty()) << "no 'tls certificate PATH' line";
  Client c(srv.port(), srv.cert_path(), "localhost");
  ASSERT_TRUE(c.connected) << X509_verify_cert_error_string(c.verify_result);
  EXPECT_EQ(c.verify_result, X509_V_OK);
  for (size_t size :
       {size_t{1}, size_t{100}, size_t{16384}, size_t{16385}, size_t{100000}, size_t{1} << 20}) {
    std::string data = pattern(size, static_cast<unsigned>(size));
    // 64 KiB at a time, each read back before the next: a blocking client that wrote 1 MiB
    // unread would stall against the server's backpressure.
    std::string back;
    for (size_t off = 0; off < size; off += 65536) {
      std::string chunk = data.substr(off, 65536);
      ASSERT_TRUE(c.write_all(chunk)) << "size " << size;
      back += c.read_n(chunk.size());
    }
    EXPECT_TRUE(back == data) << "size " << size << ": got " << back.size() << " bytes back";
  }
}

TEST(TlsEcho, EightMiBWrittenWhileReadingTheEchoArriveIntact) {
  ServerProcess srv(tls_config());
  Client c(srv.port(), srv.cert_path(), "localhost");
  ASSERT_TRUE(c.connected);
  std::string data = pattern(8u << 20, 11);
  std::string back = c.pipelined_echo(data);
  EXPECT_EQ(back.size(), data.size());
  EXPECT_TRUE(back == data);
}

TEST(TlsEcho, VerifiesAgainstTheIpAddress127001) {
  ServerProcess srv(tls_config());
  Client c(srv.port(), srv.cert_path(), "127.0.0.1");
  ASSERT_TRUE(c.connected) << X509_verify_cert_error_string(c.verify_result);
  EXPECT_EQ(c.verify_result, X509_V_OK);
  ASSERT_TRUE(c.write_all("by address\n"));
  EXPECT_EQ(c.read_n(11), "by address\n");
}

TEST(TlsEcho, ClientCloseNotifyGetsTheRestEchoedThenTheServersCloseNotify) {
  ServerProcess srv(tls_config());
  Client c(srv.port(), srv.cert_path(), "localhost");
  ASSERT_TRUE(c.connected);
  std::string data = pattern(100000, 7);
  ASSERT_TRUE(c.write_all(data));
  ASSERT_TRUE(c.close_notify());  // sent before a byte of the echo was read: a half-close
  EXPECT_TRUE(c.read_n(data.size()) == data);
  EXPECT_EQ(c.end_of_stream(), SSL_ERROR_ZERO_RETURN);
}

TEST(TlsUpper, UppercasesOverTls) {
  ServerProcess srv(tls_config(Service::upper));
  Client c(srv.port(), srv.cert_path(), "localhost");
  ASSERT_TRUE(c.connected);
  ASSERT_TRUE(c.write_all("Hello, tls 1.3!\n"));
  EXPECT_EQ(c.read_n(16), "HELLO, TLS 1.3!\n");
}

TEST(TlsDaytime, SendsItsLineThenCloseNotify) {
  ServerProcess srv(tls_config(Service::daytime));
  Client c(srv.port(), srv.cert_path(), "localhost");
  ASSERT_TRUE(c.connected);
  int last = SSL_ERROR_NONE;
  std::string line = c.read_n(1000, &last);
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(last, SSL_ERROR_ZERO_RETURN);
}

TEST(TlsChat, RelaysBetweenTwoTlsClients) {
  ServerProcess srv(tls_config(Service::chat));
  Client a(srv.port(), srv.cert_path(), "localhost");
  Client b(srv.port(), srv.cert_path(), "localhost");
  ASSERT_TRUE(a.connected && b.connected);
  // b's handshake is done on b's side; a message from a may reach the server first, and then
  // waits in b's output until b's session is ready.
  ASSERT_TRUE(a.write_all("hi from a\n"));
  EXPECT_EQ(b.read_n(10), "hi from a\n");
}

TEST(TlsFaults, ExpiredCertificateFailsVerificationAsExpired) {
  ServerProcess srv(tls_config(Service::echo, Fault::tls_expired_cert));
  Client c(srv.port(), srv.cert_path(), "localhost");
  EXPECT_FALSE(c.connected);
  EXPECT_EQ(c.verify_result, X509_V_ERR_CERT_HAS_EXPIRED)
      << X509_verify_cert_error_string(c.verify_result);
}

TEST(TlsFaults, WrongNameCertificateFailsTheLocalhostCheck) {
  ServerProcess srv(tls_config(Service::echo, Fault::tls_wrong_name));
  Client c(srv.port(), srv.cert_path(), "localhost");
  EXPECT_FALSE(c.connected);
  EXPECT_EQ(c.verify_result, X509_V_ERR_HOSTNAME_MISMATCH)
      << X509_verify_cert_error_string(c.verify_result);
}

TEST(TlsFaults, NoCloseNotifyEndsWithABareFin) {
  ServerProcess srv(tls_config(Service::echo, Fault::tls_no_close_notify));
  Client c(srv.port(), srv.cert_path(), "localhost");
  ASSERT_TRUE(c.connected);
  ASSERT_TRUE(c.write_all("last words\n"));
  ASSERT_TRUE(c.close_notify());
  EXPECT_EQ(c.read_n(11), "last words\n");
  EXPECT_EQ(c.end_of_stream(), SSL_ERROR_SSL);
  EXPECT_EQ(ERR_GET_REASON(ERR_peek_error()), SSL_R_UNEXPECTED_EOF_WHILE_READING);
}

TEST(TlsCertificateFile, TheGeneratedOneIsRemovedWhenTheServerStops) {
  ServerProcess srv(tls_config());
  std::string path = srv.cert_path();
  ASSERT_FALSE(path.empty());
  EXPECT_TRUE(file_exists(path));
  EXPECT_EQ(srv.stop(), 0);
  EXPECT_FALSE(file_exists(path));
}

TEST(TlsCertificateFile, CertOutIsWrittenThereAndKept) {
  std::string path = ::testing::TempDir() + "refserver-tls-cert-out.pem";
  ::unlink(path.c_str());
  Config cfg = tls_config();
  cfg.tls.cert_out = path;
  {
    ServerProcess srv(cfg);
    EXPECT_EQ(srv.cert_path(), path);
    Client c(srv.port(), path, "localhost");
    EXPECT_TRUE(c.connected);
  }
  EXPECT_TRUE(file_exists(path));
  ::unlink(path.c_str());
}

// Settings that cannot work: a usage error (2) before anything is bound or printed.
int serve_status(const Config& cfg, std::string* err_text = nullptr) {
  std::ostringstream out, err;
  int rc = serve(cfg, -1, out, err);
  if (err_text) *err_text = err.str();
  EXPECT_EQ(out.str(), "");
  return rc;
}

TEST(TlsUsage, ConflictingSettingsAreUsageErrors) {
  Config udp = tls_config();
  udp.udp = true;
  std::string why;
  EXPECT_EQ(serve_status(udp, &why), 2);
  EXPECT_NE(why.find("DTLS"), std::string::npos) << why;

  Config plain;
  plain.fault = Fault::tls_no_close_notify;
  EXPECT_EQ(serve_status(plain, &why), 2);
  EXPECT_NE(why.find("needs --tls"), std::string::npos) << why;

  Config files = tls_config(Service::echo, Fault::tls_expired_cert);
  files.tls.cert_file = "/nonexistent/cert.pem";
  files.tls.key_file = "/nonexistent/key.pem";
  EXPECT_EQ(serve_status(files), 2);

  EXPECT_EQ(serve_status(tls_config(Service::echo, Fault::ignore_partial_send)), 2);

  Config half = tls_config();
  half.tls.cert_file = "/nonexistent/cert.pem";
  EXPECT_EQ(serve_status(half), 2);
}

TEST(TlsUsage, AnUnreadableCertificateFileIsAnErrorNamingIt) {
  Config cfg = tls_config();
  cfg.tls.cert_file = "/nonexistent/cert.pem";
  cfg.tls.key_file = "/nonexistent/key.pem";
  std::string why;
  EXPECT_EQ(serve_status(cfg, &why), 1);
  EXPECT_NE(why.find("/nonexistent/cert.pem"), std::string::npos) << why;
}

}  // namespace
}  // namespace sockspec::refserver::testing
