// Which iterations can run several at a time on one connection: pure, so the profile parser
// checks it without the engine (the pipeline itself is in pipeline.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "scenario/model.h"

namespace sockspec::load {

// `match_by`: a field of the protocol's own (a DNS id, a memcached request id) that numbers the
// requests of a window. The driver writes each request's number there (modulo the field's
// range) and gives each reply to the request whose number its field carries.
struct MatchBy {
  size_t offset = 0;
  unsigned width = 2;  // bytes: 1, 2, 4 or 8
  bool little = false;

  uint64_t range_bits() const { return 8ull * width; }
  // The field's value for request `number` (its low bits).
  uint64_t id(uint64_t number) const;
  // Writes `id(number)` at `at + offset` of `bytes` (which must hold it).
  void put(std::string& bytes, size_t at, uint64_t number) const;
  // The field of `bytes`; nullopt when they are too short to hold it.
  std::optional<uint64_t> get(std::string_view bytes) const;
  // The request number, at most `newest`, whose id is `id`: the newest one (ids wrap, so an
  // older request with the same id cannot be told apart). nullopt when none was numbered so.
  static std::optional<uint64_t> newest_with(uint64_t id, uint64_t newest, uint64_t range_bits);
};

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
