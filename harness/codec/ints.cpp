#include "codec/ints.h"

namespace sockspec::codec {

void put_int(std::string& out, uint64_t v, unsigned width, Endian endian) {
  for (unsigned i = 0; i < width; ++i) {
    unsigned shift = endian == Endian::big ? 8 * (width - 1 - i) : 8 * i;
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
  }
}

uint64_t get_int(std::string_view in, unsigned width, Endian endian) {
  uint64_t v = 0;
  for (unsigned i = 0; i < width; ++i) {
    uint64_t b = static_cast<unsigned char>(in[i]);
    unsigned shift = endian == Endian::big ? 8 * (width - 1 - i) : 8 * i;
    v |= b << shift;
  }
  return v;
}

int64_t sign_extend(uint64_t v, unsigned width) {
  if (width >= 8) return static_cast<int64_t>(v);
  uint64_t sign = 1ull << (8 * width - 1);
  // (v ^ sign) - sign maps the top half of the range below zero without a signed overflow.
  return static_cast<int64_t>(v ^ sign) - static_cast<int64_t>(sign);
}

bool int_fits(int64_t v, unsigned width, bool is_signed) {
  if (width >= 8) return true;
  int64_t bits = 8 * static_cast<int64_t>(width);
  if (is_signed) {
    int64_t lim = int64_t{1} << (bits - 1);
    return v >= -lim && v < lim;
  }
  return v >= 0 && v < (int64_t{1} << bits);
}

std::string put_varint(uint64_t v, VarintFormat f) {
  if (f == VarintFormat::mqtt && v > kMqttMax) return "";
  std::string out;
  do {
    auto b = static_cast<unsigned char>(v & 0x7F);
    v >>= 7;
    if (v != 0) b |= 0x80;
    out.push_back(static_cast<char>(b));
  } while (v != 0);
  return out;
}

VarintRead get_varint(std::string_view in, VarintFormat f) {
  const size_t max_bytes = f == VarintFormat::mqtt ? 4 : 10;
  VarintRead r;
  uint64_t v = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    auto b = static_cast<unsigned char>(in[i]);
    uint64_t bits = b & 0x7F;
    if (i == 9 && bits > 1) {  // the 10th LEB128 byte may add only bit 63
      r.kind = VarintRead::Kind::bad;
      r.why = "varint is larger than 64 bits";
      return r;
    }
    v |= bits << (7 * i);
    if ((b & 0x80) == 0) {
      if (i > 0 && b == 0 && f == VarintFormat::mqtt) {
        // MQTT 3.1.1 section 2.2.3: the encoding uses the fewest bytes; a trailing zero byte
        // makes the same number longer.
        r.kind = VarintRead::Kind::bad;
        r.why = "overlong MQTT remaining length (" + std::to_string(i + 1) + " bytes for " +
                std::to_string(v) + ")";
        return r;
      }
      r.kind = VarintRead::Kind::ok;
      r.value = v;
      r.size = i + 1;
      return r;
    }
    if (i + 1 == max_bytes) {
      r.kind = VarintRead::Kind::bad;
      r.why = f == VarintFormat::mqtt ? "MQTT remaining length longer than 4 bytes"
                                      : "varint longer than 10 bytes";
      return r;
    }
  }
  return r;  // need more
}

}  // namespace sockspec::codec
