// Running one case: an event loop, the case's clients, and the verdict of its steps.
#pragma once

#include <deque>
#include <memory>

#include "engine/client.h"
#include "engine/context.h"
#include "reports/model.h"
#include "scenario/model.h"

namespace sockspec::engine {

// Captured values as a report shows them (bytes escaped, long values cut short).
std::vector<std::pair<std::string, std::string>> printable_captures(const scenario::Captures& c);

struct CaseOutcome {
  reports::Verdict verdict = reports::Verdict::pass;  // pass, fail or error
  std::string reason;
  std::vector<reports::StepResult> steps;
  double duration_ms = 0;
  std::vector<std::pair<std::string, std::string>> captures;  // as reports::CaseResult has them
};

class CaseRun {
 public:
  explicit CaseRun(CaseEnv env) : env_(std::move(env)) {}
  CaseEnv& env() { return env_; }
  // Clients live until the case ends: the loop may still hold timers that name them.
  Client& spawn(const scenario::Steps& steps, scenario::VarValues vars, std::string path_prefix,
                net::Deadline deadline, std::string deadline_what, std::function<void()> on_finish);

 private:
  CaseEnv env_;
  std::deque<std::unique_ptr<Client>> clients_;
};

struct RunCaseOptions {
  const Target& target;
  uint64_t seed = 0;
  uint64_t default_timeout_ms = 2000;
  ServerControl* server = nullptr;
  int cancel_fd = -1;
  std::function<std::optional<std::string>(const std::string&)> getenv;
  impair::Conditions* impair = nullptr;  // the relay `target` leads through, if any
  double timeout_scale = 1.0;            // see CaseEnv
};

CaseOutcome run_case(const scenario::Case& c, const RunCaseOptions& opts);

}  // namespace sockspec::engine
