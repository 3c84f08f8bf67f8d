// The floor under any HTTP keep-alive client on this kernel: N connections, one thread, one GET
// outstanding per connection, each response counted by its length (learned from the first
// response) and nothing parsed or checked. Done two ways, in alternating rounds:
//   epoll     send(); epoll_wait() (edge-triggered, many connections a call); recv()
//             (what the engine does: 2 calls a request and a share of a wait)
//   io_uring  liburing: each connection's send with a linked recv, every one queued in a round
//             submitted, and completions reaped, by one io_uring_submit_and_wait()
//   multishot io_uring with one multishot recv per connection into provided buffers: a
//             request is one send SQE; its replies complete without being asked for again
// It prints requests/s and the process's CPU time per request (user and sys) for each: what a
// client that did no work of its own would cost. It asserts nothing; a way that completed no
// request stops it with exit status 1.
// Usage: keepalive_floor_bench HOST-IPV4 PORT PATH CONNECTIONS [seconds per round] [rounds]
#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const char* what, int err = errno) {
  std::fprintf(stderr, "keepalive_floor_bench: %s: %s\n", what, std::strerror(err));
  std::exit(1);
}

int connect_to(const sockaddr_in& to) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) die("connect");
  return fd;
}

// One GET on a connection of its own, read to the end of its body: the length of every
// response to the same request (a static page's headers keep their length, Date included).
size_t response_length(const sockaddr_in& to, const std::string& request) {
  int fd = connect_to(to);
  if (::send(fd, request.data(), request.size(), 0) != static_cast<ssize_t>(request.size()))
    die("send of the first request");
  std::string got;
  char buf[65536];
  for (int reads = 0; reads < 1000; ++reads) {
    size_t end = got.find("\r\n\r\n");
    if (end != std::string::npos) {
      size_t at = got.find("Content-Length: ");
      if (at == std::string::npos || at > end) {
        std::fprintf(stderr, "keepalive_floor_bench: the response has no Content-Length\n");
        std::exit(1);
      }
      size_t total = end + 4 + std::strtoull(got.c_str() + at + 16, nullptr, 10);
      if (got.size() >= total) {
        ::close(fd);
        return total;
      }
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) die("recv of the first response", n == 0 ? ECONNRESET : errno);
    got.append(buf, static_cast<size_t>(n));
  }
  die("the first response never ended", EPROTO);
}

struct Result {
  double requests = 0, seconds = 0, user_s = 0, sys_s = 0;
};

double seconds_of(const timeval& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

struct Usage {  // the whole process: io_uring's own workers, if any, count too
  double user = 0, sys = 0;
  static Usage now() {
    rusage r{};
    getrusage(RUSAGE_SELF, &r);
    return {seconds_of(r.ru_utime), seconds_of(r.ru_stime)};
  }
};

// A run's clock and CPU: from construction until stop(), which fills in the Result's figures.
struct Meter {
  explicit Meter(double seconds)
      : u0(Usage::now()),
        start(Clock::now()),
        end(start +
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds))) {}
  bool running() const { return Clock::now() < end; }
  void stop(Result& r) const {
    Usage u1 = Usage::now();
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    r.user_s = u1.user - u0.user;
    r.sys_s = u1.sys - u0.sys;
  }
  Usage u0;
  Clock::time_point start, end;
};

struct Conn {
  int fd = -1;
  size_t got = 0;  // bytes of the current response so far
  std::vector<char> buf;
};

std::vector<Conn> open_all(const sockaddr_in& to, unsigned n, size_t length) {
  std::vector<Conn> conns(n);
  for (auto& c : conns) {
    c.fd = connect_to(to);
    c.buf.resize(std::max<size_t>(length, 4096));
  }
  return conns;
}

void close_all(std::vector<Conn>& conns) {
  for (auto& c : conns) ::close(c.fd);
}

Result run_epoll(const sockaddr_in& to, unsigned n, const std::string& req, size_t length,
                 double seconds) {
  auto conns = open_all(to, n, length);
  int ep = epoll_create1(0);
  for (size_t i = 0; i < conns.size(); ++i) {
    int flags = fcntl(conns[i].fd, F_GETFL);
    fcntl(conns[i].fd, F_SETFL, flags | O_NONBLOCK);
    epoll_event ev{EPOLLIN | EPOLLET, {}};
    ev.data.u64 = i;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) != 0) die("epoll_ctl");
  }
  Result r;
  Meter meter(seconds);
  for (auto& c : conns) {
    if (::send(c.fd, req.data(), req.size(), 0) < 0) die("send");
  }
  epoll_event events[256];
  while (meter.running()) {
    int k = epoll_wait(ep, events, 256, 1000);
    if (k < 0 && errno != EINTR) die("epoll_wait");
    for (int e = 0; e < k; ++e) {
      Conn& c = conns[events[e].data.u64];
      ssize_t got = ::recv(c.fd, c.buf.data(), c.buf.size(), 0);
      if (got <= 0) {
        if (got < 0 && errno == EAGAIN) continue;
        die("recv", got == 0 ? ECONNRESET : errno);
      }
      c.got += static_cast<size_t>(got);
      // A short read left nothing behind, so the next edge announces the rest.
      if (c.got < length) continue;
      c.got -= length;
      r.requests += 1;
      if (::send(c.fd, req.data(), req.size(), 0) < 0) die("send");
    }
  }
  meter.stop(r);
  ::close(ep);
  close_all(conns);
  return r;
}

