// Golden-file tests: each writer's output for one fixed report is compared byte for byte
// with a file under golden/. After an intended change, regenerate with
//   SOCKSPEC_UPDATE_GOLDEN=1 ./reports_tests   and review the diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "reports/console_writer.h"
#include "reports/json_writer.h"
#include "reports/junit_writer.h"

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
