// `--push URL`: the run's metrics sent to a Prometheus Pushgateway by prometheus-cpp's Gateway
// on a thread of its own, every interval and once at the end, grouped by job "sockspec", run_id
// and shard so the shards of a run do not replace each other. A Pushgateway that hangs holds up
// only this thread; the last push is waited for a bounded time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "observe/metrics.h"

namespace prometheus {
class Gateway;
}

namespace sockspec::observe {

class Snapshot;

// http://HOST:PORT (a trailing / allowed): host and port, or `error`.
struct PushUrl {
  std::string host, port, error;
};
PushUrl parse_push_url(const std::string& url);

class Pusher : public std::enable_shared_from_this<Pusher> {
 public:
  static std::shared_ptr<Pusher> start(const std::string& url, double interval_s,
                                       const RunLabels& labels, std::string& error);
  ~Pusher();

  // What the next push sends.
  void set(std::shared_ptr<const Published> p);
  // Pushes once more and stops. False when that push had not ended after `wait`: the thread is
  // left to finish on its own (it holds what it needs).
  bool finish(std::chrono::milliseconds wait);
  // Failed pushes, each kind once: "HTTP 400", "could not connect (curl error 7)".
  std::vector<std::string> problems() const;
  const std::string& url() const { return url_; }

 private:
  Pusher() = default;
  void loop();
  void note(int code);

  std::string url_;
  std::chrono::milliseconds interval_{5000};
  std::unique_ptr<prometheus::Gateway> gateway_;
  std::shared_ptr<Snapshot> snapshot_;  // the Collectable the Gateway reads
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false, done_ = false;
  std::vector<std::string> problems_;
  std::thread thread_;
};

}  // namespace sockspec::observe
