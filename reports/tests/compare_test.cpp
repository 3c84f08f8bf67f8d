// `sockspec compare` without sockets: the --fail-on rules, the conformance diff, pairing and
// its errors, and what each writer shows.
#include "reports/compare/compare.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "reports/compare/writers.h"

namespace sockspec::reports::compare {
namespace {

TEST(FailOn, ParsesRulesAsPeopleWriteThem) {
  auto r = parse_fail_on("p99 > +10%");
  ASSERT_TRUE(r.rule) << r.error;
  EXPECT_EQ(r.rule->metric, "p99");
  EXPECT_EQ(r.rule->op, FailOn::Op::gt);
  EXPECT_DOUBLE_EQ(r.rule->value, 0.10);
  EXPECT_EQ(r.rule->unit, FailOn::Unit::relative);
  r = parse_fail_on("rate<-5%");
  ASSERT_TRUE(r.rule) << r.error;
  EXPECT_DOUBLE_EQ(r.rule->value, -0.05);
  EXPECT_TRUE(past(*r.rule, -0.06));
  EXPECT_FALSE(past(*r.rule, -0.04));
  r = parse_fail_on("errors >= +0.1pp");
  ASSERT_TRUE(r.rule) << r.error;
  EXPECT_EQ(r.rule->op, FailOn::Op::ge);
  EXPECT_DOUBLE_EQ(r.rule->value, 0.001);
  r = parse_fail_on("newly-failing > 0");
  ASSERT_TRUE(r.rule) << r.error;
  EXPECT_EQ(r.rule->unit, FailOn::Unit::count);
  EXPECT_TRUE(past(*r.rule, 1));
  EXPECT_FALSE(past(*r.rule, 0));
}

TEST(FailOn, SaysWhatIsWrong) {
  EXPECT_NE(parse_fail_on("p99 +10%").error.find("expected METRIC > CHANGE"), std::string::npos);
  EXPECT_NE(parse_fail_on("p98 > +10%").error.find("unknown metric 'p98'"), std::string::npos);
  EXPECT_NE(parse_fail_on("p99 > 2ms").error.find("not a number"), std::string::npos);
  EXPECT_NE(parse_fail_on("p99 > 10").error.find("relative"), std::string::npos);
  EXPECT_NE(parse_fail_on("loss > +1%").error.find("percentage points"), std::string::npos);
  EXPECT_NE(parse_fail_on("gone > 1%").error.find("number of cases"), std::string::npos);
  EXPECT_NE(parse_fail_on("rate < -100%").error.find("below zero"), std::string::npos);
}

CaseResult case_of(const std::string& id, Verdict v, const std::string& reason = "") {
  CaseResult c;
  c.id = id;
  c.title = "case " + id;
  c.verdict = v;
  c.reason = reason;
  return c;
}

RunReport conformance(std::vector<CaseResult> cases) {
  RunReport r;
  r.meta.version = "1.0";
  SuiteResult s;
  s.name = "echo-tcp";
  s.file = "scenarios/suites/echo-tcp.json";
  s.cases = std::move(cases);
  r.suites.push_back(s);
  return r;
}

TEST(CompareCases, NamesEachChangeNewlyFailingFirst) {
  RunReport base = conformance({case_of("a", Verdict::pass), case_of("b", Verdict::pass),
                                case_of("c", Verdict::fail), case_of("d", Verdict::pass),
                                case_of("e", Verdict::pass)});
  RunReport now = conformance({case_of("a", Verdict::pass), case_of("b", Verdict::fail, "no echo"),
                               case_of("c", Verdict::pass), case_of("e", Verdict::skip),
                               case_of("f", Verdict::pass)});
  unsigned compared = 0;
  auto changes = diff_cases({&base}, {&now}, &compared);
  EXPECT_EQ(compared, 4u);
  ASSERT_EQ(changes.size(), 5u);
  EXPECT_EQ(changes[0].kind, CaseChangeKind::newly_failing);
  EXPECT_EQ(changes[0].id, "echo-tcp/b");
  EXPECT_EQ(changes[0].reason, "no echo");
  EXPECT_EQ(changes[1].kind, CaseChangeKind::newly_passing);
  EXPECT_EQ(changes[1].id, "echo-tcp/c");
  EXPECT_EQ(changes[2].kind, CaseChangeKind::added);
  EXPECT_EQ(changes[2].id, "echo-tcp/f");
  EXPECT_EQ(changes[3].kind, CaseChangeKind::gone);
  EXPECT_EQ(changes[3].id, "echo-tcp/d");
  EXPECT_EQ(changes[4].kind, CaseChangeKind::changed);
  EXPECT_EQ(changes[4].old_verdict, "pass");
  EXPECT_EQ(changes[4].new_verdict, "skip");
}

TEST(CompareCases, RunsThatDisagreeAreFlaky) {
  RunReport base = conformance({case_of("a", Verdict::pass)});
  RunReport fail = conformance({case_of("a", Verdict::fail)});
  auto changes = diff_cases({&base, &base}, {&base, &fail}, nullptr);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, CaseChangeKind::newly_flaky);
  EXPECT_EQ(changes[0].new_verdict, "fail 1 / pass 1");
}

RunReport load_report(const std::string& profile, double median_ns, uint64_t seed,
                      uint64_t errors = 0) {
  RunReport r;
  r.kind = "load";
  r.meta.version = "1.0";
  r.meta.target = "builtin:echo";
  LoadResult l;
  l.profile = profile;
  l.executor = "constant-vus";
  l.transport = "tcp";
  l.connections = 1;
  l.duration_s = 5;
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> d(std::log(median_ns), 0.3);
  for (int s = 0; s < 5; ++s) {
    Interval i;
    i.start_s = s;
    for (int k = 0; k < 4000; ++k) {
      auto v = static_cast<uint64_t>(d(rng));
      l.latency.record(v);
      i.latency.record(v);
      ++i.iterations;
    }
    i.p50_ns = i.latency.percentile(50);
    i.p99_ns = i.latency.percentile(99);
    l.series.push_back(std::move(i));
  }
  l.iterations = l.latency.count();
  l.errors = errors;
  l.achieved_rate = static_cast<double>(l.iterations) / l.duration_s;
  r.load = std::move(l);
  return r;
}

Input input(std::vector<RunReport> base, std::vector<RunReport> now,
            std::vector<std::string> rules) {
  Input in;
  in.old_reports = std::move(base);
  in.new_reports = std::move(now);
  for (const auto& t : rules) {
    auto r = parse_fail_on(t);
    EXPECT_TRUE(r.rule) << r.error;
    if (r.rule) in.fail_on.push_back(*r.rule);
  }
  return in;
}

TEST(Compare, ASlowerServerFailsTheRuleAndASameOneDoesNot) {
  auto slower = compare(input({load_report("rr", 50'000, 1)}, {load_report("rr", 60'000, 2)},
                              {"p50 > +10%", "rate < -50%"}));
  ASSERT_TRUE(slower.comparison) << slower.error;
  const Comparison& c = *slower.comparison;
  EXPECT_EQ(c.exit_code, 1);
  ASSERT_EQ(c.fail_on.size(), 2u);
  EXPECT_TRUE(c.fail_on[0].failed) << c.fail_on[0].detail;
  EXPECT_NE(c.fail_on[0].detail.find("past the limit and significant"), std::string::npos);
  EXPECT_FALSE(c.fail_on[1].failed);

  auto same = compare(input({load_report("rr", 50'000, 1)}, {load_report("rr", 50'000, 2)},
                            {"p50 > +10%", "p99 > +10%"}));
  ASSERT_TRUE(same.comparison) << same.error;
  EXPECT_EQ(same.comparison->exit_code, 0);

  // Past the limit but not significant: 3 runs a side with a wide spread.
  std::vector<RunReport> olds, news;
  for (double m : {40'000.0, 50'000.0, 62'000.0})
    olds.push_back(load_report("rr", m, static_cast<uint64_t>(m) + 10));
  for (double m : {44'000.0, 58'000.0, 70'000.0})
    news.push_back(load_report("rr", m, static_cast<uint64_t>(m) + 20));
  auto drift = compare(input(olds, news, {"p50 > +5%"}));
  ASSERT_TRUE(drift.comparison) << drift.error;
  EXPECT_EQ(drift.comparison->exit_code, 0);
  EXPECT_NE(drift.comparison->fail_on[0].detail.find("past the limit but not significant"),
            std::string::npos)
      << drift.comparison->fail_on[0].detail;
}

TEST(Compare, ErrorsAreCountedInPoints) {
  auto c = compare(input({load_report("rr", 50'000, 1, 0)}, {load_report("rr", 50'000, 1, 400)},
                         {"errors > +1pp"}));
  ASSERT_TRUE(c.comparison) << c.error;
  EXPECT_EQ(c.comparison->exit_code, 1) << c.comparison->fail_on[0].detail;
}

TEST(Compare, ReportsThatCannotBeComparedSaySo) {
  auto unpaired = compare(input({load_report("rr", 1, 1)}, {load_report("other", 1, 1)}, {}));
  EXPECT_FALSE(unpaired.comparison);
  EXPECT_NE(unpaired.error.find("'rr' is only on the base side"), std::string::npos)
      << unpaired.error;
  RunReport future = load_report("rr", 1, 1);
  future.schema_version = kSchemaVersion + 1;
  Input in = input({load_report("rr", 1, 1)}, {future}, {});
  in.new_files = {"new.json"};
  auto version = compare(in);
  EXPECT_NE(version.error.find("new.json: report schema version"), std::string::npos)
      << version.error;
  auto no_loss =
      compare(input({load_report("rr", 1, 1)}, {load_report("rr", 1, 2)}, {"loss > +1pp"}));
  EXPECT_NE(no_loss.error.find("no profile compared here has loss"), std::string::npos)
      << no_loss.error;
  auto one_sided =
      compare(input({conformance({case_of("a", Verdict::pass)})}, {load_report("rr", 1, 1)}, {}));
  EXPECT_FALSE(one_sided.comparison);
}

TEST(Compare, DifferentTargetsAndVersionsAreWarnings) {
  RunReport other = load_report("rr", 50'000, 2);
  other.meta.target = "127.0.0.1:7000";
  other.meta.version = "1.1";
  auto c = compare(input({load_report("rr", 50'000, 1)}, {other}, {}));
  ASSERT_TRUE(c.comparison) << c.error;
  ASSERT_EQ(c.comparison->warnings.size(), 2u);
  EXPECT_NE(c.comparison->warnings[0].find("different sockspec versions"), std::string::npos);
  EXPECT_NE(c.comparison->warnings[1].find("different targets"), std::string::npos);
}

TEST(CompareWriters, EveryFormatShowsTheVerdict) {
  RunReport base = load_report("rr", 50'000, 1), now = load_report("rr", 60'000, 2);
  base.suites = conformance({case_of("a", Verdict::pass)}).suites;
  now.suites = conformance({case_of("a", Verdict::fail, "reply differs")}).suites;
  auto out = compare(input({base}, {now}, {"p50 > +10%", "newly-failing > 0", "p99.9 > +50%"}));
  ASSERT_TRUE(out.comparison) << out.error;
  const Comparison& c = *out.comparison;
  EXPECT_EQ(c.exit_code, 1);

  std::ostringstream console, md, html, junit, notes, json;
  write_console(c, console);
  EXPECT_NE(console.str().find("newly failing  echo-tcp/a  pass -> fail  (reply differs)"),
            std::string::npos)
      << console.str();
  EXPECT_NE(console.str().find("FAIL p50 > +10%"), std::string::npos);
  EXPECT_NE(console.str().find("ok   p99.9 > +50%"), std::string::npos);
  EXPECT_NE(console.str().find("2 of 3 --fail-on rules failed (exit 1)"), std::string::npos);
  EXPECT_NE(console.str().find("  mean    "), std::string::npos);

  write_markdown(c, md);
  EXPECT_NE(md.str().find("| `newly-failing > 0` | **FAIL** |"), std::string::npos) << md.str();
  EXPECT_NE(md.str().find("| newly failing | `echo-tcp/a` | pass | fail | reply differs |"),
            std::string::npos);

  write_html(c, html);
  EXPECT_NE(html.str().find("id=\"compare-percentile-chart-1\""), std::string::npos);
  EXPECT_NE(html.str().find("id=\"compare-rate-chart-1\""), std::string::npos);
  EXPECT_EQ(html.str().find("http"), std::string::npos);  // opens offline: nothing fetched

  write_junit(c, junit);
  EXPECT_NE(junit.str().find("tests=\"3\" failures=\"2\""), std::string::npos) << junit.str();
  EXPECT_NE(junit.str().find("name=\"p50 &gt; +10%\"><failure"), std::string::npos);

  write_github_annotations(c, notes);
  EXPECT_NE(notes.str().find("::error title=compare%3A p50 > +10%25::rr: +"), std::string::npos)
      << notes.str();
  EXPECT_NE(
      notes.str().find(
          "::warning file=scenarios/suites/echo-tcp.json,title=newly failing%3A echo-tcp/a::"),
      std::string::npos)
      << notes.str();

  write_json(c, json);
  auto j = nlohmann::json::parse(json.str());
  EXPECT_EQ(j["exit_code"], 1);
  EXPECT_EQ(j["profiles"][0]["metrics"][0]["name"], "p50");
  EXPECT_TRUE(j["profiles"][0]["metrics"][0]["significant"].get<bool>());
  EXPECT_NEAR(j["profiles"][0]["metrics"][0]["change"].get<double>(), 0.2, 0.03);
  EXPECT_EQ(j["cases"][0]["change"], "newly failing");
}

}  // namespace
}  // namespace sockspec::reports::compare
