// The impairment spec language: tc-netem's words for what happens to datagrams and packets
// (delay, loss, duplicate, reorder, corrupt, rate), plus stream faults in the same style
// (slice, stall, reset-after, close-after, slow-close), per direction. Pure: no sockets, no
// clocks; the relays in this folder apply what it describes.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace sockspec::impair {

using Duration = std::chrono::nanoseconds;

// A fault that strikes either with a probability or on every Nth unit (exact, for tests).
struct Chance {
  double probability = 0;  // 0..1
  uint64_t every = 0;      // 0: use probability
  bool active() const { return probability > 0 || every > 0; }
  bool operator==(const Chance&) const = default;
};

// What happens to traffic going one way.
struct Direction {
  // Datagrams (UDP) and packets.
  Duration delay{0};
  Duration jitter{0};  // delay is drawn uniformly from [delay - jitter, delay + jitter]
  Chance loss, duplicate, reorder, corrupt;
  uint64_t truncate = 0;  // datagrams longer than this are cut to it (0: off)
  uint64_t rate_bps = 0;  // bits per second on the link (0: unlimited); streams too
  // Streams (TCP through the proxy). delay/jitter/rate apply to streams as well.
  uint64_t slice_bytes = 0;  // forward in writes of at most this many bytes...
  Duration slice_delay{0};   // ...this far apart
  bool stall = false;        // forward nothing, keep the connection
  std::optional<uint64_t> reset_after_bytes, close_after_bytes;
  std::optional<Duration> reset_after_time, close_after_time;
  Duration slow_close{0};  // a FIN is passed on this much later

  bool any() const;
  bool operator==(const Direction&) const = default;
};

struct Spec {
  Direction to_server, to_client;
  std::string text;  // as written, normalised to single spaces (reports show it)
  bool any() const { return to_server.any() || to_client.any(); }
};

struct ParsedSpec {
  std::optional<Spec> spec;
  std::string error;  // names the word it did not understand
};

// "delay 50ms 10ms loss 10% to-client duplicate every 3". Words before any direction prefix
// apply both ways; "to-server", "to-client" and "both" switch the direction for the words after
// them. "none" (alone) is the empty spec.
ParsedSpec parse_spec(const std::string& text);

enum class Level { automatic, stream, datagram, packet };
std::optional<Level> parse_level(const std::string& text);
const char* to_string(Level level);

}  // namespace sockspec::impair
