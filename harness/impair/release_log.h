// When each chunk or datagram an impairment relay passed on came in and went out. The relay
// promises that nothing leaves before it was read plus its delay; these counts (always kept)
// and the optional bounded log (tests give one) let that promise be checked per packet.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "impair/shaper.h"

namespace sockspec::impair {

struct Release {
  bool to_server = true;
  uint64_t flow = 0;   // datagrams: the flow's tag (0 at packet level); stream: the relay's id
  uint64_t index = 0;  // datagrams: arrival number in its direction, from 1; stream: the offset
                       // of the chunk's first byte in its direction
  uint64_t size = 0;
  TimePoint stamp;     // clock read after the recv that brought it returned
  TimePoint due;       // stamp + its delay (+ rate pacing, + a reorder hold)
  TimePoint released;  // clock read just before the send that passed on its first byte
};

struct ReleaseCounts {
  uint64_t released = 0;
  uint64_t early = 0;  // released before due: a broken promise, never expected
};

// Thread-safe: the relay thread notes, a test reads (best after the relay has stopped).
class ReleaseLog {
 public:
  // Keeps the first `capacity` releases; later ones are counted, not kept.
  explicit ReleaseLog(size_t capacity) : capacity_(capacity) {}
  void note(const Release& r);
  std::vector<Release> records() const;
  uint64_t noted() const;

 private:
  mutable std::mutex mu_;
  size_t capacity_;
  std::vector<Release> records_;
  uint64_t noted_ = 0;
};

// The relay thread's side: counts every release, and logs it when a log was given.
class ReleaseRecorder {
 public:
  explicit ReleaseRecorder(std::shared_ptr<ReleaseLog> log) : log_(std::move(log)) {}
  void note(const Release& r) {
    ++counts_.released;
    if (r.released < r.due) ++counts_.early;
    if (log_) log_->note(r);
  }
  const ReleaseCounts& counts() const { return counts_; }

 private:
  std::shared_ptr<ReleaseLog> log_;
  ReleaseCounts counts_;
};

}  // namespace sockspec::impair
