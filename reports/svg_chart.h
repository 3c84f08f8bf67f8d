// Line charts as inline SVG for the HTML report: a chart is plain data (series of points, axes)
// and `render_svg` is a function of it alone. The axes get round ticks (1, 2 or 5 times a power
// of ten), so a reader can tell a value from where it sits; tests check ticks and points, not
// pixels.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace sockspec::reports {

// How an axis' values read: nanoseconds shown as ns/us/ms/s, counts and rates as whole numbers
// (10k, 1.5M for large ones), or plain numbers.
enum class AxisUnit { latency_ns, count, plain };

struct Tick {
  double value = 0;
  std::string label;
};

struct Axis {
  std::string label;
  AxisUnit unit = AxisUnit::plain;
  bool integers = false;  // ticks only at whole numbers (counts; a step of at least 1)
  bool log = false;       // the values given are log10 of the quantity ("(log scale)" is added)
  // The range shown; unset: from the data (y: from 0 up to the first tick at or above the
  // largest value).
  std::optional<double> min, max;
  std::vector<Tick> ticks;  // fixed ticks; empty: round ticks over the range
};

// A point's mark: none, a small dot (one run among several), or a larger one filled (passed)
// or hollow (failed).
enum class Mark { none, dot, filled, hollow };

struct ChartPoint {
  double x = 0, y = 0;  // y NaN: no value here; the line breaks
  Mark mark = Mark::none;
};

struct ChartSeries {
  std::string name;  // the legend's entry; empty: none (e.g. the single runs behind a line)
  std::string color;
  std::vector<ChartPoint> points;  // drawn in this order
  bool line = true;                // join the points (false: marks only)
  bool dashed = false;             // a reference line (a threshold), not a measurement
};

struct Chart {
  std::string id, title;
  Axis x, y;
  std::vector<ChartSeries> series;
  std::string note;    // under the x axis' label: how to read the marks
  double width = 560;  // in the SVG's units (CSS pixels at full size): wider spreads the plot
};

// Round values from lo to hi every 1, 2 or 5 times a power of ten, about `target` intervals;
// the first is at or below lo and the last at or above hi. `integers`: steps of at least 1.
// hi <= lo is widened to one step (an all-zero count axis reads 0, 1).
std::vector<double> nice_ticks(double lo, double hi, int target, bool integers);

// A tick's label: every label of one axis in one unit, with as many decimals as the step needs
// ("0", "500us", "1.5ms"; "0", "50k", "150k").
std::string tick_label(double v, double step, double largest, AxisUnit unit);

// Where a chart's axes end and their ticks, as render_svg draws them.
struct ChartLayout {
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  std::vector<Tick> x_ticks, y_ticks;
};
ChartLayout layout(const Chart& c);

std::string render_svg(const Chart& c);

}  // namespace sockspec::reports
