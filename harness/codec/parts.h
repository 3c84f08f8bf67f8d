// Typed parts: a message described field by field (text, hex, integers of fixed width, varints,
// ASCII decimals, named blocks, lengths and checksums derived from blocks), encoded for `send`
// and decoded/matched for `expect`. Pure: no sockets, no clocks, no expression language.
//
// Parts arrive from the parser with their numbers and strings as written. `resolve` turns every
// expression and `${...}` into a value through the caller's Resolver (the codec never parses an
// expression itself); `encode` and `decode` then work only on resolved parts.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "payload/payload.h"

namespace sockspec::codec {

using Bytes = std::string;

enum class Endian : uint8_t { big, little };
enum class VarintFormat : uint8_t { leb128, mqtt };
enum class ChecksumKind : uint8_t { crc32, crc32c, crc16_ccitt, adler32, internet };

// A number as written: a literal, an expression (for the Resolver), or derived from a block.
struct Number {
  enum class Kind : uint8_t { literal, expr, length_of, count_of, checksum };
  Kind kind = Kind::literal;
  int64_t literal = 0;  // a u64 above INT64_MAX is kept as its two's complement bit pattern
  std::string expr;     // Kind::expr
  std::string block;    // length_of, count_of, checksum: the named block
  int64_t adjust = 0;   // length_of: the field holds the block's length + adjust
  ChecksumKind sum = ChecksumKind::crc32;
  bool derived() const {
    return kind == Kind::length_of || kind == Kind::count_of || kind == Kind::checksum;
  }
};

// What an integer field holds (send) or must hold (expect).
struct Value {
  enum class Kind : uint8_t { exact, mask, range, any };
  Kind kind = Kind::exact;
  Number number;    // exact; mask: the value the bits under `mask` must have
  Number mask;      // mask
  Number min, max;  // range (inclusive)
};

struct Part {
  enum class Kind : uint8_t { bytes, integer, varint, decimal, any, rest, until, block };
  Kind kind = Kind::bytes;
  std::string source;   // the kind key as written ("text", "u16", "varint"...), for messages
  std::string name;     // optional; required for a block that something refers to
  std::string capture;  // expect: bind the field's value to this variable
  std::string pointer;  // JSON pointer of the part in its file, for messages

  // bytes: "text" (with `encoding`), "hex" (with ${...} holes) or fill; after resolve, `literal`.
  std::string text;
  bool hex = false;
  std::string encoding;
  std::optional<payload::Fill> fill;
  Bytes literal;
  bool resolved = false;

  // integer: width in bytes 1, 2, 4 or 8.
  unsigned width = 1;
  bool is_signed = false;
  Endian endian = Endian::big;
  VarintFormat format = VarintFormat::leb128;
  Value value;              // integer, varint, decimal
  Number count;             // any: how many bytes
  Bytes delimiter;          // until
  std::vector<Part> parts;  // block
};
using Parts = std::vector<Part>;

// "u16 \"ancount\"" or "hex": how messages name a part.
std::string describe(const Part& p);

// True when any part holds a ${...} or an expression: its bytes may differ from run to run.
bool has_variables(const Parts& parts);

// What the caller's variables and expressions are worth. Each returns an error message or "".
struct Resolver {
  // `${...}` in a text part (bytes variables insert their bytes, integers their decimal digits).
  std::function<std::string(std::string_view text, Bytes& out)> expand;
  // `${name}` in hex: the bytes it inserts (an error for a value with no byte form).
  std::function<std::string(std::string_view name, Bytes& out)> hex_hole;
  // An expression (a string VALUE) as an int64.
  std::function<std::string(std::string_view expr, int64_t& out)> integer;
  uint64_t seed = 0;  // a fill's default seed
};

// A copy of `parts` with every expression, text and hex turned into values. On error, the
// message names the part.
struct ResolvedOr {
  Parts parts;
  std::string error;
};
ResolvedOr resolve(const Parts& parts, const Resolver& r);

// The bytes of resolved parts (send). Derived fields are computed from their blocks, which may
// come before or after them, or contain them (a fixed-width field counts as zeros while its
// block is measured or summed).
struct EncodedOr {
  Bytes bytes;
  std::string error;
};
EncodedOr encode(const Parts& parts);

// A field's value bound by `capture`: an integer for integer fields, else bytes.
struct Captured {
  std::string name;
  std::optional<int64_t> integer;
  Bytes bytes;
};

struct Decoded {
  enum class Kind : uint8_t { need_more, matched, mismatch };
  Kind kind = Kind::need_more;
  size_t consumed = 0;  // matched: bytes taken
  std::string why;      // mismatch: names the field, the offset, expected vs got, hex around
  // mismatch at a place in the message: the offset, the bytes that came and the bytes that
  // would have matched there (the same bytes with the field's expected encoding, when known).
  std::optional<size_t> offset;
  Bytes expected, actual;
  std::vector<Captured> captures;  // matched
};
// Matches resolved parts against a message. `whole`: `bytes` is one whole message (a datagram
// or a frame) which the parts must take exactly. Else `bytes` is what a stream has buffered and
// `eof` says whether more may come; the answer is the same however the stream was split.
Decoded decode(const Parts& parts, std::string_view bytes, bool whole, bool eof);

// Static checks the parser reports with JSON pointers: names unique, references to blocks that
// exist, a varint/decimal not inside the block it measures. Each problem: {pointer, message}.
struct Problem {
  std::string pointer;
  std::string message;
};
std::vector<Problem> check(const Parts& parts, bool send);

// The checksum of `bytes`, as the field's integer.
uint64_t checksum(ChecksumKind kind, std::string_view bytes);
const char* to_string(ChecksumKind kind);
std::optional<ChecksumKind> checksum_from_name(std::string_view name);

}  // namespace sockspec::codec
