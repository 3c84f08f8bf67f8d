#include "impair/packet_link.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include "impair/datagram_pipes.h"

namespace sockspec::impair {

namespace {

using Clock = std::chrono::steady_clock;

std::string errno_text(const char* op) { return std::string(op) + ": " + std::strerror(errno); }

// A TUN device (IFF_TUN: bare IP packets) in the calling thread's namespace, up, with
// `addr`/30. The name comes back in `name`.
net::Fd make_tun(const std::string& addr, std::string& name, std::string& error) {
  net::Fd fd(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    error = errno_text("open /dev/net/tun");
    return {};
  }
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::strncpy(ifr.ifr_name, "sockspec%d", IFNAMSIZ - 1);
  if (ioctl(fd.get(), TUNSETIFF, &ifr) != 0) {
    error = errno_text("TUNSETIFF");
    return {};
  }
  name = ifr.ifr_name;
  // No IPv6 on the link: nothing but the run's own IPv4 traffic crosses it.
  std::ofstream("/proc/sys/net/ipv6/conf/" + name + "/disable_ipv6") << "1";
  net::Fd ctl(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  auto* sin = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
  sin->sin_family = AF_INET;
  inet_pton(AF_INET, addr.c_str(), &sin->sin_addr);
  if (ioctl(ctl.get(), SIOCSIFADDR, &ifr) != 0) {
    error = errno_text(("SIOCSIFADDR " + name + " " + addr).c_str());
    return {};
  }
  inet_pton(AF_INET, "255.255.255.252", &sin->sin_addr);
  if (ioctl(ctl.get(), SIOCSIFNETMASK, &ifr) != 0) {
    error = errno_text(("SIOCSIFNETMASK " + name).c_str());
    return {};
  }
  if (ioctl(ctl.get(), SIOCGIFFLAGS, &ifr) != 0) {
    error = errno_text(("SIOCGIFFLAGS " + name).c_str());
    return {};
  }
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (ioctl(ctl.get(), SIOCSIFFLAGS, &ifr) != 0) {
    error = errno_text(("SIOCSIFFLAGS " + name).c_str());
    return {};
  }
  return fd;
}

bool set_loopback_up(std::string& error) {
  net::Fd ctl(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(ctl.get(), SIOCGIFFLAGS, &ifr) != 0)
    return error = errno_text("SIOCGIFFLAGS lo"), false;
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (ioctl(ctl.get(), SIOCSIFFLAGS, &ifr) != 0)
    return error = errno_text("SIOCSIFFLAGS lo"), false;
  return true;
}

// A /30 in 198.18.0.0/15 (RFC 2544's benchmarking range) that no interface here uses yet.
bool pick_subnet(std::string& host, std::string& guest) {
  std::mt19937 rng(static_cast<unsigned>(getpid()) ^
                   static_cast<unsigned>(Clock::now().time_since_epoch().count()));
  for (int attempt = 0; attempt < 64; ++attempt) {
    unsigned third = rng() % 256, fourth = (rng() % 64) * 4;
    std::string prefix = "198.18." + std::to_string(third) + ".";
    bool used = false;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) == 0) {
      for (ifaddrs* a = list; a; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
        uint32_t ip = ntohl(reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr);
        used = used || (ip >> 2) == ((0xC6120000u | third << 8 | fourth) >> 2);
      }
      freeifaddrs(list);
    }
    if (used) continue;
    host = prefix + std::to_string(fourth + 1);
    guest = prefix + std::to_string(fourth + 2);
    return true;
  }
  return false;
}

}  // namespace

struct PacketLink::Impl {
  Impl(const Spec& s, uint64_t seed, std::shared_ptr<ReleaseLog> log)
      : mailbox(s), pipes(s, seed), releases(std::move(log)) {}
  Mailbox mailbox;
  DatagramPipes pipes;
  ReleaseRecorder releases;
  std::string host, guest;
  net::Fd netns, near_tun, far_tun, epoll;
  std::thread thread;

  void run();
};

