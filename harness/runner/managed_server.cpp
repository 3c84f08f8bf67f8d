#include "runner/managed_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string_view>
#include <vector>

#include "common/codec.h"
#include "net/socket.h"
#include "runner/policy.h"
#include "runner/supervisor.h"

namespace sockspec::runner {

namespace {
constexpr size_t kCaptureLimit = 256 * 1024;  // per stream; the rest is counted as truncated

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by ") + sigabbrev_np(WTERMSIG(status));
  return "status " + std::to_string(status);
}

std::string last_line(const std::string& s) {
  std::string t = s;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

}  // namespace

ManagedServer::ManagedServer(std::string command, net::SockAddr addr, bool probe_tcp,
                             bool probe_udp, std::string socket_dir)
    : addr_(addr),
      socket_dir_(std::move(socket_dir)),
      probe_tcp_(probe_tcp),
      probe_udp_(probe_udp) {
  auto fill = [&](const std::string& key, const std::string& value) {
    for (size_t pos; (pos = command.find(key)) != std::string::npos;)
      command.replace(pos, key.size(), value);
  };
  fill("{port}", std::to_string(addr.port()));
  if (addr.family() == AF_UNIX) fill("{path}", shell_quote(addr.unix_path()));
  command_ = std::move(command);
}

ManagedServer::~ManagedServer() {
  stop(std::chrono::milliseconds(2000));
  if (!socket_dir_.empty()) {
    std::error_code ec;  // best effort: the directory is ours, whatever the server left in it
    std::filesystem::remove_all(socket_dir_, ec);
  }
}

std::string ManagedServer::start() {
  if (running()) return "";
  // A server killed before it could remove its socket file would find the path taken.
  if (!socket_dir_.empty()) ::unlink(addr_.unix_path().c_str());
  join_capture();
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return "pipe: " + errno_name(errno);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return "pipe: " + errno_name(errno);
  }
  net::Fd out_r(out_pipe[0]), out_w(out_pipe[1]), err_r(err_pipe[0]), err_w(err_pipe[1]);
  // Exec'd directly when it needs no shell (dash forks even a lone command, and the server
  // would be a grandchild); else run as written by /bin/sh. Either way below a supervisor
  // that leads the process group (runner/supervisor.h). The argv is built before fork: the
  // child may not allocate.
  std::vector<std::string> words;
  if (auto plain = plain_command_words(command_)) {
    words = std::move(*plain);
  } else {
    words = {"/bin/sh", "-c", command_};
  }
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  // The environment too, before fork: sockspec's own, with env_ set over it (when there is
  // anything to set: most servers get environ as it is).
  std::vector<std::string> vars;
  std::vector<char*> envp;
  if (!env_.empty()) {
    for (char** e = environ; *e; ++e) {
      std::string_view v(*e);
      bool replaced = std::any_of(env_.begin(), env_.end(), [&](const auto& kv) {
        return v.size() > kv.first.size() && v.substr(0, kv.first.size()) == kv.first &&
               v[kv.first.size()] == '=';
      });
      if (!replaced) vars.emplace_back(v);
    }
    for (const auto& [name, value] : env_) vars.push_back(name + "=" + value);
    for (auto& v : vars) envp.push_back(v.data());
    envp.push_back(nullptr);
  }
  char* const* env = env_.empty() ? environ : envp.data();
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return "fork: " + errno_name(errno);
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    setpgid(0, 0);  // its own group, so a signal reaches its children too
    // Packet-level impairment: the supervisor and so the server live in the link's namespace
    // (before close_range, which closes the namespace's descriptor too).
    if (netns_fd_ >= 0 && setns(netns_fd_, CLONE_NEWNET) != 0) _exit(127);
    dup2(out_w.get(), STDOUT_FILENO);
    dup2(err_w.get(), STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    // It does not exec: without this it would keep every socket of the harness open.
    close_range(3, ~0U, 0);
    supervise(parent, argv.data(), env);
  }
  setpgid(pid, pid);  // also from the parent, so no signal can race the child's own call
  pid_ = pid;
  stop_capture_ = false;
  capture_ = std::thread([this, o = std::move(out_r), e = std::move(err_r)]() mutable {
    capture(std::move(o), std::move(e));
  });
  return "";
}

