#include "cli/signals.h"

#include <sys/signalfd.h>

#include <csignal>

namespace sockspec::cli {

StopSignals::StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  fd_ = net::Fd(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  std::signal(SIGPIPE, SIG_IGN);  // a peer that vanishes is an error result, not a crash
}

}  // namespace sockspec::cli
