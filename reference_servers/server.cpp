#include "reference_servers/server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <thread>
#include <vector>

#include "reference_servers/sock.h"
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

}  // namespace

int serve(const Config& cfg_in, int stop_fd, std::ostream& out, std::ostream& err) {
  Config cfg = cfg_in;
  // One thread sees every chat client; an iterative server is one thread by definition; a
  // busy one serves one request at a time, so its capacity is known (1 / busy time).
  if (cfg.service == Service::chat || cfg.fault == Fault::iterative || cfg.fault == Fault::busy)
    cfg.threads = 1;
  if (cfg.threads == 0) cfg.threads = 1;

  Fd tcp, udp, wrong_port;
  if (!cfg.unix_path.empty()) {
    if (int rc = bind_unix(cfg, tcp, udp, err); rc != 0) return rc;
    out << "listening " << (tcp ? "unix " : "unixgram ") << cfg.unix_path << "\n";
  } else {
    if (int rc = bind_ip(cfg, tcp, udp, wrong_port, err); rc != 0) return rc;
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
                                               err));
  }
  std::unique_ptr<Worker> udp_worker;
  std::vector<std::thread> threads;
  if (udp_thread) {
    udp_worker = std::make_unique<Worker>(cfg, -1, udp.get(), wrong_port ? wrong_port.get() : -1,
                                          stop_fd, shared, err);
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
