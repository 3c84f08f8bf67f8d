// Pairs the reports of both sides (by load profile; conformance cases by suite/id), checks that
// they can be compared, and applies the --fail-on rules.
#include "reports/compare/compare.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <set>

namespace sockspec::reports::compare {

namespace {

struct Side {
  std::vector<const RunReport*> conformance;
  std::map<std::string, std::vector<const LoadResult*>> profiles;  // by profile name
  std::map<std::string, std::set<std::string>> targets;            // profile -> targets
  std::set<std::string> versions;
};

// Sorts one side's reports; "" or why they cannot be compared.
std::string sort_side(const std::vector<RunReport>& reports, const std::vector<std::string>& files,
                      const char* side_name, Side& side) {
  if (reports.empty()) return std::string("no reports on the ") + side_name + " side";
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const RunReport& r = reports[i];
    const std::string file =
        i < files.size() ? files[i] : side_name + std::string(" report ") + std::to_string(i + 1);
    if (r.schema_version != kSchemaVersion)
      return file + ": report schema version " + std::to_string(r.schema_version) +
             ", this sockspec reads version " + std::to_string(kSchemaVersion);
    if (r.find_max)
      return file +
             ": a capacity search (--find-max) is not compared; compare load runs at "
             "the rate it found";
    side.versions.insert(r.meta.version);
    if (r.load) {
      side.profiles[r.load->profile].push_back(&*r.load);
      side.targets[r.load->profile].insert(r.meta.target);
    }
    if (!r.suites.empty()) side.conformance.push_back(&r);
    if (!r.load && r.suites.empty()) return file + ": holds neither cases nor a load run";
  }
  return "";
}

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ", ") + x;
  return out;
}

// Settings that make two runs of one profile different tests.
std::string shape(const LoadResult& l) {
  char b[200];
  std::snprintf(b, sizeof b, "%s %s, %u connections, %u in flight, rate %g/s, %gs",
                l.executor.c_str(), l.transport.c_str(), l.connections, l.in_flight, l.target_rate,
                l.duration_s);
  return b;
}

void check_rules(Comparison& c, std::string& error) {
  for (auto& res : c.fail_on) {
    const FailOn& rule = res.rule;
    if (is_case_count(rule.metric)) {
      CaseChangeKind kind = rule.metric == "newly-failing"   ? CaseChangeKind::newly_failing
                            : rule.metric == "newly-flaky"   ? CaseChangeKind::newly_flaky
                            : rule.metric == "newly-passing" ? CaseChangeKind::newly_passing
                            : rule.metric == "new"           ? CaseChangeKind::added
                                                             : CaseChangeKind::gone;
      double n = 0;
      for (const auto& cc : c.cases) n += cc.kind == kind;
      res.failed = past(rule, n);
      res.detail = std::to_string(static_cast<long>(n)) + " " + to_string(kind) + " of " +
                   std::to_string(c.cases_compared) + " cases compared";
      continue;
    }
    bool any = false;
    for (const auto& p : c.profiles)
      for (const auto& m : p.metrics) {
        if (m.name != rule.metric) continue;
        any = true;
        bool over = past(rule, m.change);
        std::string line = p.profile + ": " + signed_change(m, m.change) + " [" +
                           signed_change(m, m.lo) + ", " + signed_change(m, m.hi) + "], p " +
                           stats::p_text(m.p) + " (" + m.decided_by + ")";
        if (over && m.significant) {
          res.failed = true;
          line += ": past the limit and significant";
        } else if (over) {
          line += ": past the limit but not significant";
        }
        res.detail += (res.detail.empty() ? "" : "; ") + line;
      }
    if (!any) {
      error = "--fail-on '" + rule.text + "': no profile compared here has " + rule.metric +
              (rule.metric == "loss"     ? " (UDP runs with tags have it)"
               : rule.metric == "missed" ? " (open-loop runs have it)"
                                         : " (it needs load reports on both sides)");
      return;
    }
  }
}

}  // namespace

std::string signed_change(const MetricChange& m, double v) {
  char b[32];
  if (m.kind == MetricKind::fraction)
    std::snprintf(b, sizeof b, "%+.3fpp", v * 100);
  else
    std::snprintf(b, sizeof b, "%+.2f%%", v * 100);
  return b;
}

Outcome compare(const Input& in) {
  Outcome out;
  Side olds, news;
  if (auto e = sort_side(in.old_reports, in.old_files, "base", olds); !e.empty()) {
    out.error = e;
    return out;
  }
  if (auto e = sort_side(in.new_reports, in.new_files, "new", news); !e.empty()) {
    out.error = e;
    return out;
  }
  Comparison c;
  c.alpha = in.alpha;
  c.old_files = in.old_files;
  c.new_files = in.new_files;
  std::set<std::string> new_names;
  for (const auto& [name, runs] : news.profiles) new_names.insert(name);
  for (const auto& [name, runs] : olds.profiles)
    if (!new_names.count(name)) {
      out.error = "load profile '" + name + "' is only on the base side; the new side has " +
                  (new_names.empty() ? std::string("no load runs") : "profiles " + join(new_names));
      return out;
    }
  for (const auto& [name, runs] : news.profiles)
    if (!olds.profiles.count(name)) {
      out.error = "load profile '" + name + "' is only on the new side";
      return out;
    }
  if (olds.conformance.empty() != news.conformance.empty()) {
    out.error = std::string("conformance cases are only on the ") +
                (olds.conformance.empty() ? "new" : "base") + " side";
    return out;
  }
  if (olds.versions != news.versions)
    c.warnings.push_back("made by different sockspec versions: base " + join(olds.versions) +
                         ", new " + join(news.versions));
  if (!olds.conformance.empty())
    c.cases = diff_cases(olds.conformance, news.conformance, &c.cases_compared);
  for (const auto& [name, old_runs] : olds.profiles) {
    const auto& new_runs = news.profiles[name];
    std::set<std::string> shapes;
    for (auto* r : old_runs) shapes.insert(shape(*r));
    for (auto* r : new_runs) shapes.insert(shape(*r));
    if (shapes.size() > 1)
      c.warnings.push_back("profile '" + name + "': the runs were not alike (" + join(shapes) +
                           "); differences may come from that");
    ProfileComparison pc = compare_profile(old_runs, new_runs, in.alpha);
    pc.old_target = join(olds.targets[name]);
    pc.new_target = join(news.targets[name]);
    if (pc.old_target != pc.new_target)
      c.warnings.push_back("profile '" + name + "': different targets, base " + pc.old_target +
                           ", new " + pc.new_target);
    c.profiles.push_back(std::move(pc));
  }
  for (const auto& rule : in.fail_on) c.fail_on.push_back({rule, false, ""});
  std::string error;
  check_rules(c, error);
  if (!error.empty()) {
    out.error = error;
    return out;
  }
  for (const auto& r : c.fail_on)
    if (r.failed) c.exit_code = 1;
  out.comparison = std::move(c);
  return out;
}

}  // namespace sockspec::reports::compare
