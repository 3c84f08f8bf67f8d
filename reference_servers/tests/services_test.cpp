// Each reference service over TCP and UDP, IPv4 and IPv6, checked with plain sockets.
#include <gtest/gtest.h>

#include <ctime>

#include "reference_servers/tests/server_process.h"
#include "reference_servers/tests/sockets.h"

namespace sockspec::refserver::testing {
namespace {

class Services : public ::testing::TestWithParam<int> {
 protected:
  int family() const { return GetParam(); }
  ServerProcess start(Service s, Fault f = Fault::none) {
    Config c;
    c.service = s;
    c.fault = f;
    c.bind = family() == AF_INET6 ? "::1" : "127.0.0.1";
    c.threads = 2;
    return ServerProcess(c);
  }
};

TEST_P(Services, EchoTcpReturnsEverythingSentBeforeFinThenCloses) {
  auto srv = start(Service::echo);
  auto c = tcp_connect(family(), srv.port());
  ASSERT_GE(c.fd, 0);
  std::string data = pattern(300000, 1);
  ASSERT_TRUE(send_all(c.fd, data));
  ::shutdown(c.fd, SHUT_WR);
  EXPECT_EQ(recv_n(c.fd, data.size()), data);
  EXPECT_TRUE(eof_within(c.fd, 5000));
}

TEST_P(Services, EchoUdpReturnsDatagramsWholeFromTheServerPort) {
  auto srv = start(Service::echo);
  auto u = udp_socket(family());
  for (size_t size : {size_t{0}, size_t{1}, size_t{1024}, size_t{1025}, size_t{65507}}) {
    std::string d = pattern(size, static_cast<unsigned>(size));
    ASSERT_TRUE(send_to(u.fd, family(), srv.port(), d)) << size;
    auto r = recv_datagram(u.fd);
    ASSERT_TRUE(r.ok) << size;
    EXPECT_EQ(r.bytes, d) << size;
    EXPECT_EQ(r.from_port, srv.port());
  }
}

TEST_P(Services, UpperChangesOnlyAsciiLettersOnBothTransports) {
  auto srv = start(Service::upper);
  std::string in = std::string("hello, w\xc3\xb6rld 123 \x00 z", 20);
  std::string want = std::string("HELLO, W\xc3\xb6RLD 123 \x00 Z", 20);
  auto c = tcp_connect(family(), srv.port());
  ASSERT_TRUE(send_all(c.fd, in));
  EXPECT_EQ(recv_n(c.fd, want.size()), want);
  ASSERT_TRUE(send_all(c.fd, "second message"));  // a stream, not one message per connection
  EXPECT_EQ(recv_n(c.fd, 14), "SECOND MESSAGE");
  auto u = udp_socket(family());
  send_to(u.fd, family(), srv.port(), in);
  EXPECT_EQ(recv_datagram(u.fd).bytes, want);
}

TEST_P(Services, DiscardNeverAnswers) {
  auto srv = start(Service::discard);
  auto c = tcp_connect(family(), srv.port());
  ASSERT_TRUE(send_all(c.fd, pattern(100000, 2)));
  EXPECT_TRUE(quiet_for(c.fd, 200));
  auto u = udp_socket(family());
  send_to(u.fd, family(), srv.port(), "anything");
  EXPECT_TRUE(quiet_for(u.fd, 200));
}

TEST_P(Services, ChargenTcpSendsRotatingLinesOf72Characters) {
  auto srv = start(Service::chargen);
  auto c = tcp_connect(family(), srv.port());
  std::string text = recv_n(c.fd, 74 * 100);
  ASSERT_EQ(text.size(), 74u * 100);
  for (size_t k = 0; k < 100; ++k) {
    std::string line = text.substr(74 * k, 74);
    ASSERT_EQ(line.substr(72), "\r\n") << k;
    for (size_t i = 0; i < 72; ++i) {
      ASSERT_EQ(line[i], static_cast<char>(' ' + (k + i) % 95)) << "line " << k << " col " << i;
    }
  }
}

TEST_P(Services, ChargenUdpAnswersWithAtMost512Characters) {
  auto srv = start(Service::chargen);
  auto u = udp_socket(family());
  for (int i = 0; i < 20; ++i) {
    send_to(u.fd, family(), srv.port(), "x");
    auto r = recv_datagram(u.fd);
    ASSERT_TRUE(r.ok);
    EXPECT_LE(r.bytes.size(), 512u);
    for (char ch : r.bytes) EXPECT_TRUE(ch == '\r' || ch == '\n' || (ch >= ' ' && ch <= '~'));
  }
}

TEST_P(Services, DaytimeSendsOneLineThenCloses) {
  auto srv = start(Service::daytime);
  auto c = tcp_connect(family(), srv.port());
  std::string line = recv_n(c.fd, 200);  // stops at EOF
  // "Tuesday, February 22, 1982 17:37:43-UTC\r\n" (checked without a regex library: the
  // reference servers and their tests stay independent of the harness's matcher).
  std::tm tm{};
  const char* rest = strptime(line.c_str(), "%A, %B %d, %Y %H:%M:%S-UTC", &tm);
  ASSERT_NE(rest, nullptr) << line;
  EXPECT_STREQ(rest, "\r\n") << line;
  auto u = udp_socket(family());
  send_to(u.fd, family(), srv.port(), "?");
  EXPECT_EQ(recv_datagram(u.fd).bytes.back(), '\n');
}

TEST_P(Services, TimeSendsSecondsSince1900BigEndian) {
  auto srv = start(Service::time);
  auto c = tcp_connect(family(), srv.port());
  std::string t = recv_n(c.fd, 8);
  ASSERT_EQ(t.size(), 4u);
  uint32_t v = 0;
  for (unsigned char ch : t) v = v << 8 | ch;
  uint64_t now = static_cast<uint64_t>(std::time(nullptr)) + 2208988800ull;
  EXPECT_LE(static_cast<uint32_t>(now) - v, 5u);
}

TEST_P(Services, ChatTcpRelaysToEveryOtherClientButNotTheSender) {
  auto srv = start(Service::chat);
  auto a = tcp_connect(family(), srv.port());
  auto b = tcp_connect(family(), srv.port());
  auto c = tcp_connect(family(), srv.port());
  // The server must have accepted all three before the message; a round trip proves it.
  for (int fd : {a.fd, b.fd, c.fd}) ASSERT_TRUE(quiet_for(fd, 50));
  usleep(100 * 1000);
  ASSERT_TRUE(send_all(a.fd, "hi all\n"));
  EXPECT_EQ(recv_n(b.fd, 7), "hi all\n");
  EXPECT_EQ(recv_n(c.fd, 7), "hi all\n");
  EXPECT_TRUE(quiet_for(a.fd, 200));
}

TEST_P(Services, ChatUdpRelaysToPeersHeardFrom) {
  auto srv = start(Service::chat);
  auto a = udp_socket(family());
  auto b = udp_socket(family());
  send_to(b.fd, family(), srv.port(), "b joins");  // b is now a peer; a is not yet
  send_to(a.fd, family(), srv.port(), "from a");
  auto r = recv_datagram(b.fd);
  EXPECT_EQ(r.bytes, "from a");
  EXPECT_TRUE(quiet_for(a.fd, 200));
}

TEST_P(Services, UdpNeverAnswersTheWellKnownServicePorts) {
  auto srv = start(Service::echo);
  Sock u(::socket(family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
  socklen_t len;
  auto me = addr_of(family(), 7, len);  // the echo port itself: two echo servers would loop
  if (::bind(u.fd, reinterpret_cast<sockaddr*>(&me), len) != 0)
    GTEST_SKIP() << "cannot bind port 7 here";
  set_timeout(u.fd, 300);
  send_to(u.fd, family(), srv.port(), "loop?");
  EXPECT_TRUE(quiet_for(u.fd, 300));
}

INSTANTIATE_TEST_SUITE_P(Families, Services, ::testing::Values(AF_INET, AF_INET6),
                         [](const auto& p) { return p.param == AF_INET ? "IPv4" : "IPv6"; });

}  // namespace
}  // namespace sockspec::refserver::testing

namespace sockspec::refserver {
namespace {

std::string sockperf_message(uint64_t seq, uint16_t flags, uint32_t len) {
  std::string m(len, 'p');
  for (int i = 0; i < 8; ++i) m[static_cast<size_t>(i)] = static_cast<char>(seq >> (56 - 8 * i));
  m[8] = static_cast<char>(flags >> 8);
  m[9] = static_cast<char>(flags & 0xFF);
  for (int i = 0; i < 4; ++i)
    m[static_cast<size_t>(10 + i)] = static_cast<char>(len >> (24 - 8 * i));
  return m;
}

TEST(SockperfFramer, ClearsTheClientFlagOfEveryMessageWhateverTheChunking) {
  std::string stream =
      sockperf_message(1, 3, 64) + sockperf_message(2, 3, 100) + sockperf_message(3, 1, 14);
  std::string want =
      sockperf_message(1, 2, 64) + sockperf_message(2, 2, 100) + sockperf_message(3, 0, 14);
  for (size_t chunk = 1; chunk <= stream.size(); chunk += 7) {
    std::string s = stream;
    SockperfFramer f;
    for (size_t off = 0; off < s.size(); off += chunk)
      f.rewrite(s.data() + off, std::min(chunk, s.size() - off));
    EXPECT_EQ(s, want) << "chunk " << chunk;
  }
}

}  // namespace
}  // namespace sockspec::refserver
