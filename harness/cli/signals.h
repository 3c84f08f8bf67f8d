// SIGINT/SIGTERM as a readable descriptor. Blocking the signals in the main thread before any
// other thread starts means no thread is interrupted at a random point; the signalfd stays
// readable once a signal is pending (we never read it), so every event loop that watches it
// sees the stop.
#pragma once

#include "net/fd.h"

namespace sockspec::cli {

class StopSignals {
 public:
  StopSignals();  // call before starting threads
  int fd() const { return fd_.get(); }

 private:
  net::Fd fd_;
};

}  // namespace sockspec::cli
