// Real scenarios run by the engine against in-test servers on loopback: the verdicts must
// be right whatever the server's chunking, and every failure must say what happened.
#include <gtest/gtest.h>

#include <cstring>

#include "run_case.h"
#include "test_servers.h"

namespace sockspec::engine {
namespace {

using reports::Verdict;
using sockspec::testing::Ran;
using sockspec::testing::run_steps;
using sockspec::testing::TcpServer;
using sockspec::testing::UdpServer;

TEST(Engine, ByteStreamMatchesWhenTheServerWritesOneByteAtATime) {
  TcpServer server(sockspec::testing::one_byte_echo);
  auto r = run_steps(R"([
    {"op": "connect", "conn": "c"},
    {"op": "send", "conn": "c", "fill": {"bytes": 3000, "pattern": "random"}},
    {"op": "expect", "conn": "c", "echo": true},
    {"op": "send", "conn": "c", "text": "line one\nline two\n"},
    {"op": "expect", "conn": "c", "regex": "line [a-z]+", "until": "\n"},
    {"op": "expect", "conn": "c", "text": "line two\n"},
    {"op": "shutdown", "conn": "c", "how": "write"},
    {"op": "expect_eof", "conn": "c"}])",
                     "127.0.0.1", server.port());
  EXPECT_EQ(r.outcome.verdict, Verdict::pass) << r.all_messages;
  ASSERT_EQ(r.outcome.steps.size(), 8u);
  EXPECT_EQ(r.outcome.steps[2].bytes_received, 3000u);
}

TEST(Engine, AWrongByteIsReportedWithOffsetAndBothSides) {
  TcpServer server([](int fd, const std::atomic<bool>& stop) {
    char buf[64];
    if (!sockspec::testing::wait_readable(fd, 5000, stop)) return;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 2) buf[2] = 'X';
    if (n > 0) ::send(fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
    sockspec::testing::wait_readable(fd, 5000, stop);
  });
  auto r = run_steps(R"([{"op": "connect", "conn": "c"},
    {"op": "send", "conn": "c", "text": "hello\n"},
    {"op": "expect", "conn": "c", "echo": true}])",
                     "127.0.0.1", server.port());
  ASSERT_EQ(r.outcome.verdict, Verdict::fail);
  const auto* f = r.failed();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->path, "2");
  ASSERT_TRUE(f->mismatch);
  EXPECT_EQ(f->mismatch->offset, 2u);
  EXPECT_EQ(f->mismatch->expected_text, "hello\\n");
  EXPECT_EQ(f->mismatch->actual_text, "heXlo\\n");
  EXPECT_EQ(f->mismatch->actual_hex, "6865586c6f0a");
}

TEST(Engine, ResetIsToldApartFromAnOrderlyClose) {
  TcpServer resetter([](int fd, const std::atomic<bool>& stop) {
    char buf[64];
    if (sockspec::testing::wait_readable(fd, 5000, stop)) ::recv(fd, buf, sizeof buf, 0);
    linger l{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);  // close() now sends RST
  });
  auto ok = run_steps(R"([{"op": "connect", "conn": "c"},
    {"op": "send", "conn": "c", "text": "x"},
    {"op": "expect_reset", "conn": "c"}])",
                      "127.0.0.1", resetter.port());
  EXPECT_EQ(ok.outcome.verdict, Verdict::pass) << ok.all_messages;

  auto eof = run_steps(R"([{"op": "connect", "conn": "c"},
    {"op": "send", "conn": "c", "text": "x"},
    {"op": "expect_eof", "conn": "c"}])",
                       "127.0.0.1", resetter.port());
  ASSERT_EQ(eof.outcome.verdict, Verdict::fail);
  EXPECT_EQ(eof.failed()->errno_name, "ECONNRESET") << eof.all_messages;

  TcpServer closer([](int fd, const std::atomic<bool>& stop) {
    char buf[64];
    if (sockspec::testing::wait_readable(fd, 5000, stop)) ::recv(fd, buf, sizeof buf, 0);
  });
  auto fin = run_steps(R"([{"op": "connect", "conn": "c"},
    {"op": "send", "conn": "c", "text": "x"},
    {"op": "expect_reset", "conn": "c"}])",
                       "127.0.0.1", closer.port());
  ASSERT_EQ(fin.outcome.verdict, Verdict::fail);
  EXPECT_NE(fin.failed()->message.find("orderly close (FIN), not a reset"), std::string::npos);
}

