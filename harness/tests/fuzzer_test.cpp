// The fuzzer's pure parts: sanitizer reports read, findings told apart, delta debugging, and
// mutations that keep a case valid and change what the protocol cares about.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <set>

#include "fuzzer/coverage.h"
#include "fuzzer/finding.h"
#include "fuzzer/minimize.h"
#include "fuzzer/mutate.h"
#include "fuzzer/reproducer.h"
#include "scenario/parse.h"
#include "sockspec-coverage.h"

namespace sockspec::fuzzer {
namespace {

const char* kAsan = R"(listening on 7001
=================================================================
==4242==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000051 at pc 0x7f1 bp 0x7ff sp 0x7fe
WRITE of size 200 at 0x602000000051 thread T0
    #0 0x7f12 in __interceptor_memcpy ../../../../src/libsanitizer/sanitizer_common/sanitizer_common_interceptors.inc:827
    #1 0x55d0 in handle_message /tmp/build/length_overflow.c:42:5
    #2 0x55e0 in serve /tmp/build/length_overflow.c:80:9
    #3 0x55f0 in main /tmp/build/length_overflow.c:101:3

0x602000000051 is located 0 bytes to the right of 1-byte region
allocated by thread T0 here:
    #0 0x7f13 in __interceptor_malloc ../../../../src/libsanitizer/asan/asan_malloc_linux.cpp:69
    #1 0x55c0 in main /tmp/build/length_overflow.c:95:3

SUMMARY: AddressSanitizer: heap-buffer-overflow /tmp/build/length_overflow.c:42:5 in handle_message
==4242==ABORTING
)";

TEST(Findings, AnAddressSanitizerReportGivesItsKindAndTheServersOwnFrames) {
  auto r = find_sanitizer_report(kAsan);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, "AddressSanitizer: heap-buffer-overflow");
  ASSERT_EQ(r->frames.size(), 3u);  // the interceptor left out; only the first stack
  EXPECT_EQ(r->frames[0], "handle_message length_overflow.c:42");
  EXPECT_EQ(r->frames[1], "serve length_overflow.c:80");
  EXPECT_NE(r->text.find("SUMMARY: AddressSanitizer"), std::string::npos);
  EXPECT_EQ(r->text.find("listening on"), std::string::npos);  // the report alone
}

TEST(Findings, AnUndefinedBehaviorReportNamesItsPlace) {
  auto r = find_sanitizer_report(
      "/src/s.c:12:9: runtime error: signed integer overflow: 2147483647 + 1 cannot be "
      "represented in type 'int'\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, "UndefinedBehaviorSanitizer: signed integer overflow");
  ASSERT_EQ(r->frames.size(), 1u);
  EXPECT_EQ(r->frames[0], "s.c:12");
}

TEST(Findings, NoReportInOrdinaryOutput) {
  EXPECT_FALSE(find_sanitizer_report("listening on 7001\nclient said: AddressSanitizer: hi\n"));
}

TEST(Findings, SanitizerBeforeSignalBeforeSilence) {
  auto a = classify(kAsan, "exit status 1", "");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, Finding::Kind::sanitizer);
  EXPECT_EQ(a->summary,
            "AddressSanitizer: heap-buffer-overflow in handle_message length_overflow.c:42");
  EXPECT_EQ(slug(*a), "asan-heap-buffer-overflow-handle_message-length_overflow-c-42");

  auto s = classify("", "killed by SEGV", "");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind, Finding::Kind::signal);
  auto e = classify("", "exit status 3", "");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, Finding::Kind::exit);
  EXPECT_NE(s->key, e->key);

  auto hung = classify("", "", "x/ping failed: step 1 expect: no match within 2000 ms");
  auto refused = classify("", "", "x/ping failed: connect 127.0.0.1:9: ECONNREFUSED");
  ASSERT_TRUE(hung && refused);
  EXPECT_EQ(hung->kind, Finding::Kind::unresponsive);
  EXPECT_NE(hung->key, refused->key);
  EXPECT_FALSE(classify("listening\n", "", ""));
}

TEST(Findings, AUseAfterFreeAndADoubleFreeOfTheSameMemoryAreOneBug) {
  auto report = [](const char* kind, const char* where) {
    return std::string("==1==ERROR: AddressSanitizer: ") + kind + " on address 0x6 at pc 0x5\n" +
           "    #0 0x55 in " + where + " /s/d.c:97:3\n    #1 0x56 in main /s/d.c:140:5\n\n" +
           "freed by thread T0 here:\n    #0 0x7f in __interceptor_free x.cpp:52\n" +
           "    #1 0x57 in handle_line /s/d.c:84:7\n    #2 0x58 in main /s/d.c:140:5\n\n" +
           "SUMMARY: AddressSanitizer: " + kind + "\n";
  };
  auto uaf = classify(report("heap-use-after-free", "handle_line"), "exit status 1", "");
  auto twice = classify(report("attempting double-free", "free_session"), "exit status 1", "");
  ASSERT_TRUE(uaf && twice);
  EXPECT_EQ(uaf->key, twice->key);
  EXPECT_EQ(
      uaf->summary,
      "AddressSanitizer: heap-use-after-free in handle_line d.c:97 (freed in handle_line d.c:84)");
  // Without a free in the report, the place it happened tells bugs apart.
  EXPECT_NE(classify(kAsan, "", "")->key, uaf->key);
}

