#include "fuzzer/mutate.h"

#include <algorithm>

#include "common/codec.h"
#include "fuzzer/input.h"

namespace sockspec::fuzzer {

using scenario::Payload;
using scenario::SendOp;
using scenario::Step;
using scenario::Steps;

namespace {

constexpr size_t kMaxDripBytes = 512;  // a longer message is dripped in small chunks, not bytes
// A datagram is split in at most this many: a few pieces test a server's parser as well as
// hundreds, which only overflow its receive buffer (and then the liveness check's datagram is
// lost too: a false alarm, a fresh server and a timeout later).
constexpr size_t kMaxDatagramPieces = 16;
constexpr size_t kMaxDonor = 1024;   // another case's message spliced in, at most
constexpr size_t kMaxDonors = 4096;  // kept for splices (inputs kept for coverage add theirs)

void collect(codec::Parts& parts, std::vector<codec::Part*>& out) {
  for (auto& p : parts) {
    out.push_back(&p);
    if (p.kind == codec::Part::Kind::block) collect(p.parts, out);
  }
}

}  // namespace

Mutator::Mutator(std::vector<scenario::Case> seeds, scenario::Transport transport, Dictionary dict,
                 uint64_t seed)
    : transport_(transport), dict_(std::move(dict)), rng_(seed), payload_seed_(seed) {
  for (auto& c : seeds) add_seed(std::move(c));
  originals_ = sites_.size();
}

void Mutator::add_seed(scenario::Case c) {
  size_t at = seeds_.size();
  seeds_.push_back(std::move(c));
  const Steps& steps = seeds_.back().steps;
  for (size_t i = 0; i < steps.size(); ++i) {
    const auto* send = std::get_if<SendOp>(&steps[i].op);
    if (!send) continue;
    sites_.push_back({at, i});
    if (auto b = fixed_bytes(send->payload, payload_seed_);
        b && !b->empty() && b->size() <= kMaxDonor && donors_.size() < kMaxDonors)
      donors_.push_back(*b);
  }
}

const std::string& Mutator::donor() {
  static const std::string none;
  if (donors_.empty())
    return dict_.tokens.empty() ? none : dict_.tokens[below(dict_.tokens.size())];
  return donors_[below(donors_.size())];
}

void Mutator::mutate_bytes(std::string& b, std::string& what) {
  static constexpr size_t kRuns[] = {16, 64, 256, 1024, 4096};
  static constexpr unsigned char kInteresting[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
  size_t rounds = 1 + below(3);
  for (size_t r = 0; r < rounds; ++r) {
    size_t at = below(b.size() + 1);
    switch (below(10)) {
      case 0:
        if (b.empty()) break;
        at = below(b.size());
        b[at] = static_cast<char>(b[at] ^ (1u << below(8)));
        what += " bit flipped at " + std::to_string(at) + ";";
        break;
      case 1:
        if (b.empty()) break;
        at = below(b.size());
        b[at] = static_cast<char>(kInteresting[below(sizeof kInteresting)]);
        what += " byte " + std::to_string(at) + " set;";
        break;
      case 2: {
        std::string ins(1 + below(8), '\0');
        for (auto& ch : ins) ch = static_cast<char>(rng_.next());
        b.insert(at, ins);
        what += " " + std::to_string(ins.size()) + " random bytes inserted;";
        break;
      }
      case 3: {
        size_t n = kRuns[below(std::size(kRuns))];
        char fillc = below(2) ? 'A' : static_cast<char>(rng_.next());
        b.insert(at, std::string(n, fillc));
        what += " a run of " + std::to_string(n) + " bytes inserted;";
        break;
      }
      case 4: {
        if (b.empty()) break;
        at = below(b.size());
        size_t n = 1 + below(b.size() - at);
        b.erase(at, n);
        what += " " + std::to_string(n) + " bytes deleted;";
        break;
      }
      case 5: {
        if (b.empty()) break;
        at = below(b.size());
        size_t n = 1 + below(std::min<size_t>(b.size() - at, 256));
        b.insert(at, b.substr(at, n));
        what += " " + std::to_string(n) + " bytes repeated;";
        break;
      }
      case 6:
      case 7: {
        if (dict_.tokens.empty()) break;
        const std::string& t = dict_.tokens[below(dict_.tokens.size())];
        if (below(2) == 0 || b.size() < at + t.size()) {
          b.insert(at, t);
        } else {
          b.replace(at, t.size(), t);
        }
        what += " a literal of the suites spliced in;";
        break;
      }
      case 8: {
        const std::string& d = donor();
        if (d.empty()) break;
        size_t from = below(d.size());
        b = b.substr(0, at) + d.substr(from);
        what += " spliced with another case's message;";
        break;
      }
      case 9:
        if (b.empty()) break;
        b.resize(below(b.size()));
        what += " cut to " + std::to_string(b.size()) + " bytes;";
        break;
    }
    if (b.size() > kMaxBytes) b.resize(kMaxBytes);
  }
}

bool Mutator::mutate_parts(codec::Parts& parts, std::string& what) {
  std::vector<codec::Part*> all;
  collect(parts, all);
  std::vector<codec::Part*> typed, plain;
  for (auto* p : all) {
    bool number = p->kind == codec::Part::Kind::integer || p->kind == codec::Part::Kind::varint ||
                  p->kind == codec::Part::Kind::decimal;
    if (number && p->value.kind == codec::Value::Kind::exact) typed.push_back(p);
    if (plain_bytes(*p)) plain.push_back(p);
  }
  if (!typed.empty() && (plain.empty() || below(3) != 0)) {
    codec::Part& p = *typed[below(typed.size())];
    codec::Number& n = p.value.number;
    std::string field = describe(p) + (p.name.empty() ? "" : " \"" + p.name + "\"");
    if (p.kind == codec::Part::Kind::varint && below(3) == 0) {
      // Overlong or unterminated: what no encoder writes, and a decoder must refuse.
      std::string b = below(2) ? std::string("\x81\x80\x80\x00", 4) : std::string(10, '\xff');
      p = bytes_part(b);
      what += " " + field + " written overlong (" + to_hex(b) + ");";
      return true;
    }
    if (n.kind == codec::Number::Kind::length_of && below(2) == 0) {
      static constexpr int64_t kAdjust[] = {1, -1, 2, 7, 64, 1000, -1000};
      int64_t a = kAdjust[below(std::size(kAdjust))];
      n.adjust += a;
      what += " " + field + " says " + (a > 0 ? "+" : "") + std::to_string(a) +
              " bytes more than follow;";
      return true;
    }
    if (n.kind == codec::Number::Kind::checksum) {
      n = {};
      n.literal = static_cast<int64_t>(rng_.next() & width_max(p.width));
      what += " " + field + " a wrong checksum (" + std::to_string(n.literal) + ");";
      return true;
    }
    uint64_t max = p.kind == codec::Part::Kind::integer ? width_max(p.width)
                   : p.kind == codec::Part::Kind::varint
                       ? (p.format == codec::VarintFormat::mqtt ? 268435455u : UINT64_MAX >> 1)
                       : uint64_t{INT64_MAX};
    if (p.is_signed) max >>= 1;
    const uint64_t choices[] = {0, 1, max, max - 1, max / 2 + 1, rng_.next() & max};
    uint64_t v = choices[below(std::size(choices))];
    n = {};
    n.literal = static_cast<int64_t>(v);
    what += " " + field + " set to " + std::to_string(v) + ";";
    return true;
  }
  if (!plain.empty()) {
    codec::Part& p = *plain[below(plain.size())];
    std::string b = *plain_bytes(p);
    mutate_bytes(b, what);
    std::string name = p.name, capture = p.capture;
    p = bytes_part(std::move(b));
    p.name = name;
    p.capture = capture;
    return true;
  }
  if (parts.size() > 1) {
    size_t k = below(parts.size());
    if (below(2) == 0 && parts[k].name.empty()) {
      parts.insert(parts.begin() + static_cast<ptrdiff_t>(k), parts[k]);
      what += " part " + std::to_string(k) + " repeated;";
    } else {
      parts.erase(parts.begin() + static_cast<ptrdiff_t>(k));
      what += " part " + std::to_string(k) + " left out;";
    }
    return true;
  }
  return false;
}

bool Mutator::mutate_sequence(Steps& steps, size_t at, std::string& what) {
  auto& send = std::get<SendOp>(steps[at].op);
  bool tcp = transport_ == scenario::Transport::tcp;
  switch (below(tcp ? 6 : 4)) {
    case 0: {
      size_t copies = 1 + below(3);
      steps.insert(steps.begin() + static_cast<ptrdiff_t>(at) + 1, copies, steps[at]);
      what += " sent " + std::to_string(copies + 1) + " times;";
      return true;
    }
    case 1: {
      std::vector<size_t> droppable;
      for (size_t i = at + 1; i < steps.size(); ++i)
        if (!opens_conn(steps[i])) droppable.push_back(i);
      if (droppable.empty()) return false;
      size_t i = droppable[below(droppable.size())];
      what += " the " + std::string(scenario::op_name(steps[i].op)) + " step after it left out;";
      steps.erase(steps.begin() + static_cast<ptrdiff_t>(i));
      return true;
    }
    case 2: {
      for (size_t j = at + 1; j < steps.size(); ++j) {
        const char* c = conn_of(steps[j]);
        if (!std::holds_alternative<SendOp>(steps[j].op) || !c || send.conn != c) continue;
        Step later = steps[j];
        steps.erase(steps.begin() + static_cast<ptrdiff_t>(j));
        steps.insert(steps.begin() + static_cast<ptrdiff_t>(at), std::move(later));
        what += " the next message on its connection sent before it;";
        return true;
      }
      return false;
    }
    case 3: {
      auto b = fixed_bytes(send.payload, 0);
      if (!b || b->size() < 2) return false;
      size_t pieces = tcp ? kMaxDripBytes : kMaxDatagramPieces;
      size_t chunk = b->size() <= pieces ? 1 : (b->size() + pieces - 1) / pieces;
      Steps drip;
      for (size_t i = 0; i < b->size(); i += chunk) {
        Step s = steps[at];
        auto& d = std::get<SendOp>(s.op);
        d.payload = Payload{};
        d.payload.kind = Payload::Kind::literal;
        d.payload.literal = b->substr(i, chunk);
        d.repeat = 1;
        drip.push_back(std::move(s));
      }
      steps.erase(steps.begin() + static_cast<ptrdiff_t>(at));
      steps.insert(steps.begin() + static_cast<ptrdiff_t>(at), drip.begin(), drip.end());
      what += " dripped " + std::to_string(chunk) + " byte(s) at a time;";
      return true;
    }
    default: {  // TCP: cut in mid-message by a half-close or a reset
      auto b = fixed_bytes(send.payload, 0);
      if (!b || b->size() < 2) return false;
      size_t cut = 1 + below(b->size() - 1);
      send.payload = Payload{};
      send.payload.kind = Payload::Kind::literal;
      send.payload.literal = b->substr(0, cut);
      send.repeat = 1;
      std::string conn = send.conn;  // `send` lives in `steps`, which the insert below moves
      Step end = steps[at];
      end.label.clear();
      bool reset = below(2) == 0;
      if (reset) {
        end.op = scenario::CloseOp{conn, true};
      } else {
        end.op = scenario::ShutdownOp{conn, scenario::ShutdownHow::write};
      }
      steps.insert(steps.begin() + static_cast<ptrdiff_t>(at) + 1, std::move(end));
      // What the cut connection would still have done cannot be done any more.
      for (size_t j = steps.size(); j-- > at + 2;) {
        const char* c = conn_of(steps[j]);
        bool gone = reset ? (c && conn == c) || uses_conn(steps[j], conn)
                          : std::holds_alternative<SendOp>(steps[j].op) && c && conn == c;
        if (gone) steps.erase(steps.begin() + static_cast<ptrdiff_t>(j));
      }
      what += " cut after " + std::to_string(cut) + " of " + std::to_string(b->size()) +
              " bytes by a " + (reset ? "reset;" : "half-close;");
      return true;
    }
  }
}

Mutant Mutator::next() {
  // Half the time from the suite's own cases, half from the inputs kept for new coverage (once
  // there are some): the kept ones multiply fast, and would otherwise crowd out the cases
  // that hold the protocol's exchanges as written.
  bool kept = sites_.size() > originals_ && below(2) == 0;
  const Site& site =
      kept ? sites_[originals_ + below(sites_.size() - originals_)] : sites_[below(originals_)];
  Mutant m{seeds_[site.seed], ""};
  Steps& steps = m.kase.steps;
  size_t at = site.step;
  m.what = "step " + std::to_string(at) + " (" + steps[at].pointer + "):";
  bool done = false;
  if (below(10) >= 6) done = mutate_sequence(steps, at, m.what);
  if (!done) {
    auto& send = std::get<SendOp>(steps[at].op);
    if (auto parts = as_parts(send.payload, 0)) {
      done = mutate_parts(*parts, m.what);
      send.payload = Payload{};
      send.payload.kind = Payload::Kind::parts;
      send.payload.parts = std::move(*parts);
    }
  }
  if (!done) m.what += " sent as written;";
  at -= drop_waits(steps, at);  // before it too, the waits only slow the fuzzer down
  if (!m.what.empty() && m.what.back() == ';') m.what.pop_back();
  trim_tail(steps, at, false);
  return m;
}

}  // namespace sockspec::fuzzer
