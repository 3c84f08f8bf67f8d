// The impairment relay on real loopback sockets: what the target receives and what the
// client gets back agree exactly with the relay's own counts.
#include <gtest/gtest.h>

#include <atomic>

#include "impair/proxy.h"
#include "tests/test_servers.h"

namespace sockspec::impair {
namespace {

net::SockAddr loopback_port(uint16_t port) {
  auto r = net::resolve("127.0.0.1", port, SOCK_DGRAM);
  return r.addrs.front();
}

// Reads datagrams until none has come for `quiet_ms` (at most `limit`).
int drain(int fd, int quiet_ms, int limit) {
  int got = 0;
  char buf[2048];
  while (got < limit) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, quiet_ms) != 1) break;
    if (::recv(fd, buf, sizeof buf, 0) > 0) ++got;
  }
  return got;
}

TEST(ImpairRelay, UdpCountsAtTheTargetAndTheClientMatchTheRelays) {
  std::atomic<int> served{0};
  testing::UdpServer server([&](const std::string& d) {
    ++served;
    return d;
  });
  auto spec = parse_spec("to-server loss every 10 duplicate every 7 to-client loss every 5");
  ASSERT_TRUE(spec.spec) << spec.error;
  std::string error;
  auto proxy = Proxy::start({loopback_port(server.port()), *spec.spec, 1}, error);
  ASSERT_TRUE(proxy) << error;

  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(::connect(fd, proxy->address().get(), proxy->address().len), 0);
  // 100 small datagrams fit every socket buffer on the way (~200 KiB each), so only the relay
  // drops any.
  for (int i = 1; i <= 100; ++i) {
    std::string msg = std::to_string(i);
    ASSERT_EQ(::send(fd, msg.data(), msg.size(), 0), static_cast<ssize_t>(msg.size()));
  }
  int received = drain(fd, 500, 1000);
  ::close(fd);

  Stats st = proxy->stats();
  EXPECT_EQ(st.to_server.arrived, 100u);
  EXPECT_EQ(st.to_server.dropped, 10u);
  EXPECT_EQ(st.to_server.duplicated, 13u);
  EXPECT_EQ(served.load(), 103);  // what reached the target
  EXPECT_EQ(st.to_client.arrived, 103u);
  EXPECT_EQ(st.to_client.dropped, 20u);
  EXPECT_EQ(received, 83);  // what came back
}

TEST(ImpairRelay, TcpSliceWritesEachByteSeparately) {
  testing::TcpServer server([](int fd, const std::atomic<bool>& stop) {
    char buf[256];
    while (testing::wait_readable(fd, 2000, stop)) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      ::send(fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
    }
  });
  auto spec = parse_spec("to-client slice 1");
  ASSERT_TRUE(spec.spec);
  std::string error;
  auto proxy = Proxy::start({loopback_port(server.port()), *spec.spec, 1}, error);
  ASSERT_TRUE(proxy) << error;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(::connect(fd, proxy->address().get(), proxy->address().len), 0);
  std::string msg = "sliced into bytes";
  ASSERT_EQ(::send(fd, msg.data(), msg.size(), 0), static_cast<ssize_t>(msg.size()));
  std::string got;
  std::atomic<bool> stop{false};
  while (got.size() < msg.size() && testing::wait_readable(fd, 2000, stop)) {
    char buf[64];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  EXPECT_EQ(got, msg);
  Stats st = proxy->stats();
  EXPECT_EQ(st.stream.bytes_to_client, msg.size());
  EXPECT_EQ(st.stream.writes_to_client, msg.size());  // one write per byte
  EXPECT_EQ(st.stream.connections, 1u);
}

}  // namespace
}  // namespace sockspec::impair
