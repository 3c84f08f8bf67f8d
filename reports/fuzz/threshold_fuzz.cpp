// libFuzzer target: threshold expressions ("p99 < 2ms"), parsed, evaluated and shown.
#include <cstddef>
#include <cstdint>
#include <string>

#include "reports/model.h"
#include "reports/thresholds.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = sockspec::reports::parse_threshold(text);
  if (!parsed.threshold) return 0;
  sockspec::reports::LoadResult empty;
  (void)sockspec::reports::evaluate(*parsed.threshold, empty);
  sockspec::reports::LoadResult some;
  some.iterations = 1000;
  some.errors = 3;
  some.latency.record(1500);
  some.latency.record(2'000'000);
  (void)sockspec::reports::evaluate(*parsed.threshold, some);
  (void)sockspec::reports::format_metric(parsed.threshold->metric, parsed.threshold->value);
  return 0;
}
