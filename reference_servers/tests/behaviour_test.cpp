// What a reference server must get right beyond the protocol: backpressure, many clients,
// restarts, running out of descriptors, and the faults doing exactly their one bug.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "reference_servers/tests/server_process.h"
#include "reference_servers/tests/sockets.h"

namespace sockspec::refserver::testing {
namespace {

Config echo_config(Fault f = Fault::none) {
  Config c;
  c.fault = f;
  c.threads = 2;
  return c;
}

TEST(Backpressure, A64MiBTransferToASlowReaderKeepsServerMemoryBounded) {
  ServerProcess srv(echo_config());
  auto c = tcp_connect(AF_INET, srv.port(), 30000);
  ASSERT_GE(c.fd, 0);
  const size_t total = 64u << 20;
  long rss_before = srv.rss_kib();
  std::atomic<long> rss_peak{rss_before};
  std::atomic<bool> sent_ok{false};
  std::thread writer([&] {
    std::string chunk = pattern(1 << 20, 3);
    bool ok = true;
    for (size_t sent = 0; ok && sent < total; sent += chunk.size()) ok = send_all(c.fd, chunk);
    sent_ok = ok;
  });
  // Read slowly: 16 KiB at a time with a pause, sampling the server's memory as we go.
  std::string chunk = pattern(1 << 20, 3);
  size_t got = 0, checked_mismatch = 0;
  char buf[16384];
  for (int i = 0; got < total && i < 200000; ++i) {
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    for (ssize_t k = 0; k < n; ++k) {
      if (buf[k] != chunk[(got + static_cast<size_t>(k)) % chunk.size()]) ++checked_mismatch;
    }
    got += static_cast<size_t>(n);
    if (i % 64 == 0) {
      rss_peak = std::max(rss_peak.load(), srv.rss_kib());
      usleep(200);
    }
  }
  writer.join();
  EXPECT_TRUE(sent_ok);
  EXPECT_EQ(got, total);
  EXPECT_EQ(checked_mismatch, 0u);
  // The server buffers at most ~256 KiB per connection; allow generous allocator slack,
  // far below the 64 MiB it would hold without backpressure.
  RecordProperty("server_rss_growth_kib", static_cast<int>(rss_peak - rss_before));
  EXPECT_LT(rss_peak - rss_before, 16 * 1024)
      << "server RSS grew from " << rss_before << " KiB to " << rss_peak << " KiB";
}

TEST(ManyClients, TenThousandConcurrentConnectionsAreAllServed) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  const int clients = 10000;
  if (rl.rlim_max < static_cast<rlim_t>(clients + 200))
    GTEST_SKIP() << "RLIMIT_NOFILE hard limit too low";
  rlimit raised{rl.rlim_max, rl.rlim_max};
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &raised), 0);
  {
    ServerProcess srv(echo_config(), rl.rlim_max);
    std::vector<Sock> conns;
    conns.reserve(clients);
    for (int i = 0; i < clients; ++i) {
      conns.push_back(tcp_connect(AF_INET, srv.port(), 10000));
      ASSERT_GE(conns.back().fd, 0) << "connection " << i;
    }
    // Every connection is live: each one gets its own bytes back.
    int answered = 0;
    for (int i = 0; i < clients; ++i) {
      std::string msg = "c" + std::to_string(i);
      if (send_all(conns[static_cast<size_t>(i)].fd, msg) &&
          recv_n(conns[static_cast<size_t>(i)].fd, msg.size()) == msg) {
        ++answered;
      }
    }
    EXPECT_EQ(answered, clients);
  }
  setrlimit(RLIMIT_NOFILE, &rl);
}

TEST(Restart, ARestartBindsAtOnceWhileOldConnectionsLinger) {
  for (Fault f : {Fault::none, Fault::no_reuseaddr}) {
    Config cfg = echo_config(f);
    cfg.udp = false;
    ServerProcess first(cfg);
    uint16_t port = first.port();
    auto c = tcp_connect(AF_INET, port);
    ASSERT_TRUE(send_all(c.fd, "hi"));
    ASSERT_EQ(recv_n(c.fd, 2), "hi");
    first.stop();  // the server closes first: its side of the connection lingers
    ASSERT_TRUE(eof_within(c.fd, 5000));
    cfg.port = port;
    ServerProcess second(cfg);
    if (f == Fault::none) {
      EXPECT_EQ(second.port(), port) << "restart should bind the same port at once";
    } else {
      EXPECT_EQ(second.stop(), 1) << "no-reuseaddr should fail to bind (EADDRINUSE)";
    }
  }
}

