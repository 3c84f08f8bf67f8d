// The argument handling every subcommand shares: parse, print --help, report bad usage.
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "net/tls.h"
#include "observe/observer.h"

namespace sockspec::cli {

// Parses `inv.args` with `visible` options (shown by --help, which must be among them) and
// `hidden` ones (positionals). Returns the exit code when the command should stop now:
// 0 after --help (followed by `more_help`), 2 on bad usage; nullopt to go on.
std::optional<int> parse_options(
    const Invocation& inv, const char* command,
    const boost::program_options::options_description& visible,
    const boost::program_options::options_description& hidden,
    const boost::program_options::positional_options_description& positional,
    boost::program_options::variables_map& vm, const std::string& more_help = "");

// --impair and --impair-level, worded once for run and load.
void add_impair_options(boost::program_options::options_description& desc, std::string& spec,
                        std::string& level);

// --metrics, --metrics-linger, --push, --push-interval (docs/observe.md); `what` is what they
// serve ("the run's figures", "the cases finished so far").
void add_observe_options(boost::program_options::options_description& desc,
                         observe::ObserveOptions& o, double& linger, const std::string& what);

// --tls-* (run and load): the settings of every TLS connection the run makes, a step's own
// "tls" settings over them. tls_settings() checks them: "" or what is wrong (exit 2).
struct TlsCli {
  std::string ca, cert, key, sni, alpn, min_version, max_version;
  bool insecure = false;
  double resume = 1.0;
};
void add_tls_options(boost::program_options::options_description& desc, TlsCli& o);
std::string tls_settings(const TlsCli& o, net::TlsSettings& out);

// Numeric options, range-checked as they are parsed. A value outside [min, max], NaN, or a
// negative count (boost would wrap "-1" into 4294967295) is bad usage: exit 2 with a message
// naming the option and the allowed range. Counts must be whole numbers.
boost::program_options::typed_value<double>* number_option(double* out, const char* option,
                                                           double min, double max);
boost::program_options::typed_value<std::string>* count_option(uint64_t* out, const char* option,
                                                               uint64_t min, uint64_t max);
boost::program_options::typed_value<std::string>* count_option(unsigned* out, const char* option,
                                                               uint64_t min, uint64_t max);
// The check behind count_option, for options that take a count or a word.
uint64_t parse_count(const char* option, const std::string& text, uint64_t min, uint64_t max);

// What run and load both need to know about this process and terminal.
std::string self_exe_path();                       // for starting builtin servers
std::vector<std::string> builtin_service_names();  // for checking builtin:SERVICE
bool color_wanted();                               // stdout is a terminal and NO_COLOR is unset

}  // namespace sockspec::cli
