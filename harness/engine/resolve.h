// Turning a step's templates into concrete bytes, matchers and addresses when it runs.
#pragma once

#include <optional>
#include <string>

#include "engine/conn.h"
#include "engine/context.h"
#include "match/matcher.h"
#include "reports/model.h"
#include "scenario/model.h"
#include "scenario/template.h"

namespace sockspec::engine {

struct BytesOr {
  std::string bytes;
  std::string error;
};
// What `${...}` and expressions in typed parts are worth when the step runs.
codec::Resolver part_resolver(const scenario::VarValues& vars);

BytesOr payload_bytes(const scenario::Payload& p, const scenario::VarValues& vars);

struct MatcherOr {
  std::optional<match::Resolved> matcher;
  std::string error;
};
MatcherOr resolve_matcher(const scenario::Matcher& m, const Conn& conn,
                          const scenario::VarValues& vars);

// Binds the groups a matched regex kept to their `capture` names. Returns "" or, when a group
// took no part in the match, why the step fails.
std::string bind_captures(const scenario::Matcher& m, const match::Outcome& matched,
                          scenario::Captures& into);

struct AddrOr {
  net::SockAddr addr;
  std::string error;
};
// "target", host:port, [v6]:port or unix:PATH; a name resolves to an address of the target's
// family where it has one.
AddrOr resolve_endpoint(const scenario::Template& t, const scenario::VarValues& vars,
                        const Target& target, int socktype);

// Expected vs actual excerpts around `offset`, for reports.
reports::Mismatch make_mismatch(std::string_view expected, std::string_view actual, size_t offset);

}  // namespace sockspec::engine