TEST(Descriptors, RunningOutOfDescriptorsNeitherCrashesNorSpins) {
  Config cfg = echo_config();
  cfg.threads = 1;
  ServerProcess srv(cfg, 64);
  std::vector<Sock> conns;
  for (int i = 0; i < 100; ++i) conns.push_back(tcp_connect(AF_INET, srv.port(), 2000));
  usleep(200 * 1000);
  long before = srv.cpu_ticks();
  usleep(500 * 1000);
  long spent = srv.cpu_ticks() - before;
  EXPECT_LT(spent, 10) << "the server used CPU while idle at its descriptor limit";
  conns.clear();
  usleep(200 * 1000);
  auto fresh = tcp_connect(AF_INET, srv.port());
  ASSERT_TRUE(send_all(fresh.fd, "still here"));
  EXPECT_EQ(recv_n(fresh.fd, 10), "still here");
}

TEST(Faults, Truncate1024CutsUdpDatagramsAndAnswersTcpOnce) {
  ServerProcess srv(echo_config(Fault::truncate_1024));
  auto u = udp_socket(AF_INET);
  send_to(u.fd, AF_INET, srv.port(), pattern(2000, 5));
  EXPECT_EQ(recv_datagram(u.fd).bytes, pattern(2000, 5).substr(0, 1024));
  auto c = tcp_connect(AF_INET, srv.port());
  ASSERT_TRUE(send_all(c.fd, pattern(4000, 6)));
  EXPECT_EQ(recv_n(c.fd, 4000).size(), 1024u);
}

TEST(Faults, IterativeServesOneClientAtATime) {
  ServerProcess srv(echo_config(Fault::iterative));
  auto a = tcp_connect(AF_INET, srv.port());
  ASSERT_TRUE(send_all(a.fd, "a"));
  ASSERT_EQ(recv_n(a.fd, 1), "a");
  auto b = tcp_connect(AF_INET, srv.port());
  ASSERT_TRUE(send_all(b.fd, "b"));
  EXPECT_TRUE(quiet_for(b.fd, 300));
  ::close(a.fd);
  a.fd = -1;
  EXPECT_EQ(recv_n(b.fd, 1), "b");  // served once the first client leaves
}

TEST(Faults, BusyIsSlowButStillAnswersEveryRequestCorrectly) {
  Config cfg = echo_config(Fault::busy);
  cfg.busy_us = 200;
  ServerProcess srv(cfg);
  auto c = tcp_connect(AF_INET, srv.port());
  auto u = udp_socket(AF_INET);
  for (int i = 0; i < 20; ++i) {
    std::string msg = pattern(64, i);
    ASSERT_TRUE(send_all(c.fd, msg));
    EXPECT_EQ(recv_n(c.fd, 64), msg);
    send_to(u.fd, AF_INET, srv.port(), msg);
    EXPECT_EQ(recv_datagram(u.fd).bytes, msg);
  }
}

TEST(Faults, CrlfCloseAfterFirstAndResetMidstreamDoTheirOneBug) {
  ServerProcess crlf(echo_config(Fault::crlf));
  auto c = tcp_connect(AF_INET, crlf.port());
  send_all(c.fd, "a\nb\n");
  EXPECT_EQ(recv_n(c.fd, 6), "a\r\nb\r\n");

  ServerProcess once(echo_config(Fault::close_after_first));
  auto o = tcp_connect(AF_INET, once.port());
  send_all(o.fd, "first");
  EXPECT_EQ(recv_n(o.fd, 5), "first");
  EXPECT_TRUE(eof_within(o.fd, 2000));

  ServerProcess reset(echo_config(Fault::reset_midstream));
  auto r = tcp_connect(AF_INET, reset.port());
  send_all(r.fd, pattern(4096, 7));
  size_t got = 0;
  int err = 0;
  char buf[4096];
  for (int i = 0; i < 100; ++i) {  // the reset is reported once, where the data ends
    ssize_t n = ::recv(r.fd, buf, sizeof buf, 0);
    if (n > 0) {
      got += static_cast<size_t>(n);
      continue;
    }
    err = n < 0 ? errno : 0;
    break;
  }
  EXPECT_EQ(got, 1024u);
  EXPECT_EQ(err, ECONNRESET);
}

TEST(Faults, ReplyWrongPortAnswersFromAnotherSocket) {
  ServerProcess srv(echo_config(Fault::reply_wrong_port));
  auto u = udp_socket(AF_INET);
  send_to(u.fd, AF_INET, srv.port(), "where from?");
  auto d = recv_datagram(u.fd);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.bytes, "where from?");
  EXPECT_NE(d.from_port, srv.port());
}

TEST(Faults, NoCloseOnFinNeverSendsEof) {
  ServerProcess srv(echo_config(Fault::no_close_on_fin));
  auto c = tcp_connect(AF_INET, srv.port());
  send_all(c.fd, "bye");
  ::shutdown(c.fd, SHUT_WR);
  EXPECT_EQ(recv_n(c.fd, 3), "bye");
  EXPECT_FALSE(eof_within(c.fd, 300));
}

