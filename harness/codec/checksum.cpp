// The checksums a derived field may hold. CRC-32 and Adler-32 come from zlib, CRC-32C and
// CRC-16/CCITT from Boost.CRC; only the Internet checksum, a few lines, is ours.
#include <zlib.h>

#include <boost/crc.hpp>

#include "codec/parts.h"

namespace sockspec::codec {

namespace {

// zlib takes uInt lengths: feed it in pieces so a block above 4 GiB is summed whole.
template <typename F>
uint64_t zlib_sum(F f, uLong init, std::string_view bytes) {
  uLong v = init;
  while (!bytes.empty()) {
    size_t n = std::min<size_t>(bytes.size(), 1u << 30);
    v = f(v, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(n));
    bytes.remove_prefix(n);
  }
  return v;
}

// RFC 1071: the one's complement of the one's complement sum of the 16-bit big-endian words,
// an odd last byte padded with zero.
uint64_t internet_checksum(std::string_view bytes) {
  uint64_t sum = 0;
  for (size_t i = 0; i < bytes.size(); i += 2) {
    uint64_t hi = static_cast<unsigned char>(bytes[i]);
    uint64_t lo = i + 1 < bytes.size() ? static_cast<unsigned char>(bytes[i + 1]) : 0;
    sum += (hi << 8) | lo;
    if (sum >> 32) sum = (sum & 0xFFFFFFFF) + (sum >> 32);  // fold early; never overflows
  }
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return ~sum & 0xFFFF;
}

}  // namespace

uint64_t checksum(ChecksumKind kind, std::string_view bytes) {
  switch (kind) {
    case ChecksumKind::crc32:
      return zlib_sum(::crc32, ::crc32(0, nullptr, 0), bytes);
    case ChecksumKind::adler32:
      return zlib_sum(::adler32, ::adler32(0, nullptr, 0), bytes);
    case ChecksumKind::crc32c: {
      // Castagnoli polynomial, reflected, init and final XOR all ones (RFC 3720 B.4).
      boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> c;
      c.process_bytes(bytes.data(), bytes.size());
      return c.checksum();
    }
    case ChecksumKind::crc16_ccitt: {
      // CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, not reflected, no final XOR.
      boost::crc_optimal<16, 0x1021, 0xFFFF, 0, false, false> c;
      c.process_bytes(bytes.data(), bytes.size());
      return c.checksum();
    }
    case ChecksumKind::internet:
      return internet_checksum(bytes);
  }
  return 0;
}

const char* to_string(ChecksumKind kind) {
  switch (kind) {
    case ChecksumKind::crc32:
      return "crc32";
    case ChecksumKind::crc32c:
      return "crc32c";
    case ChecksumKind::crc16_ccitt:
      return "crc16-ccitt";
    case ChecksumKind::adler32:
      return "adler32";
    case ChecksumKind::internet:
      return "internet";
  }
  return "?";
}

std::optional<ChecksumKind> checksum_from_name(std::string_view name) {
  for (auto k : {ChecksumKind::crc32, ChecksumKind::crc32c, ChecksumKind::crc16_ccitt,
                 ChecksumKind::adler32, ChecksumKind::internet}) {
    if (name == to_string(k)) return k;
  }
  return std::nullopt;
}

}  // namespace sockspec::codec
