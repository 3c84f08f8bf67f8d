// The sockspec subcommands. Each takes its own arguments (after the command word) and
// returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace sockspec::cli {

struct Invocation {
  std::string argv0;
  std::string command_line;
  std::vector<std::string> args;  // after the command word
};

int cmd_run(const Invocation& inv);
int cmd_validate(const Invocation& inv);
int cmd_list(const Invocation& inv);
int cmd_serve(const Invocation& inv);
int cmd_load(const Invocation& inv);
int cmd_report(const Invocation& inv);
int cmd_merge(const Invocation& inv);
int cmd_compare(const Invocation& inv);
int cmd_record(const Invocation& inv);
int cmd_fuzz(const Invocation& inv);

}  // namespace sockspec::cli
