// Recording: sessions become steps, the model is written back as JSON the parser reads again,
// and AF_UNIX names parse, compare and decide which cases can run on them.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "net/address.h"
#include "record/session.h"
#include "runner/policy.h"
#include "scenario/endpoint.h"
#include "scenario/parse.h"
#include "scenario/write.h"

namespace sockspec {
namespace {

using namespace std::chrono_literals;
using record::Clock;
using record::RecordOptions;
using record::Session;
using scenario::Transport;

nlohmann::ordered_json steps_json(const scenario::Case& c) {
  return scenario::write_steps(c.steps);
}

TEST(WriteSuite, TheFormatTourReadsBackTheSame) {
  std::ifstream in(SOCKSPEC_TOUR);
  std::stringstream text;
  text << in.rdbuf();
  auto first = scenario::parse_suite(text.str(), "tour.json");
  ASSERT_TRUE(first.suite) << first.errors.front().to_string();
  std::string written = scenario::write_suite(*first.suite).dump(2);
  auto second = scenario::parse_suite(written, "written.json");
  ASSERT_TRUE(second.suite) << second.errors.front().to_string() << "\n" << written;
  EXPECT_EQ(scenario::write_suite(*second.suite).dump(2), written);
  EXPECT_EQ(second.suite->cases.size(), first.suite->cases.size());
}

TEST(RecordSession, ReadsAreSendsRepliesJoinUntilTheClientActsAndAHalfCloseIsAShutdown) {
  auto t0 = Clock::now();
  Session s(Transport::tcp, "127.0.0.1:5000", "c", t0, RecordOptions{});
  s.client_sent("hel", t0 + 1ms);
  s.client_sent("lo\n", t0 + 2ms);
  s.server_sent("HEL", t0 + 3ms);
  s.server_sent("LO\n", t0 + 4ms);
  s.client_eof(t0 + 5ms);
  s.client_eof(t0 + 5500us);  // already half-closed: nothing new
  s.server_eof(t0 + 6ms);
  EXPECT_TRUE(s.ended());  // both sides are done
  auto c = record::to_case(s, "session-1", RecordOptions{});
  auto j = steps_json(c);
  ASSERT_EQ(j.size(), 7u) << j.dump();
  EXPECT_EQ(j[1]["text"], "hel");
  EXPECT_EQ(j[2]["text"], "lo\n");
  EXPECT_EQ(j[3]["op"], "expect");
  EXPECT_EQ(j[3]["text"], "HELLO\n");
  EXPECT_EQ(j[4]["op"], "shutdown");
  EXPECT_EQ(j[5]["op"], "expect_eof");
  EXPECT_EQ(j[6]["op"], "close");
}

TEST(RecordSession, WithAFrameEachMessageIsOneStepOfTypedParts) {
  auto t0 = Clock::now();
  RecordOptions opt;
  codec::Frame f;
  ASSERT_EQ(codec::parse_frame_spec("length:0:2:big", f), "");
  opt.frame = f;
  Session s(Transport::tcp, "127.0.0.1:5000", "c", t0, opt);
  // Two requests in three reads, split inside the second's header.
  s.client_sent(std::string("\x00\x02hi\x00", 5), t0 + 1ms);
  s.client_sent(std::string("\x03\x01\x02\x03", 4), t0 + 2ms);
  s.server_sent(std::string("\x00\x02HI\x00\x01", 6), t0 + 3ms);
  s.server_sent(std::string("!", 1), t0 + 4ms);
  s.client_eof(t0 + 5ms);
  s.server_eof(t0 + 6ms);
  auto c = record::to_case(s, "session-1", opt);
  auto j = steps_json(c);
  ASSERT_EQ(j.size(), 8u) << j.dump();
  EXPECT_EQ(j[0]["frame"].dump(), R"({"length":{"offset":0,"width":2,"endian":"big"}})");
  EXPECT_EQ(j[1]["parts"].dump(),
            R"([{"u16":{"length_of":"body"}},{"parts":[{"text":"hi"}],"name":"body"}])");
  EXPECT_EQ(j[2]["parts"][1]["parts"][0]["hex"], "010203");
  EXPECT_EQ(j[3]["op"], "expect");
  EXPECT_EQ(j[3]["parts"][1]["parts"][0]["text"], "HI");
  EXPECT_EQ(j[4]["parts"][1]["parts"][0]["text"], "!");
  EXPECT_EQ(j[5]["op"], "shutdown");
  // What was written reads back as a valid suite.
  auto text = record::suite_text("rec", "", Transport::tcp, 2000, {c});
  EXPECT_EQ(text.error, "") << text.text;
}

TEST(RecordSession, ResetsOnEitherSideEndTheSession) {
  auto t0 = Clock::now();
  Session a(Transport::tcp, "x", "c", t0, RecordOptions{});
  a.client_sent("q", t0);
  a.client_reset(t0 + 1ms);
  a.server_sent("late", t0 + 2ms);  // after the end: not part of the session
  EXPECT_TRUE(a.ended());
  auto ja = steps_json(record::to_case(a, "a", RecordOptions{}));
  EXPECT_EQ(ja.back(), (nlohmann::ordered_json{{"op", "close"}, {"conn", "c"}, {"abort", true}}));
  EXPECT_EQ(ja.size(), 3u);

  Session b(Transport::tcp, "x", "c", t0, RecordOptions{});
  b.client_sent("q", t0);
  b.server_sent("bye", t0 + 1ms);
  b.server_reset(t0 + 2ms);
  auto jb = steps_json(record::to_case(b, "b", RecordOptions{}));
  ASSERT_EQ(jb.size(), 4u);
  EXPECT_EQ(jb[2]["text"], "bye");
  EXPECT_EQ(jb[3]["op"], "expect_reset");
}

TEST(RecordSession, PausesOverTheThresholdBecomeSleepsAndSlowRepliesGetTime) {
  auto t0 = Clock::now();
  RecordOptions o;
  o.pause_ms = 100;
  Session s(Transport::tcp, "x", "c", t0, o);
  s.client_sent("a", t0 + 50ms);    // under the threshold: no sleep
  s.server_sent("A", t0 + 1600ms);  // 1.55 s: more than half the 2 s default
  s.client_sent("b", t0 + 1900ms);  // 300 ms after the reply
  auto j = steps_json(record::to_case(s, "s", o));
  ASSERT_EQ(j.size(), 6u) << j.dump();
  EXPECT_EQ(j[1]["op"], "send");
  EXPECT_EQ(j[2]["op"], "expect");
  EXPECT_EQ(j[2]["timeout_ms"], 2 * 1550 + 1000);
  EXPECT_EQ(j[3], (nlohmann::ordered_json{{"op", "sleep"}, {"ms", 300}}));
  EXPECT_EQ(j[4]["text"], "b");
}

TEST(RecordExpects, BinaryIsHexLargeIsLengthAndDigitsBecomeRegexesPerLine) {
  RecordOptions o;
  o.max_expect_bytes = 4;
  auto big = scenario::write_steps(record::expects_for("12345", Transport::tcp, o, "c"));
  EXPECT_EQ(big[0]["length"], 5);
  o.max_expect_bytes = 1000;
  auto bin = scenario::write_steps(
      record::expects_for(std::string("\x00\xff", 2), Transport::tcp, o, "c"));
  EXPECT_EQ(bin[0]["hex"], "00ff");
  auto var = scenario::write_steps(record::expects_for("${x}", Transport::tcp, o, "c"));
  EXPECT_EQ(var[0]["hex"], "247b787d");  // never read back as a variable
  o.regex_digits = true;
  auto lines =
      scenario::write_steps(record::expects_for("at 10:42 (x)\nok\nid 7", Transport::tcp, o, "c"));
  ASSERT_EQ(lines.size(), 3u) << lines.dump();
  EXPECT_EQ(lines[0]["regex"], "at [0-9]+:[0-9]+ \\(x\\)");
  EXPECT_EQ(lines[0]["until"], "\n");
  EXPECT_EQ(lines[1]["text"], "ok\n");
  EXPECT_EQ(lines[2]["text"], "id 7");  // no newline to end a regex segment: exact
  auto dgram = scenario::write_steps(record::expects_for("t=99\n", Transport::udp, o, "c"));
  EXPECT_EQ(dgram[0]["regex"], "t=[0-9]+\\n");
  EXPECT_FALSE(dgram[0].contains("until"));
}

TEST(RecordSession, EachDatagramIsItsOwnExpect) {
  auto t0 = Clock::now();
  Session s(Transport::udp, "x", "c", t0, RecordOptions{});
  s.client_sent("a", t0);
  s.server_sent("A", t0 + 1ms);
  s.server_sent("B", t0 + 2ms);
  auto j = steps_json(record::to_case(s, "s", RecordOptions{}));
  ASSERT_EQ(j.size(), 5u);
  EXPECT_EQ(j[2]["text"], "A");
  EXPECT_EQ(j[3]["text"], "B");
  EXPECT_EQ(j[4]["op"], "close");
}

TEST(RecordSession, OneCaseInterleavesSessionsInTheOrderTheyHappened) {
  auto t0 = Clock::now();
  RecordOptions o;
  o.one_case = true;
  Session a(Transport::tcp, "a", record::conn_name(0, o), t0, o);
  Session b(Transport::tcp, "b", record::conn_name(1, o), t0 + 1ms, o);
  a.client_sent("hi", t0 + 2ms);
  b.server_sent("hi", t0 + 3ms);
  b.client_sent("yo", t0 + 4ms);
  a.server_sent("yo", t0 + 5ms);
  auto cases = record::recorded_cases({&a, &b}, o);
  ASSERT_EQ(cases.size(), 1u);
  auto j = steps_json(cases[0]);
  std::vector<std::string> order;
  for (const auto& s : j)
    order.push_back(s["op"].get<std::string>() + " " + s["conn"].get<std::string>());
  EXPECT_EQ(order, (std::vector<std::string>{"connect c1", "connect c2", "send c1", "expect c2",
                                             "send c2", "expect c1", "close c1", "close c2"}));
  auto text = record::suite_text("chat", "t", Transport::tcp, 2000, cases);
  EXPECT_EQ(text.error, "");
}

TEST(RecordSuite, NamesComeFromTheFileAndTheTextReadsBack) {
  EXPECT_EQ(record::suite_name_for("out/My Session.json"), "my-session");
  EXPECT_EQ(record::suite_name_for(".json"), "recorded");
  auto t0 = Clock::now();
  Session s(Transport::tcp, "x", "c", t0, RecordOptions{});
  s.client_sent(std::string("\x01\x02", 2), t0);
  auto text = record::suite_text("r", "t", Transport::tcp, 2000,
                                 {record::to_case(s, "session-1", RecordOptions{})});
  EXPECT_EQ(text.error, "");
  EXPECT_NE(text.text.find("\"hex\": \"0102\""), std::string::npos) << text.text;
}

TEST(UnixEndpoints, PathsAbstractNamesAndDatagramsParse) {
  auto p = scenario::parse_endpoint("unix:/run/x.sock");
  ASSERT_TRUE(p.endpoint);
  EXPECT_EQ(p.endpoint->unix_path, "/run/x.sock");
  EXPECT_FALSE(p.endpoint->unix_dgram);
  auto g = scenario::parse_endpoint("unixgram:@name");
  ASSERT_TRUE(g.endpoint);
  EXPECT_EQ(g.endpoint->unix_path, "@name");
  EXPECT_TRUE(g.endpoint->unix_dgram);
  EXPECT_FALSE(scenario::parse_endpoint("unix:").endpoint);
  EXPECT_FALSE(scenario::parse_endpoint("unix:@").endpoint);
  auto long_path = scenario::parse_endpoint("unix:/" + std::string(120, 'a'));
  EXPECT_FALSE(long_path.endpoint);
  EXPECT_NE(long_path.error.find("at most 107 bytes"), std::string::npos);
}

TEST(UnixEndpoints, AddressesCompareByNameWhateverLengthTheKernelReports) {
  auto a = net::unix_address("/tmp/s.sock");
  EXPECT_EQ(a.to_string(), "unix:/tmp/s.sock");
  EXPECT_EQ(a.port(), 0);
  net::SockAddr without_nul = a;
  --without_nul.len;  // recvfrom may report the path without its terminator
  EXPECT_TRUE(a == without_nul);
  auto abstract = net::unix_address("@s.sock");
  EXPECT_EQ(abstract.unix_path(), "@s.sock");
  EXPECT_FALSE(abstract == a);
  EXPECT_EQ(net::any_address(AF_UNIX).unix_path(), "");  // autobind: a name is picked at bind
}

scenario::Case case_of(const std::string& steps, const std::string& extra = "",
                       const std::string& transport = "tcp") {
  auto r = scenario::parse_suite(R"({"format": 1, "suite": "s", "transport": ")" + transport +
                                     R"(", "cases": [{"id": "c", )" + extra + R"("steps": )" +
                                     steps + "}]}",
                                 "t.json");
  EXPECT_TRUE(r.suite) << (r.errors.empty() ? "" : r.errors.front().to_string());
  return r.suite ? r.suite->cases.front() : scenario::Case{};
}

TEST(UnixSkip, CasesThatNeedTcpIpSayWhy) {
  auto plain = case_of(R"([{"op": "connect", "conn": "c"}, {"op": "send", "conn": "c", "text": "x"},
                           {"op": "shutdown", "conn": "c", "how": "write"}, {"op": "expect_eof", "conn": "c"}])");
  EXPECT_EQ(runner::unix_skip_reason(plain, false), std::nullopt);
  auto reason = runner::unix_skip_reason(plain, true);
  ASSERT_TRUE(reason);
  EXPECT_NE(reason->find("stream"), std::string::npos);
  auto corked = case_of(R"([{"op": "connect", "conn": "c", "options": {"cork": true}}])");
  EXPECT_NE(runner::unix_skip_reason(corked, false).value_or("").find("TCP options"),
            std::string::npos);
  auto ip = case_of(R"([{"op": "listen", "conn": "l", "bind": "127.0.0.1:0"}])");
  EXPECT_NE(runner::unix_skip_reason(ip, false).value_or("").find("IP address"), std::string::npos);
  auto taken =
      case_of(R"([{"op": "listen", "conn": "l", "bind": "target", "expect_error": "EADDRINUSE"}])");
  EXPECT_EQ(runner::unix_skip_reason(taken, false), std::nullopt);
  auto port = case_of(
      R"([{"op": "connect", "conn": "c"}, {"op": "send", "conn": "c", "text": "${target.port}"}])");
  EXPECT_NE(runner::unix_skip_reason(port, false).value_or("").find("${target.port}"),
            std::string::npos);
  auto inet = case_of(R"([{"op": "connect", "conn": "c"}])", R"("requires": ["inet"], )");
  EXPECT_NE(runner::unix_skip_reason(inet, false).value_or("").find("requires inet"),
            std::string::npos);
  auto opened = case_of(R"([{"op": "open", "conn": "u"}, {"op": "send", "conn": "u", "text": "x"},
                            {"op": "expect", "conn": "u", "echo": true, "from": "target"}])",
                        "", "udp");
  EXPECT_EQ(runner::unix_skip_reason(opened, true), std::nullopt);
}

}  // namespace
}  // namespace sockspec