void ManagedServer::append(bool is_err, const char* data, size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string& s = is_err ? err_ : out_;
  size_t room = kCaptureLimit > s.size() ? kCaptureLimit - s.size() : 0;
  if (n > room) truncated_ = true;
  s.append(data, std::min(n, room));
}

void ManagedServer::capture(net::Fd out, net::Fd err) {
  pollfd fds[2] = {{out.get(), POLLIN, 0}, {err.get(), POLLIN, 0}};
  char buf[4096];
  int open_count = 2;
  // Bounded: after the process is reaped, stop_capture_ ends this even if a grandchild
  // still holds the pipes.
  while (open_count > 0 && !stop_capture_) {
    if (poll(fds, 2, 100) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        append(i == 1, buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
}

void ManagedServer::join_capture() {
  if (!capture_.joinable()) return;
  stop_capture_ = true;
  capture_.join();
}

void ManagedServer::signal(int sig) {
  if (pid_ > 0) ::kill(-pid_, sig);
}

bool ManagedServer::reap() {
  if (pid_ <= 0) return true;
  // Look without reaping first: while the leader is a zombie its group id cannot be reused,
  // so killing the group (anything the server left behind) cannot hit a stranger.
  siginfo_t info{};
  if (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
      info.si_pid == 0) {
    return false;  // still running
  }
  ::kill(-pid_, SIGKILL);
  int status = 0;
  if (waitpid(pid_, &status, 0) == pid_) last_status_ = status;
  pid_ = -1;
  // Give the capture thread a moment to drain what the server wrote last.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  join_capture();
  return true;
}

engine::ServerControl::Probe ManagedServer::probe(std::string& why) {
  if (reap()) {
    std::lock_guard<std::mutex> lock(mu_);
    why = describe_status(last_status_);
    std::string line = last_line(err_.empty() ? out_ : err_);
    if (!line.empty()) why += ": " + line;
    return Probe::exited;
  }
  if (probe_tcp_) {
    auto sock = net::open_socket(addr_.family(), SOCK_STREAM, {});
    if (!sock.ok()) {
      why = sock.error.to_string();
      return Probe::not_yet;
    }
    auto e = net::start_connect(sock.fd.get(), addr_);
    if (e.err == EINPROGRESS) {
      pollfd p{sock.fd.get(), POLLOUT, 0};
      if (poll(&p, 1, 200) != 1) {
        why = "connect " + addr_.to_string() + ": no answer";
        return Probe::not_yet;
      }
      e = net::finish_connect(sock.fd.get(), addr_);
    }
    if (e.err != 0) {
      why = e.to_string();
      return Probe::not_yet;
    }
  }
  if (probe_udp_ && addr_.family() == AF_UNIX) {
    if (!unix_socket_bound(addr_.unix_path(), SOCK_DGRAM)) {
      why = "no datagram socket bound to " + addr_.to_string() + " yet";
      return Probe::not_yet;
    }
  } else if (probe_udp_ &&
             // The server's own view of the sockets: it may live in another network namespace.
             !udp_port_bound(addr_.port(), "/proc/" + std::to_string(pid_) + "/net")) {
    why = "no UDP socket bound to port " + std::to_string(addr_.port()) + " yet";
    return Probe::not_yet;
  }
  return Probe::ready;
}

std::string ManagedServer::start_and_wait(std::chrono::milliseconds limit) {
  std::string err = start();
  if (!err.empty()) return err;
  auto until = std::chrono::steady_clock::now() + limit;
  std::string why;
  for (;;) {
    switch (probe(why)) {
      case Probe::ready:
        return "";
      case Probe::exited:
        return "the server exited: " + why;
      case Probe::not_yet:
        break;
    }
    if (std::chrono::steady_clock::now() >= until) {
      return "not accepting on " + addr_.to_string() + " after " + std::to_string(limit.count()) +
             " ms (" + why + ")";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void ManagedServer::stop(std::chrono::milliseconds grace) {
  if (pid_ > 0) {
    signal(SIGTERM);
    auto until = std::chrono::steady_clock::now() + grace;
    while (!reap() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (pid_ > 0) {
      signal(SIGKILL);
      while (!reap())
        std::this_thread::sleep_for(std::chrono::milliseconds(5));  // SIGKILL cannot be refused
    }
  }
  join_capture();
}

reports::ServerOutput ManagedServer::output() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {command_, out_, err_, truncated_};
}

void ManagedServer::clear_output() {
  std::lock_guard<std::mutex> lock(mu_);
  out_.clear();
  err_.clear();
  truncated_ = false;
}

std::string ManagedServer::ended() {
  if (!reap()) return "";
  return describe_status(last_status_);
}

namespace {

// Whether `port` can be bound on `addr` for TCP and UDP right now (no SO_REUSEADDR, so a port
// with connections lingering in TIME_WAIT counts as taken: a plain server could not bind it).
bool bindable(net::SockAddr a, uint16_t port) {
  a.set_port(port);
  auto tcp = net::open_socket(a.family(), SOCK_STREAM, {});
  if (!tcp.ok() || net::bind_to(tcp.fd.get(), a).err) return false;
  auto udp = net::open_socket(a.family(), SOCK_DGRAM, {});
  return udp.ok() && net::bind_to(udp.fd.get(), a).err == 0;
}

// The first port the kernel hands to outgoing connections (net.ipv4.ip_local_port_range).
uint16_t first_ephemeral_port() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  unsigned low = 32768;
  in >> low;
  return static_cast<uint16_t>(std::min(low, 65535u));
}

}  // namespace

uint16_t pick_free_port(const net::SockAddr& addr) {
  // The port is free now, but the server binds it only once it has started, which can take a
  // while on a busy machine. A port from the ephemeral range may meanwhile become the local
  // port of some outgoing connection, and the server fails with EADDRINUSE; so look below that
  // range first, where connect() never picks ports.
  const uint16_t ephemeral = first_ephemeral_port();
  if (ephemeral > 11000) {
    std::mt19937 pick(std::random_device{}());
    std::uniform_int_distribution<unsigned> below(10000, ephemeral - 1u);
    for (int attempt = 0; attempt < 50; ++attempt) {
      auto port = static_cast<uint16_t>(below(pick));
      if (bindable(addr, port)) return port;
    }
  }
  for (int attempt = 0; attempt < 50; ++attempt) {
    net::SockAddr a = addr;
    a.set_port(0);
    auto tcp = net::open_socket(a.family(), SOCK_STREAM, {});
    if (!tcp.ok() || net::bind_to(tcp.fd.get(), a).err) continue;
    uint16_t port = net::local_address(tcp.fd.get()).port();
    tcp = {};
    if (bindable(addr, port)) return port;
  }
  return 0;
}

bool udp_port_bound(uint16_t port, const std::string& proc_net) {
  char want[8];
  std::snprintf(want, sizeof want, ":%04X", port);
  for (const char* file : {"/udp", "/udp6"}) {
    std::ifstream in(proc_net + file);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local;
      fields >> slot >> local;
      if (local.size() >= 5 && local.compare(local.size() - 5, 5, want) == 0) return true;
    }
  }
  return false;
}

bool unix_socket_bound(const std::string& path, int type) {
  // Columns: Num RefCount Protocol Flags Type St Inode Path; abstract names start with '@'.
  std::ifstream in("/proc/net/unix");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string num, refs, proto, flags, type_hex, state, inode, name;
    fields >> num >> refs >> proto >> flags >> type_hex >> state >> inode;
    std::getline(fields >> std::ws, name);  // the rest of the line: a path may hold spaces
    if (name == path && std::strtol(type_hex.c_str(), nullptr, 16) == type) return true;
  }
  return false;
}

}  // namespace sockspec::runner