// One thread submits and reaps: completions run as task work when it next enters the kernel
// (DEFER_TASKRUN, 6.1), not by interrupting it. Older kernels refuse it: plain setup then.
void init_ring(io_uring& ring, unsigned connections) {
  io_uring_params params{};
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  unsigned entries = std::max(8u, 4 * connections);
  int rc = io_uring_queue_init_params(entries, &ring, &params);
  if (rc == -EINVAL) rc = io_uring_queue_init(entries, &ring, 0);
  if (rc < 0) die("io_uring_queue_init", -rc);
}

Result run_uring(const sockaddr_in& to, unsigned n, const std::string& req, size_t length,
                 double seconds) {
  auto conns = open_all(to, n, length);
  io_uring ring;
  init_ring(ring, n);
  int rc = 0;
  // user_data: the connection's index, times 2, plus 1 for a recv.
  auto queue = [&](size_t i, bool with_send) {
    if (with_send) {
      io_uring_sqe* s = io_uring_get_sqe(&ring);
      io_uring_prep_send(s, conns[i].fd, req.data(), req.size(), 0);
      s->flags |= IOSQE_IO_LINK;
      io_uring_sqe_set_data64(s, i * 2);
    }
    io_uring_sqe* r = io_uring_get_sqe(&ring);
    io_uring_prep_recv(r, conns[i].fd, conns[i].buf.data(), conns[i].buf.size(), 0);
    // The reply cannot be there yet: wait for it rather than try the recv and fail first.
    r->ioprio |= IORING_RECVSEND_POLL_FIRST;
    io_uring_sqe_set_data64(r, i * 2 + 1);
  };
  Result r;
  Meter meter(seconds);
  for (size_t i = 0; i < conns.size(); ++i) queue(i, true);
  while (meter.running()) {
    rc = io_uring_submit_and_wait(&ring, 1);
    if (rc < 0 && rc != -EINTR) die("io_uring_submit_and_wait", -rc);
    io_uring_cqe* cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      uint64_t data = io_uring_cqe_get_data64(cqe);
      size_t i = data / 2;
      if ((data & 1) == 0) {  // a send: its bytes were taken (a short send never happens here)
        if (cqe->res < 0) die("send", -cqe->res);
        continue;
      }
      if (cqe->res <= 0) die("recv", cqe->res == 0 ? ECONNRESET : -cqe->res);
      Conn& c = conns[i];
      c.got += static_cast<size_t>(cqe->res);
      if (c.got < length) {
        queue(i, false);
        continue;
      }
      c.got -= length;
      r.requests += 1;
      queue(i, true);
    }
    io_uring_cq_advance(&ring, seen);
  }
  meter.stop(r);
  io_uring_queue_exit(&ring);
  close_all(conns);
  return r;
}

