#include "impair/shaper.h"

#include <algorithm>

namespace sockspec::impair {

Counts& Counts::operator+=(const Counts& o) {
  arrived += o.arrived;
  sent += o.sent;
  dropped += o.dropped;
  overflowed += o.overflowed;
  duplicated += o.duplicated;
  reordered += o.reordered;
  corrupted += o.corrupted;
  truncated += o.truncated;
  return *this;
}

uint64_t Random::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// `index` counts datagrams from 1, so "every 10" strikes the 10th, 20th, ...
bool Shaper::strikes(const Chance& c, uint64_t index) {
  if (c.every > 0) return index % c.every == 0;
  return c.probability > 0 && random_.unit() < c.probability;
}

Duration draw_delay(const Direction& d, Random& random) {
  if (d.jitter.count() == 0) return d.delay;
  double offset = (random.unit() * 2 - 1) * static_cast<double>(d.jitter.count());
  return std::max(Duration(0), d.delay + Duration(static_cast<int64_t>(offset)));
}

TimePoint Shaper::departure(size_t size, TimePoint now) {
  Duration delay = draw_delay(dir_, random_);
  if (dir_.rate_bps == 0) return now + delay;
  // The link sends one datagram after the other: this one starts when the link is free.
  auto on_wire = Duration(
      static_cast<int64_t>(static_cast<double>(size) * 8e9 / static_cast<double>(dir_.rate_bps)));
  link_free_ = std::max(link_free_, now) + on_wire;
  return link_free_ + delay;
}

void Shaper::admit(std::string bytes, uint64_t tag, TimePoint now, std::vector<Emit>& out) {
  uint64_t index = ++counts_.arrived;
  if (strikes(dir_.loss, index)) {
    ++counts_.dropped;
    return;
  }
  if (dir_.rate_bps > 0 && link_free_ > now + kQueueLimit) {
    ++counts_.overflowed;
    return;
  }
  if (dir_.truncate > 0 && bytes.size() > dir_.truncate) {
    bytes.resize(dir_.truncate);
    ++counts_.truncated;
  }
  if (strikes(dir_.corrupt, index) && !bytes.empty()) {
    uint64_t bit = random_.next() % (bytes.size() * 8);
    bytes[bit / 8] = static_cast<char>(bytes[bit / 8] ^ (1 << (bit % 8)));
    ++counts_.corrupted;
  }
  bool twice = strikes(dir_.duplicate, index);
  bool hold = !held_ && strikes(dir_.reorder, index);
  TimePoint when = departure(bytes.size(), now);
  if (hold) {
    // Held back behind the next datagram (or until kReorderHold passes without one); it
    // counts as reordered only once another has overtaken it.
    held_until_ = when + kReorderHold;
    held_ = Emit{when, std::move(bytes), tag, now, index};
    if (twice) {
      ++counts_.duplicated;  // the copy goes now; the original waits
      out.push_back({when, held_->bytes, tag, now, index});
      ++counts_.sent;
    }
    return;
  }
  if (twice) {
    ++counts_.duplicated;
    out.push_back({when, bytes, tag, now, index});
    ++counts_.sent;
  }
  out.push_back({when, std::move(bytes), tag, now, index});
  ++counts_.sent;
  if (held_) {
    // The datagram that overtook it has gone: the held one follows right behind.
    held_->when = std::max(held_->when, when);
    out.push_back(std::move(*held_));
    held_.reset();
    ++counts_.sent;
    ++counts_.reordered;
  }
}

std::optional<TimePoint> Shaper::hold_deadline() const {
  if (!held_) return std::nullopt;
  return held_until_;
}

void Shaper::expire(TimePoint now, std::vector<Emit>& out) {
  if (!held_ || now < held_until_) return;
  held_->when = std::max(held_->when, now);
  out.push_back(std::move(*held_));
  held_.reset();
  ++counts_.sent;
}

}  // namespace sockspec::impair
