// Typed parts and frames in suites: what the parser builds, every mistake at its JSON pointer,
// and the writer's output read back to the same suite.
#include <gtest/gtest.h>

#include "scenario/parse.h"
#include "scenario/write.h"

namespace sockspec::scenario {
namespace {

std::string suite_with(const std::string& steps) {
  return R"({"format": 1, "suite": "s", "transport": "tcp", "cases": [{"id": "c", "steps": [
    {"op": "connect", "conn": "c"}, )" +
         steps + "]}]}";
}

std::vector<std::string> errors_of(const std::string& steps) {
  std::vector<std::string> out;
  for (const auto& d : parse_suite(suite_with(steps), "t.json").errors)
    out.push_back(d.to_string());
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

constexpr const char* kGood = R"(
  {"op": "send", "conn": "c", "parts": [
    {"u16": {"length_of": "body", "adjust": 4}},
    {"name": "body", "parts": [{"u8": 1}, {"u16": 7, "endian": "little"}, {"text": "hi"},
                               {"hex": "00 ff"}, {"fill": {"bytes": 3, "pattern": "counter"}}]},
    {"u32": {"checksum": "crc32c", "of": "body"}},
    {"varint": 300, "format": "mqtt"}, {"decimal": "0x10"}, {"i8": -2}]},
  {"op": "expect", "conn": "c", "frame": {"length": {"offset": 0, "width": 2, "adjust": 4}},
   "parts": [
    {"u16": {"length_of": "r"}},
    {"name": "r", "parts": [{"u8": {"mask": 240, "value": 128}}, {"u16": {"min": 1, "max": 9}},
                            {"any": 2, "capture": "two"}, {"until": "\r\n"}, {"rest": true}]},
    {"u32": {"any": true}, "capture": "sum"}]},
  {"op": "send", "conn": "c", "parts": [{"u32": "${sum}"}, {"hex": "${two} 00"}]})";

TEST(ParseParts, ATypedSendAndExpectBecomeParts) {
  auto r = parse_suite(suite_with(kGood), "t.json");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().to_string();
  const auto& steps = r.suite->cases[0].steps;
  const auto& send = std::get<SendOp>(steps[1].op);
  ASSERT_EQ(send.payload.kind, Payload::Kind::parts);
  ASSERT_EQ(send.payload.parts.size(), 6u);
  EXPECT_TRUE(send.payload.fixed());
  EXPECT_EQ(send.payload.parts[0].value.number.kind, codec::Number::Kind::length_of);
  EXPECT_EQ(send.payload.parts[0].pointer, "/cases/0/steps/1/parts/0");
  EXPECT_EQ(send.payload.parts[1].parts[1].endian, codec::Endian::little);
  EXPECT_EQ(send.payload.parts[4].value.number.literal, 16);
  const auto& expect = std::get<ExpectOp>(steps[2].op);
  ASSERT_TRUE(expect.frame);
  EXPECT_EQ(expect.frame->adjust, 4);
  ASSERT_TRUE(std::holds_alternative<PartsMatch>(expect.matcher.kind));
  EXPECT_FALSE(std::get<SendOp>(steps[3].op).payload.fixed());
}

TEST(ParseParts, WrittenSuitesReadBackTheSame) {
  auto r = parse_suite(suite_with(kGood), "t.json");
  ASSERT_TRUE(r.errors.empty());
  std::string once = write_suite(*r.suite).dump();
  auto again = parse_suite(once, "again.json");
  ASSERT_TRUE(again.errors.empty()) << again.errors.front().to_string() << "\n" << once;
  EXPECT_EQ(write_suite(*again.suite).dump(), once);
  EXPECT_NE(once.find(R"("frame":{"length":{"offset":0,"width":2,"endian":"big","adjust":4}})"),
            std::string::npos)
      << once;
}

TEST(ParseParts, MistakesAreReportedAtTheirPointers) {
  const std::string s = R"({"op": "send", "conn": "c", "parts": )";
  EXPECT_TRUE(has_error(errors_of(s + R"([{"u24": 1}]})"),
                        "/cases/0/steps/1/parts/0: needs one kind: u8, u16"));
  EXPECT_TRUE(has_error(errors_of(s + R"([{"u24": 1}]})"), "unknown key"));
  EXPECT_TRUE(has_error(errors_of(s + R"([{"u8": 1, "text": "x"}]})"),
                        "/parts/0: has two kinds (u8 and text)"));
  EXPECT_TRUE(has_error(
      errors_of(s + R"([{"u16": {"length_of": "nope"}}, {"name": "b", "parts": [{"u8": 1}]}]})"),
      "/parts/0/u16: names the block \"nope\", which does not exist (blocks: b)"));
  EXPECT_TRUE(has_error(errors_of(s + R"([{"u8": 1, "capture": "x"}]})"),
                        "/parts/0/capture: capture applies to an expect"));
  EXPECT_TRUE(has_error(errors_of(s + R"([{"rest": true}]})"), "/parts/0: \"rest\" matches"));
  EXPECT_TRUE(has_error(errors_of(s + R"([{"u8": 256}]})"), "/parts/0/u8: 256 does not fit u8"));
  EXPECT_TRUE(has_error(errors_of(s + R"([{"u8": {"mask": 1, "value": 1}}]})"),
                        "/parts/0/u8: a send writes one value"));
  EXPECT_TRUE(has_error(errors_of(s + R"([{"u8": "${nope}"}]})"),
                        "/parts/0/u8: ${nope} is used before any step captures it"));
  EXPECT_TRUE(has_error(
      errors_of(
          s + R"([{"u32": {"checksum": "md5", "of": "b"}}, {"name": "b", "parts": [{"u8": 1}]}]})"),
      "/parts/0/u32/checksum: must be crc32, crc32c"));
  EXPECT_TRUE(has_error(errors_of(s + R"([{"varint": 1, "format": "zigzag"}]})"),
                        "/parts/0/format: must be leb128 or mqtt"));
  EXPECT_TRUE(has_error(errors_of(s + R"([{"u8": 1, "endian": "middle"}]})"),
                        "/parts/0/endian: must be big or little"));
  EXPECT_TRUE(has_error(errors_of(s + R"([{"hex": "0g"}]})"), "/parts/0/hex: must be pairs"));
  EXPECT_TRUE(
      has_error(errors_of(s + R"([{"name": "b", "parts": [{"varint": {"length_of": "b"}}]}]})"),
                "/parts/0/parts/0/varint: a varint field cannot hold"));
  EXPECT_TRUE(has_error(
      errors_of(s +
                R"([{"name": "b", "parts": [{"u8": 1}]}, {"name": "b", "parts": [{"u8": 1}]}]})"),
      "/parts/1/name: the name \"b\" is already used"));
  EXPECT_TRUE(has_error(errors_of(s + R"([]})"), "/parts: must be a non-empty array"));
  EXPECT_TRUE(
      has_error(errors_of(R"({"op": "send", "conn": "c", "text": "x", "parts": [{"u8": 1}]})"),
                "more than one payload"));
  EXPECT_TRUE(has_error(
      errors_of(
          R"({"op": "expect", "conn": "c", "frame": {"fixed": 2, "delimiter": "x"}, "length": 2})"),
      "/frame: needs exactly one of length, varint"));
  EXPECT_TRUE(has_error(
      errors_of(R"({"op": "expect", "conn": "c", "frame": {"length": {"width": 3}}, "length": 2})"),
      "/frame/length/width: must be 1, 2, 4 or 8"));
}

TEST(ParseParts, AFrameLetsATcpRegexGoWithoutADelimiter) {
  EXPECT_TRUE(
      errors_of(R"({"op": "expect", "conn": "c", "frame": {"delimiter": "\n"}, "regex": "a+\n"})")
          .empty());
  EXPECT_TRUE(
      has_error(errors_of(R"({"op": "expect", "conn": "c", "regex": "a+"})"), "needs \"until\""));
  auto udp = R"({"format": 1, "suite": "s", "transport": "udp", "cases": [{"id": "c", "steps": [
    {"op": "connect", "conn": "u", "frame": {"fixed": 4}}]}]})";
  ASSERT_EQ(parse_suite(udp, "t.json").errors.size(), 1u);
  EXPECT_NE(parse_suite(udp, "t.json").errors[0].message.find("only applies to TCP"),
            std::string::npos);
}

}  // namespace
}  // namespace sockspec::scenario
