// libFuzzer target: any bytes as a load profile (its steps go through the suite parser too).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "load/profile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = sockspec::load::parse_profile(text, "fuzz.json");
  for (const auto& d : r.errors) (void)d.to_string();
  return 0;
}
