// Which kernel interface gives the fastest request/response on one connection? The same
// 64-byte ping-pong (sockperf's message format, so `sockperf server` answers it) done three
// ways, in alternating rounds:
//   blocking  send(); recv() that sleeps              2 calls per round trip (what sockperf does)
//   epoll     send(); epoll_wait() (edge-triggered); recv()   3 calls (the engine's pattern)
//   io_uring  one io_uring_enter() submits the send and a linked recv and waits for both
// It prints p50/p99 round trip and round trips/s per mechanism; it asserts nothing.
// Usage: io_mechanisms_bench HOST-IPV4 PORT udp|tcp [seconds per round] [rounds]
#include <arpa/inet.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMessage = 64;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "io_mechanisms_bench: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

// A sockperf ping: sequence 1, flags "client + pong request", length 64, zero padding.
std::string ping() {
  std::string m(kMessage, '\0');
  m[7] = 1;
  m[9] = 3;
  m[13] = static_cast<char>(kMessage);
  return m;
}

int connect_to(const sockaddr_in& to, bool tcp, bool nonblocking) {
  int fd =
      ::socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) die("socket");
  if (tcp) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  int r = ::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  if (r != 0 && errno != EINPROGRESS) die("connect");
  if (r != 0) {  // non-blocking TCP: wait for the handshake
    int ep = epoll_create1(0);
    epoll_event ev{EPOLLOUT, {}};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    epoll_wait(ep, &ev, 1, 2000);
    close(ep);
  }
  return fd;
}

// Reads one whole reply (TCP may deliver it in pieces); false on error or end of stream.
template <typename Recv>
bool recv_reply(Recv&& recv_some, bool tcp) {
  size_t got = 0;
  do {
    ssize_t n = recv_some(kMessage - got);
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  } while (tcp && got < kMessage);
  return true;
}

struct Samples {
  std::vector<double> rtt_us;
  double seconds = 0;
  double cpu_seconds = 0;  // this thread's, user + system
  double cpu_us_per_rt() const { return cpu_seconds * 1e6 / static_cast<double>(rtt_us.size()); }
  double rate() const { return static_cast<double>(rtt_us.size()) / seconds; }
  double pct(double p) {
    if (rtt_us.empty()) return 0;
    std::sort(rtt_us.begin(), rtt_us.end());
    return rtt_us[static_cast<size_t>(p / 100.0 * static_cast<double>(rtt_us.size() - 1))];
  }
};

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// Runs `once` (one round trip) for `seconds`, timing each.
template <typename Once>
Samples measure(double seconds, Once&& once) {
  Samples s;
  s.rtt_us.reserve(static_cast<size_t>(seconds * 200000));
  auto cpu_start = thread_cpu_seconds();
  auto start = Clock::now();
  auto end = start + std::chrono::duration<double>(seconds);
  for (auto now = start; now < end;) {
    if (!once()) die("round trip");
    auto after = Clock::now();
    s.rtt_us.push_back(std::chrono::duration<double, std::micro>(after - now).count());
    now = after;
  }
  s.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  s.cpu_seconds = thread_cpu_seconds() - cpu_start;
  return s;
}

Samples run_blocking(const sockaddr_in& to, bool tcp, double seconds) {
  int fd = connect_to(to, tcp, false);
  std::string m = ping();
  char buf[kMessage];
  auto s = measure(seconds, [&] {
    if (::send(fd, m.data(), m.size(), 0) != static_cast<ssize_t>(m.size())) return false;
    return recv_reply([&](size_t want) { return ::recv(fd, buf, want, 0); }, tcp);
  });
  close(fd);
  return s;
}

