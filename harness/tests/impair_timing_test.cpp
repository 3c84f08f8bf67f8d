// Impairments never release early, on a busy machine too: every chunk and datagram leaves no
// earlier than the clock read after its recv returned plus its delay. Checked per packet from
// the relay's own release log against the senders' clocks (a stamp can never precede the send
// that made the data: a stamp taken before the recv, once per loop turn, can), and end to end:
// a round trip through a 20 ms delay each way is never under 40 ms. Every bound is a lower
// bound that physics guarantees once stamping is right, so none depends on the machine's speed;
// one CPU hog per core runs beside each test so the relay's thread often waits for a core.
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>

#include <cstring>
#include <future>
#include <iostream>

#include "impair/packet_link.h"
#include "impair/proxy.h"
#include "tests/cpu_hogs.h"
#include "tests/test_servers.h"

namespace sockspec::impair {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kDelay = std::chrono::milliseconds(20);
constexpr uint64_t kMessages = 3000;
constexpr uint64_t kWindow = 64;  // messages in flight at most: no socket buffer overflows
// Between two sends the client waits this long for echoes, so the relay reads most messages
// on their own: thousands of chunks, each one checked.
constexpr timespec kPace{0, 200'000};
constexpr auto kDeadline = std::chrono::seconds(90);  // the whole exchange, however busy
constexpr size_t kLogCapacity = 100000;

std::string message(uint64_t i) {
  std::string s(8, '\0');
  std::memcpy(s.data(), &i, 8);
  return s;
}
uint64_t index_of(const char* p) {
  uint64_t i;
  std::memcpy(&i, p, 8);
  return i;
}
double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// The client's side: when it began sending message i, and when the recv that completed its
// echo returned.
struct Exchange {
  std::vector<TimePoint> sent = std::vector<TimePoint>(kMessages);
  std::vector<TimePoint> echoed = std::vector<TimePoint>(kMessages);
  std::vector<bool> done = std::vector<bool>(kMessages);
  uint64_t completed = 0;
};

// Sends kMessages 8-byte messages (their index), at most kWindow unanswered, over a connected
// socket, and takes their echoes. Stream echoes complete by byte count, datagrams by index.
Exchange exchange(int fd, bool stream) {
  Exchange x;
  uint64_t next = 0, bytes_in = 0;
  std::string in;
  auto end = Clock::now() + kDeadline;
  while (x.completed < kMessages && Clock::now() < end) {
    if (next < kMessages && next - x.completed < kWindow) {
      std::string m = message(next);
      x.sent[next] = Clock::now();
      if (::send(fd, m.data(), m.size(), MSG_NOSIGNAL) != 8) {
        ADD_FAILURE() << "send of message " << next << ": " << std::strerror(errno);
        return x;
      }
      ++next;
    }
    pollfd p{fd, POLLIN, 0};
    timespec wait = next < kMessages ? kPace : timespec{0, 100'000'000};
    if (ppoll(&p, 1, &wait, nullptr) != 1) continue;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    TimePoint t = Clock::now();
    if (n <= 0) {
      if (n < 0 && errno == EAGAIN) continue;
      ADD_FAILURE() << "recv: " << (n == 0 ? "closed" : std::strerror(errno));
      return x;
    }
    if (!stream) {
      uint64_t i = n == 8 ? index_of(buf) : kMessages;
      if (i >= kMessages || x.done[i]) {
        ADD_FAILURE() << "unexpected datagram of " << n << " bytes";
        return x;
      }
      x.echoed[i] = t;
      x.done[i] = true;
      ++x.completed;
      continue;
    }
    in.append(buf, static_cast<size_t>(n));
    bytes_in += static_cast<uint64_t>(n);
    for (; x.completed < bytes_in / 8; ++x.completed) {
      if (index_of(in.data() + x.completed * 8) != x.completed) {
        ADD_FAILURE() << "echo out of order at message " << x.completed;
        return x;
      }
      x.echoed[x.completed] = t;
      x.done[x.completed] = true;
    }
  }
  return x;
}

// End to end: the echo of every message came back, no sooner than both delays.
void expect_round_trips_at_least_both_delays(const Exchange& x) {
  ASSERT_EQ(x.completed, kMessages);
  uint64_t short_trips = 0;
  Clock::duration fastest = Clock::duration::max();
  for (uint64_t i = 0; i < kMessages; ++i) {
    fastest = std::min(fastest, x.echoed[i] - x.sent[i]);
    if (x.echoed[i] - x.sent[i] < 2 * kDelay) ++short_trips;
  }
  EXPECT_EQ(short_trips, 0u) << "round trips under " << ms(2 * kDelay) << " ms; fastest "
                             << ms(fastest) << " ms";
}

// The relay's own record: each release at or after its due time, each due time at least the
// delay after its stamp, and each stamp no earlier than `sent_before(record)`: a clock reading
// the sender took before sending the last byte the record's recv brought.
template <typename SentBefore>
void expect_releases_honest(const std::vector<Release>& log, bool to_server,
                            SentBefore sent_before) {
  uint64_t checked = 0, early = 0, short_delay = 0, stamped_before_sent = 0;
  Clock::duration worst = Clock::duration::zero();
  for (const Release& r : log) {
    if (r.to_server != to_server) continue;
    ++checked;
    if (r.released < r.due) ++early;
    if (r.due - r.stamp < kDelay) ++short_delay;
    TimePoint sent = sent_before(r);
    if (r.stamp < sent) {
      ++stamped_before_sent;
      worst = std::max(worst, sent - r.stamp);
    }
  }
  const char* dir = to_server ? "to server" : "to client";
  EXPECT_GT(checked, 0u) << dir;
  EXPECT_EQ(early, 0u) << dir << ": released before due, of " << checked;
  EXPECT_EQ(short_delay, 0u) << dir << ": due less than the delay after the stamp, of " << checked;
  EXPECT_EQ(stamped_before_sent, 0u) << dir << ": stamped before the sender sent them (by up to "
                                     << ms(worst) << " ms), of " << checked << " releases";
}

Spec delay_spec() {
  auto spec = parse_spec("delay 20ms");
  EXPECT_TRUE(spec.spec) << spec.error;
  return *spec.spec;
}

net::SockAddr loopback_port(uint16_t port) {
  return net::resolve("127.0.0.1", port, SOCK_DGRAM).addrs.front();
}

int connected(int type, const net::SockAddr& to) {
  int fd = ::socket(to.family(), type | SOCK_CLOEXEC, 0);
  if (::connect(fd, to.get(), to.len) != 0) {
    ADD_FAILURE() << "connect to " << to.to_string() << ": " << std::strerror(errno);
    ::close(fd);
    return -1;
  }
  int one = 1;
  if (type == SOCK_STREAM) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Echoes one TCP connection, noting before each send where in the stream it starts.
struct TimedTcpEcho {
  std::mutex mu;
  std::vector<std::pair<uint64_t, TimePoint>> sends;  // (offset of its first byte, clock before)
  void operator()(int fd, const std::atomic<bool>& stop) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uint64_t offset = 0;
    char buf[4096];
    while (testing::wait_readable(fd, 5000, stop)) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      for (ssize_t done = 0; done < n;) {
        {
          std::lock_guard<std::mutex> lock(mu);
          sends.emplace_back(offset, Clock::now());
        }
        ssize_t w = ::send(fd, buf + done, static_cast<size_t>(n - done), MSG_NOSIGNAL);
        if (w <= 0) return;
        done += w;
        offset += static_cast<uint64_t>(w);
      }
    }
  }
  // Before the send that carried byte `b`.
  TimePoint before_byte(uint64_t b) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = std::upper_bound(sends.begin(), sends.end(), b,
                               [](uint64_t v, const auto& s) { return v < s.first; });
    return it == sends.begin() ? TimePoint{} : std::prev(it)->second;
  }
};

