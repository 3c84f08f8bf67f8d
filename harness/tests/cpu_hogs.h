// One busy child process per core, so a test sees what a busy machine does to it: threads
// that wait for a core between a clock reading and the work after it. Each child dies with
// the test process (PR_SET_PDEATHSIG) and after `lifetime` at the latest (alarm); the
// destructor kills and reaps every one.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

namespace sockspec::testing {

class CpuHogs {
 public:
  explicit CpuHogs(unsigned lifetime_seconds = 120) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    for (long i = 0; i < (cores > 0 ? cores : 1); ++i) {
      pid_t pid = fork();
      if (pid == 0) {
        // Only async-signal-safe calls here: the parent has threads.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        alarm(lifetime_seconds);
        for (;;) __asm__ volatile("");  // spins; the empty asm keeps the loop
      }
      if (pid > 0) pids_.push_back(pid);
    }
  }
  ~CpuHogs() {
    for (pid_t pid : pids_) kill(pid, SIGKILL);
    for (pid_t pid : pids_) waitpid(pid, nullptr, 0);
  }
  CpuHogs(const CpuHogs&) = delete;
  CpuHogs& operator=(const CpuHogs&) = delete;
  size_t size() const { return pids_.size(); }

 private:
  std::vector<pid_t> pids_;
};

}  // namespace sockspec::testing
