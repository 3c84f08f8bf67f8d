#include "cli/options.h"

#include <iostream>

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

}  // namespace sockspec::cli
