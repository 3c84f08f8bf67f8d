// libFuzzer target: any bytes as a suite file. The parser must report, never crash or hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "scenario/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = sockspec::scenario::parse_suite(text, "fuzz.json");
  for (const auto& d : r.errors) (void)d.to_string();
  return 0;
}
