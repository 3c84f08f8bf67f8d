#include "impair/release_log.h"

namespace sockspec::impair {

void ReleaseLog::note(const Release& r) {
  std::lock_guard<std::mutex> lock(mu_);
  ++noted_;
  if (records_.size() < capacity_) records_.push_back(r);
}

std::vector<Release> ReleaseLog::records() const {
  std::lock_guard<std::mutex> lock(mu_);
  return records_;
}

uint64_t ReleaseLog::noted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return noted_;
}

}  // namespace sockspec::impair
