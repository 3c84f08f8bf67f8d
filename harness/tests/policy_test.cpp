// Verdict policy (levels, --strict, expected failures), selection and quoting.
#include "runner/policy.h"

#include <gtest/gtest.h>

namespace sockspec::runner {
namespace {

using reports::Verdict;
using scenario::Level;

TEST(Decide, AFailedShouldOrMayCaseWarnsUnlessStrict) {
  EXPECT_EQ(decide(Verdict::fail, "r", Level::should, false, {}).verdict, Verdict::warn);
  EXPECT_EQ(decide(Verdict::fail, "r", Level::may, false, {}).verdict, Verdict::warn);
  EXPECT_EQ(decide(Verdict::fail, "r", Level::should, true, {}).verdict, Verdict::fail);
  EXPECT_EQ(decide(Verdict::fail, "r", Level::must, false, {}).verdict, Verdict::fail);
  EXPECT_EQ(decide(Verdict::error, "r", Level::may, false, {}).verdict, Verdict::error);
}

TEST(Decide, ExpectedFailuresBecomeXfailAndPassingOnesXpass) {
  auto x = decide(Verdict::fail, "mismatch", Level::must, false, std::string("bug 7"));
  EXPECT_EQ(x.verdict, Verdict::xfail);
  EXPECT_EQ(x.reason, "bug 7");
  EXPECT_EQ(decide(Verdict::pass, "", Level::must, false, std::string("bug 7")).verdict,
            Verdict::xpass);
  EXPECT_TRUE(reports::is_failing(Verdict::xpass));
  EXPECT_FALSE(reports::is_failing(Verdict::xfail));
  EXPECT_FALSE(reports::is_failing(Verdict::warn));
}

TEST(Decide, AFlakyExpectedFailureMayPassWithoutXpass) {
  EXPECT_EQ(
      decide(Verdict::pass, "", Level::must, false, std::string("flaky: stalls sometimes")).verdict,
      Verdict::pass);
  EXPECT_EQ(decide(Verdict::fail, "r", Level::must, false, std::string("flaky: stalls sometimes"))
                .verdict,
            Verdict::xfail);
}

TEST(ExpectFailFile, ParsesIdsAndReasonsAndRejectsBadLines) {
  auto ok = parse_expect_fail(
      "# known\necho-tcp/crlf  rewrites newlines   # see issue\n\n  udp/big too big\n", "x.txt");
  EXPECT_TRUE(ok.errors.empty());
  EXPECT_EQ(ok.reasons.at("echo-tcp/crlf"), "rewrites newlines");
  EXPECT_EQ(ok.reasons.at("udp/big"), "too big");
  auto bad = parse_expect_fail("nosuite reason\necho/a\necho/b r\necho/b r\n", "x.txt");
  ASSERT_EQ(bad.errors.size(), 3u);
  EXPECT_EQ(bad.errors[0], "x.txt:1: expected SUITE/CASE-ID followed by a reason, got 'nosuite'");
  EXPECT_EQ(bad.errors[1], "x.txt:2: 'echo/a' needs a reason after the id");
  EXPECT_EQ(bad.errors[2], "x.txt:4: 'echo/b' is listed twice");
}

TEST(Selection, FiltersAreGlobsOrSuiteNamesAndTagsAnyOf) {
  EXPECT_TRUE(selected({}, "echo-tcp/a", {}));
  EXPECT_TRUE(selected({{"echo-*/a"}, {}}, "echo-tcp/a", {}));
  EXPECT_TRUE(selected({{"echo-tcp"}, {}}, "echo-tcp/a", {}));
  EXPECT_FALSE(selected({{"echo-tcp"}, {}}, "echo-tcp-x/a", {}));
  EXPECT_TRUE(selected({{}, {"slow", "basic"}}, "s/a", {"basic"}));
  EXPECT_FALSE(selected({{}, {"slow"}}, "s/a", {"basic"}));
}

TEST(ShellQuote, LeavesPlainWordsAndQuotesTheRest) {
  EXPECT_EQ(shell_quote("echo-tcp/a"), "echo-tcp/a");
  EXPECT_EQ(shell_quote("nc -l {port}"), "'nc -l {port}'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote(""), "''");
}

reports::StepResult failed_step(std::string op, std::string errno_name) {
  reports::StepResult s;
  s.op = std::move(op);
  s.verdict = Verdict::fail;
  s.errno_name = std::move(errno_name);
  return s;
}

TEST(CapacityPolicy, RefusalsAndResetsInACapacityCaseNameThePolicy) {
  reports::StepResult summary;  // a parallel step's own line: no errno
  summary.op = "parallel";
  summary.verdict = Verdict::fail;
  std::vector<std::string> tags{"concurrency", "capacity"};
  auto refused = policy_seen(tags, {summary, failed_step("connect", "ECONNREFUSED")});
  ASSERT_TRUE(refused.has_value());
  EXPECT_NE(refused->find("refused"), std::string::npos);
  auto reset = policy_seen(tags, {failed_step("expect", "ECONNRESET")});
  ASSERT_TRUE(reset.has_value());
  EXPECT_NE(reset->find("reset"), std::string::npos);
  auto dropped = policy_seen(tags, {failed_step("connect", "ETIMEDOUT")});
  ASSERT_TRUE(dropped.has_value());
  EXPECT_NE(dropped->find("listen queue"), std::string::npos);
  auto never = policy_seen(tags, {failed_step("expect", "ETIMEDOUT")});
  ASSERT_TRUE(never.has_value());
  EXPECT_NE(never->find("never served"), std::string::npos);
}

TEST(CapacityPolicy, WrongBytesOrOtherCasesAreNeverPolicy) {
  std::vector<std::string> tags{"capacity"};
  reports::StepResult mismatch;  // wrong bytes: no errno
  mismatch.op = "expect";
  mismatch.verdict = Verdict::fail;
  EXPECT_FALSE(policy_seen(tags, {mismatch}).has_value());
  // A reply cut short is not a refusal: some bytes came.
  auto cut = failed_step("expect", "ETIMEDOUT");
  cut.bytes_received = 3;
  EXPECT_FALSE(policy_seen(tags, {cut}).has_value());
  // The same refusal in a case that does not probe capacity is a plain failure.
  EXPECT_FALSE(policy_seen({"concurrency"}, {failed_step("connect", "ECONNREFUSED")}).has_value());
}

}  // namespace
}  // namespace sockspec::runner
