// A TLS handshake on a step's connection (connect with "tls", starttls): the settings it
// uses, and the non-blocking handshake the machines drive.
#pragma once

#include <memory>
#include <string>

#include "engine/conn.h"
#include "engine/context.h"
#include "net/event_loop.h"
#include "net/tls.h"
#include "scenario/model.h"

namespace sockspec::engine {

// The run's settings (the target's), then the step's over them. `host` is the name the step
// reached (the target's host as given): the default SNI and the name the certificate must carry.
net::TlsSettings tls_settings(const Target& target, const scenario::TlsOptions& step,
                              const std::string& host);

// expect_error "tls" matches any failed handshake, "tls:REASON" one whose reason contains
// REASON (any case).
bool tls_error_matches(const std::string& expected, const std::string& why);

class TlsHandshake {
 public:
  enum class State { done, want_read, want_write, failed };
  // Starts on `c` (its TCP connection up); failed with error() when the settings cannot be used.
  State start(CaseEnv& env, Conn& c, const net::TlsSettings& s);
  State resume();  // the socket became ready
  const std::string& error() const { return error_; }
  int sys_errno() const { return sys_errno_; }
  // After done: the session to put on the conn, and what the step's result says about it.
  std::unique_ptr<net::TlsSession> take() { return std::move(session_); }
  std::string summary() const { return summary_; }

 private:
  State drive();
  CaseEnv* env_ = nullptr;
  std::unique_ptr<net::TlsSession> session_;
  net::Clock::time_point started_;
  std::string error_, summary_;
  int sys_errno_ = 0;
};

}  // namespace sockspec::engine