// Multishot: one recv per connection for the whole run, its replies landing in buffers the
// kernel takes from a ring we refill; a request costs one send SQE and its completions.
Result run_uring_multishot(const sockaddr_in& to, unsigned n, const std::string& req, size_t length,
                           double seconds) {
  auto conns = open_all(to, n, length);
  io_uring ring;
  init_ring(ring, n);
  int rc = 0;
  constexpr unsigned kBuffers = 4096;  // a power of two, as the ring wants
  constexpr size_t kBufferSize = 2048;
  std::vector<char> pool(kBuffers * kBufferSize);
  void* ring_mem = nullptr;
  if (posix_memalign(&ring_mem, 4096, kBuffers * sizeof(io_uring_buf)) != 0) die("posix_memalign");
  auto* br = static_cast<io_uring_buf_ring*>(ring_mem);
  io_uring_buf_ring_init(br);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(br);
  reg.ring_entries = kBuffers;
  reg.bgid = 0;
  rc = io_uring_register_buf_ring(&ring, &reg, 0);
  if (rc < 0) die("io_uring_register_buf_ring", -rc);
  int mask = io_uring_buf_ring_mask(kBuffers);
  for (unsigned b = 0; b < kBuffers; ++b)
    io_uring_buf_ring_add(br, &pool[b * kBufferSize], kBufferSize, static_cast<unsigned short>(b),
                          mask, static_cast<int>(b));
  io_uring_buf_ring_advance(br, kBuffers);
  auto arm_recv = [&](size_t i) {
    io_uring_sqe* r = io_uring_get_sqe(&ring);
    io_uring_prep_recv_multishot(r, conns[i].fd, nullptr, 0, 0);
    r->flags |= IOSQE_BUFFER_SELECT;
    r->buf_group = 0;
    io_uring_sqe_set_data64(r, i * 2 + 1);
  };
  auto send = [&](size_t i) {
    io_uring_sqe* s = io_uring_get_sqe(&ring);
    io_uring_prep_send(s, conns[i].fd, req.data(), req.size(), 0);
    io_uring_sqe_set_data64(s, i * 2);
  };
  Result r;
  Meter meter(seconds);
  for (size_t i = 0; i < conns.size(); ++i) {
    arm_recv(i);
    send(i);
  }
  while (meter.running()) {
    rc = io_uring_submit_and_wait(&ring, 1);
    if (rc < 0 && rc != -EINTR) die("io_uring_submit_and_wait", -rc);
    io_uring_cqe* cqe;
    unsigned head, seen = 0, returned = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      uint64_t data = io_uring_cqe_get_data64(cqe);
      size_t i = data / 2;
      if ((data & 1) == 0) {
        if (cqe->res < 0) die("send", -cqe->res);
        continue;
      }
      if (cqe->res <= 0) {
        if (cqe->res == -ENOBUFS) die("recv: the buffer ring ran dry", ENOBUFS);
        die("recv", cqe->res == 0 ? ECONNRESET : -cqe->res);
      }
      unsigned b = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
      io_uring_buf_ring_add(br, &pool[b * kBufferSize], kBufferSize, static_cast<unsigned short>(b),
                            mask, static_cast<int>(returned++));
      if (!(cqe->flags & IORING_CQE_F_MORE)) arm_recv(i);  // the kernel ended it: again
      Conn& c = conns[i];
      c.got += static_cast<size_t>(cqe->res);
      if (c.got < length) continue;
      c.got -= length;
      r.requests += 1;
      send(i);
    }
    io_uring_buf_ring_advance(br, static_cast<int>(returned));
    io_uring_cq_advance(&ring, seen);
  }
  meter.stop(r);
  io_uring_queue_exit(&ring);
  std::free(ring_mem);
  close_all(conns);
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(
        stderr,
        "usage: keepalive_floor_bench HOST-IPV4 PORT PATH CONNECTIONS [seconds] [rounds]\n");
    return 2;
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[2])));
  if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) die("address", EINVAL);
  std::string request =
      std::string("GET ") + argv[3] + " HTTP/1.1\r\nHost: " + argv[1] + ":" + argv[2] + "\r\n\r\n";
  unsigned n = static_cast<unsigned>(std::clamp(std::atoi(argv[4]), 1, 4096));
  double seconds = argc > 5 ? std::clamp(std::atof(argv[5]), 0.1, 600.0) : 3;
  int rounds = argc > 6 ? std::clamp(std::atoi(argv[6]), 1, 100) : 3;
  size_t length = response_length(to, request);

  struct Way {
    const char* name;
    Result (*run)(const sockaddr_in&, unsigned, const std::string&, size_t, double);
    std::vector<double> rate, cpu, user, sys;
  } ways[] = {{"epoll", run_epoll, {}, {}, {}, {}},
              {"io_uring", run_uring, {}, {}, {}, {}},
              {"multishot", run_uring_multishot, {}, {}, {}, {}}};
  for (int round = 0; round < rounds; ++round) {
    for (auto& w : ways) {
      Result r = w.run(to, n, request, length, seconds);
      if (r.requests <= 0) {
        std::fprintf(stderr, "keepalive_floor_bench: %s completed no request\n", w.name);
        return 1;
      }
      w.rate.push_back(r.requests / r.seconds);
      w.cpu.push_back((r.user_s + r.sys_s) / r.requests * 1e6);
      w.user.push_back(r.user_s / r.requests * 1e6);
      w.sys.push_back(r.sys_s / r.requests * 1e6);
    }
  }
  std::printf(
      "the floor: GET %s (%zu-byte responses), %u connections, 1 thread, nothing checked, "
      "medians of %d rounds:\n",
      argv[3], length, n, rounds);
  for (auto& w : ways) {
    std::printf("  %-9s %9.0f requests/s  CPU %5.2f us/request (user %5.2f, sys %5.2f)\n", w.name,
                median(w.rate), median(w.cpu), median(w.user), median(w.sys));
  }
  return 0;
}
