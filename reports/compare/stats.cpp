#include "reports/compare/stats.h"

#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <cstdio>

namespace sockspec::reports::stats {

std::string p_text(double p) {
  if (p < 0.001) return "<0.001";
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", p);
  return b;
}

double normal_p(double z) {
  if (!std::isfinite(z)) return std::isnan(z) ? 1 : 0;
  return 2 * boost::math::cdf(boost::math::complement(boost::math::normal(), std::fabs(z)));
}

double normal_z(double alpha) {
  return boost::math::quantile(boost::math::complement(boost::math::normal(), alpha / 2));
}

QuantileCI quantile_ci(const Histogram& h, double percentile, double alpha) {
  QuantileCI out;
  out.n = h.count();
  if (out.n == 0) return out;
  const double n = static_cast<double>(out.n), q = percentile / 100;
  const double half = normal_z(alpha) * std::sqrt(n * q * (1 - q));
  // The ranks 1..n as percentiles of the histogram; a rank beyond the ends is the end.
  auto at_rank = [&](double rank) {
    rank = std::clamp(rank, 1.0, n);
    return static_cast<double>(h.percentile(100 * rank / n));
  };
  out.value = static_cast<double>(h.percentile(percentile));
  out.lo = at_rank(std::floor(n * q - half));
  out.hi = at_rank(std::ceil(n * q + half));
  return out;
}

double log_se(const QuantileCI& q, double alpha) {
  // A bucket spans 1/1024 of its value at most: a uniform error over it has sd width/sqrt(12).
  const double resolution = (1.0 / 1024) / std::sqrt(12.0);
  if (q.lo <= 0 || q.hi <= 0) return resolution;
  double se = (std::log(q.hi) - std::log(q.lo)) / (2 * normal_z(alpha));
  return std::max(se, resolution);
}

MeanSE mean_se(const Histogram& h) {
  MeanSE out;
  out.n = h.count();
  if (out.n < 2) {
    out.mean = h.mean();
    return out;
  }
  out.mean = h.mean();
  double ss = 0;
  for (const auto& [lowest, count] : h.buckets()) {
    double mid =
        (static_cast<double>(lowest) + static_cast<double>(h.highest_of(h.index_of(lowest)))) / 2;
    ss += static_cast<double>(count) * (mid - out.mean) * (mid - out.mean);
  }
  double n = static_cast<double>(out.n);
  out.se = std::sqrt(ss / (n - 1)) / std::sqrt(n);
  return out;
}

RelativeChange relative_change(double old_value, double old_log_se, double new_value,
                               double new_log_se, double alpha) {
  RelativeChange out;
  if (old_value <= 0 || new_value <= 0) return out;
  double d = std::log(new_value) - std::log(old_value);
  double se = std::sqrt(old_log_se * old_log_se + new_log_se * new_log_se);
  double z = normal_z(alpha);
  out.change = std::expm1(d);
  out.lo = std::expm1(d - z * se);
  out.hi = std::expm1(d + z * se);
  out.p = se > 0 ? normal_p(d / se) : (d == 0 ? 1 : 0);
  return out;
}

UTest mann_whitney(const Histogram& a, const Histogram& b) {
  UTest out;
  out.n_a = a.count();
  out.n_b = b.count();
  if (out.n_a == 0 || out.n_b == 0) return out;
  auto ba = a.buckets(), bb = b.buckets();
  // Walk both bucket lists in value order; buckets with the same lowest value are one tie group.
  double u_b = 0, below_a = 0, ties = 0;
  std::size_t i = 0, j = 0;
  while (i < ba.size() || j < bb.size()) {
    uint64_t v = std::min(i < ba.size() ? ba[i].first : UINT64_MAX,
                          j < bb.size() ? bb[j].first : UINT64_MAX);
    double ca = i < ba.size() && ba[i].first == v ? static_cast<double>(ba[i++].second) : 0;
    double cb = j < bb.size() && bb[j].first == v ? static_cast<double>(bb[j++].second) : 0;
    u_b += cb * (below_a + ca / 2);
    below_a += ca;
    double t = ca + cb;
    ties += t * t * t - t;
  }
  const double na = static_cast<double>(out.n_a), nb = static_cast<double>(out.n_b);
  const double n = na + nb;
  out.prob_b_greater = u_b / (na * nb);
  double var = na * nb / 12 * ((n + 1) - (n > 1 ? ties / (n * (n - 1)) : 0));
  out.z = var > 0 ? (u_b - na * nb / 2) / std::sqrt(var) : 0;
  out.p = var > 0 ? normal_p(out.z) : 1;
  return out;
}

namespace {
struct MeanVar {
  double mean = 0, var = 0;
};
MeanVar mean_var(const std::vector<double>& v) {
  MeanVar m;
  for (double x : v) m.mean += x;
  m.mean /= static_cast<double>(v.size());
  for (double x : v) m.var += (x - m.mean) * (x - m.mean);
  m.var /= static_cast<double>(v.size() - 1);
  return m;
}
}  // namespace

namespace {
// The t-test's answer from a difference, its standard error and degrees of freedom. A zero
// standard error (every value of each side the same) makes the difference exact.
TTest t_answer(double diff, double se, double df, double alpha) {
  TTest out;
  out.usable = true;
  out.diff = diff;
  out.df = df;
  if (se <= 0) {
    out.lo = out.hi = diff;
    out.p = diff == 0 ? 1 : 0;
    return out;
  }
  boost::math::students_t t(df);
  double crit = boost::math::quantile(boost::math::complement(t, alpha / 2));
  out.lo = diff - crit * se;
  out.hi = diff + crit * se;
  out.p = 2 * boost::math::cdf(boost::math::complement(t, std::fabs(diff) / se));
  return out;
}
}  // namespace

TTest welch(const std::vector<double>& a, const std::vector<double>& b, double alpha) {
  if (a.size() < 2 || b.size() < 2) return {};
  auto ma = mean_var(a), mb = mean_var(b);
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  double va = ma.var / na, vb = mb.var / nb, se2 = va + vb;
  double df = se2 > 0 ? se2 * se2 / (va * va / (na - 1) + vb * vb / (nb - 1)) : na + nb - 2;
  return t_answer(mb.mean - ma.mean, std::sqrt(se2), df, alpha);
}

TTest pooled_t(const std::vector<double>& a, const std::vector<double>& b, double alpha) {
  if (a.size() < 2 || b.size() < 2) return {};
  auto ma = mean_var(a), mb = mean_var(b);
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  double df = na + nb - 2;
  double pooled = ((na - 1) * ma.var + (nb - 1) * mb.var) / df;
  return t_answer(mb.mean - ma.mean, std::sqrt(pooled * (1 / na + 1 / nb)), df, alpha);
}

Proportions two_proportions(uint64_t k_a, uint64_t n_a, uint64_t k_b, uint64_t n_b, double alpha) {
  Proportions out;
  if (n_a == 0 || n_b == 0) return out;
  const double na = static_cast<double>(n_a), nb = static_cast<double>(n_b);
  out.a = static_cast<double>(k_a) / na;
  out.b = static_cast<double>(k_b) / nb;
  out.diff = out.b - out.a;
  double pooled = static_cast<double>(k_a + k_b) / (na + nb);
  double se0 = std::sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb));
  double se = std::sqrt(out.a * (1 - out.a) / na + out.b * (1 - out.b) / nb);
  double z = normal_z(alpha);
  out.lo = out.diff - z * se;
  out.hi = out.diff + z * se;
  out.p = se0 > 0 ? normal_p(out.diff / se0) : 1;
  return out;
}

}  // namespace sockspec::reports::stats
