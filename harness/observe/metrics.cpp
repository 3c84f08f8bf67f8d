#include "observe/metrics.h"

#include <limits>
#include <map>
#include <tuple>

namespace sockspec::observe {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr double kNsPerS = 1e9;

// Builds the families of one exposition, each metric with the run's labels.
class Families {
 public:
  explicit Families(const RunLabels& l)
      : base_{{"run_id", l.run_id},
              {"shard", std::to_string(l.shard)},
              {"shards", std::to_string(l.shards)}} {}

  ClientMetric& add(const std::string& name, MetricType type, const std::string& help,
                    std::vector<ClientMetric::Label> extra = {}) {
    if (out_.empty() || out_.back().name != name) out_.push_back({name, help, type, {}});
    ClientMetric& m = out_.back().metric.emplace_back();
    m.label = base_;
    for (auto& e : extra) m.label.push_back(std::move(e));
    return m;
  }
  void counter(const std::string& name, const std::string& help, double v,
               std::vector<ClientMetric::Label> extra = {}) {
    add(name, MetricType::Counter, help, std::move(extra)).counter.value = v;
  }
  void gauge(const std::string& name, const std::string& help, double v,
             std::vector<ClientMetric::Label> extra = {}) {
    add(name, MetricType::Gauge, help, std::move(extra)).gauge.value = v;
  }
  void histogram(const std::string& name, const std::string& help, const reports::Histogram& h) {
    add(name, MetricType::Histogram, help).histogram = to_prometheus(h);
  }
  std::vector<MetricFamily> take() { return std::move(out_); }

 private:
  std::vector<ClientMetric::Label> base_;
  std::vector<MetricFamily> out_;
};

void add_clock(Families& f, const RunClock& c) {
  f.gauge("sockspec_elapsed_seconds", "Seconds since the run's first start (warm-up included).",
          c.elapsed_s);
  f.gauge("sockspec_finished", "1 once the run has ended and the figures are the final report's.",
          c.finished ? 1 : 0);
}

}  // namespace

std::vector<uint64_t> bucket_bounds_ns() {
  std::vector<uint64_t> b;
  for (int k = 10; k < reports::Histogram::kMaxBits; ++k) {
    b.push_back(uint64_t{1} << k);
    b.push_back(uint64_t{3} << (k - 1));
  }
  b.push_back(uint64_t{1} << reports::Histogram::kMaxBits);
  return b;
}

ClientMetric::Histogram to_prometheus(const reports::Histogram& h) {
  ClientMetric::Histogram out;
  out.sample_count = h.count();
  out.sample_sum = h.mean() * static_cast<double>(h.count()) / kNsPerS;
  auto bounds = bucket_bounds_ns();
  auto buckets = h.buckets();  // (lowest value, count), ascending
  size_t i = 0;
  uint64_t below = 0;
  for (uint64_t bound : bounds) {
    while (i < buckets.size() && h.highest_of(h.index_of(buckets[i].first)) <= bound) {
      below += buckets[i].second;
      ++i;
    }
    out.bucket.push_back({below, static_cast<double>(bound) / kNsPerS});
  }
  out.bucket.push_back({h.count(), std::numeric_limits<double>::infinity()});
  return out;
}

std::vector<MetricFamily> load_metrics(const reports::LoadResult& l, const RunLabels& labels,
                                       const RunClock& clock) {
  Families f(labels);
  f.gauge("sockspec_run_info", "The run: its profile and target, as labels; always 1.", 1,
          {{"profile", labels.profile},
           {"target", labels.target},
           {"executor", l.executor},
           {"transport", l.transport}});
  add_clock(f, clock);
  f.gauge("sockspec_measured_seconds", "Seconds of the measured window gone (after warm-up).",
          l.duration_s);
  f.gauge("sockspec_target_rate", "Iterations per second asked of this shard (0: closed loop).",
          l.target_rate);
  f.gauge("sockspec_virtual_users", "Virtual users (connections) this shard runs.", l.connections);
  f.counter("sockspec_iterations_total",
            "Iterations completed without error in the measured window.",
            static_cast<double>(l.iterations));
  // Every kind is present from the start (at 0), so rate() sees the first error too.
  std::map<std::string, uint64_t> kinds{{"timeout", 0}, {"mismatch", 0}, {"reset", 0},
                                        {"refused", 0}, {"connect", 0},  {"other", 0}};
  for (const auto& [k, n] : l.errors_by_kind) kinds[k] = n;
  for (const auto& [k, n] : kinds) {
    f.counter("sockspec_errors_total", "Failed iterations in the measured window, by kind.",
              static_cast<double>(n), {{"kind", k}});
  }
  f.counter("sockspec_scheduled_starts_total", "Open loop: starts the schedule asked for.",
            static_cast<double>(l.scheduled));
  f.counter("sockspec_missed_starts_total", "Open loop: scheduled starts that never began.",
            static_cast<double>(l.missed_starts));
  f.counter("sockspec_sent_bytes_total", "Bytes sent in the measured window.",
            static_cast<double>(l.bytes_sent));
  f.counter("sockspec_received_bytes_total", "Bytes received in the measured window.",
            static_cast<double>(l.bytes_received));
  f.counter("sockspec_sent_datagrams_total", "UDP datagrams sent in the measured window.",
            static_cast<double>(l.datagrams_sent));
  for (auto [name, v, help] :
       {std::tuple{"sockspec_udp_tagged_total", l.udp_sent, "Tagged UDP datagrams sent."},
        {"sockspec_udp_lost_total", l.udp_lost, "Tagged datagrams never answered in time."},
        {"sockspec_udp_late_total", l.udp_late, "Lost datagrams answered after their timeout."},
        {"sockspec_udp_duplicates_total", l.udp_duplicates, "Duplicate replies."},
        {"sockspec_udp_reordered_total", l.udp_reordered, "Replies out of order."}}) {
    f.counter(name, help, static_cast<double>(v));
  }
  f.counter("sockspec_connects_total", "Connect steps inside iterations.",
            static_cast<double>(l.connect.count()));
  f.histogram("sockspec_latency_seconds",
              "Iteration latency: from the scheduled start (open loop) or the first send.",
              l.latency);
  f.histogram("sockspec_service_seconds", "Iteration service time: from the first send.",
              l.service);
  f.histogram("sockspec_connect_seconds", "Connect steps' latency.", l.connect);
  for (const auto& t : l.thresholds) {
    f.gauge("sockspec_threshold_passing",
            "1 while a threshold holds on the figures so far (a shard's own figures).",
            t.passed ? 1 : 0, {{"threshold", t.expression}});
  }
  return f.take();
}

std::vector<MetricFamily> run_metrics(const VerdictCounts& cases_by_verdict, uint64_t planned,
                                      const RunLabels& labels, const RunClock& clock) {
  Families f(labels);
  add_clock(f, clock);
  f.gauge("sockspec_cases_planned", "Cases the run selected.", static_cast<double>(planned));
  std::map<std::string, uint64_t> all{{"pass", 0}, {"fail", 0},  {"error", 0}, {"warn", 0},
                                      {"skip", 0}, {"xfail", 0}, {"xpass", 0}};
  for (const auto& [verdict, n] : cases_by_verdict) all[verdict] = n;
  for (const auto& [verdict, n] : all) {
    f.counter("sockspec_cases_total", "Cases finished, by verdict.", static_cast<double>(n),
              {{"verdict", verdict}});
  }
  return f.take();
}

}  // namespace sockspec::observe