Samples run_epoll(const sockaddr_in& to, bool tcp, double seconds) {
  int fd = connect_to(to, tcp, true);
  int ep = epoll_create1(0);
  epoll_event ev{EPOLLIN | EPOLLET, {}};
  ev.data.fd = fd;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
  std::string m = ping();
  char buf[kMessage];
  auto s = measure(seconds, [&] {
    if (::send(fd, m.data(), m.size(), 0) != static_cast<ssize_t>(m.size())) return false;
    return recv_reply(
        [&](size_t want) -> ssize_t {
          for (int tries = 0; tries < 1000; ++tries) {
            ssize_t n = ::recv(fd, buf, want, 0);
            if (n >= 0 || errno != EAGAIN) return n;
            epoll_event got;
            if (epoll_wait(ep, &got, 1, 2000) <= 0) return -1;
          }
          return -1;
        },
        tcp);
  });
  close(ep);
  close(fd);
  return s;
}

// The smallest io_uring client: one submission queue, one completion queue, raw syscalls.
class Ring {
 public:
  Ring() {
    io_uring_params p{};
    fd_ = static_cast<int>(syscall(__NR_io_uring_setup, 8, &p));
    if (fd_ < 0) die("io_uring_setup");
    sq_size_ = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    cq_size_ = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
    if (p.features & IORING_FEAT_SINGLE_MMAP) sq_size_ = cq_size_ = std::max(sq_size_, cq_size_);
    sq_ = static_cast<char*>(mmap(nullptr, sq_size_, PROT_READ | PROT_WRITE,
                                  MAP_SHARED | MAP_POPULATE, fd_, IORING_OFF_SQ_RING));
    if (sq_ == MAP_FAILED) die("mmap sq");
    cq_ = (p.features & IORING_FEAT_SINGLE_MMAP)
              ? sq_
              : static_cast<char*>(mmap(nullptr, cq_size_, PROT_READ | PROT_WRITE,
                                        MAP_SHARED | MAP_POPULATE, fd_, IORING_OFF_CQ_RING));
    if (cq_ == MAP_FAILED) die("mmap cq");
    sqes_ = static_cast<io_uring_sqe*>(mmap(nullptr, p.sq_entries * sizeof(io_uring_sqe),
                                            PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_,
                                            IORING_OFF_SQES));
    if (sqes_ == MAP_FAILED) die("mmap sqes");
    sqes_bytes_ = p.sq_entries * sizeof(io_uring_sqe);
    sq_tail_ = reinterpret_cast<unsigned*>(sq_ + p.sq_off.tail);
    sq_mask_ = *reinterpret_cast<unsigned*>(sq_ + p.sq_off.ring_mask);
    sq_array_ = reinterpret_cast<unsigned*>(sq_ + p.sq_off.array);
    cq_head_ = reinterpret_cast<unsigned*>(cq_ + p.cq_off.head);
    cq_tail_ = reinterpret_cast<unsigned*>(cq_ + p.cq_off.tail);
    cq_mask_ = *reinterpret_cast<unsigned*>(cq_ + p.cq_off.ring_mask);
    cqes_ = reinterpret_cast<io_uring_cqe*>(cq_ + p.cq_off.cqes);
  }
  ~Ring() {
    munmap(sqes_, sqes_bytes_);
    if (cq_ != sq_) munmap(cq_, cq_size_);
    munmap(sq_, sq_size_);
    close(fd_);
  }
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  io_uring_sqe& next_sqe() {
    unsigned tail = *sq_tail_ + pending_;
    unsigned idx = tail & sq_mask_;
    sq_array_[idx] = idx;
    ++pending_;
    io_uring_sqe& e = sqes_[idx];
    std::memset(&e, 0, sizeof e);
    return e;
  }
  // Submits what was prepared and waits for `wait` completions; returns their results.
  bool submit_and_wait(unsigned wait, std::vector<int>& results) {
    __atomic_store_n(sq_tail_, *sq_tail_ + pending_, __ATOMIC_RELEASE);
    unsigned n = pending_;
    pending_ = 0;
    results.clear();
    while (results.size() < wait) {
      unsigned head = *cq_head_;
      unsigned tail = __atomic_load_n(cq_tail_, __ATOMIC_ACQUIRE);
      for (; head != tail; ++head) results.push_back(cqes_[head & cq_mask_].res);
      __atomic_store_n(cq_head_, head, __ATOMIC_RELEASE);
      if (results.size() >= wait) break;
      long r = syscall(__NR_io_uring_enter, fd_, n, static_cast<unsigned>(wait - results.size()),
                       IORING_ENTER_GETEVENTS, nullptr, 0);
      if (r < 0 && errno != EINTR) return false;
      n = 0;
    }
    return true;
  }

