// Which iterations can run several at a time on one connection: pure, so the profile parser
// checks it without the engine (the pipeline itself is in pipeline.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "scenario/model.h"

namespace sockspec::load {

// The parts of the iteration a pipeline runs.
struct PipelineSteps {
  const scenario::Step* send = nullptr;
  const scenario::Step* expect = nullptr;
  std::string send_path, expect_path;  // "1", "2": positions in the iteration, for reports
  uint64_t timeout_ms = 0;             // the expect's timeout
};

// Null when the iteration is not one send then one expect on one conn; `why` says what is not.
std::optional<PipelineSteps> pipeline_steps(const scenario::Steps& iteration,
                                            uint64_t default_timeout_ms, std::string& why);

}  // namespace sockspec::load
