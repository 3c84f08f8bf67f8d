// The parser turns valid suites into the typed model and reports every problem of an
// invalid one with its JSON pointer and the offending value.
#include "scenario/parse.h"

#include <gtest/gtest.h>

#include "load/profile.h"

namespace sockspec::scenario {
namespace {

std::string suite_with_steps(const std::string& steps, const std::string& extra_case = "",
                             const std::string& transport = "tcp") {
  return R"({"format": 1, "suite": "s", "transport": ")" + transport + R"(", "cases": [
    {"id": "c", )" +
         extra_case + R"("steps": )" + steps + "}]}";
}

std::vector<std::string> errors_of(const std::string& json) {
  auto r = parse_suite(json, "t.json");
  std::vector<std::string> out;
  for (const auto& d : r.errors) out.push_back(d.to_string());
  return out;
}

::testing::AssertionResult has_error(const std::vector<std::string>& errs,
                                     const std::string& want) {
  for (const auto& e : errs) {
    if (e.find(want) != std::string::npos) return ::testing::AssertionSuccess();
  }
  std::string all;
  for (const auto& e : errs) all += "\n  " + e;
  return ::testing::AssertionFailure() << "no error containing '" << want << "' among:" << all;
}

TEST(Parse, TheContractExampleBecomesTypedSteps) {
  auto r = parse_suite(R"({
    "format": 1, "suite": "echo-tcp", "title": "Echo Protocol over TCP", "spec": "RFC 862",
    "service": "echo", "transport": "tcp", "defaults": { "timeout_ms": 1000 },
    "cases": [{
      "id": "short-line", "title": "echoes one short line",
      "spec_ref": "RFC 862, TCP Based Echo Service", "level": "must", "tags": ["basic"],
      "steps": [
        { "op": "connect", "conn": "c" },
        { "op": "send", "conn": "c", "text": "hello\n" },
        { "op": "expect", "conn": "c", "text": "hello\n" },
        { "op": "shutdown", "conn": "c", "how": "write" },
        { "op": "expect_eof", "conn": "c" }]}]})",
                       "echo.json");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().to_string();
  const Suite& s = *r.suite;
  EXPECT_EQ(s.suite, "echo-tcp");
  EXPECT_EQ(s.default_timeout_ms, 1000u);
  ASSERT_EQ(s.cases.size(), 1u);
  const Case& c = s.cases[0];
  EXPECT_EQ(c.level, Level::must);
  ASSERT_EQ(c.steps.size(), 5u);
  EXPECT_STREQ(op_name(c.steps[1].op), "send");
  const auto& send = std::get<SendOp>(c.steps[1].op);
  EXPECT_EQ(send.payload.kind, Payload::Kind::text);
  EXPECT_EQ(send.payload.text.text, "hello\n");
  EXPECT_EQ(c.steps[4].pointer, "/cases/0/steps/4");
  EXPECT_EQ(std::get<ShutdownOp>(c.steps[3].op).how, ShutdownHow::write);
}

TEST(Parse, ReportsEveryProblemNotOnlyTheFirst) {
  auto errs = errors_of(R"({"format": 2, "suite": "Bad Name", "cases": [
    {"id": "a", "timeout_ms": -5, "steps": [{"op": "connect", "conn": "c", "tiemout_ms": 3}]},
    {"id": "a", "level": "must-ish", "steps": []}]})");
  EXPECT_TRUE(has_error(errs, "t.json:/format: must be 1"));
  EXPECT_TRUE(has_error(errs, "t.json:/suite: must match [a-z0-9._-]+, got \"Bad Name\""));
  EXPECT_TRUE(has_error(errs, "t.json:/cases/0/timeout_ms: must be >= 1, got -5"));
  EXPECT_TRUE(has_error(errs, "t.json:/cases/0/steps/0/tiemout_ms: unknown key 'tiemout_ms'"));
  EXPECT_TRUE(has_error(errs, "t.json:/cases/1/id: duplicate case id 'a'"));
  EXPECT_TRUE(has_error(errs, "t.json:/cases/1/level: must be \"must\", \"should\" or \"may\""));
  EXPECT_TRUE(has_error(errs, "t.json:/cases/1/steps: must be a non-empty array"));
  EXPECT_GE(errs.size(), 7u);
}

TEST(Parse, InvalidJsonNamesLineAndColumn) {
  auto errs = errors_of("{\n  \"format\": 1,\n  \"suite\": oops\n}");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_TRUE(has_error(errs, "invalid JSON at line 3, column"));
}

