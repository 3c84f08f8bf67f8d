// Typed parts and frames back to JSON, for scenario/write.cpp (record, fuzz, round trips).
#pragma once

#include <nlohmann/json.hpp>

#include "codec/frame.h"
#include "codec/parts.h"

namespace sockspec::scenario {

nlohmann::ordered_json parts_json(const codec::Parts& parts);
nlohmann::ordered_json frame_json(const codec::Frame& frame);

}  // namespace sockspec::scenario
