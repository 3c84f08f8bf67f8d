// Runs a reference server in a forked child so tests can talk to it with plain sockets,
// measure its memory on its own, and stop it by closing a pipe.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

#include "reference_servers/server.h"

namespace sockspec::refserver::testing {

class ServerProcess {
 public:
  // `nofile`: RLIMIT_NOFILE for the child (0: inherit).
  explicit ServerProcess(Config cfg, rlim_t nofile = 0) {
    int out[2], stop[2];
    if (pipe(out) != 0 || pipe(stop) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      ::close(out[0]);
      ::close(stop[1]);
      if (nofile > 0) {
        rlimit rl{nofile, nofile};
        setrlimit(RLIMIT_NOFILE, &rl);
      }
      std::signal(SIGPIPE, SIG_IGN);
      dup2(out[1], STDOUT_FILENO);
      int rc = serve(cfg, stop[0], std::cout, std::cerr);
      std::cout.flush();
      _exit(rc);
    }
    ::close(out[1]);
    ::close(stop[0]);
    stop_w_ = stop[1];
    // Read the "listening ..." lines, and with TLS the "tls certificate PATH" line before them
    // (bounded: 10 s).
    std::string text;
    char c;
    int want = (cfg.tcp ? 1 : 0) + (cfg.udp ? 1 : 0);
    for (int lines = 0; lines < want;) {
      pollfd p{out[0], POLLIN, 0};
      if (poll(&p, 1, 10000) != 1 || read(out[0], &c, 1) != 1) break;
      if (c == '\n' && text.rfind(kCertLine, 0) == 0) {
        cert_path_ = text.substr(kCertLine.size());
        text.clear();
      } else if (c == '\n') {
        ++lines;
        auto colon = text.rfind(':');
        port_ = static_cast<uint16_t>(std::stoi(text.substr(colon + 1)));
        text.clear();
      } else {
        text.push_back(c);
      }
    }
    ::close(out[0]);
  }
  ~ServerProcess() { stop(); }
  uint16_t port() const { return port_; }
  const std::string& cert_path() const { return cert_path_; }  // with TLS
  pid_t pid() const { return pid_; }

  // Exit status of the server after asking it to stop (bounded: SIGKILL after 10 s).
  int stop() {
    if (pid_ <= 0) return status_;
    ::close(stop_w_);
    int status = 0;
    for (int i = 0; i < 1000; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
        return status_;
      }
      usleep(10000);
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    status_ = 128;
    return status_;
  }

  long rss_kib() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    std::string key;
    long value = 0;
    while (in >> key) {
      if (key == "VmRSS:") {
        in >> value;
        return value;
      }
      in.ignore(1 << 20, '\n');
    }
    return 0;
  }

  // user + system CPU time, in clock ticks.
  long cpu_ticks() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
    std::string field;
    long ticks = 0;
    for (int i = 1; i <= 15 && in >> field; ++i) {
      if (i == 14 || i == 15) ticks += std::stol(field);
    }
    return ticks;
  }

 private:
  pid_t pid_ = -1;
  int stop_w_ = -1;
  static constexpr std::string_view kCertLine = "tls certificate ";
  uint16_t port_ = 0;
  std::string cert_path_;
  int status_ = -1;
};

}  // namespace sockspec::refserver::testing
