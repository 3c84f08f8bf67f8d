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
