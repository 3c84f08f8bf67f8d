#include "reports/junit_writer.h"

#include <cstdio>

#include "reports/text.h"

namespace sockspec::reports {

namespace {

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
  out << "    <testcase name=\"" << markup_escape(c.id) << "\" classname=\""
      << markup_escape(s.name) << "\" time=\"" << seconds(c.duration_ms) << "\"";
  std::string body;
  switch (c.verdict) {
    case Verdict::pass:
      break;
    case Verdict::warn:
      // A failed should/may case passes the run; say why in the output.
      body = "      <system-out>" +
             markup_escape("warning (level " + c.level + "):\n" + render_failure(c, "  ")) +
             "</system-out>\n";
      break;
    case Verdict::fail:
    case Verdict::xpass: {
      std::string msg = c.verdict == Verdict::xpass
                            ? "passed, but is listed as an expected failure: " + c.reason
                            : failure_message(c);
      body = "      <failure message=\"" + markup_escape(msg) + "\" type=\"" +
             to_string(c.verdict) + "\">" + markup_escape(render_failure(c, "")) + "</failure>\n";
      break;
    }
    case Verdict::error:
      body = "      <error message=\"" + markup_escape(failure_message(c)) + "\" type=\"error\">" +
             markup_escape(render_failure(c, "")) + "</error>\n";
      break;
    case Verdict::skip:
      body = "      <skipped message=\"" + markup_escape(c.reason) + "\"/>\n";
      break;
    case Verdict::xfail:
      body =
          "      <skipped message=\"" + markup_escape("expected failure: " + c.reason) + "\"/>\n";
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
  bool unreachable = r.exit_code == 3 && r.suites.empty() && !r.load;
  out << "<testsuites name=\"sockspec\" tests=\"" << all.total() + unreachable << "\" failures=\""
      << all.fail + all.xpass << "\" errors=\"" << all.error + unreachable << "\" skipped=\""
      << all.skip + all.xfail << "\" time=\"" << seconds(r.meta.duration_ms) << "\">\n";
  if (r.load) {
    const LoadResult& l = *r.load;
    size_t failed = 0;
    for (const auto& t : l.thresholds) failed += t.passed ? 0 : 1;
    size_t tests = l.thresholds.size() + 1;
    out << "  <testsuite name=\"load/" << markup_escape(l.profile) << "\" tests=\"" << tests
        << "\" failures=\"" << failed + (l.rate_kept ? 0 : 1)
        << "\" errors=\"0\" skipped=\"0\" time=\"" << seconds(l.duration_s * 1000)
        << "\" timestamp=\"" << markup_escape(r.meta.started_at) << "\" hostname=\""
        << markup_escape(r.meta.host) << "\">\n";
    out << "    <testcase name=\"schedule kept\" classname=\"load." << markup_escape(l.profile)
        << "\" time=\"0\"";
    if (l.rate_kept) {
      out << "/>\n";
    } else {
      out << ">\n      <failure message=\"" << l.missed_starts << " of " << l.scheduled
          << " scheduled iterations never started\" type=\"schedule\"/>\n    </testcase>\n";
    }
    for (const auto& t : l.thresholds) {
      out << "    <testcase name=\"" << markup_escape(t.expression) << "\" classname=\"load."
          << markup_escape(l.profile) << "\" time=\"0\"";
      if (t.passed) {
        out << "/>\n";
      } else {
        out << ">\n      <failure message=\""
            << markup_escape(t.expression + " failed: actual " + t.shown)
            << "\" type=\"threshold\"/>\n    </testcase>\n";
      }
    }
    out << "  </testsuite>\n";
  }
  if (unreachable) {
    // The target was never reached: one errored testcase, so CI shows why and what the
    // server said.
    std::string why;
    for (const auto& n : r.notes) why += (why.empty() ? "" : "; ") + n;
    out << "  <testsuite name=\"sockspec\" tests=\"1\" failures=\"0\" errors=\"1\" "
           "skipped=\"0\" time=\""
        << seconds(r.meta.duration_ms) << "\" timestamp=\"" << markup_escape(r.meta.started_at)
        << "\" hostname=\"" << markup_escape(r.meta.host) << "\">\n"
        << "    <testcase name=\"target reachable\" classname=\"sockspec\" time=\"0\">\n"
        << "      <error message=\"" << markup_escape(why) << "\" type=\"unreachable\"/>\n";
    if (r.server) {
      out << "      <system-out>" << markup_escape(r.server->stdout_text) << "</system-out>\n"
          << "      <system-err>" << markup_escape(r.server->stderr_text) << "</system-err>\n";
    }
    out << "    </testcase>\n  </testsuite>\n";
  }
  for (const auto& s : r.suites) {
    Counts c = counts_of(s);
    double ms = 0;
    for (const auto& cs : s.cases) ms += cs.duration_ms;
    out << "  <testsuite name=\"" << markup_escape(s.name) << "\" tests=\"" << c.total()
        << "\" failures=\"" << c.fail + c.xpass << "\" errors=\"" << c.error << "\" skipped=\""
        << c.skip + c.xfail << "\" time=\"" << seconds(ms) << "\" timestamp=\""
        << markup_escape(r.meta.started_at) << "\" hostname=\"" << markup_escape(r.meta.host)
        << "\">\n";
    out << "    <properties>\n"
        << "      <property name=\"target\" value=\"" << markup_escape(r.meta.target) << "\"/>\n"
        << "      <property name=\"seed\" value=\"" << r.meta.seed << "\"/>\n"
        << "      <property name=\"file\" value=\"" << markup_escape(s.file) << "\"/>\n"
        << "    </properties>\n";
    for (const auto& cs : s.cases) write_case(s, cs, out);
    out << "  </testsuite>\n";
  }
  out << "</testsuites>\n";
}

}  // namespace sockspec::reports
