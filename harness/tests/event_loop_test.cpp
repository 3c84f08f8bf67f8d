// The event loop's contract with the steps: fds stay registered edge-triggered, so what it
// remembers between waits (known_idle, drained, adopt) decides whether a reply can be missed.
// Every wait here has a deadline, and a test that hangs fails on it instead.
#include "net/event_loop.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "net/fd.h"

namespace sockspec::net {
namespace {

struct Recorder : Waiter {
  int calls = 0;
  uint32_t last = 0xffffffff;
  void on_event(uint32_t ev) override {
    ++calls;
    last = ev;
  }
};

// A connected pair of non-blocking UDP sockets on 127.0.0.1.
struct UdpPair {
  Fd a, b;
  UdpPair() {
    a = Fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0));
    b = Fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    EXPECT_EQ(::bind(a.get(), reinterpret_cast<sockaddr*>(&sa), len), 0);
    EXPECT_EQ(::bind(b.get(), reinterpret_cast<sockaddr*>(&sa), len), 0);
    sockaddr_in pa{}, pb{};
    ::getsockname(a.get(), reinterpret_cast<sockaddr*>(&pa), &len);
    ::getsockname(b.get(), reinterpret_cast<sockaddr*>(&pb), &len);
    EXPECT_EQ(::connect(a.get(), reinterpret_cast<sockaddr*>(&pb), sizeof pb), 0);
    EXPECT_EQ(::connect(b.get(), reinterpret_cast<sockaddr*>(&pa), sizeof pa), 0);
  }
};

Deadline soon() { return Clock::now() + std::chrono::seconds(2); }

// Runs until `w` was called; returns what it was called with (0: its deadline passed).
uint32_t run_until_called(EventLoop& loop, Recorder& w) {
  int before = w.calls;
  loop.run([&] { return w.calls > before; });
  return w.last;
}

bool recv_one(int fd) {
  char buf[64];
  return ::recv(fd, buf, sizeof buf, 0) >= 0;
}

TEST(EventLoop, AnFdIsKnownIdleOnlyBetweenAnArmAndItsNextReport) {
  EventLoop loop;
  UdpPair p;
  loop.adopt(p.a.get());
  EXPECT_FALSE(loop.known_idle(p.a.get(), EPOLLIN)) << "never waited on: unknown";
  ASSERT_FALSE(recv_one(p.a.get()));
  Recorder w;
  loop.arm(w, p.a.get(), EPOLLIN, soon());
  EXPECT_TRUE(loop.known_idle(p.a.get(), EPOLLIN));
  EXPECT_FALSE(loop.known_idle(p.a.get(), EPOLLOUT)) << "not registered for EPOLLOUT";
  ASSERT_EQ(::send(p.b.get(), "x", 1, 0), 1);
  EXPECT_TRUE(run_until_called(loop, w) & EPOLLIN);
  EXPECT_FALSE(loop.known_idle(p.a.get(), EPOLLIN)) << "reported, not read yet";
}

TEST(EventLoop, ASecondDatagramAfterTheWakeIsNotLostToTheEdge) {
  EventLoop loop;
  UdpPair p;
  loop.adopt(p.a.get());
  Recorder w;
  loop.arm(w, p.a.get(), EPOLLIN, soon());
  ASSERT_EQ(::send(p.b.get(), "1", 1, 0), 1);
  ASSERT_EQ(::send(p.b.get(), "2", 1, 0), 1);
  ASSERT_TRUE(run_until_called(loop, w) & EPOLLIN);
  ASSERT_TRUE(recv_one(p.a.get()));
  // One datagram is still queued and no new edge will come: the loop must not call it idle.
  EXPECT_FALSE(loop.known_idle(p.a.get(), EPOLLIN));
  ASSERT_TRUE(recv_one(p.a.get()));
  loop.drained(p.a.get(), EPOLLIN);
  EXPECT_TRUE(loop.known_idle(p.a.get(), EPOLLIN));
  // Arrivals after the drain raise a new edge.
  ASSERT_EQ(::send(p.b.get(), "3", 1, 0), 1);
  loop.arm(w, p.a.get(), EPOLLIN, soon());
  EXPECT_TRUE(run_until_called(loop, w) & EPOLLIN);
}

