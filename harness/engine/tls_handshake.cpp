#include "engine/tls_handshake.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>

namespace sockspec::engine {

net::TlsSettings tls_settings(const Target& target, const scenario::TlsOptions& o,
                              const std::string& host) {
  net::TlsSettings s = target.tls_settings;
  if (s.sni.empty() && s.verify_name.empty()) s.sni = host;
  if (o.sni) {
    s.sni = *o.sni;
    s.verify_name.clear();  // the name asked for is the name checked
  }
  if (s.verify_name.empty()) s.verify_name = s.sni.empty() ? host : s.sni;
  if (o.verify) s.verify = *o.verify;
  if (o.ca) s.ca_file = *o.ca;
  if (o.cert) {
    s.cert_file = *o.cert;
    s.key_file = o.key.value_or("");
  }
  if (o.alpn) s.alpn = *o.alpn;
  if (o.min_version) s.min_version = net::tls_version_from_name(*o.min_version);
  if (o.max_version) s.max_version = net::tls_version_from_name(*o.max_version);
  if (o.resume) s.resume = *o.resume ? 1.0 : 0.0;
  return s;
}

bool tls_error_matches(const std::string& expected, const std::string& why) {
  if (expected == "tls") return true;
  if (expected.rfind("tls:", 0) != 0) return false;
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return s;
  };
  return lower(why).find(lower(expected.substr(4))) != std::string::npos;
}

TlsHandshake::State TlsHandshake::start(CaseEnv& env, Conn& c, const net::TlsSettings& s) {
  env_ = &env;
  if (!env.tls) env.tls = std::make_shared<net::TlsClient>();
  started_ = net::Clock::now();
  session_ = env.tls->start(c.fd.get(), s, c.peer.to_string(), error_);
  if (!session_) return State::failed;
  return drive();
}

TlsHandshake::State TlsHandshake::resume() { return drive(); }

TlsHandshake::State TlsHandshake::drive() {
  switch (session_->handshake()) {
    case net::TlsIo::ok: {
      double ms = std::chrono::duration<double, std::milli>(net::Clock::now() - started_).count();
      if (env_->on_handshake) env_->on_handshake(ms, true, session_->resumed());
      if (!env_->brief) {
        char took[32];
        std::snprintf(took, sizeof took, "%.2f ms", ms);
        summary_ = session_->describe() + ", handshake " + took;
      }
      return State::done;
    }
    case net::TlsIo::want_read:
      return State::want_read;
    case net::TlsIo::want_write:
      return State::want_write;
    default:
      if (env_->on_handshake) env_->on_handshake(0, false, false);
      error_ = session_->error();
      sys_errno_ = session_->sys_errno();
      return State::failed;
  }
}

}  // namespace sockspec::engine
