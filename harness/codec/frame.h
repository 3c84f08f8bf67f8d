// Framers: where one message ends in a byte stream. The same contract as match/matcher.h:
// given everything buffered, the answer (need more | a message of N bytes | bad frame, why)
// is the same however the stream was split. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "codec/parts.h"

namespace sockspec::codec {

struct Frame {
  enum class Kind : uint8_t { length, varint, delimiter, fixed };
  Kind kind = Kind::length;
  // length: an unsigned `width`-byte field at `offset`; the message is the header (offset +
  // width) plus value + adjust bytes, or value + adjust bytes in all with includes_header.
  uint64_t offset = 0;
  unsigned width = 2;
  Endian endian = Endian::big;
  int64_t adjust = 0;
  bool includes_header = false;
  // varint: a varint at `offset`; the message is offset + its bytes + its value.
  VarintFormat format = VarintFormat::mqtt;
  Bytes delimiter;         // delimiter: the message ends with (and includes) it
  uint64_t size = 0;       // fixed
  uint64_t max = 1 << 20;  // a longer message (or a delimiter not found by then) is a bad frame
};

struct Framed {
  enum class Kind : uint8_t { need_more, message, bad };
  Kind kind = Kind::need_more;
  size_t size = 0;  // message: its bytes, at the front of the buffer
  std::string why;  // bad
};
Framed next_frame(const Frame& f, std::string_view buffered);

// "length:0:2:big", "varint:1:mqtt", "delimiter:\r\n", "fixed:16": the --frame syntax of
// `sockspec record` (the JSON form is parsed by the scenario parser). Empty error on success.
std::string parse_frame_spec(std::string_view spec, Frame& out);
// A short description for messages: "2-byte big-endian length at offset 0".
std::string describe(const Frame& f);

}  // namespace sockspec::codec
