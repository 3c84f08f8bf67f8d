#include "reports/thresholds.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "reports/model.h"

namespace sockspec::reports {

namespace {

enum class Kind { latency, fraction, rate, count };

// The metric's kind, or nullopt for an unknown metric. Latency metrics are pNN[.N] with an
// optional prefix (connect_, service_, tls_full_, tls_resumed_), and mean/max/min.
std::optional<Kind> kind_of(const std::string& m, double* pct = nullptr,
                            std::string* hist = nullptr) {
  if (m == "error_rate" || m.rfind("udp_", 0) == 0) {
    bool udp = m == "udp_loss" || m == "udp_late" || m == "udp_duplicates" || m == "udp_reordered";
    return m == "error_rate" || udp ? std::optional(Kind::fraction) : std::nullopt;
  }
  if (m == "rate") return Kind::rate;
  if (m == "errors" || m == "iterations" || m == "missed_starts") return Kind::count;
  std::string base = m, which = "latency";
  for (const char* prefix : {"connect_", "service_", "tls_full_", "tls_resumed_"}) {
    std::string p = prefix;
    if (m.rfind(p, 0) == 0) {
      base = m.substr(p.size());
      which = p.substr(0, p.size() - 1);
    }
  }
  if (hist) *hist = which;
  if (base == "mean" || base == "max" || base == "min") return Kind::latency;
  if (base.size() > 1 && base[0] == 'p') {
    char* end = nullptr;
    double v = std::strtod(base.c_str() + 1, &end);
    if (end && *end == '\0' && v >= 0 && v <= 100) {
      if (pct) *pct = v;
      return Kind::latency;
    }
  }
  return std::nullopt;
}

}  // namespace

ThresholdParse parse_threshold(const std::string& text) {
  ThresholdParse out;
  size_t i = 0;
  auto skip = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  skip();
  size_t start = i;
  while (i < text.size() &&
         (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_' || text[i] == '.'))
    ++i;
  Threshold t;
  t.text = text;
  t.metric = text.substr(start, i - start);
  auto kind = kind_of(t.metric);
  if (!kind) {
    out.error =
        "unknown metric '" + t.metric +
        "' (known: pNN, connect_pNN, service_pNN, mean, max, min, error_rate, udp_loss, udp_late, "
        "udp_duplicates, udp_reordered, rate, errors, iterations, missed_starts)";
    return out;
  }
  skip();
  std::string op;
  while (i < text.size() && (text[i] == '<' || text[i] == '>' || text[i] == '=')) op += text[i++];
  if (op == "<") {
    t.op = Threshold::Op::lt;
  } else if (op == "<=") {
    t.op = Threshold::Op::le;
  } else if (op == ">") {
    t.op = Threshold::Op::gt;
  } else if (op == ">=") {
    t.op = Threshold::Op::ge;
  } else if (op == "==") {
    t.op = Threshold::Op::eq;
  } else {
    out.error = "expected <, <=, >, >= or == after '" + t.metric + "' in '" + text + "'";
    return out;
  }
  skip();
  const char* begin = text.c_str() + i;
  char* end = nullptr;
  double v = std::strtod(begin, &end);
  if (end == begin) {
    out.error = "expected a number in '" + text + "'";
    return out;
  }
  std::string unit(end);
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.back()))) unit.pop_back();
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.front()))) unit.erase(0, 1);
  switch (*kind) {
    case Kind::latency:
      if (unit == "ns") {
      } else if (unit == "us" || unit == "µs") {
        v *= 1e3;
      } else if (unit == "ms") {
        v *= 1e6;
      } else if (unit == "s") {
        v *= 1e9;
      } else {
        out.error = "'" + t.metric + "' needs a time unit (ns, us, ms, s) in '" + text + "'";
        return out;
      }
      break;
    case Kind::fraction:
      if (unit == "%") {
        v /= 100;
      } else if (!unit.empty()) {
        out.error = "'" + t.metric + "' takes a percentage or a fraction in '" + text + "'";
        return out;
      }
      break;
    case Kind::rate:
      if (unit != "/s" && !unit.empty()) {
        out.error = "'rate' is in iterations per second (/s) in '" + text + "'";
        return out;
      }
      break;
    case Kind::count:
      if (!unit.empty()) {
        out.error = "'" + t.metric + "' is a count, without a unit, in '" + text + "'";
        return out;
      }
      break;
  }
  t.value = v;
  out.threshold = t;
  return out;
}

