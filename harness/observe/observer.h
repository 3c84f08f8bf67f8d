// Watching a run while it goes: `--metrics ADDR:PORT` serves /metrics (Prometheus text format,
// written by prometheus-cpp), / (the live dashboard, then the final report) and /live (the
// dashboard's changing part) with civetweb; `--push URL` sends the same metrics to a
// Pushgateway every interval and once at the end. The load driver's watcher thread calls
// update() ten times a second; requests and pushes read what it last published and never touch a
// generator thread.
#pragma once

#include <prometheus/metric_family.h>

#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include "load/live_feed.h"
#include "observe/metrics.h"
#include "reports/model.h"

class CivetServer;

namespace sockspec::observe {

struct ObserveOptions {
  std::string metrics;         // ADDR:PORT to serve on ("" none); port 0 picks a free one
  std::string push;            // http://HOST:PORT of a Pushgateway ("" none)
  double push_interval_s = 5;  // seconds between pushes
};

class Pusher;

class Observer : public load::LiveSink {
 public:
  // Starts serving and pushing, and says where on `err` (`page`: what `/` shows); nullptr with
  // `error` set when the address or URL is unusable.
  static std::unique_ptr<Observer> start(const ObserveOptions& o, RunLabels labels,
                                         const char* page, std::ostream& err, std::string& error);
  ~Observer() override;
  Observer(const Observer&) = delete;
  Observer& operator=(const Observer&) = delete;

  void update(const reports::LoadResult& so_far, double elapsed_s, double total_s) override;
  // `sockspec run`: cases finished so far by verdict, of `planned`.
  void update_cases(const VerdictCounts& by_verdict, uint64_t planned, double elapsed_s);

  // The run has ended: the final figures (the report's load, else `cases` of `planned`), `/`
  // becomes the report's HTML page, and the last push goes out (waited for at most 15 s).
  // Problems with the pushes are written to `err`.
  void finish(const reports::RunReport& report, const VerdictCounts& cases, uint64_t planned,
              double elapsed_s, std::ostream& err);

  // Keeps serving the final figures `seconds` (--metrics-linger), or until `cancel_fd` (-1: none)
  // is readable; says so on `err`. Nothing without an endpoint.
  void linger(double seconds, int cancel_fd, std::ostream& err) const;

  std::shared_ptr<const Published> published() const;

 private:
  explicit Observer(RunLabels labels);
  void publish(std::shared_ptr<const Published> p);

  RunLabels labels_;
  std::string url_;
  double drawn_at_s_ = -1;    // when update() last drew the dashboard (watcher thread only)
  mutable std::mutex mutex_;  // guards current_ only, held for a pointer copy
  std::shared_ptr<const Published> current_;
  std::unique_ptr<CivetServer> server_;
  std::vector<std::unique_ptr<class Route>> routes_;
  std::shared_ptr<Pusher> pusher_;
};

}  // namespace sockspec::observe