TEST(EventLoop, AReportedHangUpSurvivesAShortRead) {
  EventLoop loop;
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  Fd a(sv[0]), b(sv[1]);
  loop.adopt(a.get());
  Recorder w;
  loop.arm(w, a.get(), EPOLLIN | EPOLLRDHUP, soon());
  ASSERT_EQ(::send(b.get(), "data", 4, 0), 4);
  b.reset();  // data and the close come in one report
  ASSERT_TRUE(run_until_called(loop, w) & EPOLLIN);
  char buf[64];
  ASSERT_EQ(::recv(a.get(), buf, sizeof buf, 0), 4);
  loop.drained(a.get(), EPOLLIN);  // a short read, but the end of stream is still unread
  EXPECT_FALSE(loop.known_idle(a.get(), EPOLLIN));
  EXPECT_EQ(::recv(a.get(), buf, sizeof buf, 0), 0);
}

TEST(EventLoop, AdoptForgetsTheFileThatHadTheNumberBefore) {
  EventLoop loop;
  UdpPair first;
  int number = first.a.get();
  loop.adopt(number);
  Recorder w;
  loop.arm(w, number, EPOLLIN, soon());
  loop.disarm(w);
  // Closing the registered socket and putting a new one on the same number:
  UdpPair second;
  ASSERT_EQ(::dup2(second.a.get(), number), number);
  second.a.reset();
  first.b.reset();
  loop.adopt(number);
  EXPECT_FALSE(loop.known_idle(number, EPOLLIN));
  ASSERT_FALSE(recv_one(number));
  loop.arm(w, number, EPOLLIN, soon());
  ASSERT_EQ(::send(second.b.get(), "x", 1, 0), 1);
  EXPECT_TRUE(run_until_called(loop, w) & EPOLLIN) << "the new file was never registered";
}

TEST(EventLoop, OnlyTheAwaitedEventsWakeAWaiter) {
  EventLoop loop;
  UdpPair p;
  loop.adopt(p.a.get());
  Recorder w;
  ASSERT_FALSE(recv_one(p.a.get()));
  loop.arm(w, p.a.get(), EPOLLIN, Clock::now() + std::chrono::milliseconds(50));
  // Writable all along, but it waits for input: the deadline ends the wait.
  EXPECT_EQ(run_until_called(loop, w), 0u);
}

TEST(EventLoop, BusyPollingStillDeliversDataAndDeadlines) {
  EventLoop loop;
  loop.set_busy_poll(true);
  UdpPair p;
  loop.adopt(p.a.get());
  Recorder data, timer;
  ASSERT_FALSE(recv_one(p.a.get()));
  loop.arm(data, p.a.get(), EPOLLIN, soon());
  loop.arm_timer(timer, Clock::now() + std::chrono::milliseconds(20));
  ASSERT_EQ(::send(p.b.get(), "x", 1, 0), 1);
  EXPECT_EQ(run_until_called(loop, data), static_cast<uint32_t>(EPOLLIN));
  EXPECT_EQ(run_until_called(loop, timer), 0u);
  EXPECT_EQ(loop.run([] { return false; }), EventLoop::Stop::idle) << "nothing left armed";
}

TEST(EventLoop, PostsRunInOrderAndADisarmCancelsOne) {
  EventLoop loop;
  Recorder a, b, c;
  loop.post(a);
  loop.post(b);
  loop.post(c);
  loop.disarm(b);
  loop.run([&] { return a.calls + c.calls == 2; });
  EXPECT_EQ(a.calls, 1);
  EXPECT_EQ(b.calls, 0);
  EXPECT_EQ(c.calls, 1);
  EXPECT_EQ(a.last, 0u);
  EXPECT_EQ(loop.run([] { return false; }), EventLoop::Stop::idle) << "nothing left armed";
}

struct Reposter : Waiter {
  EventLoop& loop;
  int left;
  Reposter(EventLoop& l, int n) : loop(l), left(n) {}
  void on_event(uint32_t) override {
    if (--left > 0) loop.post(*this);
  }
};

TEST(EventLoop, EndlessPostsDoNotStarveDeadlines) {
  EventLoop loop;
  constexpr int kPosts = 1'000'000;  // bounded: it stops by itself if the timer never fires
  Reposter busy(loop, kPosts);
  Recorder timer;
  loop.post(busy);
  loop.arm_timer(timer, Clock::now());  // due at once
  loop.run([&] { return timer.calls > 0 || busy.left == 0; });
  EXPECT_EQ(timer.calls, 1);
  // The loop polls (and fires due timers) at least once per 64 rounds of posts.
  EXPECT_GT(busy.left, kPosts - 100) << "the timer waited for the posts";
  loop.disarm(busy);
}

}  // namespace
}  // namespace sockspec::net
