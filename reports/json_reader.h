// Reads a JSON report back into the result model, for `sockspec report` and `merge`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "reports/model.h"

namespace sockspec::reports {

struct ReadReport {
  std::optional<RunReport> report;
  std::string error;
};
ReadReport from_json(const nlohmann::json& j);

}  // namespace sockspec::reports
