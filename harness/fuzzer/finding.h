// What a fuzzer finding is and how two are told apart: by the sanitizer's report (its kind
// and the top frames of its stack), else by the signal or the exit, else by the way the server
// stopped answering. Pure: it reads text the server wrote.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sockspec::fuzzer {

// The first AddressSanitizer, LeakSanitizer, UndefinedBehaviorSanitizer or ThreadSanitizer
// report in a server's stderr.
struct SanitizerReport {
  std::string kind;                 // "AddressSanitizer: heap-buffer-overflow"
  std::vector<std::string> frames;  // "handle_message server.c:42", the server's own first
  std::vector<std::string> freed;   // where the memory was freed (use after free, double free)
  std::string text;                 // the report's lines, at most a few KiB
};
std::optional<SanitizerReport> find_sanitizer_report(std::string_view stderr_text);

struct Finding {
  enum class Kind { sanitizer, signal, exit, unresponsive };
  Kind kind = Kind::unresponsive;
  std::string summary;  // one line: "AddressSanitizer: heap-use-after-free in handle (s.c:40)"
  std::string key;      // equal keys are one bug
  std::string stack;    // the sanitizer's report, when there is one
};
const char* to_string(Finding::Kind k);

// From what was seen after an input: the server's stderr since it started, how it ended
// ("killed by SIGSEGV", "exited with status 1"; empty while it runs) and, when it runs, why
// the liveness case failed (empty when it passed). nullopt: nothing was found.
std::optional<Finding> classify(std::string_view stderr_text, const std::string& ended,
                                const std::string& liveness_failure);

// A file name for a finding: "asan-heap-buffer-overflow-handle_message".
std::string slug(const Finding& f);

}  // namespace sockspec::fuzzer
