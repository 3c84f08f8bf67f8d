// The machine-read forms of a comparison: JUnit (one testcase per --fail-on rule), GitHub
// workflow annotations, and JSON (every figure, for scripts).
#include <nlohmann/json.hpp>

#include "reports/annotations_writer.h"
#include "reports/compare/writers.h"
#include "reports/text.h"

namespace sockspec::reports::compare {

void write_junit(const Comparison& c, std::ostream& out) {
  unsigned failed = 0;
  for (const auto& r : c.fail_on) failed += r.failed;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"sockspec compare\" "
         "tests=\""
      << c.fail_on.size() << "\" failures=\"" << failed
      << "\">\n<testsuite name=\"compare\" tests=\"" << c.fail_on.size() << "\" failures=\""
      << failed << "\">\n";
  for (const auto& r : c.fail_on) {
    out << "<testcase classname=\"compare\" name=\"" << markup_escape(r.rule.text) << "\">";
    if (r.failed)
      out << "<failure message=\"" << markup_escape(r.rule.text + " failed") << "\">"
          << markup_escape(r.detail) << "</failure>";
    else
      out << "<system-out>" << markup_escape(r.detail) << "</system-out>";
    out << "</testcase>\n";
  }
  out << "</testsuite>\n</testsuites>\n";
}

void write_github_annotations(const Comparison& c, std::ostream& out) {
  for (const auto& r : c.fail_on)
    if (r.failed) annotate(out, "error", "", "compare: " + r.rule.text, r.detail);
  for (const auto& cc : c.cases)
    if (cc.kind == CaseChangeKind::newly_failing || cc.kind == CaseChangeKind::newly_flaky)
      annotate(
          out, "warning", cc.file, std::string(to_string(cc.kind)) + ": " + cc.id,
          cc.old_verdict + " -> " + cc.new_verdict + (cc.reason.empty() ? "" : ": " + cc.reason));
  for (const auto& w : c.warnings) annotate(out, "warning", "", "compare", w);
}

void write_json(const Comparison& c, std::ostream& out) {
  using nlohmann::json;
  json j;
  j["kind"] = "comparison";
  j["alpha"] = c.alpha;
  j["base"] = c.old_files;
  j["new"] = c.new_files;
  j["exit_code"] = c.exit_code;
  j["warnings"] = c.warnings;
  j["cases_compared"] = c.cases_compared;
  j["cases"] = json::array();
  for (const auto& cc : c.cases)
    j["cases"].push_back({{"change", to_string(cc.kind)},
                          {"id", cc.id},
                          {"title", cc.title},
                          {"file", cc.file},
                          {"base", cc.old_verdict},
                          {"new", cc.new_verdict},
                          {"reason", cc.reason}});
  j["profiles"] = json::array();
  for (const auto& p : c.profiles) {
    json jp{{"profile", p.profile},
            {"base_target", p.old_target},
            {"new_target", p.new_target},
            {"base_runs", p.old_runs},
            {"new_runs", p.new_runs},
            {"notes", p.notes},
            {"distribution",
             {{"prob_new_greater", p.distribution.prob_b_greater},
              {"p", p.distribution.p},
              {"test", "mann-whitney-u"}}}};
    jp["metrics"] = json::array();
    for (const auto& m : p.metrics) {
      json jm{{"name", m.name},
              {"unit", m.kind == MetricKind::latency ? "ns"
                       : m.kind == MetricKind::rate  ? "per_second"
                                                     : "fraction"},
              {"change_is", m.kind == MetricKind::fraction ? "difference" : "relative"},
              {"base", m.old_value},
              {"new", m.new_value},
              {"change", m.change},
              {"interval", {m.lo, m.hi}},
              {"p", m.p},
              {"significant", m.significant},
              {"decided_by", m.decided_by},
              {"method", m.method},
              {"base_runs", m.old_runs},
              {"new_runs", m.new_runs}};
      if (m.p_within) jm["p_within"] = *m.p_within;
      if (m.p_across) jm["p_across"] = *m.p_across;
      jp["metrics"].push_back(jm);
    }
    j["profiles"].push_back(jp);
  }
  j["fail_on"] = json::array();
  for (const auto& r : c.fail_on)
    j["fail_on"].push_back({{"rule", r.rule.text}, {"failed", r.failed}, {"detail", r.detail}});
  out << j.dump(2) << "\n";
}

}  // namespace sockspec::reports::compare
