// Payload generation, codecs and variable expansion: the pure pieces steps are built from.
#include "payload/payload.h"

#include <gtest/gtest.h>

#include "common/codec.h"
#include "scenario/template.h"

namespace sockspec {
namespace {

TEST(Fill, AsciiRotatesThroughThe94PrintableCharacters) {
  auto b = payload::fill_bytes({200, payload::FillPattern::ascii, std::nullopt}, 0);
  EXPECT_EQ(b[0], '!');
  EXPECT_EQ(b[93], '~');
  EXPECT_EQ(b[94], '!');
}

TEST(Fill, CounterIsTheIndexModulo256AndZeroIsZero) {
  auto c = payload::fill_bytes({300, payload::FillPattern::counter, std::nullopt}, 0);
  EXPECT_EQ(static_cast<unsigned char>(c[255]), 255);
  EXPECT_EQ(static_cast<unsigned char>(c[256]), 0);
  EXPECT_EQ(payload::fill_bytes({3, payload::FillPattern::zero, std::nullopt}, 9),
            std::string(3, '\0'));
}

TEST(Fill, RandomIsSplitMix64LittleEndianAndSeeded) {
  // splitmix64 from state 0 first returns 0xe220a8397b1dcdaf (the published reference).
  payload::SplitMix64 rng(0);
  EXPECT_EQ(rng.next(), 0xe220a8397b1dcdafull);
  auto b = payload::fill_bytes({8, payload::FillPattern::random, 0}, 123);
  EXPECT_EQ(to_hex(b), "afcd1d7b39a820e2");
  // Without its own seed the run's seed is used, so runs with the same --seed agree.
  auto r1 = payload::fill_bytes({64, payload::FillPattern::random, std::nullopt}, 7);
  auto r2 = payload::fill_bytes({64, payload::FillPattern::random, std::nullopt}, 7);
  auto r3 = payload::fill_bytes({64, payload::FillPattern::random, std::nullopt}, 8);
  EXPECT_EQ(r1, r2);
  EXPECT_NE(r1, r3);
}

TEST(Text, IsUtf8UnlessAnotherCharsetIsNamed) {
  EXPECT_EQ(payload::encode_text("\xe4\xb8\xad", "").bytes, "\xe4\xb8\xad");
  auto gbk = payload::encode_text("\xe4\xb8\xad", "gbk");  // U+4E2D
  EXPECT_EQ(to_hex(gbk.bytes), "d6d0");
  EXPECT_FALSE(payload::encode_text("\xe4\xb8\xad", "ascii").error.empty());
  EXPECT_FALSE(payload::encoding_known("no-such-charset"));
}

TEST(Upper, ChangesOnlyAsciiLetters) {
  EXPECT_EQ(payload::ascii_upper("abc xyz 123 \xc3\xa9\x00z"), "ABC XYZ 123 \xc3\xa9\x00Z");
}

TEST(Codec, HexAndBase64RoundTripAnyBytes) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(*from_hex(to_hex(all)), all);
  EXPECT_EQ(*from_base64(to_base64(all)), all);
  EXPECT_EQ(*from_base64("aGVsbG8="), "hello");
  EXPECT_EQ(*from_base64("aGVsbG8"), "hello");
  EXPECT_FALSE(from_base64("aGVs=bG8"));
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_EQ(escape_bytes(std::string("a\n\x01\xff", 4)), "a\\n\\x01\\xff");
}

TEST(Codec, ErrnoNamesGoBothWays) {
  EXPECT_EQ(errno_name(ECONNREFUSED), "ECONNREFUSED");
  EXPECT_EQ(errno_from_name("EADDRINUSE"), EADDRINUSE);
  EXPECT_FALSE(errno_from_name("ENOTAREALERROR"));
}

TEST(Variables, ExpandFromTheStepsScope) {
  scenario::VarValues v;
  v.target_host = "::1";
  v.target_port = 7;
  v.seed = 42;
  v.i = 3;
  v.client = 9;
  v.conn_local_port = [](const std::string& n) -> std::optional<uint16_t> {
    return n == "c" ? std::optional<uint16_t>(5555) : std::nullopt;
  };
  v.env = [](const std::string& n) -> std::optional<std::string> {
    return n == "WHO" ? std::optional<std::string>("me") : std::nullopt;
  };
  auto x = scenario::expand(
      "${target.host}:${target.port} ${i}/${client} ${seed} ${conn.c.local_port} ${env.WHO}", v);
  EXPECT_EQ(x.error, "");
  EXPECT_EQ(x.text, "::1:7 3/9 42 5555 me");
  EXPECT_NE(scenario::expand("${env.NOPE}", v).error.find("NOPE is not set"), std::string::npos);
  EXPECT_NE(scenario::expand("${conn.zz.local_port}", v).error.find("'zz' is not open"),
            std::string::npos);
  EXPECT_EQ(scenario::expand("no vars $ {here}", v).text, "no vars $ {here}");
}

}  // namespace
}  // namespace sockspec
