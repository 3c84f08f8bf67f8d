// The conformance half of a comparison: each case's verdicts on both sides, by suite/id.
#include <algorithm>
#include <map>

#include "reports/compare/compare.h"

namespace sockspec::reports::compare {

const char* to_string(CaseChangeKind k) {
  switch (k) {
    case CaseChangeKind::newly_failing:
      return "newly failing";
    case CaseChangeKind::newly_flaky:
      return "newly flaky";
    case CaseChangeKind::newly_passing:
      return "newly passing";
    case CaseChangeKind::added:
      return "new";
    case CaseChangeKind::gone:
      return "gone";
    case CaseChangeKind::changed:
      return "changed";
  }
  return "?";
}

namespace {

struct Seen {
  std::string title, file, reason;
  std::vector<Verdict> verdicts;  // one per run that had the case
};

using Cases = std::map<std::string, Seen>;

Cases collect(const std::vector<const RunReport*>& side) {
  Cases out;
  for (const RunReport* r : side)
    for (const auto& s : r->suites)
      for (const auto& c : s.cases) {
        Seen& seen = out[s.name + "/" + c.id];
        seen.title = c.title;
        seen.file = s.file;
        seen.verdicts.push_back(c.verdict);
        if (is_failing(c.verdict) && seen.reason.empty()) {
          seen.reason = c.reason;
          for (const auto& st : c.steps)
            if (seen.reason.empty() && is_failing(st.verdict)) seen.reason = st.message;
        }
      }
  return out;
}

// "fail", or "pass 2 / fail 1" when the runs disagree.
std::string describe(const std::vector<Verdict>& v) {
  std::map<std::string, int> n;
  for (Verdict x : v) ++n[to_string(x)];
  if (n.size() == 1) return n.begin()->first;
  std::string out;
  for (const auto& [name, count] : n)
    out += (out.empty() ? "" : " / ") + name + " " + std::to_string(count);
  return out;
}

int failing(const std::vector<Verdict>& v) {
  return static_cast<int>(std::count_if(v.begin(), v.end(), is_failing));
}

}  // namespace

std::vector<CaseChange> diff_cases(const std::vector<const RunReport*>& old_side,
                                   const std::vector<const RunReport*>& new_side,
                                   unsigned* compared) {
  Cases olds = collect(old_side), news = collect(new_side);
  std::vector<CaseChange> out;
  unsigned both = 0;
  for (const auto& [id, n] : news) {
    CaseChange c;
    c.id = id;
    c.title = n.title;
    c.file = n.file;
    c.new_verdict = describe(n.verdicts);
    c.reason = n.reason;
    auto o = olds.find(id);
    if (o == olds.end()) {
      c.kind = CaseChangeKind::added;
      c.old_verdict = "-";
      out.push_back(c);
      continue;
    }
    ++both;
    c.old_verdict = describe(o->second.verdicts);
    int old_fail = failing(o->second.verdicts), new_fail = failing(n.verdicts);
    int new_runs = static_cast<int>(n.verdicts.size());
    if (old_fail == 0 && new_fail == new_runs)
      c.kind = CaseChangeKind::newly_failing;
    else if (old_fail == 0 && new_fail > 0)
      c.kind = CaseChangeKind::newly_flaky;
    else if (old_fail > 0 && new_fail == 0)
      c.kind = CaseChangeKind::newly_passing;
    else if (c.old_verdict != c.new_verdict)
      c.kind = CaseChangeKind::changed;
    else
      continue;
    if (new_fail == 0) c.reason.clear();
    out.push_back(c);
  }
  for (const auto& [id, o] : olds)
    if (!news.count(id)) {
      CaseChange c;
      c.kind = CaseChangeKind::gone;
      c.id = id;
      c.title = o.title;
      c.file = o.file;
      c.old_verdict = describe(o.verdicts);
      c.new_verdict = "-";
      out.push_back(c);
    }
  std::stable_sort(out.begin(), out.end(), [](const CaseChange& a, const CaseChange& b) {
    return static_cast<int>(a.kind) < static_cast<int>(b.kind);
  });
  if (compared) *compared = both;
  return out;
}

}  // namespace sockspec::reports::compare
