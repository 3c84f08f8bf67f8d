#include "impair/datagram_pipes.h"

namespace sockspec::impair {

// Different seeds per direction, so "loss 10%" does not strike a request and its reply alike.
DatagramPipes::DatagramPipes(const Spec& spec, uint64_t seed)
    : up_(spec.to_server, seed ^ 0x5EB7E5u), down_(spec.to_client, seed ^ 0xC11E47u) {}

void DatagramPipes::set(const Spec& spec) {
  up_.set(spec.to_server);
  down_.set(spec.to_client);
}

void DatagramPipes::take(bool to_server) {
  for (Emit& e : scratch_) pending_.push({e.when, seq_++, to_server, std::move(e)});
  scratch_.clear();
}

void DatagramPipes::admit(bool to_server, std::string bytes, uint64_t tag, TimePoint now) {
  (to_server ? up_ : down_).admit(std::move(bytes), tag, now, scratch_);
  take(to_server);
}

std::optional<TimePoint> DatagramPipes::next_due() const {
  std::optional<TimePoint> due;
  if (!pending_.empty()) due = pending_.top().when;
  for (const Shaper* s : {&up_, &down_}) {
    if (auto h = s->hold_deadline(); h && (!due || *h < *due)) due = *h;
  }
  return due;
}

void DatagramPipes::deliver(TimePoint now,
                            const std::function<void(bool to_server, const Emit&)>& send) {
  up_.expire(now, scratch_);
  take(true);
  down_.expire(now, scratch_);
  take(false);
  while (!pending_.empty() && pending_.top().when <= now) {
    send(pending_.top().to_server, pending_.top().emit);
    pending_.pop();
  }
}

}  // namespace sockspec::impair
