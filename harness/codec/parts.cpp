// Parts: naming, resolving variables, static checks.
#include "codec/parts.h"

#include <algorithm>
#include <map>

#include "codec/ints.h"
#include "common/codec.h"

namespace sockspec::codec {

std::string describe(const Part& p) {
  std::string s = p.source;
  if (!p.name.empty()) s += " \"" + p.name + "\"";
  return s;
}

namespace {

std::string where(const Part& p) {
  return "field " + (p.pointer.empty() ? std::string("?") : p.pointer) + " (" + describe(p) + ")";
}

std::string resolve_number(Number& n, const Resolver& r, const Part& p) {
  if (n.kind != Number::Kind::expr) return "";
  if (!r.integer) return where(p) + ": no value for \"" + n.expr + "\"";
  int64_t v = 0;
  std::string err = r.integer(n.expr, v);
  if (!err.empty()) return where(p) + ": " + err;
  n.kind = Number::Kind::literal;
  n.literal = v;
  return "";
}

// Hex digits with ${...} holes: each hole inserts its variable's bytes.
std::string resolve_hex(Part& p, const Resolver& r) {
  Bytes out;
  std::string_view s = p.text;
  while (!s.empty()) {
    size_t hole = s.find("${");
    auto digits = from_hex(s.substr(0, hole));
    if (!digits) return where(p) + ": must be pairs of hex digits between ${...}";
    out += *digits;
    if (hole == std::string_view::npos) break;
    size_t end = s.find('}', hole);
    if (end == std::string_view::npos) return where(p) + ": unterminated ${ in hex";
    Bytes var;
    if (!r.hex_hole) return where(p) + ": no variables here";
    std::string err = r.hex_hole(s.substr(hole + 2, end - hole - 2), var);
    if (!err.empty()) return where(p) + ": " + err;
    out += var;
    s.remove_prefix(end + 1);
  }
  p.literal = std::move(out);
  return "";
}

std::string resolve_part(Part& p, const Resolver& r) {
  switch (p.kind) {
    case Part::Kind::bytes:
      if (p.resolved) return "";
      if (p.fill) {
        p.literal = payload::fill_bytes(*p.fill, r.seed);
      } else if (p.hex) {
        if (auto err = resolve_hex(p, r); !err.empty()) return err;
      } else {
        Bytes text;
        if (p.text.find("${") == std::string::npos || !r.expand) {
          text = p.text;
        } else if (auto err = r.expand(p.text, text); !err.empty()) {
          return where(p) + ": " + err;
        }
        auto enc = payload::encode_text(text, p.encoding);
        if (!enc.error.empty()) return where(p) + ": " + enc.error;
        p.literal = std::move(enc.bytes);
      }
      p.resolved = true;
      return "";
    case Part::Kind::integer:
    case Part::Kind::varint:
    case Part::Kind::decimal:
      for (Number* n : {&p.value.number, &p.value.mask, &p.value.min, &p.value.max}) {
        if (auto err = resolve_number(*n, r, p); !err.empty()) return err;
      }
      return "";
    case Part::Kind::any:
      if (auto err = resolve_number(p.count, r, p); !err.empty()) return err;
      if (p.count.literal < 0) return where(p) + ": a negative count of bytes";
      return "";
    case Part::Kind::block:
      for (auto& c : p.parts) {
        if (auto err = resolve_part(c, r); !err.empty()) return err;
      }
      return "";
    case Part::Kind::rest:
    case Part::Kind::until:
      return "";
  }
  return "";
}

void collect_blocks(const Parts& parts, std::map<std::string, const Part*>& blocks,
                    std::vector<Problem>& out) {
  for (const auto& p : parts) {
    if (!p.name.empty()) {
      auto [it, fresh] = blocks.emplace(p.name, &p);
      if (!fresh) {
        out.push_back(
            {p.pointer + "/name",
             "the name \"" + p.name + "\" is already used by the part at " + it->second->pointer});
      }
    }
    if (p.kind == Part::Kind::block) collect_blocks(p.parts, blocks, out);
  }
}

struct Checker {
  std::map<std::string, const Part*> named;
  std::vector<Problem> out;
  bool send = false;
  std::vector<const Part*> enclosing;
  // A field inside the block it measures or sums is filled in when that block is complete.
  struct SelfRef {
    const Part* field;
    const Part* block;
    std::vector<const Part*> enclosing;  // of the field, outermost first
  };
  std::vector<SelfRef> self_refs;
  struct Sum {
    const Part* field;
    const Part* block;
    std::string ptr;
  };
  std::vector<Sum> sums;

