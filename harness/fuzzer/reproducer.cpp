#include "fuzzer/reproducer.h"

#include <type_traits>

#include "scenario/parse.h"
#include "scenario/write.h"

namespace sockspec::fuzzer {

namespace {

void rename_conns(scenario::Steps& steps, const std::string& prefix) {
  for (auto& s : steps) {
    std::visit(
        [&](auto& op) {
          using T = std::decay_t<decltype(op)>;
          if constexpr (requires { op.conn; }) op.conn = prefix + op.conn;
          if constexpr (std::is_same_v<T, scenario::RepeatOp> ||
                        std::is_same_v<T, scenario::ParallelOp>)
            rename_conns(op.steps, prefix);
        },
        s.op);
  }
}

bool unfit(const scenario::Step& s) {
  return std::holds_alternative<scenario::ServerOp>(s.op) ||
         std::holds_alternative<scenario::ImpairOp>(s.op) ||
         std::holds_alternative<scenario::ListenOp>(s.op) ||
         std::holds_alternative<scenario::AcceptOp>(s.op);
}

}  // namespace

std::optional<scenario::Case> reparse(const scenario::Case& c, const scenario::Suite& s) {
  // The suite's header, not its cases: a copy of all of them for every input cost as much as
  // running the input.
  scenario::Suite one{
      s.file, s.suite, s.title, s.spec, s.service, s.transport, s.default_timeout_ms, {c}};
  auto r = scenario::parse_suite(scenario::write_suite(one).dump(), s.file);
  if (!r.suite || r.suite->cases.size() != 1) return std::nullopt;
  return std::move(r.suite->cases.front());
}

scenario::Case with_liveness(const scenario::Case& input, const scenario::Case& liveness) {
  scenario::Case c = input;
  // The input's connections close before the check starts, as they do in the campaign (where
  // the input is a case of its own). Left open, a server that serves one client at a time
  // would never get to the check's connection: the bare connect would seem to hang it, and the
  // reproducer would still fail once the bug is fixed.
  std::vector<std::string> open;
  for (const auto& s : input.steps) {
    if (auto* k = std::get_if<scenario::ConnectOp>(&s.op); k && !k->expect_error) {
      open.push_back(k->conn);
    } else if (auto* o = std::get_if<scenario::OpenOp>(&s.op)) {
      open.push_back(o->conn);
    } else if (auto* x = std::get_if<scenario::CloseOp>(&s.op)) {
      std::erase(open, x->conn);
    }
  }
  for (const auto& conn : open) {
    scenario::Step close{scenario::CloseOp{conn, false}, std::nullopt,
                         "the input's connections close, as after every input", ""};
    c.steps.push_back(std::move(close));
  }
  scenario::Steps live = liveness.steps;
  rename_conns(live, "live-");
  for (auto& s : live) {
    if (s.label.empty()) s.label = "still answering: " + liveness.id;
    c.steps.push_back(std::move(s));
  }
  return c;
}

bool can_check_liveness(const scenario::Case& c) {
  return !scenario::any_step(c.steps, unfit) && !c.steps.empty();
}

std::string finding_suite_json(const scenario::Suite& from, scenario::Case kase,
                               const std::string& name, const std::string& summary,
                               const std::string& description) {
  scenario::Suite s;
  s.suite = name;
  s.title = "sockspec fuzz finding: " + summary.substr(0, 200);
  s.service = from.service;
  s.transport = from.transport;
  s.default_timeout_ms = from.default_timeout_ms;
  kase.id = "reproducer";
  kase.title = summary.substr(0, 300);
  kase.description = description;
  kase.level = scenario::Level::must;
  kase.tags = {"fuzz-finding"};
  kase.timeout_ms.reset();
  s.cases = {std::move(kase)};
  return scenario::write_suite(s).dump(2) + "\n";
}

}  // namespace sockspec::fuzzer
