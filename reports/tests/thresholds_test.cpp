// Threshold expressions: parsed in the units people write, evaluated on the result model.
#include "reports/thresholds.h"

#include <gtest/gtest.h>

#include "reports/model.h"

namespace sockspec::reports {
namespace {

Threshold parse(const std::string& s) {
  auto p = parse_threshold(s);
  EXPECT_TRUE(p.threshold) << s << ": " << p.error;
  return p.threshold.value_or(Threshold{});
}

TEST(Thresholds, UnitsBecomeTheMetricsBaseUnit) {
  EXPECT_DOUBLE_EQ(parse("p99 < 2ms").value, 2e6);
  EXPECT_DOUBLE_EQ(parse("p99.9<=500us").value, 5e5);
  EXPECT_DOUBLE_EQ(parse("connect_p99 < 5ms").value, 5e6);
  EXPECT_DOUBLE_EQ(parse("mean < 1s").value, 1e9);
  EXPECT_DOUBLE_EQ(parse("error_rate < 0.1%").value, 0.001);
  EXPECT_DOUBLE_EQ(parse("udp_loss < 1%").value, 0.01);
  EXPECT_DOUBLE_EQ(parse("rate >= 19000/s").value, 19000);
  EXPECT_EQ(parse("errors == 0").op, Threshold::Op::eq);
}

TEST(Thresholds, BadExpressionsSayWhatIsWrong) {
  EXPECT_NE(parse_threshold("p101 < 2ms").error.find("unknown metric 'p101'"), std::string::npos);
  EXPECT_NE(parse_threshold("latency < 2ms").error.find("unknown metric"), std::string::npos);
  EXPECT_NE(parse_threshold("p99 2ms").error.find("expected <, <=, >, >= or =="),
            std::string::npos);
  EXPECT_NE(parse_threshold("p99 < 2").error.find("needs a time unit"), std::string::npos);
  EXPECT_NE(parse_threshold("rate > 5ms").error.find("iterations per second"), std::string::npos);
  EXPECT_NE(parse_threshold("errors < 1%").error.find("is a count"), std::string::npos);
}

TEST(Thresholds, EvaluateOnALoadResult) {
  LoadResult r;
  for (uint64_t v = 1; v <= 1000; ++v) r.latency.record(v * 1000);  // 1 us .. 1 ms
  r.iterations = 990;
  r.errors = 10;
  r.achieved_rate = 20000;
  auto p99 = metric_value(r, "p99");
  ASSERT_TRUE(p99);
  EXPECT_NEAR(*p99, 990e3, 990e3 / 1024);
  EXPECT_TRUE(holds(parse("p99 < 2ms"), *p99));
  EXPECT_FALSE(holds(parse("p99 < 500us"), *p99));
  EXPECT_DOUBLE_EQ(*metric_value(r, "error_rate"), 0.01);
  EXPECT_FALSE(holds(parse("error_rate < 0.1%"), *metric_value(r, "error_rate")));
  EXPECT_TRUE(holds(parse("rate >= 19000/s"), *metric_value(r, "rate")));
  EXPECT_FALSE(metric_value(r, "connect_p99"))
      << "no connect data: no value, so the threshold fails";
  LoadResult nothing;  // every start missed: no iteration, no error
  EXPECT_FALSE(metric_value(nothing, "error_rate")) << "nothing measured is not a 0% error rate";
  EXPECT_FALSE(evaluate(parse("error_rate < 1%"), nothing).passed);
  EXPECT_FALSE(metric_value(nothing, "udp_loss")) << "no datagram sent: no loss figure";
  nothing.udp_sent = 10;
  EXPECT_DOUBLE_EQ(*metric_value(nothing, "udp_loss"), 0.0);
  EXPECT_EQ(format_metric("p99", 1.5e6), "1.50ms");
  EXPECT_EQ(format_metric("error_rate", 0.01), "1.000%");
}

}  // namespace
}  // namespace sockspec::reports
