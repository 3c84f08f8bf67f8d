#include "runner/supervisor.h"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <ctime>

namespace sockspec::runner {

std::optional<std::vector<std::string>> plain_command_words(std::string_view command) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < command.size(); ++i) {
    char c = command[i];
    if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == '\'' || c == '"') {
      size_t end = command.find(c, i + 1);
      if (end == std::string_view::npos) return std::nullopt;
      std::string_view inner = command.substr(i + 1, end - i - 1);
      if (c == '"' && inner.find_first_of("$`\\!") != std::string_view::npos) return std::nullopt;
      word += inner;
      in_word = true;
      i = end;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::string_view("-_./:=,+@%").find(c) != std::string_view::npos) {
      word.push_back(c);
      in_word = true;
    } else {
      return std::nullopt;  // anything else may mean something to a shell
    }
  }
  if (in_word) words.push_back(std::move(word));
  if (words.empty() || words.front().find('=') != std::string::npos) return std::nullopt;
  return words;
}

namespace {

[[noreturn]] void end_like(int status) {
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  int how = WTERMSIG(status);
  ::signal(how, SIG_DFL);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, how);
  sigprocmask(SIG_UNBLOCK, &only, nullptr);
  ::kill(getpid(), how);  // end by the same signal, so the status reads the same
  _exit(128 + how);
}

}  // namespace

void supervise(pid_t parent, char* const* argv, char* const* envp) {
  sigset_t wanted;
  sigemptyset(&wanted);
  sigaddset(&wanted, SIGCHLD);
  sigaddset(&wanted, SIGTERM);
  sigaddset(&wanted, SIGINT);
  sigaddset(&wanted, SIGHUP);
  sigprocmask(SIG_SETMASK, &wanted, nullptr);
  // A parent-death signal fires when the *thread* that forked exits, so it is only a wake-up:
  // parent death is read from getppid(), at every wake-up and at least every 100 ms.
  prctl(PR_SET_PDEATHSIG, SIGHUP);
  // What the server leaves behind is reparented here, to be reaped.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  if (getppid() != parent) _exit(127);
  pid_t child = fork();
  if (child < 0) _exit(127);
  if (child == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::signal(SIGPIPE, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, nullptr);  // the harness blocks SIGINT/SIGTERM
    execvpe(argv[0], argv, envp);
    _exit(127);
  }
  const timespec tick{0, 100'000'000};
  int status = 0;
  for (;;) {
    siginfo_t info;
    int sig = sigtimedwait(&wanted, &info, &tick);
    if (getppid() != parent) {
      ::kill(0, SIGKILL);  // the whole group, this process included
      _exit(137);
    }
    if (sig != SIGCHLD) continue;  // a group SIGTERM already reached the server itself
    // Only the command is reaped here (anything else it left waits as a zombie until below):
    // reaping any child could take the command's status.
    if (waitpid(child, &status, WNOHANG) == child) break;
  }
  // The command ended. Step out of the group (into sockspec's), kill what is left in it, and
  // reap it: the harness may restart the server on the same port right after.
  if (setpgid(0, getpgid(parent)) == 0) ::kill(-getpid(), SIGKILL);
  timespec until{};
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += 2;  // bounded: a descendant that left the group may never end
  for (;;) {
    pid_t done = waitpid(-1, nullptr, WNOHANG);
    if (done < 0 && errno == ECHILD) break;
    if (done > 0) continue;
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > until.tv_sec || (now.tv_sec == until.tv_sec && now.tv_nsec >= until.tv_nsec))
      break;
    const timespec pause{0, 5'000'000};
    siginfo_t info;
    sigtimedwait(&wanted, &info, &pause);
  }
  end_like(status);
}

}  // namespace sockspec::runner
