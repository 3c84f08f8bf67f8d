// Reducing a crashing input: delta debugging (Zeller's ddmin) over its steps, then over the
// bytes of each message, keeping only what the crash still needs. Pure: whether a candidate
// still crashes is the caller's question (`still_fails`), asked at most `budget` times.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "scenario/model.h"

namespace sockspec::fuzzer {

// The smallest subset (in order) of `n` items found for which `still_fails` holds, as their
// indices; `still_fails` of all n items is assumed true. Each call spends one of `budget`.
std::vector<size_t> ddmin(size_t n,
                          const std::function<bool(const std::vector<size_t>&)>& still_fails,
                          size_t& budget);

// The case reduced: steps first (a step whose removal leaves an invalid case is kept, since
// `still_fails` says no to it), then the bytes of every literal message part.
scenario::Case minimize_case(const scenario::Case& c,
                             const std::function<bool(const scenario::Case&)>& still_fails,
                             size_t budget);

}  // namespace sockspec::fuzzer
