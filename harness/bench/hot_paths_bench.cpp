// The harness's hot paths under Google Benchmark: what every iteration of a load run pays.
// A benchmark measures; `make bench` prints the numbers, nothing asserts on them.
#include <benchmark/benchmark.h>

#include <random>

#include "engine/case_run.h"
#include "engine/resolve.h"
#include "match/matcher.h"
#include "payload/payload.h"
#include "reports/histogram.h"
#include "scenario/parse.h"

namespace {

using namespace sockspec;

void BM_HistogramRecord(benchmark::State& state) {
  reports::Histogram h;
  std::mt19937_64 rng(1);
  std::vector<uint64_t> values(4096);
  for (auto& v : values) v = 1000 + rng() % 10'000'000;
  size_t i = 0;
  for (auto _ : state) {
    h.record(values[i++ & 4095]);
  }
  benchmark::DoNotOptimize(h.count());
}
BENCHMARK(BM_HistogramRecord);

// Checking a 64-byte echo reply: the per-iteration cost of "every reply still checked".
void BM_MatchStream64(benchmark::State& state) {
  std::string want = payload::fill_bytes({64, payload::FillPattern::random, 7}, 0);
  match::Resolved m = match::Exact{want};
  std::string got = want + "next";
  for (auto _ : state) {
    auto out = match::match_stream(m, got, false);
    benchmark::DoNotOptimize(out.consumed);
  }
}
BENCHMARK(BM_MatchStream64);

void BM_MatchDatagram64(benchmark::State& state) {
  std::string want(64, 'x');
  match::Resolved m = match::Exact{want};
  for (auto _ : state) benchmark::DoNotOptimize(match::match_datagram(m, want).kind);
}
BENCHMARK(BM_MatchDatagram64);

// Building a send's bytes and an expect's matcher from the model, as each step does.
void BM_ResolvePayloadAndEchoMatcher(benchmark::State& state) {
  scenario::Payload p;
  p.kind = scenario::Payload::Kind::text;
  p.text.text = "ping ${client} ${seed}";
  scenario::VarValues vars;
  vars.client = 3;
  vars.seed = 42;
  engine::Conn conn;
  conn.transport = scenario::Transport::udp;
  scenario::Matcher echo{scenario::EchoMatch{false}};
  for (auto _ : state) {
    auto b = engine::payload_bytes(p, vars);
    conn.last_datagram = std::move(b.bytes);
    auto m = engine::resolve_matcher(echo, conn, vars);
    benchmark::DoNotOptimize(m.matcher);
  }
}
BENCHMARK(BM_ResolvePayloadAndEchoMatcher);

// Dispatching steps through the client and the event loop: 100 zero-length sleeps per run.
void BM_StepDispatch(benchmark::State& state) {
  std::string steps = "[";
  for (int i = 0; i < 100; ++i) steps += std::string(i ? "," : "") + R"({"op": "sleep", "ms": 0})";
  steps += "]";
  auto parsed = scenario::parse_suite(
      R"({"format": 1, "suite": "b", "cases": [{"id": "c", "steps": )" + steps + "}]}",
      "bench.json");
  engine::Target target;
  target.addr = net::resolve("127.0.0.1", 9, SOCK_DGRAM).addrs.at(0);
  engine::RunCaseOptions opts{target, 0, 1000, nullptr, -1, nullptr};
  for (auto _ : state) {
    auto out = engine::run_case(parsed.suite->cases[0], opts);
    benchmark::DoNotOptimize(out.verdict);
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_StepDispatch);

}  // namespace

BENCHMARK_MAIN();
