// Golden-file tests: each writer's output for one fixed report is compared byte for byte
// with a file under golden/. After an intended change, regenerate with
//   SOCKSPEC_UPDATE_GOLDEN=1 ./reports_tests   and review the diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "reports/annotations_writer.h"
#include "reports/console_writer.h"
#include "reports/find_max.h"
#include "reports/html_writer.h"
#include "reports/json_reader.h"
#include "reports/json_writer.h"
#include "reports/junit_writer.h"
#include "reports/markdown_writer.h"
#include "reports/merge.h"
#include "reports/tests/find_max_sample.h"
#include "reports/thresholds.h"

namespace sockspec::reports {
namespace {

StepResult step(std::string path, std::string op, Verdict v, std::string message,
                std::string err = "") {
  StepResult s;
  s.path = std::move(path);
  s.op = std::move(op);
  s.pointer = "/cases/0/steps/" + s.path;
  s.verdict = v;
  s.elapsed_ms = 1.0;
  s.message = std::move(message);
  s.errno_name = std::move(err);
  return s;
}

CaseResult kase(std::string id, Verdict v, std::string reason = "", std::string level = "must") {
  CaseResult c;
  c.id = std::move(id);
  c.title = "case " + c.id;
  c.level = std::move(level);
  c.verdict = v;
  c.reason = std::move(reason);
  c.duration_ms = 1.5;
  return c;
}

RunReport sample_report() {
  RunReport r;
  r.meta.version = "0.1.0";
  r.meta.command_line = "sockspec run scenarios/echo-tcp.json --target builtin:echo";
  r.meta.target = "builtin:echo";
  r.meta.address = "127.0.0.1:40000";
  r.meta.seed = 42;
  r.meta.started_at = "2026-01-02T03:04:05Z";
  r.meta.duration_ms = 1234.5;
  r.meta.host = "ci-host";
  SuiteResult s;
  s.name = "echo-tcp";
  s.title = "Echo over TCP";
  s.file = "scenarios/echo-tcp.json";
  s.spec = "RFC 862";
  s.service = "echo";
  s.transport = "tcp";

  CaseResult pass = kase("short-line", Verdict::pass);
  pass.spec_ref = "RFC 862";
  pass.tags = {"basic"};
  pass.steps.push_back(step("0", "connect", Verdict::pass, ""));

  CaseResult fail = kase("upper", Verdict::fail);
  fail.rerun =
      "sockspec run scenarios/echo-tcp.json --target builtin:echo --filter 'echo-tcp/upper'";
  StepResult st = step("2", "expect", Verdict::fail, "bytes differ at offset 1");
  st.label = "reply";
  st.bytes_received = 6;
  st.mismatch = Mismatch{1, 6, 6, 0, "68656c6c6f0a", "68454c4c4f0a", "hello\\n", "hELLO\\n"};
  fail.steps.push_back(st);

  CaseResult err = kase("reset", Verdict::error);
  err.title = "survives <reset> & \"quotes\"";
  err.steps.push_back(
      step("0", "connect", Verdict::error, "connect 127.0.0.1:1: ECONNREFUSED", "ECONNREFUSED"));

  CaseResult warn = kase("idle", Verdict::warn, "", "should");
  warn.steps.push_back(step("1", "expect_silence", Verdict::fail, "data arrived in the window"));

  s.cases = {pass,
             fail,
             err,
             kase("restart", Verdict::skip, "needs a managed server"),
             warn,
             kase("crlf", Verdict::xfail, "known bug #12"),
             kase("fixed", Verdict::xpass, "was broken in 1.0")};
  r.suites.push_back(s);
  r.server = ServerOutput{"sockspec serve echo --port 40000", "listening tcp 127.0.0.1:40000\n", "",
                          false};
  r.notes.push_back("expected-failure entry 'echo-tcp/gone' matches no case");
  r.exit_code = 1;
  return r;
}

// A load run with fixed numbers, so its writers' output is the same on every machine.
RunReport sample_load_report() {
  RunReport r = sample_report();
  r.suites.clear();
  r.server.reset();
  r.notes.clear();
  r.kind = "load";
  LoadResult l;
  l.profile = "echo-tcp-rr";
  l.file = "scenarios/load/echo-tcp-rr.json";
  l.executor = "constant-rate";
  l.transport = "tcp";
  l.duration_s = 3;
  l.threads = 2;
  l.connections = 8;
  l.target_rate = 1000;
  l.achieved_rate = 990;
  l.iterations = 2970;
  l.errors = 3;
  l.errors_by_kind = {{"mismatch", 2}, {"timeout", 1}};
  l.first_errors.push_back(
      {"mismatch", "expect (step 1)", "bytes differ at offset 5",
       Mismatch{5, 6, 7, 0, "68656c6c6f0a", "68656c6c6f0d0a", "hello\\n", "hello\\r\\n"}});
  l.scheduled = 3000;
  l.missed_starts = 27;
  l.max_lag_ms = 12.5;
  l.rate_kept = false;
  for (uint64_t i = 1; i <= 2970; ++i) {
    l.latency.record(i * 1000);
    l.service.record(i * 500);
  }
  for (int s = 0; s < 3; ++s) {
    Interval iv;
    iv.start_s = s;
    iv.iterations = 990;
    iv.errors = 1;
    for (uint64_t i = 1; i <= 990; ++i)
      iv.latency.record(i * 1000 + static_cast<uint64_t>(s) * 1000);
    iv.p50_ns = iv.latency.percentile(50);
    iv.p99_ns = iv.latency.percentile(99);
    l.series.push_back(iv);
  }
  l.thresholds.push_back({"p99 < 2ms", "p99", 2.94e6, false, "2.94ms"});
  l.thresholds.push_back({"error_rate < 1%", "error_rate", 0.001, true, "0.100%"});
  r.load = l;
  return r;
}

void check_golden(const std::string& name, const std::string& actual) {
  std::string path = std::string(SOCKSPEC_GOLDEN_DIR) + "/" + name;
  if (std::getenv("SOCKSPEC_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path, std::ios::binary) << actual;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "missing golden file " << path;
  std::stringstream want;
  want << in.rdbuf();
  EXPECT_EQ(want.str(), actual) << "output differs from " << path;
}

TEST(JsonWriter, MatchesGoldenFile) {
  std::ostringstream out;
  write_json(sample_report(), out);
  check_golden("report.json", out.str());
}

TEST(JsonWriter, CarriesSchemaVersionAndCounts) {
  auto j = to_json(sample_report());
  EXPECT_EQ(j["schema_version"], kSchemaVersion);
  EXPECT_EQ(j["counts"]["total"], 7);
  EXPECT_EQ(j["counts"]["fail"], 1);
  EXPECT_EQ(j["suites"][0]["cases"][1]["steps"][0]["mismatch"]["offset"], 1);
}

TEST(JsonWriter, ReplacesInvalidUtf8FromServerOutput) {
  RunReport r = sample_report();
  r.server->stderr_text = std::string("bad \xff\xfe bytes");
  std::ostringstream out;
  EXPECT_NO_THROW(write_json(r, out));
  EXPECT_NE(out.str().find("bad"), std::string::npos);
}

TEST(MarkdownWriter, ConformanceAndLoadSummariesMatchGoldenFiles) {
  std::ostringstream conformance, load;
  write_markdown(sample_report(), conformance);
  write_markdown(sample_load_report(), load);
  check_golden("summary.md", conformance.str());
  check_golden("load-summary.md", load.str());
}

TEST(MarkdownWriter, NamesEveryCaseThatDidNotPlainlyPassWithItsReason) {
  std::ostringstream md;
  write_markdown(sample_report(), md);
  const std::string text = md.str();
  const auto section = text.find("### Passed with warnings, skipped, expected to fail");
  ASSERT_NE(section, std::string::npos);
  for (const char* want : {"**skip echo-tcp/restart**", "**warn echo-tcp/idle**",
                           "**xfail echo-tcp/crlf**", "known bug #12"}) {
    EXPECT_NE(text.find(want, section), std::string::npos) << want;
  }
  EXPECT_EQ(text.find("echo-tcp/short", section), std::string::npos) << "a plain pass is listed";
}

TEST(GithubAnnotations, FailuresAreErrorsAndWarningsAreWarningsWithEscapedText) {
  std::ostringstream out;
  write_github_annotations(sample_report(), out);
  std::istringstream lines(out.str());
  std::vector<std::string> got;
  for (std::string l; std::getline(lines, l);) got.push_back(l);
  ASSERT_EQ(got.size(), 4u) << out.str();  // fail, error, warn, xpass; not pass/skip/xfail
  EXPECT_EQ(got[0].rfind("::error file=scenarios/echo-tcp.json,title=fail echo-tcp/upper", 0), 0u)
      << got[0];
  EXPECT_NE(got[0].find("::step 2 expect (reply): bytes differ at offset 1%0A"), std::string::npos);
  EXPECT_EQ(got[0].find('\n'), std::string::npos);
  int warnings = 0;
  for (const auto& l : got) warnings += l.rfind("::warning ", 0) == 0;
  EXPECT_EQ(warnings, 1);
  EXPECT_EQ(annotation_escape("a:b,c%\r\n", true), "a%3Ab%2Cc%25%0D%0A");
  EXPECT_EQ(annotation_escape("a:b,c", false), "a:b,c");

  std::ostringstream load;
  const RunReport load_report = sample_load_report();
  write_github_annotations(load_report, load);
  for (const auto& t : load_report.load->thresholds) {
    EXPECT_EQ(load.str().find(annotation_escape(t.expression, true)) != std::string::npos,
              !t.passed)
        << t.expression;
  }
}

TEST(HtmlWriter, ConformanceAndLoadPagesMatchGoldenFiles) {
  std::ostringstream conformance, load;
  write_html(sample_report(), conformance);
  write_html(sample_load_report(), load);
  check_golden("index.html", conformance.str());
  check_golden("load.html", load.str());
}

TEST(HtmlWriter, PagesAreSelfContained) {
  std::ostringstream page;
  write_html(sample_load_report(), page);
  const std::string& html = page.str();
  for (const char* remote : {"http://", "https://", "src=", "<link"}) {
    EXPECT_EQ(html.find(remote), std::string::npos)
        << "the page must not fetch anything: found " << remote;
  }
  EXPECT_NE(html.find("id=\"percentile-chart\""), std::string::npos);
  EXPECT_NE(html.find("id=\"thresholds\""), std::string::npos);
  std::ostringstream cases;
  write_html(sample_report(), cases);
  EXPECT_NE(cases.str().find("id=\"case-table\""), std::string::npos);
  EXPECT_NE(cases.str().find("&lt;reset&gt; &amp; &quot;quotes&quot;"), std::string::npos)
      << "titles are escaped";
}

// Written, read back and written again, a report comes out the same.
void expect_round_trip(const RunReport& r) {
  auto back = from_json(to_json(r));
  ASSERT_TRUE(back.report) << back.error;
  std::ostringstream a, b;
  write_json(r, a);
  write_json(*back.report, b);
  EXPECT_EQ(a.str(), b.str());
}

TEST(JsonWriter, LoadResultsRoundTripThroughTheReader) {
  expect_round_trip(sample_load_report());
  expect_round_trip(sample_report());
}

RunReport sample_find_max_report() {
  RunReport r = sample_load_report();
  r.find_max = sample_find_max();
  return r;
}

TEST(FindMax, StepsGroupRepeatedRunsWithTheirSpread) {
  auto steps = find_max_steps(*sample_find_max_report().find_max);
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(steps[2].knob, 3000);
  EXPECT_EQ(steps[2].runs, 3u);
  EXPECT_EQ(steps[2].passes, 2u);
  EXPECT_TRUE(steps[2].passed);
  EXPECT_EQ(steps[2].p99_lo, 800'000);
  EXPECT_EQ(steps[2].p99_hi, 1'900'000);
  EXPECT_FALSE(steps[3].passed);
  EXPECT_EQ(format_spread(steps[2].p99_lo, steps[2].p99_hi), "800.0us-1.90ms");
  EXPECT_EQ(format_spread(steps[0].p99_lo, steps[0].p99_hi), "200.0us");
}

TEST(FindMax, RoundTripsThroughTheJsonReader) {
  RunReport r = sample_find_max_report();
  EXPECT_EQ(to_json(r)["find_max"]["rate"], 3000);
  expect_round_trip(r);
}

TEST(FindMax, MarkdownAndHtmlShowTheStepsAndTheThresholdLine) {
  RunReport r = sample_find_max_report();
  std::ostringstream md, html;
  write_markdown(r, md);
  write_html(r, html);
  EXPECT_NE(md.str().find("### Capacity search: found"), std::string::npos);
  EXPECT_NE(md.str().find("| 3000/s | pass | 2/3 passed |"), std::string::npos) << md.str();
  EXPECT_NE(md.str().find("| 4000/s | **fail** | 1/2 passed |"), std::string::npos);
  EXPECT_NE(html.str().find("id=\"find-max-chart\""), std::string::npos);
  EXPECT_NE(html.str().find("id=\"find-max-steps\""), std::string::npos);
  EXPECT_NE(html.str().find("stroke-dasharray"), std::string::npos);  // the p99 limit
  EXPECT_NE(html.str().find("p99 limit"), std::string::npos);
}

TEST(Merge, ConformanceShardsJoinAndLoadHistogramsAddUp) {
  RunReport a = sample_load_report(), b = sample_load_report();
  auto merged = merge_reports({a, b});
  ASSERT_TRUE(merged.report) << merged.error;
  const LoadResult& m = *merged.report->load;
  EXPECT_EQ(m.iterations, 2 * a.load->iterations);
  EXPECT_EQ(m.latency.count(), 2 * a.load->latency.count());
  Histogram by_hand = a.load->latency;
  by_hand.merge(b.load->latency);
  for (double p : {50.0, 99.0, 99.9}) EXPECT_EQ(m.latency.percentile(p), by_hand.percentile(p));
  EXPECT_EQ(m.series[1].iterations, 1980u);
  EXPECT_FALSE(m.thresholds[0].passed);  // re-evaluated on the merged data
  EXPECT_EQ(merged.report->exit_code, 1);
  RunReport c1 = sample_report(), c2 = sample_report();
  c2.suites[0].cases.resize(2);
  c2.suites[0].cases[0].id = "only-in-b";
  auto joined = merge_reports({c1, c2});
  ASSERT_TRUE(joined.report);
  EXPECT_EQ(joined.report->suites[0].cases.size(), c1.suites[0].cases.size() + 1);
  EXPECT_FALSE(merge_reports({sample_report(), sample_load_report()}).report);
}

TEST(JunitWriter, MatchesGoldenFile) {
  std::ostringstream out;
  write_junit(sample_report(), out);
  check_golden("junit.xml", out.str());
}

TEST(JunitWriter, EscapesMarkupAndControlBytes) {
  RunReport r = sample_report();
  r.suites[0].cases[2].steps[0].message = "got \x01 <tag>";
  std::ostringstream out;
  write_junit(r, out);
  EXPECT_NE(out.str().find("got \\x01 &lt;tag&gt;"), std::string::npos);
  EXPECT_EQ(out.str().find('\x01'), std::string::npos);
}

TEST(ConsoleWriter, CaseLinesAndSummaryMatchGoldenFile) {
  RunReport r = sample_report();
  std::ostringstream out;
  for (const auto& c : r.suites[0].cases) write_case_line("echo-tcp", c, {false}, out);
  write_summary(r, {false}, out);
  check_golden("console.txt", out.str());
}

TEST(ConsoleWriter, UsesColourOnlyWhenAsked) {
  RunReport r = sample_report();
  std::ostringstream plain, coloured;
  write_case_line("echo-tcp", r.suites[0].cases[1], {false}, plain);
  write_case_line("echo-tcp", r.suites[0].cases[1], {true}, coloured);
  EXPECT_EQ(plain.str().find('\033'), std::string::npos);
  EXPECT_NE(coloured.str().find("\033[31m"), std::string::npos);
}

}  // namespace
}  // namespace sockspec::reports