 private:
  int fd_ = -1;
  char *sq_ = nullptr, *cq_ = nullptr;
  size_t sq_size_ = 0, cq_size_ = 0, sqes_bytes_ = 0;
  io_uring_sqe* sqes_ = nullptr;
  unsigned *sq_tail_ = nullptr, *sq_array_ = nullptr, *cq_head_ = nullptr, *cq_tail_ = nullptr;
  unsigned sq_mask_ = 0, cq_mask_ = 0, pending_ = 0;
  io_uring_cqe* cqes_ = nullptr;
};

Samples run_uring(const sockaddr_in& to, bool tcp, double seconds) {
  int fd = connect_to(to, tcp, false);
  Ring ring;
  std::string m = ping();
  char buf[kMessage];
  std::vector<int> res;
  auto s = measure(seconds, [&] {
    io_uring_sqe& send = ring.next_sqe();
    send.opcode = IORING_OP_SEND;
    send.fd = fd;
    send.addr = reinterpret_cast<uint64_t>(m.data());
    send.len = static_cast<unsigned>(m.size());
    send.flags = IOSQE_IO_LINK;  // the recv starts once the send is done
    io_uring_sqe& recv = ring.next_sqe();
    recv.opcode = IORING_OP_RECV;
    recv.fd = fd;
    recv.addr = reinterpret_cast<uint64_t>(buf);
    recv.len = kMessage;
    if (tcp) recv.msg_flags = MSG_WAITALL;  // the whole reply, however it is cut
    if (!ring.submit_and_wait(2, res)) return false;
    return res.size() == 2 && res[0] == static_cast<int>(kMessage) && res[1] > 0;
  });
  close(fd);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s HOST-IPV4 PORT udp|tcp [seconds per round] [rounds]\n",
                 argv[0]);
    return 2;
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[2])));
  if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
    std::fprintf(stderr, "io_mechanisms_bench: not an IPv4 address: %s\n", argv[1]);
    return 2;
  }
  bool tcp = std::string(argv[3]) == "tcp";
  double seconds = argc > 4 ? std::atof(argv[4]) : 2.0;
  int rounds = argc > 5 ? std::atoi(argv[5]) : 3;
  struct Mechanism {
    const char* name;
    Samples (*run)(const sockaddr_in&, bool, double);
    std::vector<double> p50, p99, rate, cpu;
  };
  Mechanism ms[] = {{"blocking", run_blocking, {}, {}, {}, {}},
                    {"epoll", run_epoll, {}, {}, {}, {}},
                    {"io_uring", run_uring, {}, {}, {}, {}}};
  for (int r = 0; r < rounds; ++r) {
    for (auto& m : ms) {  // alternating, so drift on the machine hits each alike
      Samples s = m.run(to, tcp, seconds);
      m.p50.push_back(s.pct(50));
      m.p99.push_back(s.pct(99));
      m.rate.push_back(s.rate());
      m.cpu.push_back(s.cpu_us_per_rt());
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf("%s round trip, 1 connection, 64 B, medians of %d rounds:\n", tcp ? "tcp" : "udp",
              rounds);
  for (auto& m : ms) {
    std::printf("  %-9s p50 %7.1f us  p99 %7.1f us  %9.0f round trips/s  %5.1f us CPU each\n",
                m.name, median(m.p50), median(m.p99), median(m.rate), median(m.cpu));
  }
  return 0;
}