TEST(Parse, KeysStartingWithXAreFree) {
  auto errs = errors_of(R"({"format": 1, "suite": "s", "x-owner": "me", "cases": [
    {"id": "c", "x-note": 1, "steps": [{"op": "sleep", "ms": 1, "x-why": "pace"}]}]})");
  EXPECT_TRUE(errs.empty()) << errs.front();
}

// Editors find a file's JSON Schema through "$schema"; it belongs to the document, so a
// "$schema" anywhere below the top is still a typo-class unknown key.
TEST(Parse, SchemaKeyIsAllowedAtTheTopOfASuiteOnly) {
  EXPECT_TRUE(errors_of(R"({"$schema": "../schema/scenario-v1.schema.json", "format": 1,
    "suite": "s", "cases": [{"id": "c", "steps": [{"op": "sleep", "ms": 1}]}]})")
                  .empty());
  EXPECT_TRUE(has_error(
      errors_of(suite_with_steps(R"([{"op": "sleep", "ms": 1}])", R"("$schema": "x.json", )")),
      "t.json:/cases/0/$schema: unknown key '$schema' in a case"));
  EXPECT_TRUE(
      has_error(errors_of(suite_with_steps(R"([{"op": "sleep", "ms": 1, "$schema": "x.json"}])")),
                "t.json:/cases/0/steps/0/$schema: unknown key '$schema'"));
  EXPECT_TRUE(has_error(errors_of(R"({"$schema": 7, "format": 1, "suite": "s", "cases": [
    {"id": "c", "steps": [{"op": "sleep", "ms": 1}]}]})"),
                        "t.json:/$schema: "));
}

TEST(Parse, SchemaKeyIsAllowedAtTheTopOfALoadProfileOnly) {
  const std::string steps = R"("iteration": [{"op": "sleep", "ms": 1}])";
  auto top = load::parse_profile(R"({"$schema": "../schema/load-profile-v1.schema.json",
    "format": 1, "profile": "p", "executor": {"type": "closed", "vus": 1}, )" +
                                     steps + "}",
                                 "p.json");
  EXPECT_TRUE(top.errors.empty()) << top.errors.front().to_string();
  auto nested = load::parse_profile(R"({"format": 1, "profile": "p",
    "executor": {"type": "closed", "vus": 1, "$schema": "x.json"}, )" +
                                        steps + "}",
                                    "p.json");
  std::vector<std::string> errs;
  for (const auto& d : nested.errors) errs.push_back(d.to_string());
  EXPECT_TRUE(has_error(errs, "p.json:/executor/$schema: unknown key '$schema'"));
}

TEST(Parse, UnknownOpListsTheKnownOnes) {
  auto errs = errors_of(suite_with_steps(R"([{"op": "conect", "conn": "c"}])"));
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_TRUE(has_error(errs, "/cases/0/steps/0/op: unknown op \"conect\" (known: connect"));
}

TEST(Parse, PayloadNeedsExactlyOneSource) {
  auto errs = errors_of(suite_with_steps(R"([{"op": "connect", "conn": "c"},
    {"op": "send", "conn": "c", "text": "a", "hex": "61"},
    {"op": "send", "conn": "c"},
    {"op": "send", "conn": "c", "hex": "6"},
    {"op": "send", "conn": "c", "base64": "!!"},
    {"op": "send", "conn": "c", "fill": {"bytes": 4, "pattern": "stripes"}},
    {"op": "send", "conn": "c", "text": "x", "encoding": "no-such-charset"}])"));
  EXPECT_TRUE(has_error(errs, "/steps/1: has more than one payload"));
  EXPECT_TRUE(has_error(errs, "/steps/2: needs a payload"));
  EXPECT_TRUE(has_error(errs, "/steps/3/hex: must be pairs of hex digits"));
  EXPECT_TRUE(has_error(errs, "/steps/4/base64: is not valid base64"));
  EXPECT_TRUE(has_error(errs, "/steps/5/fill/pattern: must be ascii, zero, counter or random"));
  EXPECT_TRUE(has_error(errs, "/steps/6/encoding: unknown charset"));
}

TEST(Parse, HexAndBase64AreDecodedAtParseTime) {
  auto r = parse_suite(suite_with_steps(R"([{"op": "connect", "conn": "c"},
    {"op": "send", "conn": "c", "hex": "00 ff\n0a"},
    {"op": "send", "conn": "c", "base64": "AP8K"}])"),
                       "t.json");
  ASSERT_TRUE(r.suite);
  EXPECT_EQ(std::get<SendOp>(r.suite->cases[0].steps[1].op).payload.literal,
            std::string("\0\xff\n", 3));
  EXPECT_EQ(std::get<SendOp>(r.suite->cases[0].steps[2].op).payload.literal,
            std::string("\0\xff\n", 3));
}

