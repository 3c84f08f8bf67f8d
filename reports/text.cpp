#include "reports/text.h"

#include <cstdio>

namespace sockspec::reports {

std::string render_mismatch(const Mismatch& m, const std::string& indent) {
  std::string s;
  s += indent + "first difference at offset " + std::to_string(m.offset) + " (expected " +
       std::to_string(m.expected_size) + " bytes, got " + std::to_string(m.actual_size) + ")\n";
  std::string at = "@" + std::to_string(m.window_start);
  s += indent + "expected " + at + ": \"" + m.expected_text + "\"\n";
  s += indent + "actual   " + at + ": \"" + m.actual_text + "\"\n";
  s += indent + "expected hex: " + m.expected_hex + "\n";
  s += indent + "actual   hex: " + m.actual_hex + "\n";
  return s;
}

std::string render_failure(const CaseResult& c, const std::string& indent) {
  std::string s;
  for (const auto& st : c.steps) {
    if (st.verdict == Verdict::pass || st.verdict == Verdict::skip) continue;
    s += indent + "step " + st.path + " " + st.op;
    if (!st.label.empty()) s += " (" + st.label + ")";
    s += ": " + st.message + "\n";
    if (!st.errno_name.empty()) s += indent + "  errno: " + st.errno_name + "\n";
    if (st.mismatch) s += render_mismatch(*st.mismatch, indent + "  ");
  }
  if (s.empty() && !c.reason.empty()) s += indent + c.reason + "\n";
  if (!c.captures.empty()) {
    s += indent + "captured:";
    for (size_t i = 0; i < c.captures.size(); ++i) {
      s += (i ? ", " : " ") + c.captures[i].first + "=\"" + c.captures[i].second + "\"";
    }
    s += "\n";
  }
  if (!c.impairment.empty()) s += indent + "network: " + c.impairment + "\n";
  if (!c.rerun.empty()) s += indent + "rerun: " + c.rerun + "\n";
  return s;
}

std::string render_counts(const Counts& c) {
  std::string s;
  auto part = [&](uint64_t n, const char* what) {
    if (n == 0) return;
    s += (s.empty() ? "" : ", ") + std::to_string(n) + " " + what;
  };
  part(c.pass, "passed");
  part(c.fail, "failed");
  part(c.error, "errors");
  part(c.warn, "warnings");
  part(c.skip, "skipped");
  part(c.xfail, "xfailed");
  part(c.xpass, "xpassed");
  return s.empty() ? "0 cases" : s;
}

std::string format_ms(double ms) {
  char buf[32];
  if (ms < 10) {
    std::snprintf(buf, sizeof buf, "%.1fms", ms);
  } else if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%.0fms", ms);
  } else {
    std::snprintf(buf, sizeof buf, "%.2fs", ms / 1000);
  }
  return buf;
}

std::string markup_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out;
}

}  // namespace sockspec::reports
