#include "reference_servers/server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include "reference_servers/sock.h"
#include "reference_servers/tls.h"
#include "reference_servers/worker.h"

namespace sockspec::refserver {

namespace {

struct Bound {
  Fd fd;
  std::string error;
};

Bound bind_socket(const Addr& addr, int type, const Config& cfg) {
  Bound b;
  b.fd = Fd(::socket(addr.ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!b.fd) {
    b.error = sys_error("socket", "", errno);
    return b;
  }
  int one = 1;
  // SO_REUSEADDR lets a restarted server bind while old connections sit in TIME_WAIT.
  if (cfg.fault != Fault::no_reuseaddr) {
    setsockopt(b.fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  }
  // SO_REUSEPORT lets several server processes listen on one port; the kernel spreads the
  // connections over them (past one process's descriptor limit).
  if (cfg.reuseport) setsockopt(b.fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (::bind(b.fd.get(), reinterpret_cast<const sockaddr*>(&addr.ss), addr.len) != 0) {
    b.error = sys_error("bind", addr.str(), errno);
    b.fd.reset();
    return b;
  }
  if (type == SOCK_STREAM && ::listen(b.fd.get(), 4096) != 0) {
    b.error = sys_error("listen", addr.str(), errno);
    b.fd.reset();
  }
  return b;
}

Addr local_of(int fd) {
  Addr a;
  a.len = sizeof a.ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a.ss), &a.len);
  return a;
}

// TCP and UDP on one address and port (with port 0, one number free for both).
int bind_ip(const Config& cfg, Fd& tcp, Fd& udp, Fd& wrong_port, std::ostream& err) {
  Addr addr;
  if (!parse_addr(cfg.bind, cfg.port, addr)) {
    err << "serve: --bind needs a numeric IPv4 or IPv6 address, got '" << cfg.bind << "'\n";
    return 2;
  }
  // With both transports and port 0, find one port number free for both (a few tries).
  for (int attempt = 0; attempt < 20; ++attempt) {
    Addr a = addr;
    if (cfg.tcp) {
      Bound t = bind_socket(a, SOCK_STREAM, cfg);
      if (!t.fd) {
        err << "serve: " << t.error << "\n";
        return 1;
      }
      a = local_of(t.fd.get());
      tcp = std::move(t.fd);
    }
    if (cfg.udp) {
      Bound u = bind_socket(a, SOCK_DGRAM, cfg);
      if (!u.fd) {
        if (cfg.port == 0 && cfg.tcp) continue;  // that number is taken for UDP; try another
        err << "serve: " << u.error << "\n";
        return 1;
      }
      udp = std::move(u.fd);
    }
    break;
  }
  if (cfg.udp && !udp) {
    err << "serve: found no port free for both TCP and UDP\n";
    return 1;
  }
  if (cfg.fault == Fault::reply_wrong_port && udp) {
    Addr w = addr;
    reinterpret_cast<sockaddr_in*>(&w.ss)->sin_port = 0;  // same offset for IPv6
    wrong_port = bind_socket(w, SOCK_DGRAM, cfg).fd;
  }
  return 0;
}

// One AF_UNIX socket: a stream for tcp, a datagram socket for udp. An existing path is
// EADDRINUSE, as the kernel says: a server must not steal another's socket.
int bind_unix(const Config& cfg, Fd& tcp, Fd& udp, std::ostream& err) {
  Addr addr;
  if (!unix_addr(cfg.unix_path, addr)) {
    err << "serve: --unix needs a path of 1 to 107 bytes, got '" << cfg.unix_path << "'\n";
    return 2;
  }
  Bound b = bind_socket(addr, cfg.tcp ? SOCK_STREAM : SOCK_DGRAM, cfg);
  if (!b.fd) {
    err << "serve: " << b.error << "\n";
    return 1;
  }
  (cfg.tcp ? tcp : udp) = std::move(b.fd);
  return 0;
}

// Removes the server's socket file when serve() returns (abstract names leave none).
struct RemoveOnExit {
  std::string path;
  ~RemoveOnExit() {
    if (!path.empty() && path[0] != '@') ::unlink(path.c_str());
  }
};

bool is_tls_fault(Fault f) {
  return f == Fault::tls_expired_cert || f == Fault::tls_wrong_name ||
         f == Fault::tls_no_close_notify || f == Fault::tls_renegotiation_reset;
}

// The TLS settings that cannot work together; empty when they can.
std::string tls_usage_error(const Config& cfg) {
  const Config::Tls& t = cfg.tls;
  bool cert_fault = cfg.fault == Fault::tls_expired_cert || cfg.fault == Fault::tls_wrong_name;
  if (!t.enabled) {
    if (is_tls_fault(cfg.fault)) return std::string("fault ") + name_of(cfg.fault) + " needs --tls";
    if (!t.cert_file.empty() || !t.key_file.empty() || !t.cert_out.empty())
      return "--cert, --key and --cert-out need --tls";
    return {};
  }
  if (cfg.udp) return "--tls is TLS over TCP only (no DTLS): use --transport tcp";
  // Forgetting unsent bytes would also forget ones OpenSSL already sealed into a record it must
  // finish: the session would send stale bytes or fail, not this fault's one bug.
  if (cfg.fault == Fault::ignore_partial_send)
    return "fault ignore-partial-send is plain TCP only: a TLS session cannot forget a write";
  if (t.cert_file.empty() != t.key_file.empty()) return "--cert and --key go together";
  if (!t.cert_file.empty() && cert_fault)
    return std::string("fault ") + name_of(cfg.fault) +
           " changes the generated certificate: drop --cert and --key";
  if (!t.cert_file.empty() && !t.cert_out.empty())
    return "--cert-out writes the generated certificate: with --cert, that file is the one served";
  return {};
}

// Writes the generated certificate where asked, or to a fresh file under $TMPDIR. Returns the
// path; `remove` is set when the file is ours to delete on exit.
std::string write_cert(const Config& cfg, const std::string& pem, bool& remove,
                       std::string& error) {
  std::string path = cfg.tls.cert_out;
  Fd fd;
  if (path.empty()) {
    const char* dir = std::getenv("TMPDIR");
    std::string tmpl = std::string(dir && *dir ? dir : "/tmp") + "/sockspec-tls-XXXXXX.pem";
    fd = Fd(::mkstemps(tmpl.data(), 4));
    path = tmpl;
    if (!fd) {
      error = sys_error("mkstemps", path, errno);
      return {};
    }
    remove = true;
  } else {
    fd = Fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) {
      error = sys_error("open", path, errno);
      return {};
    }
  }
  for (size_t off = 0; off < pem.size();) {
    ssize_t n = ::write(fd.get(), pem.data() + off, pem.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = sys_error("write", path, n < 0 ? errno : EIO);
      if (remove) ::unlink(path.c_str());
      remove = false;
      return {};
    }
    off += static_cast<size_t>(n);
  }
  return path;
}

// The context serving every TLS connection, and the certificate's path for the "tls
// certificate" line; a file of our own is removed when serve() returns.
struct TlsSetup {
  std::unique_ptr<TlsContext> ctx;
  std::string cert_path;
  RemoveOnExit generated_file;
};

int setup_tls(const Config& cfg, TlsSetup& setup, std::ostream& err) {
  std::string error;
  if (!cfg.tls.cert_file.empty()) {
    setup.ctx = TlsContext::from_files(cfg.tls.cert_file, cfg.tls.key_file, error);
    setup.cert_path = cfg.tls.cert_file;
  } else {
    CertKind kind = cfg.fault == Fault::tls_expired_cert ? CertKind::expired
                    : cfg.fault == Fault::tls_wrong_name ? CertKind::wrong_name
                                                         : CertKind::good;
    setup.ctx = TlsContext::generated(kind, error);
    bool remove = false;
    if (setup.ctx) setup.cert_path = write_cert(cfg, setup.ctx->cert_pem(), remove, error);
    if (remove) setup.generated_file.path = setup.cert_path;
    if (setup.cert_path.empty()) setup.ctx.reset();
  }
  if (!setup.ctx) {
    err << "serve: " << error << "\n";
    return 1;
  }
  // The fault lets the renegotiation begin, to drop the connection when it does.
  if (cfg.fault == Fault::tls_renegotiation_reset) setup.ctx->let_clients_renegotiate();
  return 0;
}

}  // namespace

int serve(const Config& cfg_in, int stop_fd, std::ostream& out, std::ostream& err) {
  Config cfg = cfg_in;
  // One thread sees every chat client; an iterative server is one thread by definition; a
  // busy one serves one request at a time, so its capacity is known (1 / busy time).
  if (cfg.service == Service::chat || cfg.fault == Fault::iterative || cfg.fault == Fault::busy)
    cfg.threads = 1;
  if (cfg.threads == 0) cfg.threads = 1;
  if (std::string e = tls_usage_error(cfg); !e.empty()) {
    err << "serve: " << e << "\n";
    return 2;
  }
  TlsSetup tls;
  if (cfg.tls.enabled) {
    if (int rc = setup_tls(cfg, tls, err); rc != 0) return rc;
  }

  Fd tcp, udp, wrong_port;
  if (!cfg.unix_path.empty()) {
    if (int rc = bind_unix(cfg, tcp, udp, err); rc != 0) return rc;
    if (tls.ctx) out << "tls certificate " << tls.cert_path << "\n";
    out << "listening " << (tcp ? "unix " : "unixgram ") << cfg.unix_path << "\n";
  } else {
    if (int rc = bind_ip(cfg, tcp, udp, wrong_port, err); rc != 0) return rc;
    if (tls.ctx) out << "tls certificate " << tls.cert_path << "\n";
    if (tcp) out << "listening tcp " << local_of(tcp.get()).str() << "\n";
    if (udp) out << "listening udp " << local_of(udp.get()).str() << "\n";
  }
  out.flush();
  RemoveOnExit socket_file{cfg.unix_path};

  // UDP gets a blocking thread of its own where nothing needs the event loop's timers or a
  // shared room or queue (chat, the slow and busy faults): two syscalls a request instead of three.
  bool udp_thread =
      udp && cfg.service != Service::chat && cfg.fault != Fault::slow && cfg.fault != Fault::busy;
  Shared shared;
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < cfg.threads; ++i) {
    int worker_udp = (i == 0 && udp && !udp_thread) ? udp.get() : -1;
    workers.push_back(std::make_unique<Worker>(cfg, tcp ? tcp.get() : -1, worker_udp,
                                               wrong_port ? wrong_port.get() : -1, stop_fd, shared,
                                               err, tls.ctx.get()));
  }
  std::unique_ptr<Worker> udp_worker;
  std::vector<std::thread> threads;
  if (udp_thread) {
    udp_worker = std::make_unique<Worker>(cfg, -1, udp.get(), wrong_port ? wrong_port.get() : -1,
                                          stop_fd, shared, err, nullptr);
    threads.emplace_back([&w = *udp_worker] { w.run_udp_blocking(); });
  }
  for (size_t i = 1; i < workers.size(); ++i) threads.emplace_back([&w = *workers[i]] { w.run(); });
  workers[0]->run();
  shared.stopping = true;  // also when worker 0 stopped for another reason
  for (auto& t : threads) t.join();
  for (const Worker* w : {udp_worker.get(), workers[0].get()}) {
    if (w && w->schedule()) w->schedule()->print(out);
  }
  out.flush();
  return 0;
}

}  // namespace sockspec::refserver
