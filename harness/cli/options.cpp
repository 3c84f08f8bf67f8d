#include "cli/options.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "reference_servers/protocol.h"

namespace sockspec::cli {

namespace po = boost::program_options;

std::optional<int> parse_options(const Invocation& inv, const char* command,
                                 const po::options_description& visible,
                                 const po::options_description& hidden,
                                 const po::positional_options_description& positional,
                                 po::variables_map& vm, const std::string& more_help) {
  po::options_description all;
  all.add(visible).add(hidden);
  try {
    po::store(po::command_line_parser(inv.args).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "sockspec " << command << ": " << e.what() << "\n(see sockspec " << command
              << " --help)\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << visible << "\n" << more_help;
    return 0;
  }
  return std::nullopt;
}

std::string self_exe_path() {
  std::error_code ec;
  return std::filesystem::read_symlink("/proc/self/exe", ec).string();
}

std::vector<std::string> builtin_service_names() {
  std::vector<std::string> names;
  for (const auto& [s, named] : refserver::services()) names.push_back(named.name);
  return names;
}

bool color_wanted() { return isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr; }

}  // namespace sockspec::cli

namespace sockspec::cli {

void add_impair_options(po::options_description& desc, std::string& spec, std::string& level) {
  desc.add_options()(
      "impair", po::value(&spec),
      "put a bad network between the clients and the target, in tc-netem's words: 'delay 50ms "
      "10ms loss 10% duplicate 2% reorder 5% corrupt 1% truncate 512 rate 1mbit' (UDP), "
      "'delay 20ms rate 1mbit slice 1 1ms stall reset-after 4096 close-after 2s slow-close 1s' "
      "(TCP); 'every N' instead of a percentage strikes exactly every Nth; prefix words with "
      "to-server or to-client (default both ways). See docs/impairments.md")(
      "impair-level", po::value(&level),
      "where --impair acts: stream (TCP) or datagram (UDP), chosen from the transport by default");
}

}  // namespace sockspec::cli
