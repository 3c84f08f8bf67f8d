#include "observe/pusher.h"

#include <prometheus/collectable.h>
#include <prometheus/gateway.h>

#include <algorithm>

namespace sockspec::observe {

// The families of the last Published, for the Gateway to collect.
class Snapshot : public prometheus::Collectable {
 public:
  void set(std::shared_ptr<const Published> p) {
    std::lock_guard lock(mutex_);
    current_ = std::move(p);
  }
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::shared_ptr<const Published> p;
    {
      std::lock_guard lock(mutex_);
      p = current_;
    }
    return p ? p->families : std::vector<prometheus::MetricFamily>{};
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Published> current_;
};

PushUrl parse_push_url(const std::string& url) {
  PushUrl u;
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) {
    u.error =
        "--push " + url + ": expected http://HOST:PORT (a Pushgateway; https is not supported)";
    return u;
  }
  std::string rest = url.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  size_t colon = rest.rfind(':');
  if (rest.find('/') != std::string::npos || colon == std::string::npos || colon == 0 ||
      colon + 1 == rest.size() ||
      !std::all_of(rest.begin() + static_cast<std::ptrdiff_t>(colon) + 1, rest.end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    u.error = "--push " + url +
              ": expected http://HOST:PORT with no path (the job and run are added as "
              "/metrics/job/sockspec/run_id/.../shard/...)";
    return u;
  }
  u.host = scheme + rest.substr(0, colon);
  u.port = rest.substr(colon + 1);
  return u;
}

std::shared_ptr<Pusher> Pusher::start(const std::string& url, double interval_s,
                                      const RunLabels& labels, std::string& error) {
  PushUrl u = parse_push_url(url);
  if (!u.error.empty()) {
    error = u.error;
    return nullptr;
  }
  if (!(interval_s >= 0.1)) {
    error = "--push-interval must be 0.1 seconds or more";
    return nullptr;
  }
  std::shared_ptr<Pusher> p(new Pusher());
  p->url_ = url;
  p->interval_ = std::chrono::milliseconds(static_cast<long>(interval_s * 1000));
  p->gateway_ = std::make_unique<prometheus::Gateway>(
      u.host, u.port, "sockspec",
      prometheus::Labels{{"run_id", labels.run_id}, {"shard", std::to_string(labels.shard)}});
  p->snapshot_ = std::make_shared<Snapshot>();
  p->gateway_->RegisterCollectable(p->snapshot_);
  // The thread owns a reference: if the last push hangs past finish(), it still has its state.
  p->thread_ = std::thread([self = p] { self->loop(); });
  return p;
}

Pusher::~Pusher() {
  if (thread_.joinable()) thread_.detach();  // only reached from the thread's own last reference
}

void Pusher::set(std::shared_ptr<const Published> p) { snapshot_->set(std::move(p)); }

void Pusher::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    bool last = cv_.wait_for(lock, interval_, [this] { return stopping_; });
    lock.unlock();
    int code = gateway_->Push();  // PUT: the group's metrics replaced by these
    lock.lock();
    note(code);
    if (last) break;
  }
  done_ = true;
  cv_.notify_all();
}

void Pusher::note(int code) {
  if (code >= 200 && code < 300) return;
  std::string what = code < 0 ? "could not reach it (curl error " + std::to_string(-code) + ")"
                              : "HTTP " + std::to_string(code);
  if (std::find(problems_.begin(), problems_.end(), what) == problems_.end())
    problems_.push_back(what);
}

bool Pusher::finish(std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  stopping_ = true;
  cv_.notify_all();
  bool ended = cv_.wait_for(lock, wait, [this] { return done_; });
  lock.unlock();
  if (ended && thread_.joinable()) thread_.join();
  return ended;
}

std::vector<std::string> Pusher::problems() const {
  std::lock_guard lock(mutex_);
  return problems_;
}

}  // namespace sockspec::observe