  // A checksum must see the bytes that are sent: not a block holding a field that is only
  // filled in later (when a block around it completes), nor a second checksum of its own block.
  void late_fields() {
    for (const auto& sum : sums) {
      for (const auto& r : self_refs) {
        if (r.field == sum.field) continue;
        auto at = std::find(r.enclosing.begin(), r.enclosing.end(), sum.block);
        if (at == r.enclosing.end()) continue;
        auto outer = std::find(r.enclosing.begin(), r.enclosing.end(), r.block);
        bool later = outer < at;  // the field waits for a block around the summed one
        bool two_sums =
            r.block == sum.block && r.field->value.number.kind == Number::Kind::checksum &&
            std::find_if(self_refs.begin(), self_refs.end(),
                         [&](const SelfRef& x) { return x.field == sum.field; }) != self_refs.end();
        if (later || two_sums) {
          out.push_back({sum.ptr, "the checksum of \"" + sum.block->name + "\" would cover " +
                                      r.field->pointer +
                                      ", which is filled in only after it; "
                                      "sum a block that does not contain that field"});
          break;
        }
      }
    }
  }

  void number(const Part& p, const Number& n, const std::string& ptr) {
    if (!n.derived()) return;
    auto it = named.find(n.block);
    if (it == named.end() || it->second->kind != Part::Kind::block) {
      std::string known;
      for (const auto& [name, q] : named) {
        if (q->kind == Part::Kind::block) known += (known.empty() ? "" : ", ") + name;
      }
      out.push_back({ptr, "names the block \"" + n.block + "\", which does not exist" +
                              (known.empty() ? std::string(" (no block has a name)")
                                             : " (blocks: " + known + ")")});
      return;
    }
    bool inside = false;
    for (const Part* e : enclosing) inside = inside || e == it->second;
    if (inside && n.kind != Number::Kind::count_of) {
      self_refs.push_back({&p, it->second, enclosing});
    }
    if (n.kind == Number::Kind::checksum) sums.push_back({&p, it->second, ptr});
    if (inside && p.kind != Part::Kind::integer && n.kind != Number::Kind::count_of) {
      out.push_back({ptr, "a " + p.source +
                              " field cannot hold a length or checksum of the "
                              "block \"" +
                              n.block +
                              "\" that contains it (its size would depend on "
                              "its value); use a fixed-width integer"});
    }
  }

  void parts(const Parts& ps) {
    for (const auto& p : ps) part(p);
  }

  void part(const Part& p) {
    if (send && !p.capture.empty()) {
      out.push_back({p.pointer + "/capture", "capture applies to an expect, not to a send"});
    }
    if (send &&
        (p.kind == Part::Kind::any || p.kind == Part::Kind::rest || p.kind == Part::Kind::until)) {
      out.push_back({p.pointer, "\"" + p.source +
                                    "\" matches received bytes; a send needs "
                                    "bytes it can write (text, hex, fill or a number)"});
    }
    switch (p.kind) {
      case Part::Kind::integer:
      case Part::Kind::varint:
      case Part::Kind::decimal: {
        std::string ptr = p.pointer + "/" + p.source;
        if (send && p.value.kind != Value::Kind::exact) {
          out.push_back({ptr,
                         "a send writes one value: mask, min/max and any apply to an "
                         "expect"});
        }
        number(p, p.value.number, ptr);
        if (p.kind == Part::Kind::integer && p.value.kind == Value::Kind::exact &&
            p.value.number.kind == Number::Kind::literal &&
            !int_fits(p.value.number.literal, p.width, p.is_signed)) {
          out.push_back(
              {ptr, std::to_string(p.value.number.literal) + " does not fit " + p.source});
        }
        break;
      }
      case Part::Kind::block:
        enclosing.push_back(&p);
        parts(p.parts);
        enclosing.pop_back();
        break;
      default:
        break;
    }
  }
};

}  // namespace

bool has_variables(const Parts& parts) {
  for (const auto& p : parts) {
    if (p.kind == Part::Kind::bytes && !p.resolved && !p.fill) return true;
    for (const Number* n : {&p.value.number, &p.value.mask, &p.value.min, &p.value.max, &p.count}) {
      if (n->kind == Number::Kind::expr) return true;
    }
    if (p.kind == Part::Kind::block && has_variables(p.parts)) return true;
  }
  return false;
}

ResolvedOr resolve(const Parts& parts, const Resolver& r) {
  ResolvedOr out{parts, ""};
  for (auto& p : out.parts) {
    out.error = resolve_part(p, r);
    if (!out.error.empty()) break;
  }
  return out;
}

std::vector<Problem> check(const Parts& parts, bool send) {
  Checker c;
  c.send = send;
  collect_blocks(parts, c.named, c.out);
  c.parts(parts);
  c.late_fields();
  return std::move(c.out);
}

}  // namespace sockspec::codec
