// Stream matching gives the same answer however TCP chunks the bytes; datagrams match whole.
#include <gtest/gtest.h>

#include "match/matcher.h"

namespace sockspec::match {
namespace {

using K = Outcome::Kind;

// Feeds `data` as the stream would arrive: prefix by prefix, split at every position.
Regex regex(const char* source, std::optional<std::string> until = std::nullopt,
            std::optional<uint64_t> count = std::nullopt) {
  auto c = compile_regex(source);
  EXPECT_TRUE(c.pattern) << c.error;
  return Regex{c.pattern, std::move(until), count};
}

K feed_in_chunks(const Resolved& m, const std::string& data, size_t chunk, bool eof_at_end,
                 size_t* consumed) {
  std::string buf;
  for (size_t off = 0; off < data.size(); off += chunk) {
    buf += data.substr(off, chunk);
    bool eof = eof_at_end && buf.size() == data.size();
    auto o = match_stream(m, buf, eof);
    if (o.kind != K::need_more) {
      *consumed = o.consumed;
      return o.kind;
    }
  }
  auto o = match_stream(m, buf, eof_at_end);
  *consumed = o.consumed;
  return o.kind;
}

TEST(StreamMatch, ExactBytesMatchWhateverTheChunking) {
  Resolved m = Exact{"hello\nworld\n"};
  std::string wire = "hello\nworld\nNEXT";
  for (size_t chunk = 1; chunk <= wire.size(); ++chunk) {
    size_t consumed = 0;
    EXPECT_EQ(feed_in_chunks(m, wire, chunk, false, &consumed), K::matched) << "chunk " << chunk;
    EXPECT_EQ(consumed, 12u) << "bytes past the match stay for the next step";
  }
}

TEST(StreamMatch, ExactBytesFailAtTheFirstWrongByteWithoutWaiting) {
  Resolved m = Exact{"hello world"};
  auto o = match_stream(m, "hellO", false);
  EXPECT_EQ(o.kind, K::mismatch);
  ASSERT_TRUE(o.diff_offset);
  EXPECT_EQ(*o.diff_offset, 4u);
  EXPECT_EQ(o.expected, "hello world");
}

TEST(StreamMatch, ShortStreamAtEofIsAMismatchAtTheEnd) {
  auto o = match_stream(Exact{"hello"}, "hel", true);
  EXPECT_EQ(o.kind, K::mismatch);
  EXPECT_EQ(*o.diff_offset, 3u);
  EXPECT_NE(o.why.find("closed after 3 of 5"), std::string::npos);
  EXPECT_EQ(match_stream(Exact{"hello"}, "hel", false).kind, K::need_more);
}

TEST(StreamMatch, RegexUntilDelimiterMatchesTheSegmentBeforeIt) {
  Resolved m = regex("[0-9]+", "\r\n");
  for (size_t chunk = 1; chunk <= 8; ++chunk) {
    size_t consumed = 0;
    EXPECT_EQ(feed_in_chunks(m, "12345\r\nrest", chunk, false, &consumed), K::matched);
    EXPECT_EQ(consumed, 7u);
  }
  EXPECT_EQ(match_stream(m, "12a45\r\n", false).kind, K::mismatch);
  EXPECT_EQ(match_stream(m, "12345\r", false).kind, K::need_more);
  EXPECT_EQ(match_stream(m, "12345", true).kind, K::mismatch);
}

TEST(StreamMatch, RegexOverAByteCount) {
  Resolved m = regex("a{4}", std::nullopt, 4);
  EXPECT_EQ(match_stream(m, "aaa", false).kind, K::need_more);
  auto o = match_stream(m, "aaaab", false);
  EXPECT_EQ(o.kind, K::matched);
  EXPECT_EQ(o.consumed, 4u);
  EXPECT_EQ(match_stream(m, "aaba", false).kind, K::mismatch);
}

TEST(StreamMatch, LengthTakesExactlyNOrWhatIsThereWithinARange) {
  auto exact = match_stream(Length{3, 3}, "abcdef", false);
  EXPECT_EQ(exact.kind, K::matched);
  EXPECT_EQ(exact.consumed, 3u);
  auto range = match_stream(Length{2, 5}, "abcdefgh", false);
  EXPECT_EQ(range.consumed, 5u);
  EXPECT_EQ(match_stream(Length{2, 5}, "a", false).kind, K::need_more);
  EXPECT_EQ(match_stream(Length{2, 5}, "a", true).kind, K::mismatch);
}

TEST(RegexMismatch, ThePatternIsShownEscapedOnceAndTheSegmentPastItsFirstFortyBytes) {
  // Issue 22: a CR, LF or ESC in a pattern broke the report's line or reached the terminal,
  // and only ~40 bytes of the segment were shown, so a wrong field at offset 42 never appeared.
  Resolved m = regex("HDR\r\n\x1b[0-9]{50}Z", std::nullopt, 56);
  std::string wire = "HDR\r\n\x1b" + std::string(42, '7') + "WRONG!!Z";
  auto o = match_stream(m, wire, false);
  ASSERT_EQ(o.kind, K::mismatch);
  for (char c : o.why) {
    EXPECT_TRUE(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) << "raw byte in: " << o.why;
  }
  EXPECT_NE(o.why.find("/HDR\\r\\n\\x1b[0-9]{50}Z/"), std::string::npos) << o.why;
  EXPECT_NE(o.why.find("WRONG!!"), std::string::npos) << o.why;
  EXPECT_EQ(o.why.find("/HDR"), o.why.rfind("/HDR")) << "the pattern appears once: " << o.why;
  EXPECT_EQ(describe(m).find('\r'), std::string::npos);
}

TEST(StreamMatch, RegexUntilEofWaitsForTheCloseAndMatchesEverythingBeforeIt) {
  Regex r = regex("[ -~\r\n]+");
  r.until_eof = true;
  Resolved m = r;
  std::string wire = "Thursday\r\n12:00:00\r\n";
  EXPECT_EQ(match_stream(m, wire, false).kind, K::need_more);
  auto o = match_stream(m, wire, true);
  EXPECT_EQ(o.kind, K::matched);
  EXPECT_EQ(o.consumed, wire.size());
  EXPECT_EQ(match_stream(m, std::string("bad\x01\n"), true).kind, K::mismatch);
}

TEST(DatagramMatch, ALongerDatagramNeverPassesAsAMatch) {
  std::string want(1024, 'x');
  auto longer = match_datagram(Exact{want}, want + "y");
  EXPECT_EQ(longer.kind, K::mismatch);
  EXPECT_NE(longer.why.find("datagram is 1025 bytes, expected 1024"), std::string::npos);
  auto shorter = match_datagram(Exact{want}, want.substr(0, 1000));
  EXPECT_EQ(shorter.kind, K::mismatch);
  EXPECT_EQ(match_datagram(Exact{want}, want).kind, K::matched);
}

TEST(DatagramMatch, DifferingBytesAreLocated) {
  auto o = match_datagram(Exact{"abcdef"}, "abcXef");
  EXPECT_EQ(o.kind, K::mismatch);
  EXPECT_EQ(*o.diff_offset, 3u);
}

TEST(DatagramMatch, RegexAndLengthJudgeTheWholeDatagram) {
  Resolved re = regex("[A-Z]+");
  EXPECT_EQ(match_datagram(re, "ABC").kind, K::matched);
  EXPECT_EQ(match_datagram(re, "ABCd").kind, K::mismatch);
  EXPECT_EQ(match_datagram(Length{0, 512}, std::string(512, 'a')).kind, K::matched);
  EXPECT_EQ(match_datagram(Length{0, 512}, std::string(513, 'a')).kind, K::mismatch);
}

}  // namespace
}  // namespace sockspec::match
