// What a load run builds once per step instead of once per iteration: the bytes of payloads
// the whole run shares and the resolved matchers of expects that never change. Without it an
// HTTP GET profile spent a third of its user time copying and freeing the same parts and text
// for every request. Keyed by the step's parts in the parsed profile, which outlive the run;
// one per generator thread (nothing shared, no locks).
#pragma once

#include <optional>
#include <string>
#include <unordered_map>

#include "match/matcher.h"
#include "scenario/model.h"
#include "scenario/template.h"

namespace sockspec::engine {

// True when `t` expands the same for the whole run: no variables, or only ${target.host},
// ${target.port} and ${seed}.
bool run_constant(const scenario::Template& t);

class StepCache {
 public:
  // The bytes of `p`, built on its first send; null when they may change between sends (the
  // caller builds them) or when building failed (`error` says why).
  const std::string* payload(const scenario::Payload& p, const scenario::VarValues& vars,
                             std::string& error);
  // The resolved `m`, on its first use; null when it may change between expects (an echo, a
  // variable) or when resolving failed (`error` says why).
  const match::Resolved* matcher(const scenario::Matcher& m, const scenario::VarValues& vars,
                                 std::string& error);

 private:
  std::unordered_map<const void*, std::optional<std::string>> payloads_;  // nullopt: varies
  std::unordered_map<const void*, std::optional<match::Resolved>> matchers_;
};

}  // namespace sockspec::engine
