// A server process the harness starts, watches and stops: `--server-cmd 'CMD {port}'` or
// `--target builtin:SERVICE` (which runs this same binary's `serve`).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/context.h"
#include "net/address.h"
#include "net/fd.h"
#include "reports/model.h"

namespace sockspec::runner {

using ServerEnv = std::vector<std::pair<std::string, std::string>>;  // NAME, value

class ManagedServer : public engine::ServerControl {
 public:
  // `command` has {port} (and {path}, for an AF_UNIX `addr`) replaced and is exec'd directly
  // when it needs no shell, else run by /bin/sh, below a supervisor (runner/supervisor.h);
  // `addr` is where it must accept. `socket_dir`, if set, is a private directory made for the
  // socket: the destructor removes it, and every start removes a socket file left over.
  ManagedServer(std::string command, net::SockAddr addr, bool probe_tcp, bool probe_udp,
                std::string socket_dir = "");
  ~ManagedServer() override;
  ManagedServer(const ManagedServer&) = delete;
  ManagedServer& operator=(const ManagedServer&) = delete;

  bool running() const override { return pid_ > 0; }
  std::string start() override;
  void signal(int sig) override;
  bool reap() override;
  Probe probe(std::string& why) override;

  // Blocking forms for the start and the end of a run, bounded by `limit`.
  std::string start_and_wait(std::chrono::milliseconds limit);
  void stop(std::chrono::milliseconds grace);

  std::string command_line() const { return command_; }
  // Start the server in this network namespace (an open ns/net file; packet-level impairment).
  void set_netns(int fd) { netns_fd_ = fd; }
  // Variables the server gets besides sockspec's own environment (the fuzzer's coverage map).
  void set_env(ServerEnv env) { env_ = std::move(env); }
  reports::ServerOutput output() const;
  // Forgets what the server printed so far (the fuzzer reads each crash's output alone).
  void clear_output();
  // "" while it runs; else how it ended ("exit status 1", "killed by SIGSEGV").
  std::string ended();

 private:
  void capture(net::Fd out, net::Fd err);
  void join_capture();
  void append(bool is_err, const char* data, size_t n);

  std::string command_;  // with the port filled in
  net::SockAddr addr_;
  std::string socket_dir_;
  bool probe_tcp_, probe_udp_;
  pid_t pid_ = -1;
  int netns_fd_ = -1;
  ServerEnv env_;
  int last_status_ = 0;
  std::thread capture_;
  std::atomic<bool> stop_capture_{false};
  mutable std::mutex mu_;
  std::string out_, err_;
  bool truncated_ = false;
};

// How long a stopped server may take to exit on SIGTERM before SIGKILL: at the end of a run,
// and when the user interrupted it (and waits for the report).
inline constexpr std::chrono::milliseconds kStopGrace{3000};
inline constexpr std::chrono::milliseconds kInterruptedGrace{300};

// Picks a port that is free for both TCP and UDP on `addr`'s address right now.
uint16_t pick_free_port(const net::SockAddr& addr);

// "/proc/net/udp" and "/proc/net/udp6" list a bound UDP socket on `port`.
// True when a UDP socket is bound to `port` in the network namespace whose /proc/<pid>/net
// folder is `proc_net`.
bool udp_port_bound(uint16_t port, const std::string& proc_net);

// "/proc/net/unix" lists a socket of `type` (SOCK_STREAM, SOCK_DGRAM) bound to `path`
// ("@name" for an abstract name).
bool unix_socket_bound(const std::string& path, int type);

}  // namespace sockspec::runner
