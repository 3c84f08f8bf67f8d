// `capture`: groups of a matched regex become ${NAME} for later steps. Validation catches
// names that shadow built-ins, groups the regex lacks and values used before they exist; at
// run time the value follows the client (parallel copies, repeats) and whatever the chunking.
#include <gtest/gtest.h>

#include "run_case.h"
#include "scenario/parse.h"
#include "scenario/template.h"
#include "scenario/write.h"
#include "test_servers.h"

namespace sockspec {
namespace {

using reports::Verdict;
using testing::run_steps;
using testing::TcpServer;
using testing::UdpServer;

// Every problem of a one-case suite with these steps, one "file:pointer: message" per line.
std::string errors_of(const std::string& steps) {
  auto r = scenario::parse_suite(
      R"({"format": 1, "suite": "s", "cases": [{"id": "c", "steps": )" + steps + "}]}", "t.json");
  std::string all;
  for (const auto& d : r.errors) all += d.to_string() + "\n";
  return all;
}

#define EXPECT_REPORTED(errs, want) \
  EXPECT_NE((errs).find(want), std::string::npos) << "missing: " << (want) << "\namong:\n" << (errs)

TEST(CaptureValidation, ACapturedNameIsUsableInEveryLaterStep) {
  auto r = scenario::parse_suite(R"J({"format": 1, "suite": "s", "cases": [{"id": "c", "steps": [
    {"op": "connect", "conn": "c"},
    {"op": "expect", "conn": "c", "regex": "OK ([0-9a-f]+) ([0-9]+)", "until": "\r\n",
     "capture": {"token": 1, "session": 2, "all": 0}},
    {"op": "send", "conn": "c", "text": "WHOAMI ${token} ${session}\r\n"},
    {"op": "expect", "conn": "c", "regex": "USER ${token}", "until": "\r\n"}]}]})J",
                                 "t.json");
  ASSERT_TRUE(r.suite) << r.errors.front().to_string();
  const auto& m = std::get<scenario::RegexMatch>(
      std::get<scenario::ExpectOp>(r.suite->cases[0].steps[1].op).matcher.kind);
  ASSERT_EQ(m.capture.size(), 3u);  // by name: JSON objects keep no order
  EXPECT_EQ(m.capture[2].name, "token");
  EXPECT_EQ(m.capture[2].group, 1u);
  EXPECT_EQ(m.groups_needed(), 3u);
}

TEST(CaptureValidation, AWrittenSuiteKeepsItsCaptures) {
  auto r = scenario::parse_suite(R"J({"format": 1, "suite": "s", "cases": [{"id": "c", "steps": [
    {"op": "connect", "conn": "c"},
    {"op": "expect", "conn": "c", "regex": "OK (.*)", "until": "\n", "capture": {"all": 0, "v": 1}}]}]})J",
                                 "t.json");
  ASSERT_TRUE(r.suite);
  auto steps = scenario::write_steps(r.suite->cases[0].steps);
  EXPECT_EQ(steps[1]["capture"].dump(), R"J({"all":0,"v":1})J");
}

TEST(CaptureValidation, BadCapturesAreReportedAtTheirPointers) {
  auto errs = errors_of(R"J([{"op": "connect", "conn": "c"},
    {"op": "send", "conn": "c", "text": "${token}"},
    {"op": "expect", "conn": "c", "regex": "T (x)", "until": "\n",
     "capture": {"seed": 1, "i": 0, "token": 2, "1st": 1, "ok": "one", "fine": 1}},
    {"op": "expect", "conn": "c", "text": "x", "capture": {"a": 0}},
    {"op": "expect", "conn": "c", "regex": "x", "until": "\n", "capture": []},
    {"op": "expect", "conn": "c", "regex": "(x)", "until": "\n", "capture": {"e": 1},
     "expect_error": "ECONNRESET"},
    {"op": "send", "conn": "c", "text": "${fine} ${nope}"}])J");
  EXPECT_REPORTED(errs,
                  "t.json:/cases/0/steps/1/text: ${token} is used before any step captures it");
  EXPECT_REPORTED(errs, "/steps/2/capture/seed: 'seed' is a built-in variable");
  EXPECT_REPORTED(errs, "/steps/2/capture/i: 'i' is a built-in variable");
  EXPECT_REPORTED(errs, "/steps/2/capture/token: group 2 does not exist: /T (x)/ has 1 group(s)");
  EXPECT_REPORTED(errs, "/steps/2/capture/1st: '1st' must be a name of letters");
  EXPECT_REPORTED(errs, "/steps/2/capture/ok: must be a group number");
  EXPECT_REPORTED(errs, "/steps/3/capture: only applies to a regex matcher");
  EXPECT_REPORTED(errs, "/steps/4/capture: must be an object of NAME: GROUP");
  EXPECT_REPORTED(errs, "/steps/5/capture: needs a reply to capture from");
  EXPECT_REPORTED(
      errs,
      "/steps/6/text: ${nope} is used before any step captures it (captured so far: e, fine)");
  EXPECT_EQ(errs.find("${fine}"), std::string::npos) << errs;
}

