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

}  // namespace
}  // namespace sockspec::runner
