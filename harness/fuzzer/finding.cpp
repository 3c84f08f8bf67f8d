#include "fuzzer/finding.h"

#include <algorithm>
#include <cctype>

namespace sockspec::fuzzer {

namespace {

constexpr size_t kMaxReport = 8192;  // the report's text kept with a finding
constexpr size_t kKeyFrames = 3;     // frames that tell two bugs apart

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// The sanitizer's own frames (its interceptors and allocator) say nothing about the bug.
bool runtime_frame(std::string_view fn, std::string_view where) {
  for (std::string_view p : {"__interceptor_", "__asan", "__lsan", "__ubsan", "__sanitizer",
                             "__tsan", "___interceptor_", "__GI_", "__libc_start"}) {
    if (fn.substr(0, p.size()) == p) return true;
  }
  return where.find("libsanitizer") != std::string_view::npos ||
         where.find("/libasan") != std::string_view::npos ||
         where.find("/libubsan") != std::string_view::npos;
}

// "    #1 0x55d0 in handle_message /src/server.c:42:7" -> "handle_message server.c:42".
std::optional<std::string> frame_of(std::string_view line) {
  line = trim(line);
  if (line.size() < 2 || line[0] != '#' || !std::isdigit(static_cast<unsigned char>(line[1])))
    return std::nullopt;
  size_t in = line.find(" in ");
  if (in == std::string_view::npos) return std::nullopt;
  std::string_view rest = line.substr(in + 4);
  size_t sp = rest.find(' ');
  std::string_view fn = rest.substr(0, sp);
  std::string_view where = sp == std::string_view::npos ? "" : trim(rest.substr(sp + 1));
  if (runtime_frame(fn, where)) return std::string();
  // The file's base name and line: stable whatever folder the server was built in.
  if (auto slash = where.rfind('/'); slash != std::string_view::npos)
    where.remove_prefix(slash + 1);
  if (auto c1 = where.find(':'); c1 != std::string_view::npos) {
    if (auto c2 = where.find(':', c1 + 1); c2 != std::string_view::npos)
      where = where.substr(0, c2);
  }
  std::string out(fn);
  if (!where.empty()) out += " " + std::string(where);
  return out;
}

// The server's own frames (at most kKeyFrames) of the first stack at or after `from`.
std::vector<std::string> first_stack(std::string_view report, size_t from) {
  std::vector<std::string> frames;
  size_t pos = from;
  bool in_stack = false;
  while (pos < report.size() && frames.size() < kKeyFrames) {
    size_t nl = report.find('\n', pos);
    std::string_view line =
        report.substr(pos, nl == std::string_view::npos ? report.npos : nl - pos);
    pos = nl == std::string_view::npos ? report.size() : nl + 1;
    auto f = frame_of(line);
    if (!f) {
      if (in_stack) break;  // that stack has ended
      continue;
    }
    in_stack = true;
    if (!f->empty()) frames.push_back(*f);
  }
  return frames;
}

}  // namespace

std::optional<SanitizerReport> find_sanitizer_report(std::string_view err) {
  // ASan, LSan and TSan open with "ERROR:" or "WARNING:" and the tool's name; UBSan's is
  // "FILE:LINE:COL: runtime error: MESSAGE".
  size_t at = std::string_view::npos;
  SanitizerReport r;
  for (std::string_view tool : {"AddressSanitizer: ", "LeakSanitizer: ", "ThreadSanitizer: "}) {
    size_t p = err.find(tool);
    while (p != std::string_view::npos) {
      std::string_view before =
          err.substr(err.rfind('\n', p) == std::string_view::npos ? 0 : err.rfind('\n', p) + 1, p);
      if (before.find("ERROR: ") != std::string_view::npos ||
          before.find("WARNING: ") != std::string_view::npos)
        break;
      p = err.find(tool, p + 1);
    }
    if (p == std::string_view::npos || p >= at) continue;
    at = p;
    // "heap-buffer-overflow on address ...", "detected memory leaks", "data race (pid=1)".
    size_t from = p + tool.size(), end = err.find('\n', from);
    for (std::string_view stop : {" on ", " ("}) end = std::min(end, err.find(stop, from));
    r.kind = std::string(tool) + std::string(err.substr(from, end - from));
  }
  if (size_t p = err.find(": runtime error: "); p != std::string_view::npos && p < at) {
    size_t nl = err.rfind('\n', p);
    at = nl == std::string_view::npos ? 0 : nl + 1;
    std::string_view msg = err.substr(p + 17);
    msg = msg.substr(0, msg.find_first_of(":\n"));
    r.kind = "UndefinedBehaviorSanitizer: " + std::string(trim(msg));
    // "/src/server.c:12:5" -> "server.c:12", the place the report names first.
    std::string_view where = err.substr(at, p - at);
    if (auto slash = where.rfind('/'); slash != std::string_view::npos)
      where.remove_prefix(slash + 1);
    if (auto c1 = where.find(':'); c1 != std::string_view::npos) {
      if (auto c2 = where.find(':', c1 + 1); c2 != std::string_view::npos)
        where = where.substr(0, c2);
    }
    r.frames.push_back(std::string(where));
  }
  if (at == std::string_view::npos) return std::nullopt;
  size_t line_start = err.rfind('\n', at);
  line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
  std::string_view report = err.substr(line_start);
  // The report ends at its SUMMARY line.
  if (size_t s = report.find("SUMMARY: "); s != std::string_view::npos) {
    size_t nl = report.find('\n', s);
    report = report.substr(0, nl == std::string_view::npos ? report.size() : nl + 1);
  }
  r.text = std::string(report.substr(0, kMaxReport));
  // UBSan prints no stack unless asked (print_stacktrace=1): its place is its frame then.
  if (auto stack = first_stack(report, 0); !stack.empty()) r.frames = std::move(stack);
  // A dangling pointer is one bug however it is used next (a read, a write, a second free):
  // the place that freed the memory tells it apart.
  if (size_t fb = report.find("freed by thread"); fb != std::string_view::npos)
    r.freed = first_stack(report, fb);
  return r;
}

const char* to_string(Finding::Kind k) {
  switch (k) {
    case Finding::Kind::sanitizer:
      return "sanitizer";
    case Finding::Kind::signal:
      return "signal";
    case Finding::Kind::exit:
      return "exit";
    case Finding::Kind::unresponsive:
      return "unresponsive";
  }
  return "?";
}

std::optional<Finding> classify(std::string_view stderr_text, const std::string& ended,
                                const std::string& liveness_failure) {
  Finding f;
  if (auto r = find_sanitizer_report(stderr_text)) {
    f.kind = Finding::Kind::sanitizer;
    f.summary = r->kind;
    if (!r->frames.empty()) f.summary += " in " + r->frames[0];
    if (!r->freed.empty()) {
      f.summary += " (freed in " + r->freed[0] + ")";
      f.key = "AddressSanitizer: freed memory used";
      for (const auto& fr : r->freed) f.key += "|" + fr;
    } else {
      f.key = r->kind;
      for (const auto& fr : r->frames) f.key += "|" + fr;
    }
    f.stack = r->text;
    return f;
  }
  if (!ended.empty()) {
    bool signaled = ended.rfind("killed by ", 0) == 0;
    f.kind = signaled ? Finding::Kind::signal : Finding::Kind::exit;
    f.summary = "the server " + (signaled ? "was " + ended : "ended with " + ended);
    f.key = ended;
    return f;
  }
  if (liveness_failure.empty()) return std::nullopt;
  f.kind = Finding::Kind::unresponsive;
  std::string how = "a wrong answer";
  if (liveness_failure.find("ECONNREFUSED") != std::string::npos) {
    how = "connections refused";
  } else if (liveness_failure.find("ETIMEDOUT") != std::string::npos ||
             liveness_failure.find("within") != std::string::npos) {
    how = "no answer";
  } else if (liveness_failure.find("ECONNRESET") != std::string::npos ||
             liveness_failure.find("EPIPE") != std::string::npos) {
    how = "connections reset";
  }
  f.summary = "the server stopped answering (" + how + "): " + liveness_failure;
  f.key = "unresponsive|" + how;
  return f;
}

std::string slug(const Finding& f) {
  std::string src = f.key;
  std::string prefix;
  for (auto [name, abbrev] : {std::pair{"AddressSanitizer: ", "asan-"},
                              {"LeakSanitizer: ", "lsan-"},
                              {"ThreadSanitizer: ", "tsan-"},
                              {"UndefinedBehaviorSanitizer: ", "ubsan-"}}) {
    std::string_view n = name;
    if (src.rfind(n, 0) == 0) {
      prefix = abbrev;
      src.erase(0, n.size());
    }
  }
  std::string s = prefix;
  // The kind and the first frame's function: enough to name it, short enough for a file.
  size_t bar2 = src.find('|', src.find('|') + 1);
  src = src.substr(0, bar2);
  for (char c : src) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '_') {
      s += static_cast<char>(std::tolower(u));
    } else if (!s.empty() && s.back() != '-') {
      s += '-';
    }
    if (s.size() >= 80) break;
  }
  while (!s.empty() && s.back() == '-') s.pop_back();
  return s.empty() ? "finding" : s;
}

}  // namespace sockspec::fuzzer