TEST(Parse, MatcherRulesDependOnTransport) {
  auto tcp = errors_of(suite_with_steps(R"([{"op": "connect", "conn": "c"},
    {"op": "expect", "conn": "c", "regex": "a+"},
    {"op": "expect", "conn": "c", "regex": "(", "until": "\n"},
    {"op": "expect", "conn": "c", "echo": "lower"},
    {"op": "expect", "conn": "c", "length": {"min": 5, "max": 2}},
    {"op": "expect", "conn": "c", "text": "a", "echo": true}])"));
  EXPECT_TRUE(has_error(tcp, "/steps/1/regex: on TCP needs \"until\""));
  EXPECT_TRUE(has_error(tcp,
                        "/steps/2/regex: is not a regex sockspec can run (RE2 syntax, see "
                        "docs/scenario-format.md): missing ): ("));
  EXPECT_TRUE(has_error(tcp, "/steps/3/echo: must be true or \"ascii-upper\""));
  EXPECT_TRUE(has_error(tcp, "/steps/4/length: min (5) exceeds max (2)"));
  EXPECT_TRUE(has_error(tcp, "/steps/5: has more than one matcher"));
  auto udp = errors_of(suite_with_steps(R"([{"op": "connect", "conn": "u"},
    {"op": "expect", "conn": "u", "regex": "a+", "until": "\n"},
    {"op": "expect_eof", "conn": "u"}])",
                                        "", "udp"));
  EXPECT_TRUE(has_error(udp, "/steps/1/until: does not apply to UDP"));
  EXPECT_TRUE(has_error(udp, "/steps/2/conn: op 'expect_eof' needs a TCP conn; 'u' is UDP"));
}

TEST(Parse, SilenceMayAllowAnEofOnATcpConnectionOnly) {
  auto ok = parse_suite(suite_with_steps(R"([{"op": "connect", "conn": "c"},
    {"op": "expect_silence", "conn": "c", "for_ms": 300, "allow_eof": true}])"),
                        "t.json");
  ASSERT_TRUE(ok.errors.empty());
  const auto& silence = std::get<ExpectSilenceOp>(ok.suite->cases[0].steps[1].op);
  EXPECT_TRUE(silence.allow_eof);
  auto errs = errors_of(suite_with_steps(R"([{"op": "connect", "conn": "u", "transport": "udp"},
    {"op": "expect_silence", "conn": "u", "for_ms": 300, "allow_eof": true},
    {"op": "listen", "conn": "l", "bind": "127.0.0.1:0"},
    {"op": "expect_silence", "conn": "l", "for_ms": 300, "allow_eof": true},
    {"op": "expect_silence", "conn": "l", "for_ms": 300, "allow_eof": 1}])"));
  EXPECT_TRUE(has_error(errs, "/steps/1/allow_eof: only applies to a TCP connection"));
  EXPECT_TRUE(has_error(errs,
                        "/steps/3/allow_eof: only applies to a TCP connection (only it has an "
                        "EOF); 'l' is a listener"));
  EXPECT_TRUE(has_error(errs, "/steps/4/allow_eof: must be"));
}

TEST(Parse, ConnsAreTrackedThroughTheSteps) {
  auto errs = errors_of(suite_with_steps(R"([
    {"op": "send", "conn": "nope", "text": "a"},
    {"op": "listen", "conn": "l", "bind": "127.0.0.1:0"},
    {"op": "send", "conn": "l", "text": "a"},
    {"op": "accept", "conn": "l", "as": "s"},
    {"op": "send", "conn": "s", "text": "ok"},
    {"op": "close", "conn": "s"},
    {"op": "send", "conn": "s", "text": "closed"},
    {"op": "parallel", "clients": 2, "steps": [{"op": "send", "conn": "l", "text": "x"}]}])"));
  EXPECT_TRUE(
      has_error(errs, "/steps/0/conn: conn 'nope' is not open at this step (no conn is open)"));
  EXPECT_TRUE(has_error(errs, "/steps/2/conn: 'l' is a listener"));
  EXPECT_TRUE(has_error(errs, "/steps/6/conn: conn 's' is not open at this step (open: l)"));
  EXPECT_TRUE(has_error(errs,
                        "/steps/7/steps/0/conn: conn 'l' is not open at this step (no conn is "
                        "open); each parallel client has its own conns"));
  EXPECT_EQ(errs.size(), 4u);
}

