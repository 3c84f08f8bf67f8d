// Runs one case, written as a JSON step list, through the real engine against a server.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "engine/case_run.h"
#include "net/address.h"
#include "scenario/parse.h"

namespace sockspec::testing {

struct Ran {
  engine::CaseOutcome outcome;
  std::string all_messages;
  const reports::StepResult* failed() const {
    for (const auto& s : outcome.steps) {
      if (s.verdict != reports::Verdict::pass) return &s;
    }
    return nullptr;
  }
};

// Parses one case from `steps` JSON and runs it against host:port.
inline Ran run_steps(const std::string& steps, const std::string& host, uint16_t port,
                     const std::string& transport = "tcp", const std::string& case_extra = "") {
  std::string json = R"({"format": 1, "suite": "t", "transport": ")" + transport +
                     R"(", "defaults": {"timeout_ms": 2000}, "cases": [{"id": "c", )" + case_extra +
                     R"("steps": )" + steps + "}]}";
  auto parsed = scenario::parse_suite(json, "test.json");
  Ran r;
  if (!parsed.suite) {
    ADD_FAILURE() << "scenario does not parse: " << parsed.errors.front().to_string();
    return r;
  }
  engine::Target target;
  target.name = host + ":" + std::to_string(port);
  target.host = host;
  target.addr = net::resolve(host, port, SOCK_STREAM).addrs.at(0);
  engine::RunCaseOptions opts{target, 42, parsed.suite->default_timeout_ms, nullptr, -1, nullptr};
  r.outcome = run_case(parsed.suite->cases[0], opts);
  for (const auto& s : r.outcome.steps)
    r.all_messages += s.path + " " + s.op + ": " + s.message + "\n";
  return r;
}

}  // namespace sockspec::testing
