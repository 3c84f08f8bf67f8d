#include "reports/junit_writer.h"

#include <cstdio>

#include "reports/text.h"

namespace sockspec::reports {

namespace {

// XML 1.0 forbids most control characters even as references; our texts are already
// escaped where they carry bytes, so any that remain are shown as \xHH.
std::string xml_escape(const std::string& s) {
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

std::string seconds(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", ms / 1000.0);
  return buf;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string failure_message(const CaseResult& c) {
  for (const auto& st : c.steps) {
    if (st.verdict == Verdict::fail || st.verdict == Verdict::error) {
      return "step " + st.path + " " + st.op + ": " + first_line(st.message);
    }
  }
  return first_line(c.reason);
}

void write_case(const SuiteResult& s, const CaseResult& c, std::ostream& out) {
  out << "    <testcase name=\"" << xml_escape(c.id) << "\" classname=\"" << xml_escape(s.name)
      << "\" time=\"" << seconds(c.duration_ms) << "\"";
  std::string body;
  switch (c.verdict) {
    case Verdict::pass:
      break;
    case Verdict::warn:
      // A failed should/may case passes the run; say why in the output.
      body = "      <system-out>" +
             xml_escape("warning (level " + c.level + "):\n" + render_failure(c, "  ")) +
             "</system-out>\n";
      break;
    case Verdict::fail:
    case Verdict::xpass: {
      std::string msg = c.verdict == Verdict::xpass
                            ? "passed, but is listed as an expected failure: " + c.reason
                            : failure_message(c);
      body = "      <failure message=\"" + xml_escape(msg) + "\" type=\"" + to_string(c.verdict) +
             "\">" + xml_escape(render_failure(c, "")) + "</failure>\n";
      break;
    }
    case Verdict::error:
      body = "      <error message=\"" + xml_escape(failure_message(c)) + "\" type=\"error\">" +
             xml_escape(render_failure(c, "")) + "</error>\n";
      break;
    case Verdict::skip:
      body = "      <skipped message=\"" + xml_escape(c.reason) + "\"/>\n";
      break;
    case Verdict::xfail:
      body = "      <skipped message=\"" + xml_escape("expected failure: " + c.reason) + "\"/>\n";
      break;
  }
  if (body.empty()) {
    out << "/>\n";
  } else {
    out << ">\n" << body << "    </testcase>\n";
  }
}

}  // namespace

void write_junit(const RunReport& r, std::ostream& out) {
  Counts all = r.counts();
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out << "<testsuites name=\"sockspec\" tests=\"" << all.total() << "\" failures=\""
      << all.fail + all.xpass << "\" errors=\"" << all.error << "\" skipped=\""
      << all.skip + all.xfail << "\" time=\"" << seconds(r.meta.duration_ms) << "\">\n";
  if (r.load) {
    const LoadResult& l = *r.load;
    size_t failed = 0;
    for (const auto& t : l.thresholds) failed += t.passed ? 0 : 1;
    size_t tests = l.thresholds.size() + 1;
    out << "  <testsuite name=\"load/" << xml_escape(l.profile) << "\" tests=\"" << tests
        << "\" failures=\"" << failed + (l.rate_kept ? 0 : 1)
        << "\" errors=\"0\" skipped=\"0\" time=\"" << seconds(l.duration_s * 1000)
        << "\" timestamp=\"" << xml_escape(r.meta.started_at) << "\" hostname=\""
        << xml_escape(r.meta.host) << "\">\n";
    out << "    <testcase name=\"schedule kept\" classname=\"load." << xml_escape(l.profile)
        << "\" time=\"0\"";
    if (l.rate_kept) {
      out << "/>\n";
    } else {
      out << ">\n      <failure message=\"" << l.missed_starts << " of " << l.scheduled
          << " scheduled iterations never started\" type=\"schedule\"/>\n    </testcase>\n";
    }
    for (const auto& t : l.thresholds) {
      out << "    <testcase name=\"" << xml_escape(t.expression) << "\" classname=\"load."
          << xml_escape(l.profile) << "\" time=\"0\"";
      if (t.passed) {
        out << "/>\n";
      } else {
        out << ">\n      <failure message=\""
            << xml_escape(t.expression + " failed: actual " + t.shown)
            << "\" type=\"threshold\"/>\n    </testcase>\n";
      }
    }
    out << "  </testsuite>\n";
  }
  for (const auto& s : r.suites) {
    Counts c = counts_of(s);
    double ms = 0;
    for (const auto& cs : s.cases) ms += cs.duration_ms;
    out << "  <testsuite name=\"" << xml_escape(s.name) << "\" tests=\"" << c.total()
        << "\" failures=\"" << c.fail + c.xpass << "\" errors=\"" << c.error << "\" skipped=\""
        << c.skip + c.xfail << "\" time=\"" << seconds(ms) << "\" timestamp=\""
        << xml_escape(r.meta.started_at) << "\" hostname=\"" << xml_escape(r.meta.host) << "\">\n";
    out << "    <properties>\n"
        << "      <property name=\"target\" value=\"" << xml_escape(r.meta.target) << "\"/>\n"
        << "      <property name=\"seed\" value=\"" << r.meta.seed << "\"/>\n"
        << "      <property name=\"file\" value=\"" << xml_escape(s.file) << "\"/>\n"
        << "    </properties>\n";
    for (const auto& cs : s.cases) write_case(s, cs, out);
    out << "  </testsuite>\n";
  }
  out << "</testsuites>\n";
}

}  // namespace sockspec::reports
