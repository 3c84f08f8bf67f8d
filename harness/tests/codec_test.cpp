// The typed-part codec: encoding, derived values, checksums against published check values,
// and decoding that names the failing field and answers the same however a stream is split.
#include "common/codec.h"

#include <gtest/gtest.h>

#include "codec/ints.h"
#include "codec/parts.h"

namespace sockspec::codec {
namespace {

Part bytes(std::string b, std::string ptr = "/p") {
  Part p;
  p.kind = Part::Kind::bytes;
  p.source = "hex";
  p.literal = std::move(b);
  p.resolved = true;
  p.pointer = std::move(ptr);
  return p;
}
Part integer(unsigned width, int64_t v, std::string name = "", Endian e = Endian::big) {
  Part p;
  p.kind = Part::Kind::integer;
  p.source = "u" + std::to_string(8 * width);
  p.width = width;
  p.endian = e;
  p.value.number.literal = v;
  p.name = std::move(name);
  p.pointer = "/parts/" + std::to_string(width);
  return p;
}
Part derived(Part p, Number::Kind k, std::string block, int64_t adjust = 0) {
  p.value.number.kind = k;
  p.value.number.block = std::move(block);
  p.value.number.adjust = adjust;
  return p;
}
Part block(std::string name, Parts parts) {
  Part p;
  p.kind = Part::Kind::block;
  p.source = "parts";
  p.name = std::move(name);
  p.parts = std::move(parts);
  p.pointer = "/block";
  return p;
}
Part varint(int64_t v, VarintFormat f) {
  Part p;
  p.kind = Part::Kind::varint;
  p.source = "varint";
  p.format = f;
  p.value.number.literal = v;
  p.pointer = "/v";
  return p;
}
std::string hex(const Parts& parts) {
  auto e = encode(parts);
  EXPECT_EQ(e.error, "");
  return to_hex(e.bytes);
}

TEST(CodecInts, FixedWidthBothEndians) {
  EXPECT_EQ(hex({integer(2, 0x1234)}), "1234");
  EXPECT_EQ(hex({integer(4, 0x01020304, "", Endian::little)}), "04030201");
  Part i8 = integer(1, -1);
  i8.is_signed = true;
  EXPECT_EQ(hex({i8}), "ff");
  EXPECT_EQ(hex({integer(8, -1)}), "ffffffffffffffff");
  EXPECT_NE(encode({integer(1, 256)}).error.find("does not fit u8"), std::string::npos);
}

TEST(CodecInts, Varints) {
  EXPECT_EQ(to_hex(put_varint(300, VarintFormat::leb128)), "ac02");
  EXPECT_EQ(to_hex(put_varint(0, VarintFormat::mqtt)), "00");
  EXPECT_EQ(to_hex(put_varint(321, VarintFormat::mqtt)), "c102");  // MQTT 3.1.1 table 2.4
  EXPECT_EQ(to_hex(put_varint(kMqttMax, VarintFormat::mqtt)), "ffffff7f");
  EXPECT_EQ(put_varint(kMqttMax + 1, VarintFormat::mqtt), "");
  auto r = get_varint(*from_hex("ffffff7f"), VarintFormat::mqtt);
  EXPECT_EQ(r.kind, VarintRead::Kind::ok);
  EXPECT_EQ(r.value, kMqttMax);
  EXPECT_EQ(get_varint(*from_hex("ffffffff01"), VarintFormat::mqtt).kind, VarintRead::Kind::bad);
  EXPECT_EQ(get_varint(*from_hex("8000"), VarintFormat::mqtt).kind, VarintRead::Kind::bad);
  EXPECT_EQ(get_varint(*from_hex("80"), VarintFormat::mqtt).kind, VarintRead::Kind::need_more);
  EXPECT_EQ(get_varint(*from_hex("ffffffffffffffffff01"), VarintFormat::leb128).value, UINT64_MAX);
  EXPECT_EQ(get_varint(*from_hex("ffffffffffffffffff02"), VarintFormat::leb128).kind,
            VarintRead::Kind::bad);
}

// The standard check values of each algorithm for the ASCII bytes "123456789".
TEST(CodecChecksum, CheckValues) {
  EXPECT_EQ(checksum(ChecksumKind::crc32, "123456789"), 0xCBF43926u);
  EXPECT_EQ(checksum(ChecksumKind::crc32c, "123456789"), 0xE3069283u);
  EXPECT_EQ(checksum(ChecksumKind::crc16_ccitt, "123456789"), 0x29B1u);
  EXPECT_EQ(checksum(ChecksumKind::adler32, "123456789"), 0x091E01DEu);
  // RFC 1071 section 3's example: words 0001 f203 f4f5 f6f7 sum to ddf2, complement 220d.
  EXPECT_EQ(checksum(ChecksumKind::internet, *from_hex("0001f203f4f5f6f7")), 0x220Du);
  EXPECT_EQ(checksum(ChecksumKind::internet, *from_hex("01")), 0xFEFFu);  // odd: padded
}

TEST(CodecEncode, LengthBeforeAndAfterItsBlock) {
  Parts before = {derived(integer(2, 0, "len"), Number::Kind::length_of, "body", 1),
                  block("body", {bytes("abc")})};
  EXPECT_EQ(hex(before), "0004616263");
  Parts after = {block("body", {bytes("abc")}),
                 derived(integer(1, 0), Number::Kind::length_of, "body")};
  EXPECT_EQ(hex(after), "61626303");
  Parts count = {derived(integer(1, 0), Number::Kind::count_of, "args"),
                 block("args", {bytes("a"), bytes("b"), bytes("c")})};
  EXPECT_EQ(hex(count), "03616263");
}

TEST(CodecEncode, MqttRemainingLengthAndNestedChecksum) {
  Part rl = derived(varint(0, VarintFormat::mqtt), Number::Kind::length_of, "rest");
  Parts msg = {bytes("\x30"), rl, block("rest", {bytes(std::string(200, 'x'))})};
  auto e = encode(msg);
  ASSERT_EQ(e.error, "");
  EXPECT_EQ(to_hex(e.bytes.substr(0, 3)), "30c801");
  // A CRC over a block that holds its own length field.
  Parts framed = {
      block("frame", {derived(integer(2, 0), Number::Kind::length_of, "frame"), bytes("hi")}),
      derived(integer(4, 0), Number::Kind::checksum, "frame")};
  framed[1].value.number.sum = ChecksumKind::crc32;
  auto f = encode(framed);
  ASSERT_EQ(f.error, "");
  EXPECT_EQ(to_hex(f.bytes.substr(0, 4)), "00046869");
  Bytes crc;
  put_int(crc, checksum(ChecksumKind::crc32, f.bytes.substr(0, 4)), 4, Endian::big);
  EXPECT_EQ(f.bytes.substr(4), crc);
}

TEST(CodecEncode, InternetChecksumInsideItsBlockIsSummedAsZero) {
  Part sum = derived(integer(2, 0), Number::Kind::checksum, "hdr");
  sum.value.number.sum = ChecksumKind::internet;
  Parts p = {block("hdr", {bytes(std::string("\x45\x00", 2)), sum, bytes("\x12\x34")})};
  auto e = encode(p);
  ASSERT_EQ(e.error, "");
  // Summing the result with the checksum in place gives 0: the receiver's check.
  EXPECT_EQ(checksum(ChecksumKind::internet, e.bytes), 0u);
}

TEST(CodecCheck, ReportsBadReferencesAndSendOnlyRules) {
  Parts p = {derived(integer(2, 0), Number::Kind::length_of, "nope"), block("body", {})};
  auto probs = check(p, true);
  ASSERT_EQ(probs.size(), 1u);
  EXPECT_NE(probs[0].message.find("\"nope\", which does not exist (blocks: body)"),
            std::string::npos);
  Part cap = integer(1, 0);
  cap.capture = "x";
  EXPECT_EQ(check({cap}, true).size(), 1u);
  EXPECT_EQ(check({cap}, false).size(), 0u);
  Part vi = derived(varint(0, VarintFormat::mqtt), Number::Kind::length_of, "b");
  EXPECT_EQ(check({block("b", {vi})}, true).size(), 1u);
  EXPECT_EQ(check({block("b", {}), block("b", {})}, true).size(), 1u);
  // A CRC of an inner block holding a length of the outer one would sum bytes not yet known.
  Part outer_len = derived(integer(2, 0), Number::Kind::length_of, "all");
  Part crc = derived(integer(4, 0), Number::Kind::checksum, "inner");
  auto late = check({block("all", {block("inner", {outer_len}), crc})}, true);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_NE(late[0].message.find("filled in only after it"), std::string::npos);
  // Its own length inside the summed block is fine: lengths are filled in before sums.
  Part own_len = derived(integer(2, 0), Number::Kind::length_of, "inner");
  EXPECT_EQ(check({block("inner", {own_len, bytes("x")}), crc}, true).size(), 0u);
}

// Decoding `bytes` split at every point: the answer never depends on the split.
Decoded decode_split(const Parts& parts, const std::string& bytes, bool eof_at_end) {
  Decoded whole = decode(parts, bytes, false, eof_at_end);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    Decoded part = decode(parts, std::string_view(bytes).substr(0, cut), false, false);
    if (part.kind == Decoded::Kind::matched) {
      EXPECT_EQ(whole.kind, Decoded::Kind::matched) << "cut " << cut;
      EXPECT_EQ(part.consumed, whole.consumed) << "cut " << cut;
    }
    if (part.kind == Decoded::Kind::mismatch) {
      EXPECT_EQ(whole.kind, Decoded::Kind::mismatch) << "cut " << cut;
      EXPECT_EQ(part.offset, whole.offset) << "cut " << cut;
    }
  }
  return whole;
}

TEST(CodecDecode, DnsHeaderByMaskAndCapture) {
  Part id = integer(2, 0, "id");
  id.value.kind = Value::Kind::any;
  id.capture = "id";
  Part flags = integer(2, 0, "flags");
  flags.value.kind = Value::Kind::mask;
  flags.value.mask.literal = 0x8000;  // QR: a response
  flags.value.number.literal = 0x8000;
  Part an = integer(2, 1, "ancount");
  an.pointer = "/cases/2/steps/3/parts/2";
  Parts parts = {id, flags, an};
  // clang-format off
  auto ok = decode_split(parts, *from_hex("abcd8180" "0001"), false);
  // clang-format on
  ASSERT_EQ(ok.kind, Decoded::Kind::matched);
  ASSERT_EQ(ok.captures.size(), 1u);
  EXPECT_EQ(ok.captures[0].integer, 0xabcd);
  // clang-format off
  auto bad_flags = decode_split(parts, *from_hex("abcd0100" "0001"), false);
  // clang-format on
  ASSERT_EQ(bad_flags.kind, Decoded::Kind::mismatch);
  EXPECT_NE(bad_flags.why.find("(u16 \"flags\"): expected bits under mask 0x8000"),
            std::string::npos);
  // clang-format off
  auto bad_an = decode_split(parts, *from_hex("abcd8180" "0000" "ffff"), false);
  // clang-format on
  ASSERT_EQ(bad_an.kind, Decoded::Kind::mismatch);
  EXPECT_NE(bad_an.why.find("field /cases/2/steps/3/parts/2 (u16 \"ancount\"): expected 1, got 0 "
                            "at offset 4 (hex around: ab cd 81 80 [00 00] ff ff)"),
            std::string::npos)
      << bad_an.why;
  EXPECT_EQ(bad_an.offset, 4u);
  EXPECT_EQ(to_hex(bad_an.expected.substr(4, 2)), "0001");
}

TEST(CodecDecode, LengthSetsTheSizeOfTheBlockThatFollows) {
  Part rest;
  rest.kind = Part::Kind::rest;
  rest.source = "rest";
  rest.capture = "body";
  rest.pointer = "/r";
  Parts parts = {derived(integer(2, 0, "len"), Number::Kind::length_of, "body"),
                 block("body", {rest}), bytes("!")};
  // clang-format off
  auto ok = decode_split(parts, std::string("\x00\x03" "a\r\n" "!" "next", 10), false);
  // clang-format on
  ASSERT_EQ(ok.kind, Decoded::Kind::matched) << ok.why;
  EXPECT_EQ(ok.consumed, 6u);
  EXPECT_EQ(ok.captures.at(0).bytes, "a\r\n");
  // Off by one: the block takes 4 bytes, then "!" meets "n".
  // clang-format off
  auto off = decode_split(parts, std::string("\x00\x04" "a\r\n" "!" "next", 10), false);
  // clang-format on
  EXPECT_EQ(off.kind, Decoded::Kind::mismatch);
  // A negative adjust: the field is 2 less than the block's length.
  Parts adj = {derived(integer(1, 0), Number::Kind::length_of, "b", -2), block("b", {rest})};
  auto a = decode(adj, "\x01xyz", true, true);
  EXPECT_EQ(a.kind, Decoded::Kind::matched) << a.why;
  Parts plus = {derived(integer(1, 0), Number::Kind::length_of, "b", 2), block("b", {rest})};
  EXPECT_EQ(decode(plus, "\x01x", true, true).kind, Decoded::Kind::mismatch);  // size -1
  // Whole message: nothing may be left over.
  // clang-format off
  auto extra = decode(parts, std::string("\x00\x01" "a!x", 5), true, true);
  // clang-format on
  ASSERT_EQ(extra.kind, Decoded::Kind::mismatch);
  EXPECT_NE(extra.why.find("1 bytes after the last part"), std::string::npos);
}

TEST(CodecDecode, ChecksumVerifiedAfterItsBlock) {
  Part crc = derived(integer(4, 0, "crc"), Number::Kind::checksum, "body");
  Part rest;
  rest.kind = Part::Kind::rest;
  rest.source = "rest";
  Parts parts = {crc, block("body", {rest})};
  std::string body = "hello";
  Bytes good;
  put_int(good, checksum(ChecksumKind::crc32, body), 4, Endian::big);
  EXPECT_EQ(decode(parts, good + body, true, true).kind, Decoded::Kind::matched);
  Bytes bad = good;
  bad[3] = static_cast<char>(bad[3] ^ 1);
  auto d = decode(parts, bad + body, true, true);
  ASSERT_EQ(d.kind, Decoded::Kind::mismatch);
  EXPECT_NE(d.why.find("(u32 \"crc\"): crc32 of \"body\" is 0x"), std::string::npos) << d.why;
  // In a stream, `rest` waits for the end: need more until eof.
  EXPECT_EQ(decode(parts, good + body, false, false).kind, Decoded::Kind::need_more);
  EXPECT_EQ(decode(parts, good + body, false, true).kind, Decoded::Kind::matched);
}

TEST(CodecDecode, VarintDecimalUntilAndRange) {
  Part rl = derived(varint(0, VarintFormat::mqtt), Number::Kind::length_of, "b");
  Part any;
  any.kind = Part::Kind::rest;
  any.source = "rest";
  Parts mqtt = {bytes("\x20"), rl, block("b", {any})};
  // clang-format off
  EXPECT_EQ(decode_split(mqtt, std::string("\x20\x02\x00\x00" "\x20", 5), false).consumed, 4u);
  // clang-format on
  EXPECT_EQ(decode(mqtt, std::string("\x20\x80\x00", 3), false, false).kind,
            Decoded::Kind::mismatch);  // overlong
  Part dec;
  dec.kind = Part::Kind::decimal;
  dec.source = "decimal";
  dec.value.kind = Value::Kind::range;
  dec.value.min.literal = 1;
  dec.value.max.literal = 99;
  dec.capture = "n";
  Part crlf;
  crlf.kind = Part::Kind::until;
  crlf.source = "until";
  crlf.delimiter = "\r\n";
  Parts resp = {bytes("$"), dec, bytes("\r\n")};
  auto r = decode_split(resp, "$42\r\n", false);
  ASSERT_EQ(r.kind, Decoded::Kind::matched);
  EXPECT_EQ(r.captures.at(0).integer, 42);
  EXPECT_EQ(decode_split(resp, "$420\r\n", false).kind, Decoded::Kind::mismatch);
  auto u = decode_split({crlf, bytes("x")}, "abc\r\nx", false);
  EXPECT_EQ(u.kind, Decoded::Kind::matched);
  EXPECT_EQ(u.consumed, 6u);
}

// A short reply that already differs names the differing byte, whether the stream is still
// open, closed, or cut by its block's length: the same offset for every prefix.
TEST(CodecDecode, ShortReplyReportsTheDifferenceNotTheEnd) {
  Parts text = {bytes("set sockspec:count 1\r\n")};
  std::string got = "set socllo";
  for (bool eof : {false, true}) {
    auto d = decode(text, got, false, eof);
    ASSERT_EQ(d.kind, Decoded::Kind::mismatch) << eof;
    EXPECT_EQ(d.offset, 7u) << eof;
    EXPECT_NE(d.why.find("bytes differ at offset 7"), std::string::npos) << d.why;
  }
  EXPECT_EQ(decode(text, "set soc", false, false).kind, Decoded::Kind::need_more);
  EXPECT_NE(decode(text, "set soc", false, true).why.find("connection closed"), std::string::npos);
  Part len = derived(integer(1, 0), Number::Kind::length_of, "b");
  Parts framed = {len, block("b", {bytes("abcdef")})};
  auto cut = decode(framed,
                    std::string("\x03"
                                "abx",
                                4),
                    false, false);
  ASSERT_EQ(cut.kind, Decoded::Kind::mismatch);
  EXPECT_EQ(cut.offset, 3u);
}

TEST(CodecResolve, ExpressionsTextAndHexHoles) {
  Resolver r;
  r.expand = [](std::string_view t, Bytes& out) -> std::string {
    if (t == "${id}") {
      out = std::string("\x12\x34", 2);
      return "";
    }
    if (t == "GET ${id}") {
      out = "GET x";
      return "";
    }
    return "unknown variable in " + std::string(t);
  };
  r.hex_hole = [](std::string_view name, Bytes& out) -> std::string {
    if (name != "id") return "unknown variable " + std::string(name);
    out = std::string("\x12\x34", 2);
    return "";
  };
  r.integer = [](std::string_view e, int64_t& out) -> std::string {
    if (e == "${block} + 1") {
      out = 8;
      return "";
    }
    return "bad expression";
  };
  Part h;
  h.kind = Part::Kind::bytes;
  h.source = "hex";
  h.hex = true;
  h.text = "00 ${id} ff";
  Part t = h;
  t.hex = false;
  t.source = "text";
  t.text = "GET ${id}";
  Part n = integer(2, 0);
  n.value.number.kind = Number::Kind::expr;
  n.value.number.expr = "${block} + 1";
  auto res = resolve({h, t, n}, r);
  ASSERT_EQ(res.error, "");
  // clang-format off
  EXPECT_EQ(hex(res.parts), "001234ff" "4745542078" "0008");
  // clang-format on
  n.value.number.expr = "nope";
  EXPECT_NE(resolve({n}, r).error.find("bad expression"), std::string::npos);
}

}  // namespace
}  // namespace sockspec::codec
