#include <boost/program_options.hpp>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/signals.h"
#include "reference_servers/server.h"

namespace sockspec::cli {

namespace po = boost::program_options;

namespace {
std::string catalogue() {
  std::ostringstream s;
  s << "\nservices:\n";
  for (const auto& [svc, n] : refserver::services())
    s << "  " << n.name << std::string(12 - std::string(n.name).size(), ' ') << n.doc << "\n";
  s << "\nfaults (--fault NAME: a deliberately broken variant a good suite must catch):\n";
  for (const auto& [f, n] : refserver::faults()) {
    s << "  " << n.name << "\n      " << n.doc << "\n";
  }
  return s.str();
}
}  // namespace

int cmd_serve(const Invocation& inv) {
  refserver::Config cfg;
  std::string service, transport = "both", fault = "none";
  unsigned port = 0;
  cfg.threads = std::max(1u, std::thread::hardware_concurrency());
  po::options_description desc(
      "usage: sockspec serve SERVICE [options]\n\n"
      "Runs a reference server. It prints one line per socket, `listening tcp ADDR:PORT` (or\n"
      "`listening unix PATH`, `listening unixgram PATH`), then serves until SIGINT or "
      "SIGTERM.\nWith --tls it first prints `tls certificate PATH`: the PEM certificate it "
      "serves, which\nclients trust (e.g. `openssl s_client -CAfile PATH -verify_hostname "
      "localhost`).\n\noptions");
  desc.add_options()("help,h", "show this help")(
      "transport", po::value(&transport)->default_value("both"), "tcp, udp or both")(
      "bind", po::value(&cfg.bind)->default_value("127.0.0.1"),
      "numeric address to listen on (::1 for IPv6)")(
      "port", count_option(&port, "--port", 0, 65535),
      "port, 0 to 65535; 0 (the default) takes an ephemeral one (TCP and UDP share it)")(
      "unix", po::value(&cfg.unix_path),
      "serve on this AF_UNIX path instead (@NAME: abstract namespace): a stream socket with "
      "--transport tcp (the default here), a datagram socket with --transport udp; the file is "
      "removed on exit, and an existing path is refused (EADDRINUSE)")(
      "fault", po::value(&fault)->default_value("none"),
      "run a deliberately broken variant (see below)")(
      "threads", count_option(&cfg.threads, "--threads", 1, 256),
      "worker threads, each with its own epoll loop, 1 to 256 (default: cores; chat and "
      "iterative use 1)")(
      "idle-timeout", count_option(&cfg.idle_timeout_s, "--idle-timeout", 0, 86400),
      "close TCP connections idle this many seconds, 0 to 86400 (default 0: never)")(
      "max-connections", count_option(&cfg.max_connections, "--max-connections", 0, 10'000'000),
      "close connections beyond this many at once, 0 to 10000000 (default 0: no limit)")(
      "chat-ttl", count_option(&cfg.chat_ttl_s, "--chat-ttl", 1, 86400),
      "UDP chat: relay to peers heard from within this many seconds, 1 to 86400 (default 60)")(
      "delay-ms", count_option(&cfg.delay_ms, "--delay-ms", 0, 3'600'000),
      "reply delay of the slow fault, 0 to 3600000 (default 1500)")(
      "delay-us", count_option(&cfg.delay_us, "--delay-us", 1, 3'600'000'000),
      "the slow fault's delay in microseconds instead of --delay-ms, 1 to 3600000000")(
      "reuseport", po::bool_switch(&cfg.reuseport),
      "set SO_REUSEPORT, so several `sockspec serve` processes share one --port and the kernel "
      "spreads connections over them")("busy-us", po::value(&cfg.busy_us)->default_value(1000),
                                       "microseconds the busy fault spends on each request")(
      "drop-every", count_option(&cfg.drop_every, "--drop-every", 0, 1'000'000'000),
      "udp-schedule fault: drop every Nth reply to each client (0: none)")(
      "duplicate-every", count_option(&cfg.duplicate_every, "--duplicate-every", 0, 1'000'000'000),
      "udp-schedule fault: send every Mth reply twice (0: none)")(
      "hold-every", count_option(&cfg.hold_every, "--hold-every", 0, 1'000'000'000),
      "udp-schedule fault: hold every Kth reply back until after the next one (0: none)")(
      "tls", po::bool_switch(&cfg.tls.enabled),
      "serve TLS (1.2 or 1.3) on the stream socket; UDP stays plain, so --transport defaults "
      "to tcp and udp or both are refused (no DTLS). Without --cert/--key a throw-away "
      "certificate is generated: EC P-256, self-signed, for localhost, 127.0.0.1 and ::1, valid "
      "for 7 days")("cert", po::value(&cfg.tls.cert_file),
                    "--tls: serve this PEM certificate (chain) instead; needs --key")(
      "key", po::value(&cfg.tls.key_file), "--tls: the PEM private key of --cert")(
      "cert-out", po::value(&cfg.tls.cert_out),
      "--tls: write the generated certificate here and keep it (default: a fresh file under "
      "$TMPDIR or /tmp, removed when the server stops)")(
      "sockperf-compat", po::bool_switch(&cfg.sockperf_compat),
      "echo only, for benchmarks: clear the client flag in sockperf's message header so "
      "`sockperf ping-pong` accepts our replies (no longer a pure RFC 862 echo)");
  po::options_description hidden;
  hidden.add_options()("service", po::value(&service));
  po::positional_options_description pos;
  pos.add("service", 1);
  po::variables_map vm;
  if (auto rc = parse_options(inv, "serve", desc, hidden, pos, vm, catalogue())) return *rc;
  auto svc = refserver::service_from_name(service);
  if (!svc) {
    std::cerr << "sockspec serve: "
              << (service.empty() ? "name a service" : "unknown service '" + service + "'")
              << catalogue();
    return 2;
  }
  auto f = refserver::fault_from_name(fault);
  if (!f) {
    std::cerr << "sockspec serve: unknown fault '" << fault << "'" << catalogue();
    return 2;
  }
  if (transport != "tcp" && transport != "udp" && transport != "both") {
    std::cerr << "sockspec serve: --transport must be tcp, udp or both\n";
    return 2;
  }
  if (cfg.sockperf_compat && *svc != refserver::Service::echo) {
    std::cerr << "sockspec serve: --sockperf-compat applies to echo only\n";
    return 2;
  }
  cfg.service = *svc;
  cfg.fault = *f;
  cfg.port = static_cast<uint16_t>(port);
  if (!cfg.unix_path.empty()) {
    if (vm["transport"].defaulted()) transport = "tcp";
    if (transport == "both") {
      std::cerr << "sockspec serve: --unix serves one socket: --transport tcp (stream) or udp "
                   "(datagram)\n";
      return 2;
    }
    if (!vm["bind"].defaulted() || port != 0 || cfg.fault == refserver::Fault::reply_wrong_port) {
      std::cerr << "sockspec serve: --unix takes no --bind, --port or reply-wrong-port fault (they "
                   "are IP)\n";
      return 2;
    }
  }
  // TLS runs on stream sockets only: with --tls the transport means TCP unless told otherwise,
  // and serve() refuses udp or both as a usage error.
  if (cfg.tls.enabled && vm["transport"].defaulted()) transport = "tcp";
  cfg.tcp = transport != "udp";
  cfg.udp = transport != "tcp";
  StopSignals stop;
  return refserver::serve(cfg, stop.fd(), std::cout, std::cerr);
}

}  // namespace sockspec::cli
