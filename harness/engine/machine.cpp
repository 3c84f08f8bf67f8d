#include "engine/machine.h"

#include "common/codec.h"

namespace sockspec::engine {

Progress Machine::pass(std::string message) {
  result.verdict = reports::Verdict::pass;
  result.message = std::move(message);
  return {true};
}

Progress Machine::fail(std::string message, int err) {
  result.verdict = reports::Verdict::fail;
  result.message = std::move(message);
  if (err != 0 && result.errno_name.empty()) result.errno_name = errno_name(err);
  return {true};
}

Progress Machine::error(std::string message, int err) {
  result.verdict = reports::Verdict::error;
  result.message = std::move(message);
  if (err != 0 && result.errno_name.empty()) result.errno_name = errno_name(err);
  return {true};
}

Progress Machine::failed_call(const net::NetError& e, const std::optional<std::string>& expected,
                              const std::string& detail) {
  result.errno_name = e.errno_name();
  if (expected && *expected == e.errno_name()) return pass(e.to_string() + ", as expected");
  std::string msg = e.to_string() + detail;
  if (expected) msg += " (expected " + *expected + ")";
  return fail(msg, e.err);
}

Conn* Machine::conn(const std::string& name) {
  auto it = scope_.conns.find(name);
  if (it == scope_.conns.end() || !it->second.fd) {
    error("conn '" + name + "' is not open");
    return nullptr;
  }
  return &it->second;
}

std::unique_ptr<Machine> make_machine(StepScope scope, const scenario::Step& step,
                                      net::Deadline deadline, std::string bound) {
  if (auto m = make_socket_machine(scope, step, deadline, bound)) return m;
  if (auto m = make_io_machine(scope, step, deadline, bound)) return m;
  if (auto m = make_end_machine(scope, step, deadline, bound)) return m;
  if (auto m = make_tls_machine(scope, step, deadline, bound)) return m;
  return make_control_machine(scope, step, deadline, bound);
}

}  // namespace sockspec::engine
