#include "load/udp_ledger.h"

#include <cstddef>

namespace sockspec::load {

namespace {
// Lost datagrams remembered for a late reply; past this many the oldest are forgotten and a
// reply to one of them counts as a duplicate (bounded memory on a run that loses everything).
constexpr size_t kLostRemembered = 65536;
}  // namespace

void UdpLedger::sent() {
  window_.push_back(State::waiting);
  if (counted(next_)) ++counts_.sent;
  ++next_;
}

void UdpLedger::unsent(uint64_t tag) {
  if (tag < base_ || tag >= next_) return;
  State& s = window_[static_cast<size_t>(tag - base_)];
  if (s != State::waiting) return;
  s = State::unsent;
  if (counted(tag)) --counts_.sent;
  trim();
}

UdpLedger::Reply UdpLedger::reply(uint64_t tag) {
  if (tag >= next_) return Reply::unknown;  // never sent on this socket
  bool count = counted(tag);
  auto settle = [&](Reply r) {
    if (count && r == Reply::duplicate) ++counts_.duplicates;
    if (count && r == Reply::late) ++counts_.late;
    if (count && r == Reply::reordered) ++counts_.reordered;
    return r;
  };
  if (tag < base_) {
    auto it = lost_below_.find(tag);
    if (it == lost_below_.end()) return settle(Reply::duplicate);
    lost_below_.erase(it);
    return settle(Reply::late);
  }
  State& s = window_[static_cast<size_t>(tag - base_)];
  switch (s) {
    case State::answered:
    case State::late:
      return settle(Reply::duplicate);
    case State::unsent:
      return Reply::unknown;
    case State::lost:
      s = State::late;
      trim();
      return settle(Reply::late);
    case State::waiting:
      break;
  }
  s = State::answered;
  bool overtaken = any_answered_ && tag < newest_answered_;
  if (!any_answered_ || tag > newest_answered_) newest_answered_ = tag;
  any_answered_ = true;
  trim();
  return settle(overtaken ? Reply::reordered : Reply::on_time);
}

void UdpLedger::expired(uint64_t tag) {
  if (tag < base_ || tag >= next_) return;
  State& s = window_[static_cast<size_t>(tag - base_)];
  if (s != State::waiting) return;
  s = State::lost;
  if (counted(tag)) ++counts_.lost;
  trim();
}

void UdpLedger::trim() {
  while (!window_.empty() && window_.front() != State::waiting) {
    if (window_.front() == State::lost) {
      lost_below_.insert(base_);
      if (lost_below_.size() > kLostRemembered) lost_below_.erase(lost_below_.begin());
    }
    window_.pop_front();
    ++base_;
  }
}

}  // namespace sockspec::load