void PacketLink::Impl::run() {
  // epoll data: 0 wake, 1 the TUN here (packets towards the server), 2 the one there.
  epoll_event events[8];
  std::string buf(65536, '\0');
  Stats stats;
  stats.unit = "packets";
  while (!mailbox.stopping()) {
    auto now = Clock::now();
    TimePoint due = now + std::chrono::seconds(1);
    if (auto d = pipes.next_due()) due = std::min(due, *d);
    auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(due - now).count();
    int n = epoll_wait(epoll.get(), events, 8, static_cast<int>(std::max<int64_t>(0, wait_ms)));
    now = Clock::now();
    for (int k = 0; k < n; ++k) {
      uint64_t which = events[k].data.u64;
      if (which == 0) {
        if (auto next = mailbox.take()) pipes.set(*next);
        continue;
      }
      int fd = which == 1 ? near_tun.get() : far_tun.get();
      for (int batch = 0; batch < 64; ++batch) {
        ssize_t got = ::read(fd, buf.data(), buf.size());
        if (got <= 0) break;
        if ((buf[0] >> 4) != 4) continue;  // IPv4 only (see make_tun)
        // Stamped when its read returned: `now` may be long past if this thread waited for
        // a core since, and a packet stamped early would leave early.
        pipes.admit(which == 1, buf.substr(0, static_cast<size_t>(got)), 0, Clock::now());
      }
    }
    pipes.deliver(now, [this](bool to_server, const Emit& e) {
      releases.note({to_server, 0, e.index, e.bytes.size(), e.stamp, e.when, Clock::now()});
      // A TUN write hands the packet to that namespace's stack as if it came off the wire.
      [[maybe_unused]] auto w =
          ::write(to_server ? far_tun.get() : near_tun.get(), e.bytes.data(), e.bytes.size());
    });
    stats.to_server = pipes.to_server();
    stats.to_client = pipes.to_client();
    stats.releases = releases.counts();
    mailbox.publish(stats);
  }
}

std::unique_ptr<PacketLink> PacketLink::create(const Spec& spec, uint64_t seed, std::string& error,
                                               std::shared_ptr<ReleaseLog> release_log) {
  auto impl = std::make_unique<Impl>(spec, seed, std::move(release_log));
  if (!pick_subnet(impl->host, impl->guest)) {
    error = "packet link: no free /30 in 198.18.0.0/15";
    return nullptr;
  }
  std::string near_name;
  impl->near_tun = make_tun(impl->host, near_name, error);
  if (!impl->near_tun) {
    if (geteuid() != 0)
      error +=
          " (packet-level impairment needs root: CAP_NET_ADMIN to create TUN devices and a "
          "network namespace; without it use --impair-level stream or datagram)";
    return nullptr;
  }
  // The namespace is made by a thread of its own, so no other thread of ours ever changes
  // namespace; it ends once the far side is set up, and the namespace lives on in `netns`.
  std::thread maker([&] {
    if (unshare(CLONE_NEWNET) != 0) {
      error = errno_text("unshare(CLONE_NEWNET)");
      return;
    }
    impl->netns = net::Fd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!impl->netns) {
      error = errno_text("open /proc/thread-self/ns/net");
      return;
    }
    std::string far_name;
    if (set_loopback_up(error)) impl->far_tun = make_tun(impl->guest, far_name, error);
  });
  maker.join();
  if (!impl->far_tun) {
    error = "packet link: " + error;
    return nullptr;
  }
  impl->epoll = net::Fd(epoll_create1(EPOLL_CLOEXEC));
  for (auto [fd, tag] : {std::pair{impl->mailbox.wake_fd(), 0},
                         {impl->near_tun.get(), 1},
                         {impl->far_tun.get(), 2}}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = static_cast<uint64_t>(tag);
    epoll_ctl(impl->epoll.get(), EPOLL_CTL_ADD, fd, &ev);
  }
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<PacketLink>(new PacketLink(std::move(impl)));
}

PacketLink::PacketLink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PacketLink::~PacketLink() {
  impl_->mailbox.stop();
  impl_->thread.join();
}

const std::string& PacketLink::guest_host() const { return impl_->guest; }
int PacketLink::netns_fd() const { return impl_->netns.get(); }
void PacketLink::set(const Spec& spec) { impl_->mailbox.post(spec); }
Spec PacketLink::spec() const { return impl_->mailbox.spec(); }
Stats PacketLink::stats() const { return impl_->mailbox.stats(); }

}  // namespace sockspec::impair