// A UDP echo on `host`, inside the network namespace `netns_fd` when it is not -1, noting the
// clock before each reply.
class TimedUdpEcho {
 public:
  TimedUdpEcho(const std::string& host, int netns_fd) {
    std::promise<uint16_t> bound;
    auto port = bound.get_future();
    thread_ = std::thread([this, host, netns_fd, &bound] {
      if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) != 0) return bound.set_value(0);
      fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      auto addr = net::resolve(host, 0, SOCK_DGRAM).addrs.front();
      if (::bind(fd_, addr.get(), addr.len) != 0) return bound.set_value(0);
      bound.set_value(testing::port_of(fd_));
      serve();
    });
    port_ = port.get();
  }
  ~TimedUdpEcho() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  uint16_t port() const { return port_; }
  const std::vector<TimePoint>& replies() const { return replies_; }  // after stop()

 private:
  void serve() {
    char buf[2048];
    while (testing::wait_readable(fd_, 60000, stop_)) {
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) continue;
      replies_.push_back(Clock::now());
      ::sendto(fd_, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<TimePoint> replies_;
  std::thread thread_;
};

// Datagram n (from 1) of a direction is the sender's n-th: one socket each way, loopback or a
// TUN pair keeps their order, and the window keeps every buffer from overflowing (checked).
void expect_datagram_releases_honest(const std::vector<Release>& log, const Exchange& x,
                                     const std::vector<TimePoint>& replies) {
  expect_releases_honest(log, true, [&](const Release& r) {
    return r.index >= 1 && r.index <= kMessages ? x.sent[r.index - 1] : TimePoint::max();
  });
  expect_releases_honest(log, false, [&](const Release& r) {
    return r.index >= 1 && r.index <= replies.size() ? replies[r.index - 1] : TimePoint::max();
  });
}

TEST(ImpairTiming, StreamRelayNeverReleasesEarlyBesideCpuHogs) {
  TimedTcpEcho echo;
  testing::TcpServer server([&](int fd, const std::atomic<bool>& stop) { echo(fd, stop); });
  auto log = std::make_shared<ReleaseLog>(kLogCapacity);
  std::string error;
  auto proxy = Proxy::start({loopback_port(server.port()), delay_spec(), 1}, error, log);
  ASSERT_TRUE(proxy) << error;
  Exchange x;
  {
    testing::CpuHogs hogs;
    int fd = connected(SOCK_STREAM, proxy->address());
    ASSERT_GE(fd, 0);
    x = exchange(fd, true);
    ::close(fd);
  }
  Stats st = proxy->stats();
  proxy.reset();
  server.stop();
  expect_round_trips_at_least_both_delays(x);
  auto records = log->records();
  EXPECT_EQ(st.releases.released, log->noted());
  EXPECT_EQ(st.releases.early, 0u);
  ASSERT_LE(log->noted(), kLogCapacity);
  // A chunk's recv returned after its last byte came: after the send of the message it ends in.
  expect_releases_honest(records, true,
                         [&](const Release& r) { return x.sent[(r.index + r.size - 1) / 8]; });
  expect_releases_honest(records, false,
                         [&](const Release& r) { return echo.before_byte(r.index + r.size - 1); });
  std::cout << records.size() << " chunks released\n";
}

TEST(ImpairTiming, DatagramRelayNeverReleasesEarlyBesideCpuHogs) {
  TimedUdpEcho echo("127.0.0.1", -1);
  ASSERT_NE(echo.port(), 0);
  auto log = std::make_shared<ReleaseLog>(kLogCapacity);
  std::string error;
  auto proxy = Proxy::start({loopback_port(echo.port()), delay_spec(), 1}, error, log);
  ASSERT_TRUE(proxy) << error;
  Exchange x;
  {
    testing::CpuHogs hogs;
    int fd = connected(SOCK_DGRAM, proxy->address());
    ASSERT_GE(fd, 0);
    x = exchange(fd, false);
    ::close(fd);
  }
  Stats st = proxy->stats();
  proxy.reset();
  echo.stop();
  expect_round_trips_at_least_both_delays(x);
  EXPECT_EQ(st.to_server.arrived, kMessages);
  EXPECT_EQ(st.to_client.arrived, echo.replies().size());
  EXPECT_EQ(st.releases.released, log->noted());
  EXPECT_EQ(st.releases.early, 0u);
  expect_datagram_releases_honest(log->records(), x, echo.replies());
}

TEST(ImpairTiming, PacketLinkNeverReleasesEarlyBesideCpuHogs) {
  auto log = std::make_shared<ReleaseLog>(kLogCapacity);
  std::string error;
  auto link = PacketLink::create(delay_spec(), 1, error, log);
  if (!link) GTEST_SKIP() << error;  // needs root (CAP_NET_ADMIN)
  TimedUdpEcho echo(link->guest_host(), link->netns_fd());
  ASSERT_NE(echo.port(), 0);
  Exchange x;
  {
    testing::CpuHogs hogs;
    auto to = net::resolve(link->guest_host(), echo.port(), SOCK_DGRAM).addrs.front();
    int fd = connected(SOCK_DGRAM, to);
    ASSERT_GE(fd, 0);
    x = exchange(fd, false);
    ::close(fd);
  }
  Stats st = link->stats();
  link.reset();
  echo.stop();
  expect_round_trips_at_least_both_delays(x);
  // Only this test's packets cross the link, so packet n is the sender's n-th.
  ASSERT_EQ(st.to_server.arrived, kMessages);
  ASSERT_EQ(st.to_client.arrived, echo.replies().size());
  EXPECT_EQ(st.releases.early, 0u);
  expect_datagram_releases_honest(log->records(), x, echo.replies());
}

}  // namespace
}  // namespace sockspec::impair