TEST(Engine, ASilentServerEndsTheStepAtItsDeadline) {
  TcpServer silent([](int, const std::atomic<bool>& stop) {
    // Holds the connection open without reading or answering until the test ends.
    for (int i = 0; i < 500 && !stop; ++i) usleep(20 * 1000);
  });
  auto r = run_steps(R"([{"op": "connect", "conn": "c"},
    {"op": "send", "conn": "c", "text": "anyone?\n"},
    {"op": "expect", "conn": "c", "text": "anyone?\n", "timeout_ms": 150}])",
                     "127.0.0.1", silent.port());
  ASSERT_EQ(r.outcome.verdict, Verdict::fail);
  EXPECT_NE(r.failed()->message.find("no match within 150 ms (the step's timeout_ms)"),
            std::string::npos)
      << r.all_messages;
  EXPECT_EQ(r.failed()->errno_name, "ETIMEDOUT");

  // The case's own timeout bounds every step in it, whatever the steps ask for.
  auto c = run_steps(R"([{"op": "connect", "conn": "c"},
    {"op": "expect", "conn": "c", "length": 1, "timeout_ms": 60000}])",
                     "127.0.0.1", silent.port(), "tcp", R"("timeout_ms": 150, )");
  ASSERT_EQ(c.outcome.verdict, Verdict::fail);
  EXPECT_NE(c.failed()->message.find("the case's timeout_ms"), std::string::npos) << c.all_messages;
}

TEST(Engine, HalfCloseWorksInBothDirections) {
  TcpServer server([&](int fd, const std::atomic<bool>& stop) {
    ::send(fd, "bye\n", 4, MSG_NOSIGNAL);
    ::shutdown(fd, SHUT_WR);  // we are done talking but keep listening
    std::string got;
    char buf[256];
    while (sockspec::testing::wait_readable(fd, 5000, stop)) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    ::send(fd, "late", 4, MSG_NOSIGNAL);  // fails: our write side is shut
    (void)got;
  });
  auto r = run_steps(R"([{"op": "connect", "conn": "c"},
    {"op": "expect", "conn": "c", "text": "bye\n"},
    {"op": "expect_eof", "conn": "c"},
    {"op": "send", "conn": "c", "text": "still here\n"},
    {"op": "shutdown", "conn": "c", "how": "write"}])",
                     "127.0.0.1", server.port());
  EXPECT_EQ(r.outcome.verdict, Verdict::pass) << r.all_messages;
}

TEST(Engine, UnreadBytesBeforeEofAreAFailure) {
  TcpServer server([](int fd, const std::atomic<bool>&) { ::send(fd, "extra", 5, MSG_NOSIGNAL); });
  auto r = run_steps(R"([{"op": "connect", "conn": "c"},
    {"op": "expect_eof", "conn": "c"}])",
                     "127.0.0.1", server.port());
  ASSERT_EQ(r.outcome.verdict, Verdict::fail);
  EXPECT_NE(r.failed()->message.find("5 unread bytes instead of EOF: \"extra\""), std::string::npos)
      << r.all_messages;
}

TEST(Engine, UdpChecksTheWholeDatagramAndItsSource) {
  UdpServer echo([](const std::string& d) { return d; });
  auto ok = run_steps(R"([{"op": "connect", "conn": "u"},
    {"op": "send", "conn": "u", "fill": {"bytes": 1500, "pattern": "counter"}},
    {"op": "expect", "conn": "u", "echo": true},
    {"op": "open", "conn": "o"},
    {"op": "send", "conn": "o", "text": "via open"},
    {"op": "expect", "conn": "o", "text": "via open"}])",
                      "127.0.0.1", echo.port(), "udp");
  EXPECT_EQ(ok.outcome.verdict, Verdict::pass) << ok.all_messages;

  UdpServer longer([](const std::string& d) { return d + "!"; });
  auto big = run_steps(R"([{"op": "connect", "conn": "u"},
    {"op": "send", "conn": "u", "text": "ping"},
    {"op": "expect", "conn": "u", "echo": true}])",
                       "127.0.0.1", longer.port(), "udp");
  ASSERT_EQ(big.outcome.verdict, Verdict::fail);
  EXPECT_NE(big.failed()->message.find("datagram is 5 bytes, expected 4"), std::string::npos);

  UdpServer elsewhere([](const std::string& d) { return d; }, true);
  auto wrong = run_steps(R"([{"op": "open", "conn": "o"},
    {"op": "send", "conn": "o", "text": "ping"},
    {"op": "expect", "conn": "o", "echo": true, "timeout_ms": 1000}])",
                         "127.0.0.1", elsewhere.port(), "udp");
  ASSERT_EQ(wrong.outcome.verdict, Verdict::fail);
  EXPECT_NE(
      wrong.failed()->message.find("expected from 127.0.0.1:" + std::to_string(elsewhere.port())),
      std::string::npos)
      << wrong.all_messages;
}

