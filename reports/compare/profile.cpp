// The load half of a comparison: one profile's runs on each side, metric by metric, each
// tested within runs (sampling error) and, with two or more runs a side, across runs (spread).
#include <cmath>
#include <optional>

#include "reports/charts.h"
#include "reports/compare/compare.h"
#include "reports/merge.h"

namespace sockspec::reports::compare {

namespace {

using Runs = std::vector<const LoadResult*>;

// One test's answer about a change, in the metric's change units.
struct TestOutcome {
  double lo = 0, hi = 0, p = 1;
  std::string method;
};

// The test with the larger p decides: a change is significant only when every available
// test finds it so.
void decide(MetricChange& m, std::optional<TestOutcome> within, std::optional<TestOutcome> across,
            double alpha) {
  if (within) m.p_within = within->p;
  if (across) m.p_across = across->p;
  const TestOutcome* d = within ? &*within : nullptr;
  if (across && (!d || across->p >= d->p)) d = &*across;
  if (!d) return;
  m.decided_by = within && d == &*within ? "within runs" : "across runs";
  m.method = d->method;
  m.lo = d->lo;
  m.hi = d->hi;
  m.p = d->p;
  m.significant = d->p < alpha;
}

std::string runs_text(std::size_t a, std::size_t b, const char* what) {
  return std::to_string(a) + "+" + std::to_string(b) + " " + what;
}

// Each run's value, on the log scale for a t-test of a ratio.
std::optional<TestOutcome> across_log(const std::vector<double>& a, const std::vector<double>& b,
                                      double alpha) {
  std::vector<double> la, lb;
  for (double v : a)
    if (v > 0) la.push_back(std::log(v));
  for (double v : b)
    if (v > 0) lb.push_back(std::log(v));
  auto w = stats::pooled_t(la, lb, alpha);
  if (!w.usable) return std::nullopt;
  return TestOutcome{std::expm1(w.lo), std::expm1(w.hi), w.p,
                     "t-test on log values, " + runs_text(la.size(), lb.size(), "runs")};
}

MetricChange latency(const std::string& name, double pct, const Runs& olds, const Runs& news,
                     const LoadResult& po, const LoadResult& pn, double alpha) {
  MetricChange m;
  m.name = name;
  m.kind = MetricKind::latency;
  auto value = [&](const Histogram& h) {
    return pct > 0 ? static_cast<double>(h.percentile(pct)) : h.mean();
  };
  for (auto* r : olds) m.old_runs.push_back(value(r->latency));
  for (auto* r : news) m.new_runs.push_back(value(r->latency));
  m.old_value = value(po.latency);
  m.new_value = value(pn.latency);
  if (m.old_value <= 0 || m.new_value <= 0) return m;
  m.change = m.new_value / m.old_value - 1;
  double se_old, se_new;
  if (pct > 0) {
    se_old = stats::log_se(stats::quantile_ci(po.latency, pct, alpha), alpha);
    se_new = stats::log_se(stats::quantile_ci(pn.latency, pct, alpha), alpha);
  } else {
    auto a = stats::mean_se(po.latency), b = stats::mean_se(pn.latency);
    se_old = a.se / a.mean;
    se_new = b.se / b.mean;
  }
  auto rc = stats::relative_change(m.old_value, se_old, m.new_value, se_new, alpha);
  std::string method = pct > 0 ? "order statistics of " : "standard error of the mean of ";
  method +=
      std::to_string(po.latency.count()) + "+" + std::to_string(pn.latency.count()) + " latencies";
  decide(m, TestOutcome{rc.lo, rc.hi, rc.p, method}, across_log(m.old_runs, m.new_runs, alpha),
         alpha);
  return m;
}

MetricChange rate(const Runs& olds, const Runs& news, double alpha) {
  MetricChange m;
  m.name = "rate";
  m.kind = MetricKind::rate;
  std::vector<double> old_seconds, new_seconds;
  auto gather = [](const Runs& runs, std::vector<double>& per_run, std::vector<double>& seconds) {
    double sum = 0;
    for (auto* r : runs) {
      per_run.push_back(r->achieved_rate);
      sum += r->achieved_rate;
      for (const auto& i : r->series) {
        double covered = seconds_covered(*r, i);
        if (covered >= 0.5) seconds.push_back(static_cast<double>(i.iterations) / covered);
      }
    }
    return runs.empty() ? 0 : sum / static_cast<double>(runs.size());
  };
  m.old_value = gather(olds, m.old_runs, old_seconds);
  m.new_value = gather(news, m.new_runs, new_seconds);
  if (m.old_value <= 0) return m;
  m.change = m.new_value / m.old_value - 1;
  // A difference of rates, as a fraction of the old rate.
  auto relative = [&](const stats::TTest& w, const std::string& method) {
    return TestOutcome{w.lo / m.old_value, w.hi / m.old_value, w.p, method};
  };
  std::optional<TestOutcome> within, across;
  auto ws = stats::welch(old_seconds, new_seconds, alpha);
  if (ws.usable)
    within = relative(ws, "Welch t on per-second rates, " +
                              runs_text(old_seconds.size(), new_seconds.size(), "seconds"));
  auto wr = stats::pooled_t(m.old_runs, m.new_runs, alpha);
  if (wr.usable) across = relative(wr, "t-test, " + runs_text(olds.size(), news.size(), "runs"));
  decide(m, within, across, alpha);
  return m;
}

// A fraction of counts: errors of iterations, lost of datagrams, missed of scheduled starts.
struct Fraction {
  uint64_t k = 0, n = 0;
};
using FractionOf = Fraction (*)(const LoadResult&);

std::optional<MetricChange> fraction(const std::string& name, FractionOf of, const Runs& olds,
                                     const Runs& news, double alpha) {
  MetricChange m;
  m.name = name;
  m.kind = MetricKind::fraction;
  Fraction po, pn;
  auto gather = [&](const Runs& runs, std::vector<double>& per_run, Fraction& pooled) {
    for (auto* r : runs) {
      Fraction f = of(*r);
      pooled.k += f.k;
      pooled.n += f.n;
      if (f.n > 0) per_run.push_back(static_cast<double>(f.k) / static_cast<double>(f.n));
    }
  };
  gather(olds, m.old_runs, po);
  gather(news, m.new_runs, pn);
  if (po.n == 0 || pn.n == 0) return std::nullopt;  // not measured on a side (TCP: no loss)
  auto t = stats::two_proportions(po.k, po.n, pn.k, pn.n, alpha);
  m.old_value = t.a;
  m.new_value = t.b;
  m.change = t.diff;
  std::optional<TestOutcome> across;
  auto w = stats::pooled_t(m.old_runs, m.new_runs, alpha);
  if (w.usable)
    across = TestOutcome{w.lo, w.hi, w.p,
                         "t-test, " + runs_text(m.old_runs.size(), m.new_runs.size(), "runs")};
  decide(m,
         TestOutcome{t.lo, t.hi, t.p,
                     "two proportions, " + std::to_string(po.n) + "+" + std::to_string(pn.n)},
         across, alpha);
  return m;
}

// Runs of one side as one: histograms merged and counts added as merge_load adds the parts of
// one run. Repeated runs are not parts that ran at once, though: their rate is the mean, their
// settings and per-second series (for the charts) the first run's.
LoadResult pool(const Runs& runs) {
  const LoadResult& first = *runs.front();
  LoadResult out = first;
  double rate = first.achieved_rate;
  for (std::size_t i = 1; i < runs.size(); ++i) {
    merge_load(out, *runs[i]);
    rate += runs[i]->achieved_rate;
  }
  out.achieved_rate = rate / static_cast<double>(runs.size());
  out.target_rate = first.target_rate;
  out.threads = first.threads;
  out.connections = first.connections;
  out.series = first.series;
  return out;
}

}  // namespace

ProfileComparison compare_profile(const Runs& olds, const Runs& news, double alpha) {
  ProfileComparison pc;
  pc.profile = olds.front()->profile;
  pc.old_runs = static_cast<unsigned>(olds.size());
  pc.new_runs = static_cast<unsigned>(news.size());
  pc.old_pooled = pool(olds);
  pc.new_pooled = pool(news);
  const LoadResult &po = pc.old_pooled, &pn = pc.new_pooled;
  for (auto [name, pct] :
       {std::pair{"p50", 50.0}, {"p90", 90.0}, {"p99", 99.0}, {"p99.9", 99.9}, {"mean", 0.0}})
    pc.metrics.push_back(latency(name, pct, olds, news, po, pn, alpha));
  pc.metrics.push_back(rate(olds, news, alpha));
  auto errors = [](const LoadResult& r) { return Fraction{r.errors, r.iterations + r.errors}; };
  auto loss = [](const LoadResult& r) { return Fraction{r.udp_lost, r.udp_sent}; };
  auto missed = [](const LoadResult& r) { return Fraction{r.missed_starts, r.scheduled}; };
  for (auto [name, of] :
       {std::pair<const char*, FractionOf>{"errors", errors}, {"loss", loss}, {"missed", missed}})
    if (auto m = fraction(name, of, olds, news, alpha)) pc.metrics.push_back(*m);
  pc.distribution = stats::mann_whitney(po.latency, pn.latency);
  if (olds.size() < 2 || news.size() < 2)
    pc.notes.push_back(
        "one run on a side: the spread between runs is not measured, so only the sampling error "
        "within the runs was tested, and drift between two runs on a busy machine can look "
        "significant; give two or more reports a side for a test across runs");
  return pc;
}

}  // namespace sockspec::reports::compare
