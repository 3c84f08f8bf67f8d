// Integers on the wire: fixed width in either byte order, LEB128 and MQTT varints, ASCII
// decimal. Pure; shared by the part codec and the framers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "codec/parts.h"

namespace sockspec::codec {

// `width` bytes of `v` (its low bits) in `endian` order, appended to `out`.
void put_int(std::string& out, uint64_t v, unsigned width, Endian endian);
// The unsigned value of `width` bytes at the front of `in` (in.size() >= width).
uint64_t get_int(std::string_view in, unsigned width, Endian endian);
// Two's complement sign extension of a `width`-byte value.
int64_t sign_extend(uint64_t v, unsigned width);
// Whether `v` fits a field of `width` bytes (signed or not). A 64-bit field takes any value.
bool int_fits(int64_t v, unsigned width, bool is_signed);

// Largest value an MQTT remaining length can hold (4 bytes of 7 bits).
inline constexpr uint64_t kMqttMax = 268'435'455;
// The varint bytes of v, or "" when v does not fit the format (mqtt above kMqttMax).
std::string put_varint(uint64_t v, VarintFormat f);

struct VarintRead {
  enum class Kind : uint8_t { need_more, ok, bad };
  Kind kind = Kind::need_more;
  uint64_t value = 0;
  size_t size = 0;  // bytes taken
  std::string why;  // bad: too long, overlong, too large
};
// A varint at the front of `in`; need_more when `in` ends inside it.
VarintRead get_varint(std::string_view in, VarintFormat f);

}  // namespace sockspec::codec
