#include "reports/json_guard.h"

#include <gtest/gtest.h>

#include <string>

namespace sockspec::reports {
namespace {

std::string nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(JsonGuard, NestingUpToTheLimitPassesAndOneMoreIsReportedWhereItOpens) {
  EXPECT_FALSE(check_json_limits(nested(kMaxJsonDepth)));
  auto p = check_json_limits(nested(kMaxJsonDepth + 1));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->pointer.size(), 2 * kMaxJsonDepth);  // "/0" per open array
  EXPECT_NE(p->message.find("nested deeper than 64 levels"), std::string::npos);
}

TEST(JsonGuard, PointerNamesKeysWithEscapesAndArrayIndexes) {
  auto p = check_json_limits(R"({"a": 1, "b/c~": [0, {"x": [[[]]]}]})", 4);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->pointer, "/b~1c~0/1/x/0");  // the value that opens the fifth level
}

TEST(JsonGuard, BracketsInsideStringsAreText) {
  EXPECT_FALSE(check_json_limits(R"({"k": "[[[[[[\"]]]", "[": "{{{{"})", 2));
}

TEST(JsonGuard, NumbersBeyondADoubleAreReportedAtTheirPointer) {
  auto p = check_json_limits(R"({"cases": [{"ms": 1e400}]})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->pointer, "/cases/0/ms");
  EXPECT_NE(p->message.find("1e400"), std::string::npos);
  EXPECT_FALSE(check_json_limits(R"({"tiny": 1e-400, "big": 1.7e308, "neg": -12})"));
  EXPECT_TRUE(check_json_limits("-1e309"));
}

TEST(JsonGuard, TextLargerThanTheLimitIsRefusedBeforeScanning) {
  auto p = check_json_limits(std::string(100, ' '), kMaxJsonDepth, 99);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->pointer, "");
  EXPECT_NE(p->message.find("100 bytes; the limit is 99"), std::string::npos);
}

}  // namespace
}  // namespace sockspec::reports
