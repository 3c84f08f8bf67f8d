// Reads a JSON report back into the result model, for `sockspec report` and `merge`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "reports/model.h"

namespace sockspec::reports {

struct ReadReport {
  std::optional<RunReport> report;
  std::string error;
};
ReadReport from_json(const nlohmann::json& j);
// A report's text: checked for depth and size first (json_guard.h), parsed, then read.
ReadReport read_report_text(std::string_view text);

}  // namespace sockspec::reports
