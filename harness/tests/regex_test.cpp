// The regex engine behind every `regex` matcher: bounded in time and memory whatever the
// input, byte-exact, and clear about what it cannot run. Each hostile case here crashed or
// hung std::regex (stack overflow on long inputs, exponential backtracking).
#include "match/regex.h"

#include <gtest/gtest.h>

#include "match/matcher.h"

namespace sockspec::match {
namespace {

using K = Outcome::Kind;

std::shared_ptr<const Pattern> compiled(const char* source) {
  auto c = compile_regex(source);
  EXPECT_TRUE(c.pattern) << source << ": " << c.error;
  return c.pattern;
}

// A regex matcher for a datagram (no until/count) unless they are given.
Regex rx(std::shared_ptr<const Pattern> p, std::optional<std::string> until = std::nullopt,
         std::optional<uint64_t> count = std::nullopt, size_t groups = 0) {
  return Regex{std::move(p), std::move(until), count, groups};
}

TEST(RegexEngine, NestedStarsOverTwentyBytesFailWithoutBacktracking) {
  // std::regex took minutes here (and ignored the step's deadline while it ran).
  Resolved m = rx(compiled("(a*)*b"), "\n");
  auto o = match_stream(m, std::string(20, 'a') + "\n", false);
  EXPECT_EQ(o.kind, K::mismatch);
  EXPECT_NE(o.why.find("does not match /(a*)*b/"), std::string::npos) << o.why;
  // The same shape over the longest segment a pattern this small may examine.
  EXPECT_EQ(match_datagram(rx(compiled("(a*)*b")), std::string(65507, 'a')).kind, K::mismatch);
}

TEST(RegexEngine, AThirtyKilobyteLineMatchesWithoutRecursion) {
  // The daytime-tcp and chargen-tcp patterns against one 30 KB line (a SIGSEGV before).
  std::string line(30 * 1024, 'x');
  Resolved daytime = rx(compiled("[ -~\t]*\r?"), "\n");
  auto o = match_stream(daytime, line + "\r\n", false);
  EXPECT_EQ(o.kind, K::matched) << o.why;
  EXPECT_EQ(o.consumed, line.size() + 2);
  Resolved chargen = rx(compiled("[ -~]*"), "\r\n");
  EXPECT_EQ(match_stream(chargen, line + "\r\n", false).kind, K::matched);
}

TEST(RegexEngine, ALargestUdpDatagramMatchesWhole) {
  // daytime-udp's pattern against a 65,507-byte reply (the IPv4 maximum; a SIGSEGV before).
  std::string dg(65507, 'T');
  EXPECT_EQ(match_datagram(rx(compiled("[ -~\t\r\n]+")), dg).kind, K::matched);
  dg[40000] = '\x01';
  EXPECT_EQ(match_datagram(rx(compiled("[ -~\t\r\n]+")), dg).kind, K::mismatch);
}

TEST(RegexEngine, AStarOverAHundredKilobytes) {
  std::string reply(100 * 1024, 'a');
  EXPECT_EQ(match_stream(rx(compiled("a*"), std::nullopt, reply.size()), reply, false).kind,
            K::matched);
  EXPECT_EQ(match_datagram(rx(compiled("a*")), reply.substr(0, 65507)).kind, K::matched);
}

TEST(RegexEngine, AMatchOverItsWorkBudgetFailsAtOnceSayingWhy) {
  auto big = compiled("[ab]*a[ab]{900}");
  ASSERT_GT(big->program_size(), 900u);
  EXPECT_LT(big->max_input(), 65507u);
  auto o = match_datagram(rx(big), std::string(65507, 'a'));
  EXPECT_EQ(o.kind, K::mismatch);
  EXPECT_NE(o.why.find("regex limit: /[ab]*a[ab]{900}/ may examine at most " +
                       std::to_string(big->max_input()) + " bytes, not 65507"),
            std::string::npos)
      << o.why;
  // Within the budget the same pattern matches.
  EXPECT_EQ(match_datagram(rx(big), std::string(1000, 'a')).kind, K::matched);
}

TEST(RegexEngine, AStreamStopsWaitingForADelimiterPastWhatThePatternMayExamine) {
  auto big = compiled("[ab]*a[ab]{900}");
  Resolved m = rx(big, "\n");
  std::string flood(big->max_input() + 1, 'a');
  auto o = match_stream(m, flood, false);
  EXPECT_EQ(o.kind, K::mismatch);
  EXPECT_NE(o.why.find("no delimiter \"\\n\""), std::string::npos) << o.why;
  EXPECT_NE(o.why.find("regex limit"), std::string::npos) << o.why;
  EXPECT_EQ(match_stream(m, flood.substr(0, 100), false).kind, K::need_more);
  // A byte count it could never examine fails before any byte arrives.
  Resolved counted = rx(big, std::nullopt, big->max_input() + 1);
  EXPECT_EQ(match_stream(counted, "", false).kind, K::mismatch);
}

TEST(RegexEngine, BytesAreCharactersNotUtf8) {
  EXPECT_EQ(match_datagram(rx(compiled("[\\x00-\\xff]{3}")), std::string("\x00\xff\x80", 3)).kind,
            K::matched);
  EXPECT_EQ(match_datagram(rx(compiled("\\xe9")), "\xe9").kind, K::matched);
  // A UTF-8 literal in the pattern is its bytes, as it is in a `text` payload.
  EXPECT_EQ(match_datagram(rx(compiled("caf\xc3\xa9")), "caf\xc3\xa9").kind, K::matched);
  EXPECT_EQ(match_datagram(rx(compiled(".")), "\xc3\xa9").kind, K::mismatch);
}

TEST(RegexEngine, WhatItCannotRunIsAnErrorNamingTheConstruct) {
  auto err = [](const char* source) { return compile_regex(source).error; };
  EXPECT_NE(err("(a)\\1").find("backreferences are not supported"), std::string::npos);
  EXPECT_NE(err("a(?=b)").find("lookahead and lookbehind are not supported"), std::string::npos);
  EXPECT_NE(err("(?<!a)b").find("lookahead and lookbehind"), std::string::npos);
  EXPECT_NE(err("\\u0041").find("write a byte as \\xHH"), std::string::npos);
  EXPECT_NE(err("a{1001}").find("at most {1000}"), std::string::npos);
  EXPECT_NE(err("(").find("missing )"), std::string::npos);
  std::string huge;
  for (int k = 0; k < 5; ++k) huge += "[ab]{1000}";  // each repetition allowed, the sum not
  EXPECT_NE(err(huge.c_str()).find("at most " + std::to_string(kMaxRegexProgram) + " are allowed"),
            std::string::npos)
      << err(huge.c_str());
  EXPECT_TRUE(compile_regex("[ -~]{72}").pattern);
}

TEST(RegexEngine, GroupsAreReportedAndAGroupOutsideTheMatchIsNone) {
  auto p = compiled("(\\w+)=(\\d+)|(none)");
  ASSERT_EQ(p->groups(), 3);
  std::optional<std::string_view> g[4];
  ASSERT_EQ(full_match(*p, "token=42", g).kind, RegexResult::Kind::matched);
  EXPECT_EQ(g[0], "token=42");
  EXPECT_EQ(g[1], "token");
  EXPECT_EQ(g[2], "42");
  EXPECT_FALSE(g[3]);
  ASSERT_EQ(full_match(*p, "none", g).kind, RegexResult::Kind::matched);
  EXPECT_FALSE(g[1]);
  EXPECT_EQ(g[3], "none");
  // An empty group is a value (""), not an absent one.
  auto e = compiled("x(a*)");
  std::optional<std::string_view> ge[2];
  ASSERT_EQ(full_match(*e, "x", ge).kind, RegexResult::Kind::matched);
  ASSERT_TRUE(ge[1]);
  EXPECT_EQ(*ge[1], "");
}

TEST(RegexEngine, AStreamMatchReturnsTheGroupsItWasAskedFor) {
  Regex r = rx(compiled("TOKEN ([0-9a-f]+)"), "\r\n", std::nullopt, 2);
  std::string wire = "TOKEN 9f3a\r\nnext";
  for (size_t cut = 1; cut <= wire.size(); ++cut) {
    auto o = match_stream(r, std::string_view(wire).substr(0, cut), false);
    if (o.kind == K::need_more) continue;
    ASSERT_EQ(o.kind, K::matched);
    ASSERT_EQ(o.groups.size(), 2u);
    EXPECT_EQ(o.groups[1], "9f3a");
    break;
  }
  // Without groups asked for, nothing is copied.
  EXPECT_TRUE(match_stream(rx(r.re, r.until), wire, false).groups.empty());
}

// Four counted classes: some 4,000 instructions, within kMaxRegexProgram; `tag` keeps it distinct.
std::string near_limit(size_t tag) {
  return "[a-z]{1000}[a-z]{1000}[a-z]{1000}[a-z]{1000}" + std::to_string(tag);
}

TEST(RegexCache, APatternGivenAgainIsCompiledOnceAndShared) {
  RegexCache cache;
  auto a = cache.compile("[ -~]{72}");
  auto b = cache.compile("[ -~]{72}");
  ASSERT_TRUE(a.pattern) << a.error;
  EXPECT_EQ(a.pattern.get(), b.pattern.get());
  // Only distinct patterns count: this one given a thousand times more spends nothing new.
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(cache.compile(near_limit(0)).pattern);
}

TEST(RegexCache, DistinctPatternsStayWithinTheFilesTotal) {
  // A 64 MiB suite of distinct near-limit patterns, one per 60-byte step, held each compiled:
  // tens of GB and minutes of validation before this total.
  RegexCache cache;
  size_t n = 0, total = 0;
  CompiledRegex c;
  while ((c = cache.compile(near_limit(n))).pattern) {
    total += c.instructions;
    ++n;
  }
  EXPECT_GT(n, 200u);  // about 260 of these fit
  EXPECT_LE(total, kMaxRegexProgramsPerFile);
  EXPECT_GT(total + c.instructions, kMaxRegexProgramsPerFile);
  EXPECT_TRUE(c.file_limit);
  EXPECT_NE(c.error.find("compile to more than 1048576 instructions in total"), std::string::npos)
      << c.error;
  // Spent: later patterns are neither compiled nor reported again; known ones still resolve.
  auto later = cache.compile("abc");
  EXPECT_FALSE(later.pattern);
  EXPECT_TRUE(later.error.empty());
  EXPECT_TRUE(cache.compile(near_limit(0)).pattern);
}

TEST(RegexCache, PatternsRefusedForTheirSizeCountTheirWork) {
  // Over kMaxRegexProgram: refused, yet building those instructions took time; it counts.
  std::string big;
  for (int i = 0; i < 64; ++i) big += "[a-z]{1000}";
  RegexCache cache;
  size_t n = 0;
  CompiledRegex c;
  while (!(c = cache.compile(big + std::to_string(n))).file_limit) {
    ASSERT_FALSE(c.pattern);
    ASSERT_NE(c.error.find("compiles to 6400"), std::string::npos) << c.error;
    ASSERT_LT(++n, 100u);
  }
  EXPECT_EQ(n, kMaxRegexProgramsPerFile / c.instructions);  // 16 of 64,005 or so
}

TEST(RegexCache, ALongPatternIsRefusedBeforeCompiling) {
  RegexCache cache;
  auto c = cache.compile(std::string(kMaxRegexSourceInFile + 1, 'a'));
  EXPECT_FALSE(c.pattern);
  EXPECT_FALSE(c.file_limit);
  EXPECT_EQ(c.instructions, 0u);
  EXPECT_NE(c.error.find("is 16385 bytes long; at most 16384 are allowed"), std::string::npos)
      << c.error;
  // At the limit it is compiled (and refused for its instruction count instead).
  auto at = cache.compile(std::string(kMaxRegexSourceInFile, 'a'));
  EXPECT_NE(at.error.find("compiles to"), std::string::npos) << at.error;
}

}  // namespace
}  // namespace sockspec::match
