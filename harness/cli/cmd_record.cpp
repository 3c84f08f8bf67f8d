// `sockspec record`: a proxy that writes what real clients and a real server said as a suite.
#include <boost/program_options.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/signals.h"
#include "codec/frame.h"
#include "record/proxy.h"
#include "scenario/endpoint.h"

namespace sockspec::cli {

namespace po = boost::program_options;

int cmd_record(const Invocation& inv) {
  record::ProxyOptions o;
  std::string output, suite, transport, frame, server_cert, server_key;
  bool tls = false;
  po::options_description desc(
      "usage: sockspec record --listen ADDR:PORT --upstream HOST:PORT -o FILE [options]\n\n"
      "A transparent proxy: point a real client at --listen, and every session it has with the\n"
      "server at --upstream through the proxy becomes one case of a suite written to FILE when\n"
      "recording ends (Ctrl-C, or --sessions). What the client sent becomes send steps (one per\n"
      "read, so chunk boundaries are kept), what the server answered becomes expect steps, a\n"
      "half-close, reset or EOF becomes its step, and a client pause becomes a sleep.\n"
      "Addresses: HOST:PORT, [V6]:PORT, unix:PATH, unix:@NAME, unixgram:PATH.\n\n"
      "Replay it: sockspec run FILE --target UPSTREAM\n\noptions");
  desc.add_options()("help,h", "show this help")("listen", po::value(&o.listen),
                                                 "where clients connect (port 0: any free one)")(
      "upstream", po::value(&o.upstream), "the real server")("output,o", po::value(&output),
                                                             "the suite file to write")(
      "transport", po::value(&transport), "tcp or udp (default: tcp; udp for unixgram: addresses)")(
      "suite", po::value(&suite), "the suite's name (default: from the file name)")(
      "pause-ms", po::value(&o.record.pause_ms)->default_value(o.record.pause_ms),
      "a client pause longer than this becomes a sleep step")(
      "max-expect-bytes",
      po::value(&o.record.max_expect_bytes)->default_value(o.record.max_expect_bytes),
      "a reply longer than this is checked by its length only")(
      "regex-digits", po::bool_switch(&o.record.regex_digits),
      "write text replies as regexes in which every run of digits is [0-9]+ (for replies that "
      "carry times, counters or ids)")(
      "timeout-ms", po::value(&o.record.default_timeout_ms)->default_value(2000),
      "the suite's default step timeout (a slower recorded reply gets twice its time)")(
      "one-case", po::bool_switch(&o.record.one_case),
      "write every session into one case (conns c1, c2...) in the order things happened: for "
      "servers whose clients talk to each other, like a chat room")(
      "frame", po::value(&frame),
      "streams: cut each direction into messages and write each as one step of typed parts, "
      "the connection framed alike: length:OFFSET:WIDTH[:big|little[:ADJUST]], "
      "varint:OFFSET[:mqtt|leb128], delimiter:\\r\\n, fixed:N")(
      "sessions", po::value(&o.sessions)->default_value(0),
      "stream sockets: stop after this many client sessions have ended (0: until Ctrl-C)")(
      "tls", po::bool_switch(&tls),
      "record through TLS: the clients' TLS ends at the proxy, which presents the server's own "
      "certificate (--tls-server-cert, --tls-server-key) and speaks TLS on to --upstream "
      "(checked with the --tls-* options below); the suite's connects say \"tls\": true")(
      "tls-server-cert", po::value(&server_cert),
      "with --tls: the certificate (chain, PEM) the clients expect of the server")(
      "tls-server-key", po::value(&server_key),
      "with --tls: its key (default: in --tls-server-cert's file)");
  TlsCli tls_cli;
  add_tls_options(desc, tls_cli);
  po::variables_map vm;
  if (auto rc = parse_options(inv, "record", desc, {}, {}, vm)) return *rc;
  if (o.listen.empty() || o.upstream.empty() || output.empty()) {
    std::cerr << "sockspec record: --listen, --upstream and -o are all needed (see --help)\n";
    return 2;
  }
  auto gram = [](const std::string& a) {
    auto u = scenario::unix_prefix(a);
    return u && u->dgram;
  };
  if (transport.empty()) transport = gram(o.listen) || gram(o.upstream) ? "udp" : "tcp";
  if (transport != "tcp" && transport != "udp") {
    std::cerr << "sockspec record: --transport must be tcp or udp\n";
    return 2;
  }
  o.transport = transport == "udp" ? scenario::Transport::udp : scenario::Transport::tcp;
  for (const auto& a : {o.listen, o.upstream}) {
    auto u = scenario::unix_prefix(a);
    if (u && !u->dgram && o.transport == scenario::Transport::udp) {
      std::cerr << "sockspec record: " << a << " is a stream socket; datagrams need unixgram:\n";
      return 2;
    }
    if (u && u->dgram && o.transport == scenario::Transport::tcp) {
      std::cerr << "sockspec record: " << a << " is a datagram socket; use --transport udp\n";
      return 2;
    }
  }
  if (o.sessions && o.transport == scenario::Transport::udp) {
    std::cerr << "sockspec record: --sessions counts stream sessions; datagram sessions never "
                 "end by themselves (stop with Ctrl-C)\n";
    return 2;
  }
  if (!frame.empty()) {
    codec::Frame f;
    if (auto err = codec::parse_frame_spec(frame, f); !err.empty()) {
      std::cerr << "sockspec record: --frame " << frame << ": " << err << "\n";
      return 2;
    }
    if (o.transport != scenario::Transport::tcp) {
      std::cerr << "sockspec record: --frame applies to streams; each datagram is already one "
                   "message\n";
      return 2;
    }
    o.record.frame = f;
  }
  std::unique_ptr<net::TlsServer> tls_server;
  if (tls || !server_cert.empty() || !server_key.empty()) {
    if (!tls || server_cert.empty() || o.transport != scenario::Transport::tcp) {
      std::cerr << "sockspec record: recording through TLS needs --tls, --tls-server-cert (and "
                   "its key) and a stream transport\n";
      return 2;
    }
    if (auto why = tls_settings(tls_cli, o.upstream_tls); !why.empty()) {
      std::cerr << "sockspec record: " << why << "\n";
      return 2;
    }
    // The server's name as --upstream gives it is what its certificate is checked against.
    auto ep = scenario::parse_endpoint(o.upstream);
    if (o.upstream_tls.sni.empty() && ep.endpoint && !ep.endpoint->is_unix())
      o.upstream_tls.sni = ep.endpoint->host;
    std::string why;
    tls_server = net::TlsServer::load(server_cert, server_key, why);
    if (!tls_server) {
      std::cerr << "sockspec record: " << why << "\n";
      return 2;
    }
    o.tls_server = tls_server.get();
    o.record.tls = true;
  }
  if (suite.empty()) suite = record::suite_name_for(output);
  StopSignals stop;
  o.cancel_fd = stop.fd();
  auto rec = record::record_sessions(o, std::cout, std::cerr);
  if (!rec.error.empty()) {
    std::cerr << "sockspec record: " << rec.error << "\n";
    return rec.exit_code;
  }
  if (rec.cases.empty()) {
    std::cerr << "sockspec record: no client session was recorded; " << output
              << " was not written\n";
    return 1;
  }
  size_t n = rec.cases.size();
  auto text = record::suite_text(suite, "Recorded: " + o.listen + " -> " + o.upstream, o.transport,
                                 o.record.default_timeout_ms, std::move(rec.cases));
  if (!text.error.empty()) {
    std::cerr << "sockspec record: the recording does not read back as a valid suite (a bug):\n"
              << text.error;
    return 1;
  }
  std::string tmp = output + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text.text;
    if (!f.flush()) {
      std::cerr << "sockspec record: cannot write " << tmp << "\n";
      return 1;
    }
  }
  if (std::rename(tmp.c_str(), output.c_str()) != 0) {
    std::cerr << "sockspec record: cannot write " << output << "\n";
    return 1;
  }
  std::cout << "recorded " << n << " session(s) to " << output << "\n  replay: sockspec run "
            << output << " --target " << o.upstream << (tls ? " --tls-ca CA.pem" : "") << "\n";
  return 0;
}

}  // namespace sockspec::cli
