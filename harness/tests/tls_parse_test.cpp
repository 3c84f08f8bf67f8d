// TLS in the scenario format: connect's "tls", starttls, expect_error's TLS reasons,
// expect_eof's close_notify; and the written form parses back to the same steps.
#include <gtest/gtest.h>

#include "engine/tls_handshake.h"
#include "scenario/parse.h"
#include "scenario/write.h"

namespace sockspec::scenario {
namespace {

ParseResult parse_steps(const std::string& steps) {
  return parse_suite(R"({"format": 1, "suite": "s", "transport": "tcp", "cases": [
    {"id": "c", "steps": )" +
                         steps + "}]}",
                     "t.json");
}

std::string all_errors(const ParseResult& r) {
  std::string s;
  for (const auto& d : r.errors) s += d.to_string() + "\n";
  return s;
}

TEST(TlsParse, ConnectSettingsStarttlsAndCloseNotifyBecomeTypedSteps) {
  auto r = parse_steps(R"([
    {"op": "connect", "conn": "c", "tls": {"sni": "a.test", "alpn": ["h2", "http/1.1"],
      "min_version": "1.2", "max_version": "1.3", "verify": false, "resume": false}},
    {"op": "connect", "conn": "p", "tls": false},
    {"op": "starttls", "conn": "p", "tls": {"ca": "ca.pem"}},
    {"op": "connect", "conn": "x", "tls": true, "expect_error": "tls:certificate has expired"},
    {"op": "expect_eof", "conn": "c", "close_notify": true}])");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  const auto& steps = r.suite->cases[0].steps;
  const auto& c = std::get<ConnectOp>(steps[0].op);
  ASSERT_TRUE(c.tls.has_value());
  EXPECT_TRUE(*c.tls);
  EXPECT_EQ(c.tls_options.sni, "a.test");
  EXPECT_EQ(c.tls_options.alpn, (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_EQ(c.tls_options.verify, false);
  EXPECT_EQ(std::get<ConnectOp>(steps[1].op).tls, false);
  EXPECT_EQ(std::get<StartTlsOp>(steps[2].op).tls_options.ca, "ca.pem");
  EXPECT_EQ(std::get<ConnectOp>(steps[3].op).expect_error, "tls:certificate has expired");
  EXPECT_TRUE(std::get<ExpectEofOp>(steps[4].op).close_notify);

  // Written back, the suite parses to the same steps.
  auto again = parse_suite(write_suite(*r.suite).dump(), "again.json");
  ASSERT_TRUE(again.errors.empty()) << all_errors(again);
  const auto& s2 = again.suite->cases[0].steps;
  EXPECT_EQ(std::get<ConnectOp>(s2[0].op).tls_options, c.tls_options);
  EXPECT_EQ(std::get<ConnectOp>(s2[1].op).tls, false);
  EXPECT_EQ(std::get<StartTlsOp>(s2[2].op).tls_options.ca, "ca.pem");
  EXPECT_TRUE(std::get<ExpectEofOp>(s2[4].op).close_notify);
}

TEST(TlsParse, BadSettingsAreReportedWithTheirPointers) {
  auto r = parse_steps(R"([
    {"op": "connect", "conn": "c", "tls": {"min_version": "1.1", "alpn": [], "key": "k.pem",
      "colour": "blue"}},
    {"op": "connect", "conn": "u", "transport": "udp", "tls": true},
    {"op": "connect", "conn": "n", "tls": 5},
    {"op": "starttls", "conn": "u"},
    {"op": "listen", "conn": "l", "bind": "127.0.0.1:0", "expect_error": "tls"},
    {"op": "renegotiate", "conn": "c", "refusal_ok": true, "expect_error": "tls"},
    {"op": "expect_tls_alert", "conn": "c", "alert": "Certificate Required"}])");
  std::string e = all_errors(r);
  EXPECT_NE(e.find("/cases/0/steps/0/tls/min_version"), std::string::npos) << e;
  EXPECT_NE(e.find("/cases/0/steps/0/tls/alpn"), std::string::npos) << e;
  EXPECT_NE(e.find("/cases/0/steps/0/tls/key"), std::string::npos) << e;
  EXPECT_NE(e.find("/cases/0/steps/0/tls/colour"), std::string::npos) << e;
  EXPECT_NE(e.find("/cases/0/steps/1/tls: TLS runs over TCP"), std::string::npos) << e;
  EXPECT_NE(e.find("/cases/0/steps/2/tls: must be true, false or an object"), std::string::npos)
      << e;
  EXPECT_NE(e.find("/cases/0/steps/3/conn: starttls needs a connected TCP conn"), std::string::npos)
      << e;
  // Only connect and starttls make handshakes: elsewhere "tls" is not an errno name.
  EXPECT_NE(e.find("/cases/0/steps/4/expect_error: is not an errno name"), std::string::npos) << e;
  EXPECT_NE(e.find("/cases/0/steps/5/refusal_ok: and expect_error say two different things"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("/cases/0/steps/6/alert: must be an alert's name"), std::string::npos) << e;
}

TEST(TlsParse, ExpectErrorMatchesAnyFailureOrTheReasonInAnyCase) {
  using engine::tls_error_matches;
  EXPECT_TRUE(tls_error_matches("tls", "certificate verify failed: hostname mismatch"));
  EXPECT_TRUE(
      tls_error_matches("tls:Hostname Mismatch", "certificate verify failed: hostname mismatch"));
  EXPECT_FALSE(tls_error_matches("tls:certificate has expired",
                                 "certificate verify failed: hostname mismatch"));
  EXPECT_FALSE(tls_error_matches("ECONNRESET", "certificate verify failed"));
}

TEST(TlsParse, StepSettingsGoOverTheRunsAndTheNameDefaultsToTheTargetHost) {
  engine::Target t;
  t.tls_settings.ca_file = "run-ca.pem";
  t.tls_settings.alpn = {"h2"};
  TlsOptions step;
  auto s = engine::tls_settings(t, step, "db.example.test");
  EXPECT_EQ(s.sni, "db.example.test");
  EXPECT_EQ(s.verify_name, "db.example.test");
  EXPECT_EQ(s.ca_file, "run-ca.pem");
  step.sni = "other.test";
  step.alpn = std::vector<std::string>{"mqtt"};
  step.resume = false;
  s = engine::tls_settings(t, step, "db.example.test");
  EXPECT_EQ(s.sni, "other.test");
  EXPECT_EQ(s.verify_name, "other.test");
  EXPECT_EQ(s.alpn, (std::vector<std::string>{"mqtt"}));
  EXPECT_EQ(s.resume, 0.0);
  EXPECT_EQ(s.ca_file, "run-ca.pem");
}

}  // namespace
}  // namespace sockspec::scenario
