// --impair and --impair-level for `run` and `load`: checked as usage, and the relay that puts
// the conditions between the clients and the target.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "engine/context.h"
#include "impair/proxy.h"

namespace sockspec::runner {

struct ImpairOption {
  std::optional<impair::Spec> spec;  // none when --impair was not given
  std::string error;                 // a usage error (exit 2)
};
ImpairOption check_impair_options(const std::string& spec, const std::string& level);

// A relay in front of `target`; the returned target leads through it.
struct Impaired {
  std::unique_ptr<impair::Proxy> proxy;
  engine::Target target;
  std::string error;
};
Impaired impair_target(const engine::Target& target, const impair::Spec& spec, uint64_t seed);

// "delay 50ms; datagrams to server: 10 arrived, ..." for reports.
std::string describe_impairment(const impair::Proxy& proxy, const std::string& started_as);

}  // namespace sockspec::runner
