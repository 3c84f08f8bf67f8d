// Encoding resolved parts. A derived field needs its block's bytes, and the block may come
// later, or contain the field: blocks are encoded on demand (each once), and a fixed-width
// field inside the block it measures or sums is written as zeros and patched when the block
// is complete (the Internet checksum is defined that way: summed with its own field zero).
#include <algorithm>
#include <map>
#include <set>

#include "codec/ints.h"
#include "codec/parts.h"

namespace sockspec::codec {

namespace {

struct Patch {
  size_t offset;       // in the piece's bytes
  const Part* field;   // a fixed-width integer
  const Part* target;  // the block it refers to, which encloses it
};
struct Piece {
  Bytes bytes;
  std::vector<Patch> patches;  // fields waiting for an enclosing block
};

class Encoder {
 public:
  explicit Encoder(const Parts& top) { collect(top); }

  std::string error;

  Piece top(const Parts& parts) {
    Piece out;
    for (const auto& p : parts) {
      if (!error.empty()) break;
      part(p, out);
    }
    return out;
  }

 private:
  std::map<std::string, const Part*> blocks_;
  std::map<const Part*, Piece> done_;
  std::set<const Part*> open_;

  void collect(const Parts& parts) {
    for (const auto& p : parts) {
      if (p.kind != Part::Kind::block) continue;
      if (!p.name.empty()) blocks_.emplace(p.name, &p);
      collect(p.parts);
    }
  }

  void fail(const Part& p, const std::string& why) {
    if (error.empty()) error = "field " + p.pointer + " (" + describe(p) + "): " + why;
  }

  const Piece* block(const Part& b) {
    if (auto it = done_.find(&b); it != done_.end()) return &it->second;
    open_.insert(&b);
    Piece out;
    for (const auto& c : b.parts) {
      if (!error.empty()) break;
      part(c, out);
    }
    open_.erase(&b);
    // Fill in this block's own fields; the rest wait for their block further out.
    // Lengths and counts first: a checksum over the block sums them as they are sent.
    std::stable_partition(out.patches.begin(), out.patches.end(), [](const Patch& pa) {
      return pa.field->value.number.kind != Number::Kind::checksum;
    });
    std::vector<Patch> rest;
    for (const auto& pa : out.patches) {
      if (pa.target != &b) {
        rest.push_back(pa);
        continue;
      }
      auto v = derived(*pa.field, pa.field->value.number, *pa.target, out.bytes);
      if (!v) break;
      Bytes wire;
      put_int(wire, static_cast<uint64_t>(*v), pa.field->width, pa.field->endian);
      out.bytes.replace(pa.offset, wire.size(), wire);
    }
    out.patches = std::move(rest);
    return &done_.emplace(&b, std::move(out)).first->second;
  }

  std::optional<int64_t> derived(const Part& field, const Number& n, const Part& target,
                                 std::string_view bytes) {
    int64_t v = 0;
    switch (n.kind) {
      case Number::Kind::length_of:
        v = static_cast<int64_t>(bytes.size()) + n.adjust;
        break;
      case Number::Kind::count_of:
        v = static_cast<int64_t>(target.parts.size());
        break;
      case Number::Kind::checksum:
        v = static_cast<int64_t>(checksum(n.sum, bytes));
        break;
      default:
        v = n.literal;
    }
    if (field.kind == Part::Kind::integer && !int_fits(v, field.width, field.is_signed)) {
      fail(field, std::to_string(v) + " does not fit " + field.source);
      return std::nullopt;
    }
    if (field.kind != Part::Kind::integer && v < 0) {
      fail(field, std::to_string(v) + " is negative");
      return std::nullopt;
    }
    return v;
  }

  // The field's value, or nullopt: an error, or (`pending`) a patch for an enclosing block.
  std::optional<int64_t> value(const Part& p, bool& pending) {
    const Number& n = p.value.number;
    if (n.kind == Number::Kind::expr) {
      fail(p, "unresolved expression \"" + n.expr + "\"");
      return std::nullopt;
    }
    if (!n.derived()) return derived(p, n, p, "");
    auto it = blocks_.find(n.block);
    if (it == blocks_.end()) {
      fail(p, "no block named \"" + n.block + "\"");
      return std::nullopt;
    }
    const Part& target = *it->second;
    if (n.kind == Number::Kind::count_of) return derived(p, n, target, "");
    if (open_.count(&target)) {
      if (p.kind != Part::Kind::integer) {
        fail(p, "cannot hold a length or checksum of the block that contains it");
        return std::nullopt;
      }
      pending = true;
      return std::nullopt;
    }
    const Piece* b = block(target);
    if (!error.empty()) return std::nullopt;
    return derived(p, n, target, b->bytes);
  }

  void part(const Part& p, Piece& out) {
    switch (p.kind) {
      case Part::Kind::bytes:
        out.bytes += p.literal;
        return;
      case Part::Kind::integer: {
        bool pending = false;
        auto v = value(p, pending);
        if (pending) {
          const Part* target = blocks_.at(p.value.number.block);
          out.patches.push_back({out.bytes.size(), &p, target});
          out.bytes.append(p.width, '\0');
        } else if (v) {
          put_int(out.bytes, static_cast<uint64_t>(*v), p.width, p.endian);
        }
        return;
      }
      case Part::Kind::varint: {
        bool pending = false;
        auto v = value(p, pending);
        if (!v) return;
        std::string wire = put_varint(static_cast<uint64_t>(*v), p.format);
        if (wire.empty())
          return fail(p, std::to_string(*v) + " is above the MQTT maximum 268435455");
        out.bytes += wire;
        return;
      }
      case Part::Kind::decimal: {
        bool pending = false;
        auto v = value(p, pending);
        if (v) out.bytes += std::to_string(*v);
        return;
      }
      case Part::Kind::block: {
        const Piece* b = block(p);
        size_t at = out.bytes.size();
        out.bytes += b->bytes;
        for (auto pa : b->patches) {
          pa.offset += at;
          out.patches.push_back(pa);
        }
        return;
      }
      case Part::Kind::any:
      case Part::Kind::rest:
      case Part::Kind::until:
        return fail(p, "matches received bytes and cannot be sent");
    }
  }
};

}  // namespace

EncodedOr encode(const Parts& parts) {
  Encoder e(parts);
  Piece out = e.top(parts);
  if (!e.error.empty()) return {"", e.error};
  return {std::move(out.bytes), ""};
}

}  // namespace sockspec::codec
