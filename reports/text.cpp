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

namespace {
// "2000", "0.5", "1250000": plain digits at any rate (%g would write 1e+06).
std::string plain(double v, int decimals) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}
}  // namespace

std::string window_summary(const LoadResult& l) {
  if (l.in_flight_source.empty()) return "";
  char buf[320];
  if (l.in_flight_source == "auto") {
    std::snprintf(buf, sizeof buf,
                  "%u in flight per connection (auto: %s/s over %u connection(s), a %u ms "
                  "timeout, a quarter more; all windows within %llu MiB)",
                  l.in_flight, plain(l.target_rate, l.target_rate < 10 ? 3 : 0).c_str(),
                  l.connections, l.window_timeout_ms,
                  static_cast<unsigned long long>(l.window_memory_limit >> 20));
  } else if (l.in_flight_needed > 0) {
    std::snprintf(buf, sizeof buf,
                  "%u in flight per connection (%s; the rate with a %u ms timeout needs up to "
                  "%u)",
                  l.in_flight, l.in_flight_source.c_str(), l.window_timeout_ms, l.in_flight_needed);
  } else {
    std::snprintf(buf, sizeof buf, "%u in flight per connection (%s)", l.in_flight,
                  l.in_flight_source.c_str());
  }
  return buf;
}

std::string window_full_message(const LoadResult& l) {
  if (l.window_full_starts == 0) return "";
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "every window of %u was full for %s s (%llu starts missed): an awaited "
                "request holds its slot until its reply or its %u ms timeout, a lost "
                "datagram for all of it; ",
                l.in_flight, plain(l.window_full_s, l.window_full_s < 1 ? 2 : 1).c_str(),
                static_cast<unsigned long long>(l.window_full_starts), l.window_timeout_ms);
  std::string what = buf;
  if (l.in_flight < l.in_flight_needed && l.in_flight_source == "auto") {
    what += "the auto window was held to " + std::to_string(l.in_flight) +
            " by its memory limit (" + std::to_string(l.window_memory_limit >> 20) +
            " MiB): raise connections";
  } else if (l.in_flight < l.in_flight_needed) {
    what += "raise in_flight to >= " + std::to_string(l.in_flight_needed) +
            " (or \"auto\") or connections";
  } else {
    what += "replies come slower than the rate: raise in_flight above " +
            std::to_string(l.in_flight) + " or connections, or lower the rate";
  }
  return what;
}

}  // namespace sockspec::reports
