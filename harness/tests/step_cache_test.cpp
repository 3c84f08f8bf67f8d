// StepCache: what a load run builds once is what stays the same for the whole run, and
// nothing else (a payload with ${client} or ${i}, an echo, differs between sends).
#include "engine/step_cache.h"

#include <gtest/gtest.h>

namespace sockspec::engine {
namespace {

scenario::Payload text(std::string t) {
  scenario::Payload p;
  p.kind = scenario::Payload::Kind::text;
  p.text.text = std::move(t);
  return p;
}

scenario::VarValues vars(uint64_t client) {
  scenario::VarValues v;
  v.target_host = "127.0.0.1";
  v.target_port = 8080;
  v.seed = 7;
  v.client = client;
  v.i = 0;
  return v;
}

TEST(StepCache, TheRunsOwnVariablesAreBuiltOnceAndKept) {
  EXPECT_TRUE(run_constant(scenario::Template{"no variables"}));
  EXPECT_TRUE(run_constant(scenario::Template{"Host: ${target.host}:${target.port} ${seed}"}));
  EXPECT_FALSE(run_constant(scenario::Template{"ping ${client}"}));
  EXPECT_FALSE(run_constant(scenario::Template{"n=${i}"}));
  EXPECT_FALSE(run_constant(scenario::Template{"${token}"}));  // a capture
  EXPECT_FALSE(run_constant(scenario::Template{"${broken"}));

  StepCache cache;
  std::string error;
  auto host = text("GET / HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\n\r\n");
  const std::string* first = cache.payload(host, vars(1), error);
  ASSERT_NE(first, nullptr) << error;
  EXPECT_EQ(*first, "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
  EXPECT_EQ(cache.payload(host, vars(2), error), first);  // another user: the same bytes

  auto per_user = text("ping ${client}");
  EXPECT_EQ(cache.payload(per_user, vars(1), error), nullptr);
  EXPECT_EQ(cache.payload(per_user, vars(2), error), nullptr);
  EXPECT_EQ(error, "");
}

TEST(StepCache, MatchersThatReadTheConnOrAVariableAreNotKept) {
  StepCache cache;
  std::string error;
  scenario::Matcher exact{text("OK ${target.port}\r\n")};
  const match::Resolved* m = cache.matcher(exact, vars(1), error);
  ASSERT_NE(m, nullptr) << error;
  ASSERT_TRUE(std::holds_alternative<match::Exact>(*m));
  EXPECT_EQ(std::get<match::Exact>(*m).bytes, "OK 8080\r\n");
  EXPECT_EQ(cache.matcher(exact, vars(3), error), m);

  scenario::Matcher echo{scenario::EchoMatch{}};
  EXPECT_EQ(cache.matcher(echo, vars(1), error), nullptr);
  scenario::Matcher mine{text("hello ${client}")};
  EXPECT_EQ(cache.matcher(mine, vars(1), error), nullptr);
  EXPECT_EQ(error, "");
}

}  // namespace
}  // namespace sockspec::engine
