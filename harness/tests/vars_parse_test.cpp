// Issue 21's keys through the parser and the writer: parse_suite(write_suite(s)) gives `s` back.
#include <gtest/gtest.h>

#include "scenario/parse.h"
#include "scenario/write.h"

namespace sockspec {
namespace {

constexpr const char* kSuite = R"J({"format": 1, "suite": "v", "transport": "udp", "cases": [
  {"id": "a", "steps": [
    {"op": "open", "conn": "u"},
    {"op": "send", "conn": "u", "text": "RRQ $${x}"},
    {"op": "set", "values": {"block": 1, "mask": "0x8000 | 3"}},
    {"op": "repeat", "until": "len(${data}) < 512", "max": 100, "steps": [
      {"op": "expect", "conn": "u", "from": "127.0.0.1:*", "capture_from": "peer",
       "regex": "DATA ${block} (.*)", "capture": {"data": 1}},
      {"op": "send", "conn": "u", "to": "${peer}", "text": "ACK ${block}"},
      {"op": "set", "values": {"block": "${block} + 1"}}]},
    {"op": "expect", "conn": "u", "from": "any", "length": "${block} * 2"},
    {"op": "repeat", "times": 2, "steps": [{"op": "sleep", "ms": 0}]}]},
  {"id": "b", "steps": [
    {"op": "connect", "conn": "c", "transport": "tcp"},
    {"op": "expect", "conn": "c", "regex": "([0-9]+)", "until": "\n", "capture": {"n": 1}},
    {"op": "expect", "conn": "c", "regex": "(?s).*", "bytes": "${n} + 2"},
    {"op": "expect", "conn": "c", "regex": "x", "bytes": "3"}]}]})J";

TEST(VarsParse, WrittenSuitesReadBackTheSame) {
  auto first = scenario::parse_suite(kSuite, "v.json");
  ASSERT_TRUE(first.errors.empty()) << first.errors.front().to_string();
  auto written = scenario::write_suite(*first.suite).dump();
  auto second = scenario::parse_suite(written, "v.json");
  ASSERT_TRUE(second.errors.empty()) << second.errors.front().to_string() << "\n" << written;
  EXPECT_EQ(scenario::write_suite(*second.suite).dump(), written);
  // What the writer says for each new key.
  EXPECT_NE(written.find(R"("values":{"block":1,"mask":"0x8000 | 3"})"), std::string::npos)
      << written;
  EXPECT_NE(written.find(R"("max":100,"until":"len(${data}) < 512")"), std::string::npos)
      << written;
  EXPECT_NE(written.find(R"("from":"127.0.0.1:*","capture_from":"peer")"), std::string::npos)
      << written;
  EXPECT_NE(written.find(R"("length":"${block} * 2")"), std::string::npos) << written;
  EXPECT_NE(written.find(R"("bytes":"${n} + 2")"), std::string::npos) << written;
  EXPECT_NE(written.find(R"("bytes":3)"), std::string::npos) << written;  // a constant: a number
  EXPECT_NE(written.find(R"("times":2)"), std::string::npos) << written;
  EXPECT_NE(written.find(R"(RRQ $${x})"), std::string::npos) << written;
}

TEST(VarsParse, SetValuesAreDefinedForLaterStepsOnly) {
  auto r = scenario::parse_suite(R"J({"format": 1, "suite": "v", "cases": [{"id": "a", "steps": [
    {"op": "set", "values": {"a": 1, "b": "${a} + 1"}},
    {"op": "set", "values": {"c": "${a} + 1"}}]}]})J",
                                 "v.json");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string(),
            "v.json:/cases/0/steps/0/values/b: ${a} is used before any step captures it");
}

}  // namespace
}  // namespace sockspec
