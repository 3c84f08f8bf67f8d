// The JSON report: the lossless form of a run, the one other formats can be rendered from.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>

#include "reports/model.h"

namespace sockspec::reports {

nlohmann::json to_json(const RunReport& r);
void write_json(const RunReport& r, std::ostream& out);

}  // namespace sockspec::reports