TEST(Ddmin, FindsTheTwoItemsThatMatterWithinItsBudget) {
  size_t budget = 200, calls = 0;
  auto keep = ddmin(
      16,
      [&](const std::vector<size_t>& s) {
        ++calls;
        bool a = false, b = false;
        for (size_t i : s) a |= i == 3, b |= i == 11;
        return a && b;
      },
      budget);
  EXPECT_EQ(keep, (std::vector<size_t>{3, 11}));
  EXPECT_EQ(calls, 200 - budget);
  size_t none = 0;
  EXPECT_EQ(ddmin(
                16, [](const std::vector<size_t>&) { return true; }, none)
                .size(),
            16u);
}

const char* kSuite = R"json({
  "format": 1, "suite": "lp", "transport": "tcp",
  "cases": [
    { "id": "login-then-message",
      "steps": [
        { "op": "connect", "conn": "c" },
        { "op": "send", "conn": "c", "text": "LOGIN me\n" },
        { "op": "expect", "conn": "c", "regex": "TOKEN ([0-9a-f]+)", "until": "\n", "capture": { "token": 1 } },
        { "op": "send", "conn": "c", "text": "CMD ${token} $${literal}\n" },
        { "op": "expect", "conn": "c", "text": "DONE\n" },
        { "op": "send", "conn": "c", "parts": [
            { "u16": { "length_of": "body" } },
            { "name": "body", "parts": [ { "text": "hello" }, { "u32": { "checksum": "crc32", "of": "inner" } },
                                         { "name": "inner", "parts": [ { "u8": 7 } ] } ] } ] },
        { "op": "expect", "conn": "c", "hex": "00", "timeout_ms": 5000 }
      ] }
  ] })json";

scenario::Suite suite() {
  auto r = scenario::parse_suite(kSuite, "lp.json");
  EXPECT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  return *r.suite;
}

TEST(Mutate, ATextKeepsItsVariablesAsTheyAreAndItsLiteralsAsBytes) {
  scenario::Suite s = suite();
  const auto& send = std::get<scenario::SendOp>(s.cases[0].steps[3].op);
  auto parts = as_parts(send.payload, 0);
  ASSERT_TRUE(parts);
  ASSERT_EQ(parts->size(), 3u);
  EXPECT_EQ((*parts)[0].literal, "CMD ");
  EXPECT_EQ((*parts)[1].text, "${token}");
  EXPECT_EQ((*parts)[2].literal, " ${literal}\n");  // $${ is a literal ${
}

TEST(Mutate, MutantsStayValidKeepThePrefixAndDropTheWaitsAfter) {
  scenario::Suite s = suite();
  Mutator m(s.cases, scenario::Transport::tcp, collect_dictionary({s}), 7);
  std::set<std::string> kinds;
  size_t valid = 0;
  for (int i = 0; i < 400; ++i) {
    Mutant x = m.next();
    auto c = reparse(x.kase, s);
    if (!c) continue;  // a mutation that broke a name the case needs: drawn again
    ++valid;
    // The login exchange before any mutated send runs as written.
    EXPECT_EQ(std::get<scenario::ConnectOp>(c->steps[0].op).conn, "c");
    for (const char* k : {"u16", "u32", "checksum", "sent ", "dripped", "cut after", "left out",
                          "bytes inserted", "set to", "says"}) {
      if (x.what.find(k) != std::string::npos) kinds.insert(k);
    }
    // The last expect (5000 ms, binds nothing) is after every mutated send: never waited for.
    for (const auto& st : c->steps) {
      if (std::holds_alternative<scenario::ExpectOp>(st.op) && st.timeout_ms == 5000u)
        ADD_FAILURE() << "a step after the mutated one kept its 5000 ms wait: " << x.what;
    }
  }
  EXPECT_GT(valid, 300u);
  // Typed fields, derived lengths, checksums and the sequence all get their turn.
  for (const char* k : {"checksum", "says", "set to", "sent ", "dripped", "cut after"})
    EXPECT_TRUE(kinds.count(k)) << k;
}

TEST(Mutate, TheSameSeedGivesTheSameInputs) {
  scenario::Suite s = suite();
  Mutator a(s.cases, scenario::Transport::tcp, collect_dictionary({s}), 99);
  Mutator b(s.cases, scenario::Transport::tcp, collect_dictionary({s}), 99);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(a.next().what, b.next().what);
}

