// libFuzzer target: any bytes as a saved JSON report (`sockspec report` and `merge` read them).
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string_view>

#include "reports/json_reader.h"
#include "reports/json_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = sockspec::reports::read_report_text(text);
  if (r.report) {  // what was read can be written back
    std::ostringstream out;
    sockspec::reports::write_json(*r.report, out);
  }
  return 0;
}
