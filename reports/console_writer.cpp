#include "reports/console_writer.h"

#include <cctype>

#include "reports/text.h"

namespace sockspec::reports {

namespace {

const char* color_of(Verdict v) {
  switch (v) {
    case Verdict::pass:
      return "\033[32m";
    case Verdict::fail:
    case Verdict::error:
    case Verdict::xpass:
      return "\033[31m";
    case Verdict::warn:
    case Verdict::xfail:
      return "\033[33m";
    case Verdict::skip:
      return "\033[36m";
  }
  return "";
}

std::string tag(Verdict v, const ConsoleStyle& style) {
  std::string t = to_string(v);
  for (char& ch : t) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  t.resize(5, ' ');
  if (!style.color) return t;
  return std::string(color_of(v)) + t + "\033[0m";
}

}  // namespace

void write_case_line(const std::string& suite, const CaseResult& c, const ConsoleStyle& style,
                     std::ostream& out) {
  out << tag(c.verdict, style) << " " << suite << "/" << c.id;
  if (c.verdict == Verdict::skip || c.verdict == Verdict::xfail) {
    out << "  (" << c.reason << ")\n";
    return;
  }
  out << "  (" << format_ms(c.duration_ms) << ")\n";
  if (c.verdict == Verdict::xpass) {
    out << "      passed, but is listed as an expected failure: " << c.reason << "\n";
    if (!c.rerun.empty()) out << "      rerun: " << c.rerun << "\n";
  } else if (is_failing(c.verdict) || c.verdict == Verdict::warn) {
    out << render_failure(c, "      ");
  }
}

void write_summary(const RunReport& r, const ConsoleStyle& style, std::ostream& out) {
  Counts c = r.counts();
  std::vector<std::pair<const SuiteResult*, const CaseResult*>> failing;
  for (const auto& s : r.suites) {
    for (const auto& cs : s.cases) {
      if (is_failing(cs.verdict)) failing.emplace_back(&s, &cs);
    }
  }
  if (!failing.empty()) {
    out << "\nfailures:\n";
    for (auto [s, cs] : failing) {
      out << "  " << tag(cs->verdict, style) << " " << s->name << "/" << cs->id;
      if (!cs->spec_ref.empty()) out << "  [" << cs->spec_ref << "]";
      out << "\n";
    }
  }
  for (const auto& n : r.notes) out << "note: " << n << "\n";
  out << "\n"
      << render_counts(c) << " in " << format_ms(r.meta.duration_ms) << " (seed " << r.meta.seed
      << ")\n";
}

}  // namespace sockspec::reports