TEST(Reproducer, TheLivenessCheckFollowsOnConnectionsOfItsOwn) {
  scenario::Suite s = suite();
  scenario::Case input = s.cases[0];
  input.steps.resize(2);
  auto c = with_liveness(input, s.cases[0]);
  // The input's connection closes first (a server serving one client at a time would otherwise
  // never reach the check's), then the check runs on connections of its own.
  ASSERT_EQ(c.steps.size(), 3 + s.cases[0].steps.size());
  auto* close = std::get_if<scenario::CloseOp>(&c.steps[2].op);
  ASSERT_TRUE(close);
  EXPECT_EQ(close->conn, "c");
  EXPECT_FALSE(close->abort);
  EXPECT_EQ(std::get<scenario::ConnectOp>(c.steps[3].op).conn, "live-c");
  ASSERT_TRUE(reparse(c, s));
  std::string json = finding_suite_json(s, c, "finding-x", "a summary", "what the server said");
  auto back = scenario::parse_suite(json, "finding.json");
  ASSERT_TRUE(back.suite) << (back.errors.empty() ? "" : back.errors[0].to_string());
  EXPECT_EQ(back.suite->cases[0].description, "what the server said");
  // An input that closed its connection itself gets no second close.
  input.steps.push_back({scenario::CloseOp{"c", true}, std::nullopt, "", ""});
  EXPECT_EQ(with_liveness(input, s.cases[0]).steps.size(), 3 + s.cases[0].steps.size());
}

TEST(Mutate, AnInputKeptForNewCoverageBecomesASeedOfItsOwn) {
  scenario::Suite s = suite();
  Mutator m({s.cases[0]}, scenario::Transport::tcp, collect_dictionary({s}), 5);
  EXPECT_EQ(m.seeds(), 1u);
  Mutant kept = m.next();
  m.add_seed(kept.kase);
  EXPECT_EQ(m.seeds(), 2u);
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(m.next().kase.steps.empty());
}

// Split in hundreds, one datagram overflows the server's receive buffer, and the liveness
// check's datagram is lost with the rest: a false alarm and a timeout per such input.
TEST(Mutate, ADatagramIsSplitInAtMostSixteenPieces) {
  auto r = scenario::parse_suite(R"({"format": 1, "suite": "u", "transport": "udp", "cases": [
    {"id": "big", "title": "t", "level": "must", "steps": [
      {"op": "connect", "conn": "u"},
      {"op": "send", "conn": "u", "fill": {"bytes": 1024, "pattern": "counter"}},
      {"op": "expect", "conn": "u", "echo": true}]}]})",
                                 "u.json");
  ASSERT_TRUE(r.suite) << (r.errors.empty() ? "" : r.errors[0].to_string());
  Mutator m(r.suite->cases, scenario::Transport::udp, {}, 3);
  int splits = 0;
  for (int i = 0; i < 400; ++i) {
    Mutant x = m.next();
    if (x.what.find("dripped") == std::string::npos) continue;
    ++splits;
    size_t sends = 0;
    for (const auto& st : x.kase.steps) sends += std::holds_alternative<scenario::SendOp>(st.op);
    EXPECT_GE(sends, 2u) << x.what;
    EXPECT_LE(sends, 16u) << x.what;
  }
  EXPECT_GT(splits, 0);
}

// The runtime's side, played here: map the object by the name the server would get.
TEST(Coverage, CountsEachSlotOnceAndOnlyOnceTheServerMappedIt) {
  std::string why;
  auto cov = Coverage::create(why);
  ASSERT_TRUE(cov) << why;
  EXPECT_FALSE(cov->attached());
  int fd = shm_open(cov->name().c_str(), O_RDWR, 0);
  ASSERT_GE(fd, 0);
  void* p = mmap(nullptr, sizeof(sockspec_coverage), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  ASSERT_NE(p, MAP_FAILED);
  auto* server = static_cast<sockspec_coverage*>(p);
  server->magic = SOCKSPEC_COVERAGE_MAGIC;
  server->edges = 100;
  EXPECT_TRUE(cov->attached());
  EXPECT_EQ(cov->edges(), 100u);
  EXPECT_EQ(cov->take_new(), 0u);
  server->hit[1] = server->hit[9] = server->hit[SOCKSPEC_COVERAGE_SLOTS - 1] = 1;
  EXPECT_EQ(cov->take_new(), 3u);
  EXPECT_EQ(cov->take_new(), 0u);  // marked before: nothing new
  server->hit[2] = server->hit[70] = 1;
  std::vector<uint32_t> slots;  // the jobs of a campaign pool these
  EXPECT_EQ(cov->take_new(&slots), 2u);
  EXPECT_EQ(slots, (std::vector<uint32_t>{2, 70}));
  EXPECT_EQ(cov->reached(), 5u);
  munmap(p, sizeof(sockspec_coverage));
  std::string name = cov->name();
  cov.reset();  // the object goes with it
  EXPECT_LT(shm_open(name.c_str(), O_RDWR, 0), 0);
}

}  // namespace
}  // namespace sockspec::fuzzer
