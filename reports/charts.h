// The HTML report's charts as data, built from the report (render_svg draws them): a load run's
// percentile distribution and per-second series, and a capacity search's latency by rate.
#pragma once

#include <string>
#include <vector>

#include "reports/model.h"
#include "reports/svg_chart.h"

namespace sockspec::reports {

// One histogram's latency against "1 in N", as percentile_chart draws each of its lines.
ChartSeries percentile_series(const std::string& name, const std::string& color,
                              const Histogram& h);

// Latency against "1 in N" (HdrHistogram's percentile distribution): x counts the nines.
Chart percentile_chart(const LoadResult& l);

// Seconds of the measured window an interval of the series covers: 1, less for the last one
// when the window ends within it.
double seconds_covered(const LoadResult& l, const Interval& i);

// Rate and errors, p50/p99, and (UDP with tags) lost/late/duplicate/reordered datagrams, per
// second. Each second is drawn flat across the time it covers, so a 2 s run spans 0s-2s; counts
// are divided by the seconds covered (a last partial second is a rate like the others); a
// second without a completed iteration has no latency (the line breaks).
std::vector<Chart> per_second_charts(const LoadResult& l);

// Two runs of one profile on shared axes (`sockspec compare`): both latency distributions by
// percentile, and rate and p99 per second side by side.
std::vector<Chart> comparison_charts(const LoadResult& base, const LoadResult& now);

// Latency against the value tried (log scale): each run as a small dot, a line through each
// step's median run (FindMaxStep), filled where the step passed and hollow where it failed,
// and the goal's limit dashed. Values above 4x the limit are drawn at 4x.
Chart find_max_chart(const FindMaxResult& f);

}  // namespace sockspec::reports