std::optional<double> metric_value(const LoadResult& r, const std::string& metric) {
  double pct = 0;
  std::string which;
  auto kind = kind_of(metric, &pct, &which);
  if (!kind) return std::nullopt;
  switch (*kind) {
    case Kind::fraction: {
      if (metric != "error_rate") {  // a UDP count per datagram sent
        uint64_t n = metric == "udp_loss"         ? r.udp_lost
                     : metric == "udp_late"       ? r.udp_late
                     : metric == "udp_duplicates" ? r.udp_duplicates
                                                  : r.udp_reordered;
        if (r.udp_sent == 0) return std::nullopt;
        return static_cast<double>(n) / static_cast<double>(r.udp_sent);
      }
      // Nothing measured is no data, not a 0% error rate: a run whose every start was missed
      // (a server that never answers holds every connection) must not pass "error_rate < 1%".
      uint64_t attempts = r.iterations + r.errors;
      if (attempts == 0) return std::nullopt;
      return static_cast<double>(r.errors) / static_cast<double>(attempts);
    }
    case Kind::rate:
      return r.achieved_rate;
    case Kind::count:
      if (metric == "errors") return static_cast<double>(r.errors);
      if (metric == "iterations") return static_cast<double>(r.iterations);
      return static_cast<double>(r.missed_starts);
    case Kind::latency: {
      const Histogram& h = which == "connect"       ? r.connect
                           : which == "service"     ? r.service
                           : which == "tls_full"    ? r.tls_full
                           : which == "tls_resumed" ? r.tls_resumed
                                                    : r.latency;
      if (h.count() == 0) return std::nullopt;
      std::string base =
          metric.substr(metric.rfind('_') == std::string::npos ? 0 : metric.rfind('_') + 1);
      if (base == "mean") return h.mean();
      if (base == "max") return static_cast<double>(h.max());
      if (base == "min") return static_cast<double>(h.min());
      return static_cast<double>(h.percentile(pct));
    }
  }
  return std::nullopt;
}

bool holds(const Threshold& t, double a) {
  switch (t.op) {
    case Threshold::Op::lt:
      return a < t.value;
    case Threshold::Op::le:
      return a <= t.value;
    case Threshold::Op::gt:
      return a > t.value;
    case Threshold::Op::ge:
      return a >= t.value;
    case Threshold::Op::eq:
      return a == t.value;
  }
  return false;
}

ThresholdResult evaluate(const Threshold& t, const LoadResult& r) {
  ThresholdResult out{t.text, t.metric, metric_value(r, t.metric), false, "no data"};
  if (out.actual) {
    out.passed = holds(t, *out.actual);
    out.shown = format_metric(t.metric, *out.actual);
  }
  return out;
}

std::string format_metric(const std::string& metric, double v) {
  char buf[48];
  auto kind = kind_of(metric);
  if (!kind) return "?";
  switch (*kind) {
    case Kind::latency:
      if (v < 1e3) {
        std::snprintf(buf, sizeof buf, "%.0fns", v);
      } else if (v < 1e6) {
        std::snprintf(buf, sizeof buf, "%.1fus", v / 1e3);
      } else if (v < 1e9) {
        std::snprintf(buf, sizeof buf, "%.2fms", v / 1e6);
      } else {
        std::snprintf(buf, sizeof buf, "%.3fs", v / 1e9);
      }
      break;
    case Kind::fraction:
      std::snprintf(buf, sizeof buf, "%.3f%%", v * 100);
      break;
    case Kind::rate:
      std::snprintf(buf, sizeof buf, "%.0f/s", v);
      break;
    case Kind::count:
      std::snprintf(buf, sizeof buf, "%.0f", v);
      break;
  }
  return buf;
}

}  // namespace sockspec::reports
