#include "reference_servers/udp_schedule.h"

namespace sockspec::refserver {

namespace {
bool every(uint64_t n, unsigned k) { return k != 0 && n % k == 0; }
}  // namespace

std::vector<std::string> UdpSchedule::on_request(const std::string& peer, std::string reply) {
  Peer& p = peers_[peer];
  ++p.n;
  ++counts_.received;
  std::vector<std::string> out;
  if (every(p.n, drop_)) {
    ++counts_.dropped;
    return out;
  }
  if (every(p.n, hold_) && !p.held) {
    p.held = std::move(reply);
    return out;
  }
  out.push_back(reply);
  if (every(p.n, dup_)) {
    out.push_back(std::move(reply));
    ++counts_.duplicated;
  }
  if (p.held) {
    out.push_back(std::move(*p.held));
    p.held.reset();
    ++counts_.reordered;
  }
  return out;
}

UdpScheduleCounts UdpSchedule::counts() const {
  UdpScheduleCounts c = counts_;
  for (const auto& [addr, p] : peers_) c.held += p.held ? 1 : 0;
  return c;
}

void UdpSchedule::print(std::ostream& out) const {
  UdpScheduleCounts c = counts();
  out << "udp-schedule: received " << c.received << " dropped " << c.dropped << " duplicated "
      << c.duplicated << " reordered " << c.reordered << " held " << c.held << "\n";
}

}  // namespace sockspec::refserver