TEST(Engine, ErrnoAssertionsPassOnlyOnThatError) {
  TcpServer server(sockspec::testing::one_byte_echo);
  auto r = run_steps(R"([
    {"op": "open", "conn": "probe", "bind": "127.0.0.1:0"},
    {"op": "connect", "conn": "x", "to": "127.0.0.1:${conn.probe.local_port}", "expect_error": "ECONNREFUSED"},
    {"op": "listen", "conn": "l", "bind": "target", "expect_error": "EADDRINUSE"},
    {"op": "listen", "conn": "a", "bind": "127.0.0.1:0", "options": {"reuseport": true}},
    {"op": "listen", "conn": "b", "bind": "127.0.0.1:${conn.a.local_port}", "options": {"reuseport": true}},
    {"op": "listen", "conn": "d", "bind": "127.0.0.1:${conn.a.local_port}", "expect_error": "EADDRINUSE"},
    {"op": "listen", "conn": "u", "transport": "udp", "bind": "127.0.0.1:${conn.probe.local_port}", "expect_error": "EADDRINUSE"},
    {"op": "connect", "conn": "cu", "transport": "udp", "to": "127.0.0.1:${conn.a.local_port}"},
    {"op": "send", "conn": "cu", "text": "nobody"},
    {"op": "expect", "conn": "cu", "length": 6, "expect_error": "ECONNREFUSED"}])",
                     "127.0.0.1", server.port());
  EXPECT_EQ(r.outcome.verdict, Verdict::pass) << r.all_messages;

  auto wrong = run_steps(R"([{"op": "connect", "conn": "c", "expect_error": "ECONNREFUSED"}])",
                         "127.0.0.1", server.port());
  ASSERT_EQ(wrong.outcome.verdict, Verdict::fail);
  EXPECT_NE(wrong.failed()->message.find("succeeded, but ECONNREFUSED was expected"),
            std::string::npos);
}

TEST(Engine, ListenAcceptAndAbortWithinOneCase) {
  TcpServer unused(sockspec::testing::one_byte_echo);
  auto r = run_steps(R"([
    {"op": "listen", "conn": "l", "bind": "127.0.0.1:0"},
    {"op": "connect", "conn": "c", "to": "127.0.0.1:${conn.l.local_port}"},
    {"op": "accept", "conn": "l", "as": "s"},
    {"op": "send", "conn": "s", "text": "shout"},
    {"op": "expect", "conn": "c", "text": "shout"},
    {"op": "send", "conn": "c", "text": "whisper"},
    {"op": "expect", "conn": "s", "echo": "ascii-upper", "timeout_ms": 200},
    {"op": "close", "conn": "s", "abort": true},
    {"op": "expect_reset", "conn": "c"}])",
                     "127.0.0.1", unused.port());
  // The echo matcher on s compares with what s sent ("shout"), upper-cased: "SHOUT" is not
  // what arrived ("whisper"), so step 6 fails; everything before it passes.
  ASSERT_EQ(r.outcome.verdict, Verdict::fail) << r.all_messages;
  EXPECT_EQ(r.failed()->path, "6");
}

TEST(Engine, ParallelClientsEachGetTheirOwnBytes) {
  TcpServer server(sockspec::testing::one_byte_echo);
  auto r = run_steps(R"([{"op": "parallel", "clients": 20, "steps": [
    {"op": "connect", "conn": "c"},
    {"op": "repeat", "times": 3, "steps": [
      {"op": "send", "conn": "c", "text": "client ${client} round ${i}\n"},
      {"op": "expect", "conn": "c", "text": "client ${client} round ${i}\n"}]},
    {"op": "close", "conn": "c"}]}])",
                     "127.0.0.1", server.port());
  EXPECT_EQ(r.outcome.verdict, Verdict::pass) << r.all_messages;
  ASSERT_EQ(r.outcome.steps.size(), 1u);
  EXPECT_NE(r.outcome.steps[0].message.find("20 clients passed"), std::string::npos);
}