TEST(CaptureValidation, ParallelCopiesSeeEarlierCapturesButKeepTheirOwn) {
  auto errs = errors_of(R"J([{"op": "connect", "conn": "c"},
    {"op": "expect", "conn": "c", "regex": "(.*)", "until": "\n", "capture": {"outer": 1}},
    {"op": "parallel", "clients": 2, "steps": [
      {"op": "connect", "conn": "p"},
      {"op": "send", "conn": "p", "text": "${outer}"},
      {"op": "expect", "conn": "p", "regex": "(.*)", "until": "\n", "capture": {"inner": 1}},
      {"op": "send", "conn": "p", "text": "${inner}"}]},
    {"op": "send", "conn": "c", "text": "${inner}"}])J");
  EXPECT_EQ(std::count(errs.begin(), errs.end(), '\n'), 1) << errs;
  EXPECT_REPORTED(errs, "/steps/3/text: ${inner} is used before any step captures it");
}

TEST(CaptureValidation, AProfileCapturesInSetupForItsIterations) {
  nlohmann::json setup = nlohmann::json::parse(R"J([{"op": "connect", "conn": "c"},
    {"op": "expect", "conn": "c", "regex": "(.*)", "until": "\n", "capture": {"token": 1}}])J");
  nlohmann::json iteration =
      nlohmann::json::parse(R"J([{"op": "send", "conn": "c", "text": "${token}\n"}])J");
  auto ok = scenario::parse_step_lists({{&setup, "/setup"}, {&iteration, "/iteration"}}, "p.json",
                                       scenario::Transport::tcp);
  EXPECT_TRUE(ok.errors.empty()) << ok.errors.front().to_string();
  auto bad =
      scenario::parse_step_lists({{&iteration, "/iteration"}}, "p.json", scenario::Transport::tcp);
  bool reported = false;
  for (const auto& e : bad.errors) {
    reported |= e.pointer == "/iteration/0/text" &&
                e.message.find("${token} is used before any step captures it") != std::string::npos;
  }
  EXPECT_TRUE(reported);
}

TEST(CaptureExpansion, ValuesAreInsertedAndQuotedWhereAskedTo) {
  scenario::Captures caps;
  caps.set("token", "a+b");
  scenario::VarValues v;
  v.captures = &caps;
  EXPECT_EQ(scenario::expand("T ${token}!", v).text, "T a+b!");
  EXPECT_EQ(scenario::expand("${token}", v, match::quote_literal).text, "a\\x2bb");
  EXPECT_NE(scenario::expand("${other}", v).error.find("${other} has not been captured"),
            std::string::npos);
  caps.set("token", "c");  // rebinding replaces the value in place
  EXPECT_EQ(caps.all().size(), 1u);
  EXPECT_EQ(caps.describe(), "token=\"c\"");
  caps.set("bin", std::string("\x00\xff", 2));
  EXPECT_EQ(caps.describe(), "token=\"c\", bin=\"\\x00\\xff\"");
}

// The login protocol of the example suite, written one byte per send so the reply reaches
// the matcher in as many pieces as TCP allows: "LOGIN name" -> "OK TOKEN <hex> SESSION <n>",
// "WHOAMI <token>" -> "USER name" (or "ERR bad token").
void login_server(int fd, const std::atomic<bool>& stop) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const std::string token = "9f3a07c2";
  std::string name, in;
  auto say = [&](const std::string& s) {
    for (char ch : s) ::send(fd, &ch, 1, MSG_NOSIGNAL);
  };
  char buf[512];
  while (testing::wait_readable(fd, 5000, stop)) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    in.append(buf, static_cast<size_t>(n));
    size_t eol;
    while ((eol = in.find("\r\n")) != std::string::npos) {
      std::string line = in.substr(0, eol);
      in.erase(0, eol + 2);
      if (line.rfind("LOGIN ", 0) == 0) {
        name = line.substr(6);
        say("OK TOKEN " + token + " SESSION 17\r\n");
      } else if (line == "WHOAMI " + token) {
        say("USER " + name + "\r\n");
      } else {
        say("ERR bad token\r\n");
      }
    }
  }
}

