#include "reports/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "reports/text.h"

namespace sockspec::reports {

namespace {

// The plot inside the SVG: title and legend above it, tick labels left and below.
constexpr double kHeight = 280, kLeft = 64, kRight = 32, kTop = 44, kBottom = 44;
constexpr double kNoteHeight = 14;

std::string fixed(double v, int decimals) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Decimals that show a 1-2-5 step exactly: 0 for 1 and up, 1 for 0.5, 2 for 0.05.
int decimals_for(double step) {
  if (!(step > 0) || step >= 1) return 0;
  return std::clamp(static_cast<int>(std::ceil(-std::log10(step) - 1e-9)), 0, 9);
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target, bool integers) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {0, 1};
  target = std::max(target, 1);
  double span = hi - lo;
  if (span <= 0) span = integers ? 1 : std::max(std::abs(lo), 1.0);
  double raw = span / target;
  double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double n = raw / magnitude;
  double step = (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * magnitude;
  if (integers) step = std::max(step, 1.0);
  // Tick k is k * step: counted, not summed, so 0.1 + 0.2 never prints as 0.30000000000000004.
  auto first = static_cast<long long>(std::floor(lo / step + 1e-9));
  auto last = static_cast<long long>(std::ceil(hi / step - 1e-9));
  if (last <= first) last = first + 1;
  std::vector<double> ticks;
  for (long long k = first; k <= last && ticks.size() < 100; ++k)
    ticks.push_back(static_cast<double>(k) * step);
  return ticks;
}

std::string tick_label(double v, double step, double largest, AxisUnit unit) {
  if (std::abs(v) < std::abs(step) * 1e-6) return "0";
  largest = std::abs(largest);
  switch (unit) {
    case AxisUnit::latency_ns: {
      double div = largest >= 1e9 ? 1e9 : largest >= 1e6 ? 1e6 : largest >= 1e3 ? 1e3 : 1;
      const char* name = div == 1e9 ? "s" : div == 1e6 ? "ms" : div == 1e3 ? "us" : "ns";
      return fixed(v / div, decimals_for(step / div)) + name;
    }
    case AxisUnit::count: {
      double div = largest >= 1e7 ? 1e6 : largest >= 1e4 ? 1e3 : 1;
      const char* name = div == 1e6 ? "M" : div == 1e3 ? "k" : "";
      return fixed(v / div, decimals_for(step / div)) + name;
    }
    case AxisUnit::plain:
      break;
  }
  return fixed(v, decimals_for(step));
}

namespace {

// The ticks of one axis over [lo, hi]: the fixed ones inside it, else round ones with labels.
std::vector<Tick> ticks_for(const Axis& a, const std::vector<double>& values, double lo,
                            double hi) {
  std::vector<Tick> out;
  if (!a.ticks.empty()) {
    for (const Tick& t : a.ticks)
      if (t.value >= lo - 1e-9 && t.value <= hi + 1e-9) out.push_back(t);
    return out;
  }
  double step = values.size() > 1 ? values[1] - values[0] : 1;
  double largest = 0;
  for (double v : values)
    if (v <= hi + step * 1e-6) largest = std::max(largest, std::abs(v));
  for (double v : values) {
    if (v < lo - step * 1e-6 || v > hi + step * 1e-6) continue;
    out.push_back({v, tick_label(v, step, largest, a.unit)});
  }
  return out;
}

}  // namespace

ChartLayout layout(const Chart& c) {
  double xlo = 1e300, xhi = -1e300, ylo = 1e300, yhi = -1e300;
  for (const auto& s : c.series) {
    for (const auto& p : s.points) {
      xlo = std::min(xlo, p.x);
      xhi = std::max(xhi, p.x);
      if (std::isnan(p.y)) continue;
      ylo = std::min(ylo, p.y);
      yhi = std::max(yhi, p.y);
    }
  }
  ChartLayout l;
  // x: the data's extent (or the axis' own); ticks only inside it.
  l.x_min = c.x.min.value_or(xlo <= xhi ? xlo : 0);
  l.x_max = c.x.max.value_or(xlo <= xhi ? xhi : 1);
  if (l.x_max <= l.x_min) l.x_max = l.x_min + 1;
  l.x_ticks = ticks_for(c.x, nice_ticks(l.x_min, l.x_max, 6, c.x.integers), l.x_min, l.x_max);
  // y: from 0 (or the axis' min) up to the first round tick at or above the largest value.
  l.y_min = c.y.min.value_or(std::min(0.0, ylo <= yhi ? ylo : 0.0));
  double top = c.y.max.value_or(ylo <= yhi ? yhi : l.y_min);
  auto ys = nice_ticks(l.y_min, top, 5, c.y.integers);
  l.y_max = c.y.max ? *c.y.max : ys.back();
  if (l.y_max <= l.y_min) l.y_max = l.y_min + 1;
  l.y_ticks = ticks_for(c.y, ys, l.y_min, l.y_max);
  return l;
}

std::string render_svg(const Chart& c) {
  ChartLayout l = layout(c);
  const double w = c.width;
  double h = kHeight + (c.note.empty() ? 0 : kNoteHeight);
  double plot_bottom = h - kBottom - (c.note.empty() ? 0 : kNoteHeight);
  auto px = [&](double x) {
    return kLeft + (x - l.x_min) / (l.x_max - l.x_min) * (w - kLeft - kRight);
  };
  auto py = [&](double y) {
    y = std::clamp(y, l.y_min, l.y_max);
    return kTop + (1 - (y - l.y_min) / (l.y_max - l.y_min)) * (plot_bottom - kTop);
  };
  auto esc = [](const std::string& s) { return markup_escape(s); };
  std::ostringstream s;
  s << "<svg id=\"" << esc(c.id) << "\" class=\"chart\" style=\"max-width:" << w
    << "px\" viewBox=\"0 0 " << w << " " << h << "\" role=\"img\" aria-label=\"" << esc(c.title)
    << "\">";
  s << "<text x=\"" << kLeft << "\" y=\"14\" style=\"font-weight:600;fill:#1d2330\">"
    << esc(c.title) << "</text>";
  for (const Tick& t : l.y_ticks) {
    s << "<line x1=\"" << kLeft << "\" x2=\"" << w - kRight << "\" y1=\"" << fixed(py(t.value), 1)
      << "\" y2=\"" << fixed(py(t.value), 1) << "\" stroke=\"#eceef2\"/><text x=\"" << kLeft - 6
      << "\" y=\"" << fixed(py(t.value) + 4, 1) << "\" text-anchor=\"end\">" << esc(t.label)
      << "</text>";
  }
  for (const Tick& t : l.x_ticks) {
    s << "<line x1=\"" << fixed(px(t.value), 1) << "\" x2=\"" << fixed(px(t.value), 1) << "\" y1=\""
      << kTop << "\" y2=\"" << fixed(plot_bottom, 1) << "\" stroke=\"#f0f1f4\"/><text x=\""
      << fixed(px(t.value), 1) << "\" y=\"" << fixed(plot_bottom + 14, 1)
      << "\" text-anchor=\"middle\">" << esc(t.label) << "</text>";
  }
  s << "<text x=\"" << (kLeft + w - kRight) / 2 << "\" y=\"" << fixed(plot_bottom + 30, 1)
    << "\" text-anchor=\"middle\">" << esc(c.x.label) << (c.x.log ? " (log scale)" : "")
    << "</text>";
  if (!c.note.empty()) {
    s << "<text x=\"" << (kLeft + w - kRight) / 2 << "\" y=\"" << fixed(plot_bottom + 44, 1)
      << "\" text-anchor=\"middle\">" << esc(c.note) << "</text>";
  }
  double lx = kLeft;
  for (const auto& ser : c.series) {
    if (ser.line) {
      // One polyline per run of defined values: a missing value breaks the line.
      std::string pts;
      auto flush = [&] {
        if (!pts.empty())
          s << "<polyline fill=\"none\" stroke=\"" << ser.color << "\" stroke-width=\"2\""
            << (ser.dashed ? " stroke-dasharray=\"6 4\"" : "") << " points=\"" << pts << "\"/>";
        pts.clear();
      };
      for (const auto& p : ser.points) {
        if (std::isnan(p.y)) {
          flush();
          continue;
        }
        pts += (pts.empty() ? "" : " ") + fixed(px(p.x), 1) + "," + fixed(py(p.y), 1);
      }
      flush();
    }
    for (const auto& p : ser.points) {
      if (p.mark == Mark::none || std::isnan(p.y)) continue;
      s << "<circle cx=\"" << fixed(px(p.x), 1) << "\" cy=\"" << fixed(py(p.y), 1) << "\" ";
      if (p.mark == Mark::dot) {
        s << "r=\"2.5\" fill=\"" << ser.color << "\" fill-opacity=\"0.5\"/>";
      } else if (p.mark == Mark::filled) {
        s << "r=\"3.5\" fill=\"" << ser.color << "\"/>";
      } else {
        s << "r=\"3.5\" fill=\"#fff\" stroke=\"" << ser.color << "\" stroke-width=\"1.5\"/>";
      }
    }
    if (ser.name.empty()) continue;
    s << "<rect x=\"" << lx << "\" y=\"27\" width=\"10\" height=\"3\" fill=\"" << ser.color
      << "\"/><text x=\"" << lx + 14 << "\" y=\"32\">" << esc(ser.name) << "</text>";
    lx += 14 + 6.5 * static_cast<double>(ser.name.size()) + 14;
  }
  s << "</svg>";
  return s.str();
}

}  // namespace sockspec::reports