TEST(Parse, VariablesAreCheckedWhereTheyAreUsed) {
  auto errs = errors_of(suite_with_steps(R"([
    {"op": "connect", "conn": "c", "to": "${target.host}:${target.port}"},
    {"op": "send", "conn": "c", "text": "${i}"},
    {"op": "send", "conn": "c", "text": "${client}"},
    {"op": "send", "conn": "c", "text": "${what.ever}"},
    {"op": "send", "conn": "c", "text": "${conn.d.local_port}"},
    {"op": "send", "conn": "c", "text": "${seed"},
    {"op": "repeat", "times": 2, "steps": [{"op": "send", "conn": "c", "text": "${i} ${env.HOME} ${conn.c.local_port}"}]}])"));
  EXPECT_TRUE(has_error(errs, "/steps/1/text: ${i} is only defined inside a repeat"));
  EXPECT_TRUE(has_error(errs, "/steps/2/text: ${client} is only defined inside a parallel"));
  EXPECT_TRUE(has_error(errs, "/steps/3/text: unknown variable ${what.ever}"));
  EXPECT_TRUE(has_error(errs, "/steps/4/text: ${conn.d.local_port}: conn 'd' is not open here"));
  EXPECT_TRUE(has_error(errs, "/steps/5/text: unterminated ${"));
  EXPECT_EQ(errs.size(), 5u);
}

TEST(Parse, AddressesAndErrnoNamesAreChecked) {
  auto errs = errors_of(suite_with_steps(R"([
    {"op": "connect", "conn": "a", "to": "::1:80"},
    {"op": "connect", "conn": "b", "to": "localhost:70000"},
    {"op": "connect", "conn": "c", "to": "[::1]:7", "expect_error": "ECONNREFUSD"},
    {"op": "listen", "conn": "l", "bind": "target", "expect_error": "EADDRINUSE"}])"));
  EXPECT_TRUE(has_error(errs, "/steps/0/to: IPv6 addresses need brackets"));
  EXPECT_TRUE(has_error(errs, "/steps/1/to: port must be 0..65535, got '70000'"));
  EXPECT_TRUE(has_error(errs, "/steps/2/expect_error: is not an errno name"));
  EXPECT_EQ(errs.size(), 3u);
}

TEST(Parse, ServerStepsImplyTheManagedServerRequirement) {
  auto r = parse_suite(suite_with_steps(R"([{"op": "server", "action": "restart"}])"), "t.json");
  ASSERT_TRUE(r.suite);
  const auto& req = r.suite->cases[0].requires_;
  EXPECT_NE(std::find(req.begin(), req.end(), "managed-server"), req.end());
  auto errs = errors_of(
      suite_with_steps(R"([{"op": "server", "action": "reboot"}])", R"("requires": ["gpu"], )"));
  EXPECT_TRUE(has_error(
      errs,
      "/cases/0/requires/0: unknown capability \"gpu\" (known: managed-server, exclusive-server"));
  EXPECT_TRUE(has_error(errs, "/steps/0/action: must be start, stop, restart or kill"));
}

TEST(Parse, AFilesDistinctRegexesStayWithinOneTotal) {
  // One step per distinct near-limit pattern (4,000 instructions, 20 bytes each once compiled):
  // a 64 MiB suite of them held over 20 GB and took minutes to validate.
  std::string steps = R"([{"op": "connect", "conn": "c"})";
  for (int i = 0; i < 300; ++i) {
    steps +=
        R"(, {"op": "expect", "conn": "c", "until": "\n", "regex": "[a-z]{1000}[a-z]{1000}[a-z]{1000}[a-z]{1000})" +
        std::to_string(i) + "\"}";
  }
  auto errs = errors_of(suite_with_steps(steps + "]"));
  ASSERT_EQ(errs.size(), 1u) << errs[0];
  EXPECT_TRUE(has_error(errs, "instructions in total; the regexes after it are not checked"));
  // The same pattern in every step compiles once, and is valid.
  std::string same = R"([{"op": "connect", "conn": "c"})";
  for (int i = 0; i < 300; ++i) {
    same +=
        R"(, {"op": "expect", "conn": "c", "until": "\n", "regex": "[a-z]{1000}[a-z]{1000}[a-z]{1000}[a-z]{1000}"})";
  }
  auto r = parse_suite(suite_with_steps(same + "]"), "t.json");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].to_string();
  const auto& s = r.suite->cases[0].steps;
  auto compiled = [&](size_t k) {
    return std::get<RegexMatch>(std::get<ExpectOp>(s[k].op).matcher.kind).compiled.get();
  };
  EXPECT_EQ(compiled(1), compiled(300));
}

}  // namespace
}  // namespace sockspec::scenario