TEST(Engine, AFailureInsideRepeatAndParallelSaysWhere) {
  TcpServer server([](int fd, const std::atomic<bool>& stop) {
    char buf[64];
    int round = 0;
    while (sockspec::testing::wait_readable(fd, 5000, stop)) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      if (++round == 3) buf[0] = '?';  // the third message comes back wrong
      ::send(fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
    }
  });
  auto r = run_steps(R"([{"op": "connect", "conn": "c"},
    {"op": "repeat", "times": 5, "steps": [
      {"op": "send", "conn": "c", "text": "m${i}"},
      {"op": "expect", "conn": "c", "echo": true}]}])",
                     "127.0.0.1", server.port());
  ASSERT_EQ(r.outcome.verdict, Verdict::fail);
  ASSERT_EQ(r.outcome.steps.size(), 3u) << r.all_messages;
  EXPECT_EQ(r.outcome.steps[1].path, "1");
  EXPECT_NE(r.outcome.steps[1].message.find("iteration 2 of 5"), std::string::npos);
  EXPECT_EQ(r.outcome.steps[2].path, "1.1");
  EXPECT_NE(r.outcome.steps[2].message.find("[${i}=2]"), std::string::npos);
}

TEST(Engine, WorksOverIpv6AndWithHostnames) {
  TcpServer v6(sockspec::testing::one_byte_echo, AF_INET6);
  auto r = run_steps(R"([{"op": "connect", "conn": "c"},
    {"op": "send", "conn": "c", "text": "six"},
    {"op": "expect", "conn": "c", "text": "six"}])",
                     "::1", v6.port());
  EXPECT_EQ(r.outcome.verdict, Verdict::pass) << r.all_messages;

  TcpServer v4(sockspec::testing::one_byte_echo);
  auto named = run_steps(R"([{"op": "connect", "conn": "c", "to": "localhost:${target.port}"},
    {"op": "send", "conn": "c", "text": "named"},
    {"op": "expect", "conn": "c", "text": "named"}])",
                         "127.0.0.1", v4.port());
  EXPECT_EQ(named.outcome.verdict, Verdict::pass) << named.all_messages;
}

TEST(Engine, SilenceAndSleepUseTheirOwnDurations) {
  TcpServer server(sockspec::testing::one_byte_echo);
  auto quiet = run_steps(R"([{"op": "connect", "conn": "c"},
    {"op": "sleep", "ms": 20},
    {"op": "expect_silence", "conn": "c", "for_ms": 50}])",
                         "127.0.0.1", server.port());
  EXPECT_EQ(quiet.outcome.verdict, Verdict::pass) << quiet.all_messages;
  auto noisy = run_steps(R"([{"op": "connect", "conn": "c"},
    {"op": "send", "conn": "c", "text": "x"},
    {"op": "expect_silence", "conn": "c", "for_ms": 2000}])",
                         "127.0.0.1", server.port());
  ASSERT_EQ(noisy.outcome.verdict, Verdict::fail);
  EXPECT_NE(noisy.failed()->message.find("data arrived: \"x\""), std::string::npos);
}

// The "nothing more" check: a close is no extra data, a second copy of the reply is.
TEST(Engine, SilenceThatAllowsEofPassesOnACloseAndFailsOnExtraBytes) {
  const char* steps = R"([{"op": "connect", "conn": "c"},
    {"op": "send", "conn": "c", "text": "ab"},
    {"op": "expect", "conn": "c", "text": "ab"},
    {"op": "shutdown", "conn": "c", "how": "write"},
    {"op": "expect_silence", "conn": "c", "for_ms": 2000, "allow_eof": ALLOW}])";
  auto with = [&](const char* allow) {
    std::string s = steps;
    s.replace(s.find("ALLOW"), 5, allow);
    return s;
  };
  TcpServer echo(sockspec::testing::one_byte_echo);  // closes after the client's FIN
  auto closes = run_steps(with("true"), "127.0.0.1", echo.port());
  EXPECT_EQ(closes.outcome.verdict, Verdict::pass) << closes.all_messages;
  auto strict = run_steps(with("false"), "127.0.0.1", echo.port());
  ASSERT_EQ(strict.outcome.verdict, Verdict::fail);
  EXPECT_NE(strict.failed()->message.find("closed the connection"), std::string::npos);

  TcpServer twice([](int fd, const std::atomic<bool>& stop) {
    char buf[4096];
    while (sockspec::testing::wait_readable(fd, 5000, stop)) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      for (int copy = 0; copy < 2; ++copy) {
        if (::send(fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) return;
      }
    }
  });
  auto doubled = run_steps(with("true"), "127.0.0.1", twice.port());
  ASSERT_EQ(doubled.outcome.verdict, Verdict::fail) << doubled.all_messages;
  EXPECT_NE(doubled.failed()->message.find("bytes more than expected"), std::string::npos)
      << doubled.failed()->message;
  EXPECT_NE(doubled.failed()->message.find("\"ab\""), std::string::npos)
      << doubled.failed()->message;
}

