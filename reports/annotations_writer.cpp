#include "reports/annotations_writer.h"

#include "reports/text.h"

namespace sockspec::reports {

std::string annotation_escape(const std::string& s, bool property) {
  std::string out;
  for (char c : s) {
    if (c == '%') {
      out += "%25";
    } else if (c == '\r') {
      out += "%0D";
    } else if (c == '\n') {
      out += "%0A";
    } else if (property && c == ':') {
      out += "%3A";
    } else if (property && c == ',') {
      out += "%2C";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void annotate(std::ostream& out, const char* level, const std::string& file,
              const std::string& title, std::string message) {
  while (!message.empty() && message.back() == '\n') message.pop_back();
  out << "::" << level;
  char sep = ' ';
  if (!file.empty()) {
    out << sep << "file=" << annotation_escape(file, true);
    sep = ',';
  }
  out << sep << "title=" << annotation_escape(title, true)
      << "::" << annotation_escape(message, false) << "\n";
}

void write_github_annotations(const RunReport& r, std::ostream& out) {
  for (const auto& s : r.suites) {
    for (const auto& c : s.cases) {
      bool failing = is_failing(c.verdict);
      if (!failing && c.verdict != Verdict::warn) continue;
      std::string title = std::string(to_string(c.verdict)) + " " + s.name + "/" + c.id;
      if (!c.title.empty()) title += ": " + c.title;
      std::string message = render_failure(c, "");
      if (message.empty()) message = c.reason;
      annotate(out, failing ? "error" : "warning", s.file, title, message);
    }
  }
  if (r.load) {
    for (const auto& t : r.load->thresholds) {
      if (t.passed) continue;
      annotate(out, "error", "", "threshold failed: " + t.expression,
               r.load->profile + ": " + t.expression + " (actual " + t.shown + ")");
    }
  }
}

}  // namespace sockspec::reports
