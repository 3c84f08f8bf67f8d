// How a case's raw outcome becomes its verdict, and which cases a run selects. Pure.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "net/tls.h"
#include "reports/model.h"
#include "scenario/model.h"

namespace sockspec::runner {

// Expected failures: "suite/case-id  reason" per line; '#' starts a comment. A reason that
// starts with "flaky:" is a failure that comes and goes: failing is xfail, passing is a pass.
struct ExpectFail {
  std::map<std::string, std::string> reasons;  // full case id -> reason
  std::vector<std::string> errors;             // "FILE:LINE: problem"
};
ExpectFail parse_expect_fail(const std::string& text, const std::string& file);

// pass/fail/error from the engine, then the case's level, --strict, and the expected
// failures decide the verdict the report shows.
struct Decided {
  reports::Verdict verdict;
  std::string reason;
};
Decided decide(reports::Verdict raw, const std::string& raw_reason, scenario::Level level,
               bool strict, const std::optional<std::string>& expected_failure);

// A case tagged "capacity" probes a server's limits (a burst of connects, many clients). When
// it fails because connections were refused, reset or never accepted, what it saw is a policy
// the server's configuration chose (a connection-rate limit, a small listen backlog), not a
// protocol violation: this returns the words that name it, and the case becomes a warning.
// Wrong bytes are never policy. nullopt when the case is not such a case.
std::optional<std::string> policy_seen(const std::vector<std::string>& tags,
                                       const std::vector<reports::StepResult>& steps);

struct Selection {
  std::vector<std::string> filters;  // globs over "suite/id"; any may match
  std::vector<std::string> tags;     // a case with any of them
};
bool selected(const Selection& s, const std::string& full_id, const std::vector<std::string>& tags);

// Why a case cannot run against an AF_UNIX target whose socket is a datagram socket
// (`target_dgram`) or a stream, or nullopt when it can: a socket of the other kind, TCP
// options, IP addresses, ${target.port}, or an ipv4/ipv6/inet requirement.
// The --tls-* options that give `s` (those that differ from the defaults), for rerun commands.
std::string tls_flags(const net::TlsSettings& s);
// Why a case cannot run against a tls: target (it sends UDP there), or nothing.
std::optional<std::string> tls_skip_reason(const scenario::Case& c);
std::optional<std::string> unix_skip_reason(const scenario::Case& c, bool target_dgram);

// A shell word: 'it''s' quoting, left bare when it needs none.
std::string shell_quote(const std::string& s);

}  // namespace sockspec::runner