TEST(Engine, ServerStepsWithoutAManagedServerAreAnError) {
  TcpServer server(sockspec::testing::one_byte_echo);
  auto r = run_steps(R"([{"op": "server", "action": "restart"}])", "127.0.0.1", server.port());
  EXPECT_EQ(r.outcome.verdict, Verdict::error);
}

TEST(Engine, ABurstOfDatagramsIsCheckedInOrder) {
  UdpServer echo([](const std::string& d) { return d; });
  // 20 replies queue up before the first expect: they are read in batches and taken in order.
  auto r = run_steps(R"([{"op": "connect", "conn": "u"},
    {"op": "repeat", "times": 20, "steps": [{"op": "send", "conn": "u", "text": "d${i}"}]},
    {"op": "sleep", "ms": 100},
    {"op": "repeat", "times": 20, "steps": [{"op": "expect", "conn": "u", "text": "d${i}"}]},
    {"op": "expect_silence", "conn": "u", "for_ms": 50}])",
                     "127.0.0.1", echo.port(), "udp");
  EXPECT_EQ(r.outcome.verdict, Verdict::pass) << r.all_messages;
}

TEST(Engine, DataFollowedByCloseEndsAWaitingExpectWithoutATimeout) {
  TcpServer server([](int fd, const std::atomic<bool>&) {
    usleep(100 * 1000);  // the client is waiting by now
    ::send(fd, "partial", 7, MSG_NOSIGNAL);
  });  // and closes: data and FIN arrive together
  auto r = run_steps(R"([{"op": "connect", "conn": "c"},
    {"op": "expect", "conn": "c", "text": "pa"},
    {"op": "expect", "conn": "c", "text": "rtial, and more", "timeout_ms": 5000}])",
                     "127.0.0.1", server.port());
  ASSERT_EQ(r.outcome.verdict, Verdict::fail);
  EXPECT_EQ(r.failed()->path, "2") << r.all_messages;
  EXPECT_NE(r.failed()->errno_name, "ETIMEDOUT") << r.all_messages;
}

// read_while_blocked bounds the read rate, not each read: a client that read whenever its send
// blocked would drain a fast server's replies as they came, its buffers would never fill, and a
// server that drops the rest of a partial write would pass (issue 22). This server floods the
// client with 1 MiB before it reads anything, so the client's send can go on only as fast as
// the client reads.
TEST(Engine, AReaderWhileBlockedReadsAtMostItsBytesPerTenMillisecondsOfWaiting) {
  constexpr size_t kFlood = 1 << 20;
  TcpServer server([](int fd, const std::atomic<bool>& stop) {
    int small = 65536;  // fixed buffers: the client must read most of the flood itself
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    timeval tv{30, 0};  // the test fails rather than hangs if the client never reads
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    std::string flood(kFlood, 'f');
    for (size_t off = 0; off < flood.size();) {
      ssize_t n = ::send(fd, flood.data() + off, flood.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
    char buf[65536];
    while (sockspec::testing::wait_readable(fd, 30000, stop) &&
           ::recv(fd, buf, sizeof buf, 0) > 0) {
    }
  });
  auto r = run_steps(R"([{"op": "connect", "conn": "c", "options": {"rcvbuf": 65536}},
    {"op": "send", "conn": "c", "fill": {"bytes": 16777216, "pattern": "zero"},
     "read_while_blocked": 8192, "timeout_ms": 60000},
    {"op": "shutdown", "conn": "c", "how": "write"}])",
                     "127.0.0.1", server.port());
  ASSERT_EQ(r.outcome.verdict, Verdict::pass) << r.all_messages;
  const auto& send = r.outcome.steps.at(1);
  // Most of the flood came in during the send: the buffers between hold a few hundred KiB.
  EXPECT_GE(send.bytes_received, kFlood / 2) << r.all_messages;
  // Each read of at most 8 KiB followed 10 ms of waiting: a load on the machine lengthens
  // the waits, so this bound holds however busy it is.
  EXPECT_LE(send.bytes_received, 8192 * (static_cast<uint64_t>(send.elapsed_ms / 10) + 1))
      << send.bytes_received << " bytes in " << send.elapsed_ms << " ms";
}

}  // namespace
}  // namespace sockspec::engine
