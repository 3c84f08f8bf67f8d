// The built-in suites carry their own marks for impaired networks (docs/impairments.md): every
// case that sends datagrams to the target and counts on each of them requires
// lossless-datagrams, every case that measures speed requires clean-network. The runner skips by
// these marks alone, so a case left unmarked would fail under --impair instead of being skipped.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "runner/impairment.h"
#include "scenario/parse.h"

namespace {
using sockspec::runner::sends_datagrams_to_target;
using sockspec::scenario::Case;

bool has(const std::vector<std::string>& v, const char* x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Cases that send datagrams yet hold under loss, with why.
const std::set<std::string> kHoldUnderLoss = {
    "discard-udp/no-response",       // silence stays silence when a datagram is lost
    "discard-udp/many-no-response",  // the same
};

TEST(ImpairMarks, EveryBuiltInCaseThatCountsOnDatagramsOrSpeedSaysSo) {
  namespace fs = std::filesystem;
  size_t suites = 0, marked = 0;
  for (const auto& entry : fs::directory_iterator(SOCKSPEC_SUITES)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = sockspec::scenario::parse_suite(text.str(), entry.path().string());
    ASSERT_TRUE(parsed.suite) << entry.path();
    ++suites;
    for (const Case& c : parsed.suite->cases) {
      std::string id = parsed.suite->suite + "/" + c.id;
      if (sockspec::scenario::uses_impair(c.steps)) continue;  // chooses its own network
      bool lossless = has(c.requires_, "lossless-datagrams");
      if (sends_datagrams_to_target(c, parsed.suite->transport) && !kHoldUnderLoss.count(id)) {
        EXPECT_TRUE(lossless) << id << " sends datagrams to the target: mark it";
      }
      if (has(c.tags, "latency")) {
        EXPECT_TRUE(has(c.requires_, "clean-network")) << id << " measures speed: mark it";
      }
      marked += lossless;
    }
  }
  EXPECT_GE(suites, 16u);
  EXPECT_GE(marked, 40u);
}

TEST(ImpairMarks, TheHeuristicSeesDatagramsSentFromUnconnectedSockets) {
  auto parsed = sockspec::scenario::parse_suite(R"({"format": 1, "suite": "s", "title": "t",
      "transport": "udp", "cases": [
        {"id": "open", "title": "t", "steps": [{"op": "open", "conn": "o"},
          {"op": "send", "conn": "o", "text": "x"}]},
        {"id": "tcp", "title": "t", "steps": [{"op": "connect", "conn": "c", "transport": "tcp"},
          {"op": "send", "conn": "c", "text": "x"}]}]})",
                                                "inline.json");
  ASSERT_TRUE(parsed.suite);
  EXPECT_TRUE(sends_datagrams_to_target(parsed.suite->cases[0], parsed.suite->transport));
  EXPECT_FALSE(sends_datagrams_to_target(parsed.suite->cases[1], parsed.suite->transport));
}

}  // namespace
