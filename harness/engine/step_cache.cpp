#include "engine/step_cache.h"

#include <algorithm>

#include "engine/conn.h"
#include "engine/resolve.h"

namespace sockspec::engine {

namespace {

using scenario::VarRef;

bool payload_is_run_constant(const scenario::Payload& p) {
  if (p.kind == scenario::Payload::Kind::text) return engine::run_constant(p.text);
  return p.fixed();
}

bool matcher_is_run_constant(const scenario::Matcher& m) {
  if (const auto* p = std::get_if<scenario::Payload>(&m.kind)) return payload_is_run_constant(*p);
  if (const auto* r = std::get_if<scenario::RegexMatch>(&m.kind))
    return engine::run_constant(r->pattern) && !r->bytes_expr;
  if (const auto* l = std::get_if<scenario::LengthMatch>(&m.kind)) return !l->exact;
  if (const auto* pm = std::get_if<scenario::PartsMatch>(&m.kind))
    return !codec::has_variables(pm->parts);
  return false;  // echo: what this conn sent since the last expect
}

}  // namespace

bool run_constant(const scenario::Template& t) {
  if (!t.has_vars()) return true;
  auto scan = scenario::scan_vars(t.text);
  return scan.error.empty() && std::all_of(scan.refs.begin(), scan.refs.end(), [](const VarRef& r) {
           return r.kind == VarRef::Kind::target_host || r.kind == VarRef::Kind::target_port ||
                  r.kind == VarRef::Kind::seed;
         });
}

const std::string* StepCache::payload(const scenario::Payload& p, const scenario::VarValues& vars,
                                      std::string& error) {
  auto hit = payloads_.find(&p);
  if (hit == payloads_.end()) {
    std::optional<std::string> bytes;
    if (payload_is_run_constant(p)) {
      auto b = payload_bytes(p, vars);
      if (!b.error.empty()) {
        error = b.error;
        return nullptr;  // not kept: each send reports it
      }
      bytes = std::move(b.bytes);
    }
    hit = payloads_.emplace(&p, std::move(bytes)).first;
  }
  return hit->second ? &*hit->second : nullptr;
}

const match::Resolved* StepCache::matcher(const scenario::Matcher& m,
                                          const scenario::VarValues& vars, std::string& error) {
  auto hit = matchers_.find(&m);
  if (hit == matchers_.end()) {
    std::optional<match::Resolved> resolved;
    if (matcher_is_run_constant(m)) {
      Conn none;  // a run-constant matcher reads nothing of the conn
      auto r = resolve_matcher(m, none, vars);
      if (!r.matcher) {
        error = r.error;
        return nullptr;
      }
      resolved = std::move(*r.matcher);
    }
    hit = matchers_.emplace(&m, std::move(resolved)).first;
  }
  return hit->second ? &*hit->second : nullptr;
}

}  // namespace sockspec::engine
