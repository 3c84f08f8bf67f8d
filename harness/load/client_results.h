// Booking the outcome of an iteration a virtual user's client ran step by step (in_flight 1):
// its latencies, traffic, UDP sequence counts and, when it failed, the first failed step.
#pragma once

#include <string>

#include "engine/client.h"
#include "load/tally.h"

namespace sockspec::load {

// `open_loop`: latency from the intended start, else from the first send.
void record_passed(Tally& tally, TimePoint intended, TimePoint started, engine::Client& c,
                   bool open_loop);
// Returns the error's kind (timeout, mismatch, reset, refused, connect, loss, other).
std::string record_failed(Tally& tally, TimePoint intended, engine::Client& c);

}  // namespace sockspec::load
