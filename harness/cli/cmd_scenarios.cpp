// validate and list: reading scenario files without running them.
#include <boost/program_options.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "runner/suites.h"

namespace sockspec::cli {

namespace po = boost::program_options;

namespace {

// Both commands take PATH... and --help only.
bool parse_paths(const Invocation& inv, const char* command, const char* usage,
                 std::vector<std::string>& paths, int& rc) {
  po::options_description desc(usage);
  desc.add_options()("help,h", "show this help");
  po::options_description hidden;
  hidden.add_options()("path", po::value(&paths)->composing());
  po::positional_options_description pos;
  pos.add("path", -1);
  po::variables_map vm;
  if (auto code = parse_options(inv, command, desc, hidden, pos, vm)) {
    rc = *code;
    return false;
  }
  if (paths.empty()) {
    std::cerr << "give at least one scenario file or folder\n";
    rc = 2;
    return false;
  }
  return true;
}

}  // namespace

int cmd_validate(const Invocation& inv) {
  std::vector<std::string> paths;
  int rc = 0;
  if (!parse_paths(
          inv, "validate",
          "usage: sockspec validate PATH...\n\nChecks suite files and load profiles (folders "
          "are searched for suites, *.json) and lists every problem as FILE:JSON-POINTER: "
          "message.\n\noptions",
          paths, rc)) {
    return rc;
  }
  auto loaded = runner::load_suites(paths);
  for (const auto& why : loaded.skipped) std::cout << "skipped " << why << "\n";
  for (const auto& d : loaded.errors) std::cerr << d.to_string() << "\n";
  if (!loaded.errors.empty()) {
    std::cerr << loaded.errors.size() << " problem(s)\n";
    return 2;
  }
  size_t cases = 0;
  for (const auto& s : loaded.suites) cases += s.cases.size();
  std::cout << loaded.suites.size() << " suite(s), " << cases << " case(s)";
  if (!loaded.profiles.empty()) std::cout << ", " << loaded.profiles.size() << " load profile(s)";
  std::cout << ": valid\n";
  return 0;
}

int cmd_list(const Invocation& inv) {
  std::vector<std::string> paths;
  int rc = 0;
  if (!parse_paths(inv, "list",
                   "usage: sockspec list PATH...\n\nShows every case: SUITE/ID, level, spec "
                   "reference, title and tags.\n\noptions",
                   paths, rc)) {
    return rc;
  }
  auto loaded = runner::load_suites(paths);
  runner::reject_profiles(loaded);
  for (const auto& d : loaded.errors) std::cerr << d.to_string() << "\n";
  if (!loaded.errors.empty()) return 2;
  for (const auto& s : loaded.suites) {
    std::cout << s.suite << "  (" << s.file << ", " << scenario::to_string(s.transport)
              << (s.service.empty() ? "" : ", service " + s.service) << ")";
    if (!s.title.empty()) std::cout << "  " << s.title;
    std::cout << "\n";
    for (const auto& c : s.cases) {
      std::string level = scenario::to_string(c.level);
      level.resize(6, ' ');
      std::cout << "  " << level << " " << s.suite << "/" << c.id;
      if (!c.spec_ref.empty()) std::cout << "  [" << c.spec_ref << "]";
      if (!c.title.empty()) std::cout << "  " << c.title;
      if (!c.tags.empty()) {
        std::cout << "  (";
        for (size_t i = 0; i < c.tags.size(); ++i) std::cout << (i ? ", " : "") << c.tags[i];
        std::cout << ")";
      }
      if (!c.requires_.empty()) {
        std::cout << "  requires:";
        for (const auto& r : c.requires_) std::cout << " " << r;
      }
      std::cout << "\n";
    }
  }
  return 0;
}

}  // namespace sockspec::cli
