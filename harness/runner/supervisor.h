// The process between sockspec and a managed server. sockspec forks it; it leads the server's
// process group, runs the command as its child, and ends the way the command ended, so the
// harness sees the server's own exit status. Two jobs:
//  - nothing outlives sockspec: when sockspec is gone (even by SIGKILL or a crash) the whole
//    group gets SIGKILL;
//  - nothing outlives the server: when the command ends, what it left in its group is killed
//    and reaped before the supervisor exits, so the port is free when the harness restarts it.
// A process that leaves the group on purpose (setsid) is out of reach.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sockspec::runner {

// The command's words when it needs no shell: plain words, '...' and "..." quoting without
// expansions or escapes. nullopt when a shell must run it (pipes, redirections, variables,
// globs, ;, &, ...). Pure.
std::optional<std::vector<std::string>> plain_command_words(std::string_view command);

// Runs in the freshly forked child with stdout/stderr already in place; never returns.
// `argv` is what to exec (the words, or /bin/sh -c COMMAND), `envp` its environment,
// `parent` sockspec's pid. Async-signal-safe calls only: sockspec has threads.
[[noreturn]] void supervise(pid_t parent, char* const* argv, char* const* envp);

}  // namespace sockspec::runner
