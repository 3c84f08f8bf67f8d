#include "impair/spec.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace sockspec::impair {

bool Direction::any() const { return !(*this == Direction{}); }

namespace {

struct Words {
  std::vector<std::string> w;
  size_t i = 0;
  bool more() const { return i < w.size(); }
  const std::string& peek() const { return w[i]; }
  std::string next() { return w[i++]; }
};

// "12.5" + suffix; false when the text is not a finite non-negative number then the suffix.
bool number_with(const std::string& s, const std::string& suffix, double& out) {
  if (s.size() <= suffix.size() || s.compare(s.size() - suffix.size(), suffix.size(), suffix) != 0)
    return false;
  std::string num = s.substr(0, s.size() - suffix.size());
  if (num.empty() || !(std::isdigit(static_cast<unsigned char>(num[0])) || num[0] == '.'))
    return false;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(num.c_str(), &end);
  if (errno != 0 || end != num.c_str() + num.size() || !std::isfinite(v) || v < 0) return false;
  out = v;
  return true;
}

std::optional<Duration> parse_time(const std::string& s) {
  // Longest suffix first: "ms" before "s".
  static const std::pair<const char*, double> units[] = {
      {"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}};
  for (const auto& [suffix, scale] : units) {
    double v = 0;
    if (number_with(s, suffix, v) && v * scale < 3.6e12)  // an hour at most
      return Duration(static_cast<int64_t>(std::llround(v * scale)));
  }
  return std::nullopt;
}

std::optional<uint64_t> parse_count(const std::string& s) {
  if (s.empty() || s.size() > 15) return std::nullopt;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  return std::stoull(s);
}

// tc's rate units: bit/kbit/mbit/gbit are bits per second, bps/kbps/mbps/gbps bytes per second.
std::optional<uint64_t> parse_rate(const std::string& s) {
  static const std::pair<const char*, double> units[] = {
      {"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1},
      {"gbps", 8e9}, {"mbps", 8e6}, {"kbps", 8e3}, {"bps", 8}};
  for (const auto& [suffix, scale] : units) {
    double v = 0;
    if (number_with(s, suffix, v) && v * scale >= 1 && v * scale < 1e13)
      return static_cast<uint64_t>(v * scale);
  }
  return std::nullopt;
}

class Parser {
 public:
  explicit Parser(Words words) : in_(std::move(words)) {}

  ParsedSpec run() {
    ParsedSpec out;
    Spec spec;
    if (in_.w.size() == 1 && in_.w[0] == "none") {
      spec.text = "none";
      out.spec = spec;
      return out;
    }
    while (in_.more() && error_.empty()) word(spec);
    if (!error_.empty()) {
      out.error = error_;
      return out;
    }
    for (size_t k = 0; k < in_.w.size(); ++k) spec.text += (k ? " " : "") + in_.w[k];
    out.spec = spec;
    return out;
  }

 private:
  enum class Dir { both, server, client };

  template <typename F>
  void apply(Spec& s, F&& f) {
    if (dir_ != Dir::client) f(s.to_server);
    if (dir_ != Dir::server) f(s.to_client);
  }

  bool fail(const std::string& why) {
    if (error_.empty()) error_ = why;
    return false;
  }

  // The value after `word`, or an error naming both.
  std::optional<std::string> arg(const std::string& word, const char* wanted) {
    if (!in_.more()) {
      fail("'" + word + "' needs " + wanted);
      return std::nullopt;
    }
    return in_.next();
  }

  std::optional<Duration> time_arg(const std::string& word) {
    auto a = arg(word, "a time with a unit (e.g. 50ms, 2s)");
    if (!a) return std::nullopt;
    auto t = parse_time(*a);
    if (!t) fail("'" + word + "' needs a time with a unit (ns, us, ms, s), got '" + *a + "'");
    return t;
  }

  std::optional<Chance> chance_arg(const std::string& word) {
    auto a = arg(word, "a percentage (10%) or 'every N'");
    if (!a) return std::nullopt;
    Chance c;
    if (*a == "every") {
      auto n = arg(word + " every", "a count");
      if (!n) return std::nullopt;
      auto v = parse_count(*n);
      if (!v || *v == 0) {
        fail("'" + word + " every' needs a count of 1 or more, got '" + *n + "'");
        return std::nullopt;
      }
      c.every = *v;
      return c;
    }
    double pct = 0;
    if (!number_with(*a, "%", pct) || pct > 100) {
      fail("'" + word + "' needs a percentage from 0% to 100% or 'every N', got '" + *a + "'");
      return std::nullopt;
    }
    c.probability = pct / 100;
    return c;
  }

  // reset-after / close-after: a byte count, or a time when it has a unit.
  bool after_arg(const std::string& word, std::optional<uint64_t>& bytes,
                 std::optional<Duration>& time) {
    auto a = arg(word, "a byte count or a time (4096, 2s)");
    if (!a) return false;
    if (auto n = parse_count(*a)) {
      bytes = *n;
      return true;
    }
    if (auto t = parse_time(*a)) {
      time = *t;
      return true;
    }
    return fail("'" + word + "' needs a byte count or a time with a unit, got '" + *a + "'");
  }

  void word(Spec& s) {
    std::string w = in_.next();
    if (w == "to-server") {
      dir_ = Dir::server;
    } else if (w == "to-client") {
      dir_ = Dir::client;
    } else if (w == "both") {
      dir_ = Dir::both;
    } else if (w == "delay" || w == "latency") {
      auto d = time_arg(w);
      if (!d) return;
      Duration jitter{0};
      if (in_.more() && parse_time(in_.peek())) jitter = *parse_time(in_.next());
      apply(s, [&](Direction& x) {
        x.delay = *d;
        x.jitter = jitter;
      });
    } else if (w == "loss" || w == "drop" || w == "duplicate" || w == "reorder" || w == "corrupt") {
      auto c = chance_arg(w);
      if (!c) return;
      apply(s, [&](Direction& x) {
        Chance& field = (w == "loss" || w == "drop") ? x.loss
                        : w == "duplicate"           ? x.duplicate
                        : w == "reorder"             ? x.reorder
                                                     : x.corrupt;
        field = *c;
      });
    } else if (w == "rate" || w == "bandwidth") {
      auto a = arg(w, "a rate (e.g. 1mbit, 64kbps)");
      if (!a) return;
      auto r = parse_rate(*a);
      if (!r) {
        fail(
            "'" + w +
            "' needs a rate with a unit (bit, kbit, mbit, gbit; bps, kbps, mbps for bytes), got '" +
            *a + "'");
        return;
      }
      apply(s, [&](Direction& x) { x.rate_bps = *r; });
    } else if (w == "truncate") {
      auto a = arg(w, "a byte count");
      if (!a) return;
      auto n = parse_count(*a);
      if (!n || *n == 0) {
        fail("'truncate' needs a byte count of 1 or more, got '" + *a + "'");
        return;
      }
      apply(s, [&](Direction& x) { x.truncate = *n; });
    } else if (w == "slice") {
      auto a = arg(w, "a byte count");
      if (!a) return;
      auto n = parse_count(*a);
      if (!n || *n == 0) {
        fail("'slice' needs a byte count of 1 or more, got '" + *a + "'");
        return;
      }
      Duration gap{0};
      if (in_.more() && parse_time(in_.peek())) gap = *parse_time(in_.next());
      apply(s, [&](Direction& x) {
        x.slice_bytes = *n;
        x.slice_delay = gap;
      });
    } else if (w == "stall") {
      apply(s, [&](Direction& x) { x.stall = true; });
    } else if (w == "reset-after" || w == "close-after") {
      std::optional<uint64_t> bytes;
      std::optional<Duration> time;
      if (!after_arg(w, bytes, time)) return;
      bool reset = w == "reset-after";
      apply(s, [&](Direction& x) {
        (reset ? x.reset_after_bytes : x.close_after_bytes) = bytes;
        (reset ? x.reset_after_time : x.close_after_time) = time;
      });
    } else if (w == "slow-close") {
      auto d = time_arg(w);
      if (!d) return;
      apply(s, [&](Direction& x) { x.slow_close = *d; });
    } else if (w == "none") {
      fail("'none' stands alone: it clears every impairment");
    } else {
      fail("unknown impairment '" + w +
           "' (known: delay, loss, duplicate, reorder, corrupt, truncate, rate, slice, stall, "
           "reset-after, close-after, slow-close; prefixes to-server, to-client, both)");
    }
  }

  Words in_;
  Dir dir_ = Dir::both;
  std::string error_;
};

}  // namespace

ParsedSpec parse_spec(const std::string& text) {
  Words words;
  std::istringstream in(text);
  for (std::string w; in >> w;) words.w.push_back(w);
  if (words.w.empty()) return {std::nullopt, "the impairment spec is empty (use 'none' for none)"};
  return Parser(std::move(words)).run();
}

std::optional<Level> parse_level(const std::string& text) {
  if (text == "stream") return Level::stream;
  if (text == "datagram") return Level::datagram;
  if (text == "packet") return Level::packet;
  if (text == "auto" || text.empty()) return Level::automatic;
  return std::nullopt;
}

const char* to_string(Level level) {
  switch (level) {
    case Level::automatic:
      return "auto";
    case Level::stream:
      return "stream";
    case Level::datagram:
      return "datagram";
    case Level::packet:
      return "packet";
  }
  return "?";
}

}  // namespace sockspec::impair
