// match_by's field: written and read in either byte order, and a reply's id traced back to the
// newest request that carried it (ids wrap at the field's range).
#include <gtest/gtest.h>

#include "load/pipeline_steps.h"

namespace sockspec::load {
namespace {

TEST(MatchBy, WritesAndReadsTheFieldInEitherOrder) {
  MatchBy big{1, 2, false}, little{1, 4, true};
  std::string b = "xxxxxx", l = "xxxxxx";
  big.put(b, 0, 0x10203);  // only the low 16 bits fit
  little.put(l, 0, 0x0a0b0c0d);
  EXPECT_EQ(b, std::string("x\x02\x03xxx", 6));
  EXPECT_EQ(l, std::string("x\x0d\x0c\x0b\x0ax", 6));
  EXPECT_EQ(big.get(b), 0x0203u);
  EXPECT_EQ(little.get(l), 0x0a0b0c0du);
  EXPECT_EQ(big.get("xx"), std::nullopt);  // too short to hold the field
}

TEST(MatchBy, AnIdNamesTheNewestRequestThatCarriedIt) {
  EXPECT_EQ(MatchBy::newest_with(5, 10, 16), 5u);
  EXPECT_EQ(MatchBy::newest_with(11, 10, 16), std::nullopt);  // not sent yet
  EXPECT_EQ(MatchBy::newest_with(3, 300, 8), 259u);           // 300 wrapped once past 255
  EXPECT_EQ(MatchBy::newest_with(200, 300, 8), 200u);
  EXPECT_EQ(MatchBy::newest_with(256, 300, 8), std::nullopt);  // no 1-byte field says 256
  EXPECT_EQ(MatchBy::newest_with(7, 7, 64), 7u);
  EXPECT_EQ(MatchBy::newest_with(8, 7, 64), std::nullopt);
}

}  // namespace
}  // namespace sockspec::load