TEST(CaptureEngine, ATokenFromAChunkedReplyIsSentBackAndMatched) {
  TcpServer server(login_server);
  auto r = run_steps(R"J([{"op": "connect", "conn": "c"},
    {"op": "send", "conn": "c", "text": "LOGIN alice\r\n"},
    {"op": "expect", "conn": "c", "regex": "OK TOKEN ([0-9a-f]+) SESSION ([0-9]+)", "until": "\r\n",
     "capture": {"token": 1, "session": 2, "line": 0}},
    {"op": "send", "conn": "c", "text": "WHOAMI ${token}\r\n"},
    {"op": "expect", "conn": "c", "text": "USER alice\r\n"},
    {"op": "connect", "conn": "d"},
    {"op": "send", "conn": "d", "text": "LOGIN bob\r\nWHOAMI ${token}\r\n"},
    {"op": "expect", "conn": "d", "regex": "OK TOKEN ${token} SESSION ${session}", "until": "\r\n"},
    {"op": "expect", "conn": "d", "text": "USER bob\r\n"}])J",
                     "127.0.0.1", server.port());
  EXPECT_EQ(r.outcome.verdict, Verdict::pass) << r.all_messages;
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(r.outcome.captures, (std::vector<P>{{"line", "OK TOKEN 9f3a07c2 SESSION 17"},
                                                {"session", "17"},
                                                {"token", "9f3a07c2"}}));
  EXPECT_NE(
      r.outcome.steps.at(2).message.find(
          "captured line=\"OK TOKEN 9f3a07c2 SESSION 17\", session=\"17\", token=\"9f3a07c2\""),
      std::string::npos)
      << r.all_messages;
}

TEST(CaptureEngine, AGroupThatTookNoPartFailsTheStepSayingSo) {
  TcpServer server(login_server);
  auto r = run_steps(R"J([{"op": "connect", "conn": "c"},
    {"op": "send", "conn": "c", "text": "LOGIN alice\r\n"},
    {"op": "expect", "conn": "c", "regex": "OK TOKEN ([0-9a-f]+) SESSION ([0-9]+)", "until": "\r\n",
     "capture": {"token": 1}},
    {"op": "send", "conn": "c", "text": "NOPE\r\n"},
    {"op": "expect", "conn": "c", "regex": "USER (.*)|ERR (.*)", "until": "\r\n", "capture": {"user": 1}},
    {"op": "send", "conn": "c", "text": "WHOAMI ${user}\r\n"}])J",
                     "127.0.0.1", server.port());
  ASSERT_EQ(r.outcome.verdict, Verdict::fail) << r.all_messages;
  const auto* f = r.failed();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->path, "4");
  EXPECT_EQ(f->message,
            "capture user: group 1 of /USER (.*)|ERR (.*)/ took no part in the match, so it has "
            "no value");
  // The values captured before the failure are kept for the report.
  ASSERT_EQ(r.outcome.captures.size(), 1u);
  EXPECT_EQ(r.outcome.captures[0].second, "9f3a07c2");
}

TEST(CaptureEngine, AValueInARegexMatchesItselfNotItsSyntax) {
  UdpServer server([](const std::string& dg) { return dg == "?" ? "ID a.b+c" : "ECHO " + dg; });
  auto r = run_steps(R"J([{"op": "connect", "conn": "u"},
    {"op": "send", "conn": "u", "text": "?"},
    {"op": "expect", "conn": "u", "regex": "ID (.+)", "capture": {"id": 1}},
    {"op": "send", "conn": "u", "text": "${id}"},
    {"op": "expect", "conn": "u", "regex": "ECHO ${id}"},
    {"op": "send", "conn": "u", "text": "aXbbbc"},
    {"op": "expect", "conn": "u", "regex": "ECHO ${id}"}])J",
                     "127.0.0.1", server.port(), "udp");
  ASSERT_EQ(r.outcome.verdict, Verdict::fail) << r.all_messages;
  EXPECT_EQ(r.failed()->path, "6") << r.all_messages;  // a.b+c would match aXbbbc as a regex
  EXPECT_NE(r.failed()->message.find("does not match /ECHO a\\x2eb\\x2bc/"), std::string::npos)
      << r.all_messages;
}

TEST(CaptureEngine, RepeatsRebindAndParallelCopiesStartFromTheirParent) {
  UdpServer server([](const std::string& dg) { return "GOT " + dg; });
  auto r = run_steps(R"J([{"op": "connect", "conn": "u"},
    {"op": "send", "conn": "u", "text": "root"},
    {"op": "expect", "conn": "u", "regex": "GOT (.*)", "capture": {"v": 1}},
    {"op": "repeat", "times": 3, "steps": [
      {"op": "send", "conn": "u", "text": "${v}-${i}"},
      {"op": "expect", "conn": "u", "regex": "GOT (.*)", "capture": {"v": 1}}]},
    {"op": "parallel", "clients": 2, "steps": [
      {"op": "connect", "conn": "p"},
      {"op": "send", "conn": "p", "text": "${v}/${client}"},
      {"op": "expect", "conn": "p", "regex": "GOT (root-0-1-2/[01])", "capture": {"v": 1}}]},
    {"op": "send", "conn": "u", "text": "${v}"},
    {"op": "expect", "conn": "u", "text": "GOT root-0-1-2"}])J",
                     "127.0.0.1", server.port(), "udp");
  EXPECT_EQ(r.outcome.verdict, Verdict::pass) << r.all_messages;
}

}  // namespace
}  // namespace sockspec
