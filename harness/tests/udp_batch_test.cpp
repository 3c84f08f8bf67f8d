// UdpBatch: many copies of a datagram in a few calls, GSO or sendmmsg, each copy whole and, with
// tags, each with its own tag in order. Received on loopback and read back one by one.
#include "engine/udp_batch.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>
#include <string>
#include <vector>

#include "engine/conn.h"
#include "net/fd.h"

namespace sockspec::engine {
namespace {

// A sender and a receiver on 127.0.0.1; the receiver's address as a SockAddr.
struct Pair {
  net::Fd tx, rx;
  net::SockAddr to;
  Pair() {
    tx = net::Fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0));
    rx = net::Fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0));
    int big = 4 << 20;  // room for every copy: a test that drops datagrams proves nothing
    ::setsockopt(rx.get(), SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(rx.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    to.len = sizeof to.storage;
    EXPECT_EQ(::getsockname(rx.get(), to.get(), &to.len), 0);
  }
  // Every datagram waiting, in arrival order (bounded: stops after 200 ms of nothing).
  std::vector<std::string> receive() {
    std::vector<std::string> got;
    for (int i = 0; i < 10000; ++i) {
      char buf[2048];
      ssize_t n = ::recv(rx.get(), buf, sizeof buf, 0);
      if (n >= 0) {
        got.emplace_back(buf, static_cast<size_t>(n));
        continue;
      }
      pollfd p{rx.get(), POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) break;
    }
    return got;
  }
};

void expect_tagged(const std::vector<std::string>& got, uint64_t first,
                   const std::string& payload) {
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].size(), UdpSequence::kTagSize + payload.size()) << "datagram " << i;
    EXPECT_EQ(UdpSequence::parse(got[i]), first + i) << "datagram " << i;
    EXPECT_EQ(got[i].substr(UdpSequence::kTagSize), payload) << "datagram " << i;
  }
}

TEST(UdpBatch, TaggedCopiesGoOutInOrderEachWithItsOwnTag) {
  for (bool gso_refused : {false, true}) {  // GSO, then the sendmmsg fallback
    Pair p;
    UdpBatch batch;
    bool no_gso = gso_refused;
    std::string payload = "ping 0123456789";
    uint64_t tag = 0xFFFFFFF0;  // crosses a hex digit boundary on the way
    size_t sent_total = 0;
    for (int round = 0; round < 3; ++round) {
      ssize_t sent = batch.send(p.tx.get(), p.to, false, payload, tag + sent_total, 40, no_gso);
      ASSERT_EQ(sent, 40) << std::strerror(errno);
      sent_total += 40;
    }
    auto got = p.receive();
    ASSERT_EQ(got.size(), sent_total) << (gso_refused ? "sendmmsg" : "gso");
    expect_tagged(got, tag, payload);
  }
}

TEST(UdpBatch, UntaggedCopiesAreThePayloadAndAChangedPayloadIsLaidOutAgain) {
  Pair p;
  UdpBatch batch;
  bool no_gso = false;
  ASSERT_EQ(batch.send(p.tx.get(), p.to, false, "abc", std::nullopt, 64, no_gso), 64);
  ASSERT_EQ(batch.send(p.tx.get(), p.to, false, "xyz", std::nullopt, 3, no_gso), 3);
  ASSERT_EQ(batch.send(p.tx.get(), p.to, false, "xyz", 7, 2, no_gso), 2);
  auto got = p.receive();
  ASSERT_EQ(got.size(), 69u);
  for (size_t i = 0; i < 64; ++i) EXPECT_EQ(got[i], "abc");
  for (size_t i = 64; i < 67; ++i) EXPECT_EQ(got[i], "xyz");
  expect_tagged({got.begin() + 67, got.end()}, 7, "xyz");
}

TEST(UdpBatch, ALargePayloadGoesBySendmmsgWhole) {
  Pair p;
  UdpBatch batch;
  bool no_gso = false;
  std::string payload(1500, 'q');  // over what GSO is given: batched with sendmmsg
  ASSERT_EQ(batch.send(p.tx.get(), p.to, false, payload, 100, 10, no_gso), 10);
  auto got = p.receive();
  ASSERT_EQ(got.size(), 10u);
  expect_tagged(got, 100, payload);
}

TEST(UdpSequence, TagsWrittenByHandReadBack) {
  for (uint64_t n : {0ull, 1ull, 0xABCDEFull, 0x0123456789ABCDEFull, ~0ull}) {
    std::string t = UdpSequence::tag(n);
    ASSERT_EQ(t.size(), UdpSequence::kTagSize);
    EXPECT_EQ(UdpSequence::parse(t), n) << t;
  }
  EXPECT_EQ(UdpSequence::tag(0xAB), "#00000000000000AB#");
}

}  // namespace
}  // namespace sockspec::engine
