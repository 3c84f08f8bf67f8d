// Small servers for tests, written with plain blocking sockets (not the engine's code),
// each bound to port 0 on loopback. Every wait is bounded, and stop() ends them.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sockspec::testing {

// Waits up to `ms` for fd to be readable; false on timeout or stop.
inline bool wait_readable(int fd, int ms, const std::atomic<bool>& stop) {
  for (int waited = 0; waited < ms && !stop; waited += 20) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 20) == 1) return true;
  }
  return false;
}

inline sockaddr_storage loopback(int family, uint16_t port, socklen_t& len) {
  sockaddr_storage ss{};
  if (family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    a->sin6_port = htons(port);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->sin_port = htons(port);
    len = sizeof *a;
  }
  return ss;
}

inline uint16_t port_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

// A TCP server running `behaviour(fd, stop)` on a thread per connection.
class TcpServer {
 public:
  using Behaviour = std::function<void(int fd, const std::atomic<bool>& stop)>;
  explicit TcpServer(Behaviour b, int family = AF_INET) : behaviour_(std::move(b)) {
    listener_ = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t len;
    auto ss = loopback(family, 0, len);
    ::bind(listener_, reinterpret_cast<sockaddr*>(&ss), len);
    ::listen(listener_, 128);
    port_ = port_of(listener_);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~TcpServer() { stop(); }
  uint16_t port() const { return port_; }
  void stop() {
    if (stop_.exchange(true)) return;
    acceptor_.join();
    for (auto& t : workers_) t.join();
    ::close(listener_);
  }
  std::string received() {
    std::lock_guard<std::mutex> l(mu_);
    return received_;
  }
  void record(const std::string& s) {
    std::lock_guard<std::mutex> l(mu_);
    received_ += s;
  }

 private:
  void accept_loop() {
    while (!stop_) {
      if (!wait_readable(listener_, 100, stop_)) continue;
      int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      workers_.emplace_back([this, fd] {
        behaviour_(fd, stop_);
        ::close(fd);
      });
    }
  }
  Behaviour behaviour_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::string received_;
};

// Echoes everything one byte per write (TCP_NODELAY), then closes after the client's FIN.
inline void one_byte_echo(int fd, const std::atomic<bool>& stop) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char buf[4096];
  while (wait_readable(fd, 5000, stop)) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    for (ssize_t i = 0; i < n; ++i) {
      if (::send(fd, buf + i, 1, MSG_NOSIGNAL) != 1) return;
    }
  }
}

// A UDP server answering each datagram with reply(datagram), from `reply_fd` if set.
class UdpServer {
 public:
  using Reply = std::function<std::string(const std::string&)>;
  UdpServer(Reply r, bool from_other_port = false) : reply_(std::move(r)) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    socklen_t len;
    auto ss = loopback(AF_INET, 0, len);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&ss), len);
    port_ = port_of(fd_);
    if (from_other_port) {
      other_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      auto o = loopback(AF_INET, 0, len);
      ::bind(other_, reinterpret_cast<sockaddr*>(&o), len);
    }
    thread_ = std::thread([this] { loop(); });
  }
  ~UdpServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
    if (other_ >= 0) ::close(other_);
  }
  uint16_t port() const { return port_; }

 private:
  void loop() {
    std::string buf(65536, '\0');
    while (!stop_) {
      if (!wait_readable(fd_, 100, stop_)) continue;
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      ssize_t n =
          ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) continue;
      std::string out = reply_(buf.substr(0, static_cast<size_t>(n)));
      ::sendto(other_ >= 0 ? other_ : fd_, out.data(), out.size(), 0,
               reinterpret_cast<sockaddr*>(&from), len);
    }
  }
  Reply reply_;
  int fd_ = -1, other_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace sockspec::testing
