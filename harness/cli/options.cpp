#include "cli/options.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <tuple>

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

namespace {

// "the argument ('1e12') for option '--rate' is out of range: allowed 0.001 to 10000000"
class out_of_range : public po::error_with_option_name {
 public:
  out_of_range(const char* option, const std::string& allowed)
      : po::error_with_option_name("the argument ('%value%') for option '" + std::string(option) +
                                   "' is out of range: allowed " + allowed) {}
};

std::string number_text(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

}  // namespace

// Digits only (no sign, no exponent, no fraction) and within [min, max].
uint64_t parse_count(const char* option, const std::string& text, uint64_t min, uint64_t max) {
  std::string allowed = "whole numbers " + std::to_string(min) + " to " + std::to_string(max);
  bool digits = !text.empty() && text.size() <= 20 &&
                text.find_first_not_of("0123456789") == std::string::npos;
  errno = 0;
  unsigned long long v = digits ? std::strtoull(text.c_str(), nullptr, 10) : 0;
  if (!digits || errno == ERANGE || v < min || v > max) {
    out_of_range e(option, allowed);
    e.set_substitute("value", text);
    throw e;
  }
  return v;
}

po::typed_value<double>* number_option(double* out, const char* option, double min, double max) {
  return po::value(out)->notifier([option, min, max](double v) {
    if (!(v >= min && v <= max)) {  // NaN fails both
      out_of_range e(option, number_text(min) + " to " + number_text(max));
      e.set_substitute("value", number_text(v));
      throw e;
    }
  });
}

po::typed_value<std::string>* count_option(uint64_t* out, const char* option, uint64_t min,
                                           uint64_t max) {
  return po::value<std::string>()->notifier(
      [out, option, min, max](const std::string& t) { *out = parse_count(option, t, min, max); });
}

po::typed_value<std::string>* count_option(unsigned* out, const char* option, uint64_t min,
                                           uint64_t max) {
  return po::value<std::string>()->notifier([out, option, min, max](const std::string& t) {
    *out = static_cast<unsigned>(parse_count(option, t, min, std::min<uint64_t>(max, UINT32_MAX)));
  });
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

void add_observe_options(po::options_description& desc, observe::ObserveOptions& o, double& linger,
                         const std::string& what) {
  desc.add_options()(
      "metrics", po::value(&o.metrics),
      ("serve " + what +
       " at ADDR:PORT while it goes (port 0: any free one, printed): /metrics for Prometheus "
       "(labels run_id and shard), / a live page, then the final HTML report")
          .c_str())("metrics-linger", number_option(&linger, "--metrics-linger", 0, 86400),
                    "keep serving the final figures this many seconds after the run, so a last "
                    "scrape sees them (default 0)")(
      "push", po::value(&o.push),
      "push the same metrics to a Prometheus Pushgateway at http://HOST:PORT every "
      "--push-interval and once at the end (job sockspec, grouped by run_id and shard)")(
      "push-interval", number_option(&o.push_interval_s, "--push-interval", 0.1, 3600),
      "seconds between pushes, 0.1 to 3600 (default 5)");
}

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

void add_tls_options(po::options_description& desc, TlsCli& o) {
  desc.add_options()(
      "tls-ca", po::value(&o.ca),
      "trust the certificates this PEM file (a CA or a self-signed server certificate) vouches "
      "for, instead of the system's store (with --target tls:builtin:SERVICE: the reference "
      "server's throw-away certificate)")(
      "tls-insecure", po::bool_switch(&o.insecure),
      "accept any certificate and name (test certificates); every step and the report say the "
      "certificate was NOT verified")(
      "tls-sni", po::value(&o.sni),
      "server name to send and to check the certificate against (default: the target's host "
      "name; an address is checked as an address and sent as no name)")(
      "tls-alpn", po::value(&o.alpn), "protocols to offer by ALPN, comma-separated (h2,http/1.1)")(
      "tls-cert", po::value(&o.cert), "client certificate (PEM) for servers that ask for one")(
      "tls-key", po::value(&o.key), "the client certificate's key (default: in --tls-cert's file)")(
      "tls-min-version", po::value(&o.min_version), "lowest TLS version to accept: 1.2 or 1.3")(
      "tls-max-version", po::value(&o.max_version), "highest TLS version to offer: 1.2 or 1.3")(
      "tls-resume", number_option(&o.resume, "--tls-resume", 0, 1),
      "share of new connections that resume an earlier session instead of a full handshake, "
      "0 to 1 (default 1: every one that can)");
}

std::string tls_settings(const TlsCli& o, net::TlsSettings& out) {
  out = net::TlsSettings{};
  out.ca_file = o.ca;
  out.cert_file = o.cert;
  out.key_file = o.key;
  out.sni = o.sni;
  out.verify = !o.insecure;
  out.resume = o.resume;
  if (!o.key.empty() && o.cert.empty()) return "--tls-key goes with --tls-cert";
  if (o.insecure && !o.ca.empty()) return "--tls-insecure checks nothing: drop --tls-ca or it";
  // Not --tls-ca: a --server-cmd may write its certificate there when it starts.
  for (const auto& f : {o.cert, o.key}) {
    if (!f.empty() && ::access(f.c_str(), R_OK) != 0)
      return "cannot read " + f + ": " + std::strerror(errno);
  }
  std::string rest = o.alpn;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string p = rest.substr(0, comma);
    if (p.empty() || p.size() > 255) return "--tls-alpn: each protocol name must be 1 to 255 bytes";
    out.alpn.push_back(p);
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
  }
  for (auto [name, text, slot] :
       {std::tuple{"--tls-min-version", &o.min_version, &out.min_version},
        std::tuple{"--tls-max-version", &o.max_version, &out.max_version}}) {
    if (text->empty()) continue;
    *slot = net::tls_version_from_name(*text);
    if (*slot == 0) return std::string(name) + " must be 1.2 or 1.3, got '" + *text + "'";
  }
  if (out.min_version && out.max_version && out.min_version > out.max_version)
    return "--tls-min-version is above --tls-max-version";
  return "";
}

}  // namespace sockspec::cli
