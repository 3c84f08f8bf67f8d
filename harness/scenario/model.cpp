#include "scenario/model.h"

namespace sockspec::scenario {

const char* to_string(Transport t) { return t == Transport::tcp ? "tcp" : "udp"; }

const char* to_string(Level l) {
  switch (l) {
    case Level::must:
      return "must";
    case Level::should:
      return "should";
    case Level::may:
      return "may";
  }
  return "must";
}

namespace {
template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;  // clang 14 (the fuzz build) does not deduce it alone
}  // namespace

const char* op_name(const Op& op) {
  return std::visit(Overloaded{[](const ConnectOp&) { return "connect"; },
                               [](const OpenOp&) { return "open"; },
                               [](const StartTlsOp&) { return "starttls"; },
                               [](const RenegotiateOp&) { return "renegotiate"; },
                               [](const ListenOp&) { return "listen"; },
                               [](const AcceptOp&) { return "accept"; },
                               [](const SendOp&) { return "send"; },
                               [](const ExpectOp&) { return "expect"; },
                               [](const ExpectEofOp&) { return "expect_eof"; },
                               [](const ExpectResetOp&) { return "expect_reset"; },
                               [](const ExpectTlsAlertOp&) { return "expect_tls_alert"; },
                               [](const ExpectSilenceOp&) { return "expect_silence"; },
                               [](const ShutdownOp&) { return "shutdown"; },
                               [](const CloseOp&) { return "close"; },
                               [](const SleepOp&) { return "sleep"; },
                               [](const RepeatOp&) { return "repeat"; },
                               [](const ParallelOp&) { return "parallel"; },
                               [](const ServerOp&) { return "server"; },
                               [](const ImpairOp&) { return "impair"; },
                               [](const SetOp&) { return "set"; }},
                    op);
}

bool uses_server(const Steps& steps) {
  return any_step(steps, [](const Step& s) { return std::holds_alternative<ServerOp>(s.op); });
}

bool uses_impair(const Steps& steps) {
  return any_step(steps, [](const Step& s) { return std::holds_alternative<ImpairOp>(s.op); });
}

bool uses_echo(const Steps& steps) {
  return any_step(steps, [](const Step& s) {
    auto* e = std::get_if<ExpectOp>(&s.op);
    return e && std::holds_alternative<EchoMatch>(e->matcher.kind);
  });
}

}  // namespace sockspec::scenario
