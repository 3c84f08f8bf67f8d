// The typed model back to suite JSON: what `sockspec record` writes, so a recording goes
// through the same model the parser reads. parse_suite(write_suite(s)) gives back `s`. Keys
// keep the order people write them in (op first). Pure.
#pragma once

#include <nlohmann/json.hpp>

#include "scenario/model.h"

namespace sockspec::scenario {

nlohmann::ordered_json write_suite(const Suite& suite);
nlohmann::ordered_json write_steps(const Steps& steps);

}  // namespace sockspec::scenario
