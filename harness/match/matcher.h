// Deciding whether received bytes satisfy an `expect`. Pure: the engine feeds bytes in,
// these functions say "need more", "matched N bytes" or "mismatch, and why".
//
// TCP is a byte stream, so a stream match must give the same answer however the bytes
// were chunked: it only ever looks at everything buffered so far, and fails early only
// when no further bytes could make it pass.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "codec/frame.h"
#include "codec/parts.h"
#include "match/regex.h"

namespace sockspec::match {

struct Exact {
  std::string bytes;
};
struct Regex {
  std::shared_ptr<const Pattern> re;  // never null
  std::optional<std::string> until;   // stream: the segment ends before this delimiter
  std::optional<uint64_t> count;      // stream: the segment is this many bytes
  size_t groups = 0;       // on a match, Outcome::groups holds groups 0..groups-1 (for capture)
  bool until_eof = false;  // stream: the segment is all bytes up to the close
};
struct Length {
  uint64_t min = 0, max = 0;
};
// Typed parts, resolved (codec::resolve): the message matched field by field.
struct Fields {
  std::shared_ptr<const codec::Parts> parts;  // never null
};
// A matcher with its variables and echo bytes already resolved.
using Resolved = std::variant<Exact, Regex, Length, Fields>;

// Longest stream segment a regex waits for before it gives up on finding the delimiter
// (less when the pattern's work budget allows less: Pattern::max_input).
inline constexpr size_t kMaxRegexSegment = 1 << 20;

struct Outcome {
  enum class Kind { need_more, matched, mismatch };
  Kind kind = Kind::need_more;
  size_t consumed = 0;  // matched: bytes taken from the front of the stream
  std::string why;      // mismatch: one line for a person
  // Mismatch of exact bytes: what was expected, what came, and the first differing offset.
  std::optional<size_t> diff_offset;
  std::string expected, actual;
  // Matched regex with Regex::groups > 0: each group's bytes, nullopt where the group took no
  // part in the match. Empty (no allocation) otherwise.
  std::vector<std::optional<std::string>> groups;
  // Matched typed parts: the values their `capture`s bind.
  std::vector<codec::Captured> fields;
};

// `buffered` is every unread byte of the stream; `eof` says no more will come.
Outcome match_stream(const Resolved& m, std::string_view buffered, bool eof);
// A UDP datagram is matched whole: a longer or shorter datagram never passes.
Outcome match_datagram(const Resolved& m, std::string_view datagram);
// A framed stream: the frame takes one whole message from the front of `buffered` (however it
// was split), which is then matched as a datagram is; `consumed` is the whole message.
Outcome match_framed(const Resolved& m, const codec::Frame& frame, std::string_view buffered,
                     bool eof);

// A short description for messages: "12 bytes \"hello\\n\"...", "/re/ until \"\\n\"".
std::string describe(const Resolved& m);

}  // namespace sockspec::match
