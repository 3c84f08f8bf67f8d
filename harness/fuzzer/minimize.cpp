#include "fuzzer/minimize.h"

#include <algorithm>

#include "common/codec.h"

namespace sockspec::fuzzer {

std::vector<size_t> ddmin(size_t n,
                          const std::function<bool(const std::vector<size_t>&)>& still_fails,
                          size_t& budget) {
  std::vector<size_t> cur(n);
  for (size_t i = 0; i < n; ++i) cur[i] = i;
  if (n == 0) return cur;
  // An empty input first: some bugs need nothing at all of what was sent.
  if (budget > 0) {
    --budget;
    if (still_fails({})) return {};
  }
  size_t granularity = 2;
  while (cur.size() >= 2 && budget > 0) {
    size_t chunk = (cur.size() + granularity - 1) / granularity;
    bool reduced = false;
    // Try each complement: everything but one chunk.
    for (size_t start = 0; start < cur.size() && budget > 0; start += chunk) {
      std::vector<size_t> rest;
      rest.reserve(cur.size());
      for (size_t i = 0; i < cur.size(); ++i)
        if (i < start || i >= start + chunk) rest.push_back(cur[i]);
      --budget;
      if (still_fails(rest)) {
        cur = std::move(rest);
        granularity = std::max<size_t>(granularity - 1, 2);
        reduced = true;
        break;
      }
    }
    if (reduced) continue;
    if (granularity >= cur.size()) break;  // single items each tried: 1-minimal
    granularity = std::min(granularity * 2, cur.size());
  }
  return cur;
}

namespace {

// Every bytes part with literal bytes and no ${...}, nested blocks included, in order.
void literal_parts(codec::Parts& parts, std::vector<codec::Part*>& out) {
  for (auto& p : parts) {
    if (p.kind == codec::Part::Kind::block) literal_parts(p.parts, out);
    if (p.kind != codec::Part::Kind::bytes || p.fill) continue;
    if (p.text.empty() || (p.text.find("${") == std::string::npos && (p.hex || p.encoding.empty())))
      out.push_back(&p);
  }
}

std::string bytes_of(const codec::Part& p) {
  if (p.text.empty()) return p.literal;
  if (p.hex) return from_hex(p.text).value_or("");
  return p.text;
}

void set_bytes(codec::Part& p, std::string b) {
  p.text.clear();
  p.hex = false;
  p.literal = std::move(b);
}

std::vector<scenario::SendOp*> sends_of(scenario::Steps& steps) {
  std::vector<scenario::SendOp*> out;
  for (auto& s : steps) {
    if (auto* send = std::get_if<scenario::SendOp>(&s.op)) out.push_back(send);
  }
  return out;
}

}  // namespace

scenario::Case minimize_case(const scenario::Case& c,
                             const std::function<bool(const scenario::Case&)>& still_fails,
                             size_t budget) {
  scenario::Case best = c;
  auto keep = ddmin(
      c.steps.size(),
      [&](const std::vector<size_t>& idx) {
        scenario::Case t = c;
        t.steps.clear();
        for (size_t i : idx) t.steps.push_back(c.steps[i]);
        return still_fails(t);
      },
      budget);
  best.steps.clear();
  for (size_t i : keep) best.steps.push_back(c.steps[i]);

  // Then each message's bytes, part by part (a literal payload is one part).
  auto sends = sends_of(best.steps);
  for (size_t si = 0; si < sends.size() && budget > 0; ++si) {
    auto& payload = sends[si]->payload;
    if (payload.kind == scenario::Payload::Kind::literal) {
      std::string bytes = payload.literal;
      auto idx = ddmin(
          bytes.size(),
          [&](const std::vector<size_t>& keep_bytes) {
            scenario::Case t = best;
            auto& p = sends_of(t.steps)[si]->payload;
            p.literal.clear();
            for (size_t i : keep_bytes) p.literal += bytes[i];
            return still_fails(t);
          },
          budget);
      payload.literal.clear();
      for (size_t i : idx) payload.literal += bytes[i];
      continue;
    }
    if (payload.kind != scenario::Payload::Kind::parts) continue;
    std::vector<codec::Part*> lits;
    literal_parts(payload.parts, lits);
    for (size_t pi = 0; pi < lits.size() && budget > 0; ++pi) {
      std::string bytes = bytes_of(*lits[pi]);
      auto idx = ddmin(
          bytes.size(),
          [&](const std::vector<size_t>& keep_bytes) {
            scenario::Case t = best;
            std::vector<codec::Part*> tl;
            literal_parts(sends_of(t.steps)[si]->payload.parts, tl);
            std::string b;
            for (size_t i : keep_bytes) b += bytes[i];
            set_bytes(*tl[pi], std::move(b));
            return still_fails(t);
          },
          budget);
      std::string b;
      for (size_t i : idx) b += bytes[i];
      set_bytes(*lits[pi], std::move(b));
    }
  }
  return best;
}

}  // namespace sockspec::fuzzer