TEST(Faults, SlowDelaysRepliesButDeliversThem) {
  Config cfg = echo_config(Fault::slow);
  cfg.delay_ms = 400;
  ServerProcess srv(cfg);
  auto c = tcp_connect(AF_INET, srv.port());
  send_all(c.fd, "wait");
  EXPECT_TRUE(quiet_for(c.fd, 150));
  EXPECT_EQ(recv_n(c.fd, 4), "wait");
}

TEST(Faults, IgnorePartialSendLosesDataUnderBackpressure) {
  ServerProcess srv(echo_config(Fault::ignore_partial_send));
  auto c = tcp_connect(AF_INET, srv.port(), 5000);
  std::string data = pattern(16u << 20, 8);
  std::thread writer([&] {
    send_all(c.fd, data);
    ::shutdown(c.fd, SHUT_WR);
  });
  usleep(300 * 1000);  // let the server's send buffer fill while we do not read
  std::string got = recv_n(c.fd, data.size());
  writer.join();
  EXPECT_LT(got.size(), data.size());
}

TEST(Faults, DropAfterFinLosesInputThatCameWithTheFin) {
  ServerProcess srv(echo_config(Fault::drop_after_fin));
  auto c = tcp_connect(AF_INET, srv.port());
  int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, 3 /* TCP_CORK */, &one, sizeof one);
  send_all(c.fd, pattern(4000, 9));
  ::shutdown(c.fd, SHUT_WR);  // data and FIN leave together
  EXPECT_LT(recv_n(c.fd, 4000).size(), 4000u);
}

TEST(Faults, ChatEchoSenderSendsMessagesBackToTheirAuthor) {
  Config cfg = echo_config(Fault::chat_echo_sender);
  cfg.service = Service::chat;
  ServerProcess srv(cfg);
  auto a = tcp_connect(AF_INET, srv.port());
  usleep(100 * 1000);
  send_all(a.fd, "me");
  EXPECT_EQ(recv_n(a.fd, 2), "me");
}

}  // namespace
}  // namespace sockspec::refserver::testing

namespace sockspec::refserver::testing {
namespace {

TEST(Limits, IdleConnectionsAreClosedAfterTheIdleTimeout) {
  Config cfg = echo_config();
  cfg.idle_timeout_s = 1;
  ServerProcess srv(cfg);
  auto idle = tcp_connect(AF_INET, srv.port());
  EXPECT_TRUE(eof_within(idle.fd, 5000));
}

TEST(Limits, ConnectionsBeyondTheMaximumAreClosedAtOnce) {
  Config cfg = echo_config();
  cfg.max_connections = 2;
  cfg.threads = 1;
  ServerProcess srv(cfg);
  auto a = tcp_connect(AF_INET, srv.port());
  auto b = tcp_connect(AF_INET, srv.port());
  ASSERT_TRUE(send_all(a.fd, "a") && send_all(b.fd, "b"));
  ASSERT_EQ(recv_n(a.fd, 1), "a");
  ASSERT_EQ(recv_n(b.fd, 1), "b");
  auto third = tcp_connect(AF_INET, srv.port());
  EXPECT_TRUE(eof_within(third.fd, 2000));
  ::close(a.fd);
  a.fd = -1;
  usleep(100 * 1000);
  auto fourth = tcp_connect(AF_INET, srv.port());  // room again once one left
  ASSERT_TRUE(send_all(fourth.fd, "d"));
  EXPECT_EQ(recv_n(fourth.fd, 1), "d");
}

}  // namespace
}  // namespace sockspec::refserver::testing

namespace sockspec::refserver::testing {
namespace {

// Regression: a reply that fails with EPIPE closes the connection inside the read handler,
// which once went on to touch the freed connection (caught by ASan).
TEST(Robustness, AClientThatResetsWhileBeingAnsweredDoesNotHurtTheServer) {
  for (Service s : {Service::echo, Service::upper}) {
    Config cfg = echo_config();
    cfg.service = s;
    ServerProcess srv(cfg);
    for (int round = 0; round < 20; ++round) {
      auto c = tcp_connect(AF_INET, srv.port());
      send_all(c.fd, pattern(200000, static_cast<unsigned>(round)));
      linger l{1, 0};
      setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    auto fresh = tcp_connect(AF_INET, srv.port());
    ASSERT_GE(fresh.fd, 0);
    ASSERT_TRUE(send_all(fresh.fd, "alive?"));
    EXPECT_EQ(recv_n(fresh.fd, 6).size(), 6u);
    EXPECT_EQ(srv.stop(), 0) << "the server did not exit cleanly";
  }
}

}  // namespace
}  // namespace sockspec::refserver::testing
