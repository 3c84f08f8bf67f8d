// Matching received bytes against resolved parts, field by field. Stateless: each call decodes
// from the first byte, so the answer depends only on the bytes and on `eof`, never on how the
// stream was split. A field fails as soon as its own bytes are in; checks that need a later
// block (a checksum before its block) wait for the end.
#include <charconv>
#include <map>

#include "codec/ints.h"
#include "codec/parts.h"
#include "common/codec.h"

namespace sockspec::codec {

namespace {

constexpr size_t kOpen = SIZE_MAX;             // a region that ends where the stream ends
constexpr size_t kMaxUntil = size_t{1} << 20;  // longest `until` segment waited for

std::string spaced_hex(std::string_view b) {
  std::string h = to_hex(b), out;
  for (size_t i = 0; i < h.size(); i += 2) {
    if (i) out += ' ';
    out += h.substr(i, 2);
  }
  return out;
}

bool is_unsigned(const Part& p) { return p.kind != Part::Kind::integer || !p.is_signed; }

std::string show(const Part& p, int64_t v) {
  if (is_unsigned(p)) return std::to_string(static_cast<uint64_t>(v));
  return std::to_string(v);
}

bool less(const Part& p, int64_t a, int64_t b) {
  return is_unsigned(p) ? static_cast<uint64_t>(a) < static_cast<uint64_t>(b) : a < b;
}

class Decoder {
 public:
  Decoder(const Parts& top, std::string_view buf, bool whole, bool eof)
      : buf_(buf), whole_(whole), eof_(eof) {
    collect(top);
  }

  Decoded run(const Parts& parts) {
    size_t end = whole_ ? buf_.size() : kOpen;
    if (seq(parts, end) != St::ok) return std::move(out_);
    if (whole_ && pos_ != buf_.size()) {
      return bad_at(pos_, buf_.size() - pos_,
                    std::to_string(buf_.size() - pos_) + " bytes after the last part at offset " +
                        std::to_string(pos_));
    }
    for (const auto& d : deferred_) {
      if (verify(*d.field, d.value, d.offset, d.size) != St::ok) return std::move(out_);
    }
    out_.kind = Decoded::Kind::matched;
    out_.consumed = pos_;
    return std::move(out_);
  }

 private:
  enum class St { ok, more, bad };
  struct Deferred {
    const Part* field;
    int64_t value;
    size_t offset, size;
  };

  std::string_view buf_;
  bool whole_, eof_;
  size_t pos_ = 0;
  Decoded out_;
  std::map<std::string, const Part*> blocks_;
  std::map<const Part*, std::pair<size_t, size_t>> got_;  // block: [start, end) received
  std::map<const Part*, uint64_t> sized_;  // block: its size, from a length_of before it
  std::vector<const Part*> open_;          // blocks being decoded
  std::vector<Deferred> deferred_;

  void collect(const Parts& parts) {
    for (const auto& p : parts) {
      if (p.kind != Part::Kind::block) continue;
      if (!p.name.empty()) blocks_.emplace(p.name, &p);
      collect(p.parts);
    }
  }

  St more() {
    out_ = {};
    return St::more;
  }

  Decoded bad_at(size_t offset, size_t size, const std::string& why, const Bytes* want = nullptr) {
    out_ = {};
    out_.kind = Decoded::Kind::mismatch;
    size_t from = offset > 8 ? offset - 8 : 0;
    size_t fend = std::min(buf_.size(), offset + size);
    size_t to = std::min(buf_.size(), fend + 8);
    std::string around;
    if (from < buf_.size()) {
      around = spaced_hex(buf_.substr(from, std::min(offset, buf_.size()) - from));
      if (offset < buf_.size()) {
        around +=
            (around.empty() ? "[" : " [") + spaced_hex(buf_.substr(offset, fend - offset)) + "]";
        if (to > fend) around += " " + spaced_hex(buf_.substr(fend, to - fend));
      }
    }
    out_.why = why + (around.empty() ? "" : " (hex around: " + around + ")");
    out_.offset = offset;
    out_.actual = Bytes(buf_.substr(0, std::min(buf_.size(), offset + size + 32)));
    out_.expected = out_.actual;
    if (want) {
      out_.expected.resize(std::min(out_.expected.size(), offset));
      out_.expected += *want;
      if (fend < out_.actual.size()) out_.expected += out_.actual.substr(fend);
    }
    return out_;
  }
  St bad(const Part& p, size_t offset, size_t size, const std::string& why,
         const Bytes* want = nullptr) {
    bad_at(offset, size, "field " + p.pointer + " (" + describe(p) + "): " + why, want);
    return St::bad;
  }

  // Room for `n` more bytes at pos_ within the region ending at `end`.
  St room(const Part& p, size_t n, size_t end) {
    if (end != kOpen && n > end - pos_) {
      return bad(p, pos_, end - pos_,
                 "needs " + std::to_string(n) + " bytes at offset " + std::to_string(pos_) +
                     ", but the " + (open_.empty() ? "message" : "block") + " has " +
                     std::to_string(end - pos_) + " left");
    }
    if (n > buf_.size() - pos_) {
      if (!eof_) return more();
      return bad(p, pos_, buf_.size() - pos_,
                 "connection closed at offset " + std::to_string(buf_.size()) + ", " +
                     std::to_string(n - (buf_.size() - pos_)) + " bytes short of its end");
    }
    return St::ok;
  }

  // The end of the region's bytes that have arrived, and whether the region ends there.
  std::pair<size_t, bool> limit(size_t end) const {
    if (end != kOpen && end <= buf_.size()) return {end, true};
    return {buf_.size(), eof_};
  }

  St seq(const Parts& parts, size_t end) {
    for (const auto& p : parts) {
      if (St s = part(p, end); s != St::ok) return s;
    }
    return St::ok;
  }

  void bind(const Part& p, std::optional<int64_t> integer, size_t start) {
    if (p.capture.empty()) return;
    out_.captures.push_back(
        {p.capture, integer, integer ? Bytes() : Bytes(buf_.substr(start, pos_ - start))});
  }

  St part(const Part& p, size_t end) {
    size_t start = pos_;
    switch (p.kind) {
      case Part::Kind::bytes: {
        if (St s = room(p, p.literal.size(), end); s != St::ok) {
          // A byte that already differs is the answer however few came: waiting, a closed
          // connection or a short block would otherwise name a different offset for a
          // prefix of the stream than for the whole.
          std::string_view have = buf_.substr(pos_, limit(end).first - pos_);
          if (have != std::string_view(p.literal).substr(0, have.size())) break;
          return s;
        }
        break;
      }
      case Part::Kind::integer: {
        if (St s = room(p, p.width, end); s != St::ok) return s;
        uint64_t raw = get_int(buf_.substr(pos_), p.width, p.endian);
        int64_t v = p.is_signed ? sign_extend(raw, p.width) : static_cast<int64_t>(raw);
        pos_ += p.width;
        if (St s = value(p, v, start); s != St::ok) return s;
        bind(p, v, start);
        return St::ok;
      }
      case Part::Kind::varint: {
        auto [lim, final] = limit(end);
        auto r = get_varint(buf_.substr(pos_, lim - pos_), p.format);
        if (r.kind == VarintRead::Kind::bad) return bad(p, pos_, lim - pos_, r.why);
        if (r.kind == VarintRead::Kind::need_more) {
          if (!final) return more();
          return bad(p, pos_, lim - pos_, "the message ends inside the varint");
        }
        pos_ += r.size;
        auto v = static_cast<int64_t>(r.value);
        if (St s = value(p, v, start); s != St::ok) return s;
        bind(p, v, start);
        return St::ok;
      }
      case Part::Kind::decimal: {
        auto [lim, final] = limit(end);
        size_t i = pos_;
        while (i < lim && buf_[i] >= '0' && buf_[i] <= '9') ++i;
        if (i == lim && !final) return more();
        if (i == pos_) return bad(p, pos_, 1, "expected ASCII decimal digits");
        uint64_t u = 0;
        auto [ptr, ec] = std::from_chars(buf_.data() + pos_, buf_.data() + i, u);
        if (ec != std::errc() || u > INT64_MAX) {
          return bad(p, pos_, i - pos_, "decimal number too large");
        }
        pos_ = i;
        auto v = static_cast<int64_t>(u);
        if (St s = value(p, v, start); s != St::ok) return s;
        bind(p, v, start);
        return St::ok;
      }
      case Part::Kind::any:
        if (St s = room(p, static_cast<size_t>(p.count.literal), end); s != St::ok) return s;
        pos_ += static_cast<size_t>(p.count.literal);
        bind(p, std::nullopt, start);
        return St::ok;
      case Part::Kind::rest: {
        auto [lim, final] = limit(end);
        if (!final) return more();
        pos_ = lim;
        bind(p, std::nullopt, start);
        return St::ok;
      }
      case Part::Kind::until: {
        auto [lim, final] = limit(end);
        size_t at = buf_.substr(0, lim).find(p.delimiter, pos_);
        if (at == std::string_view::npos) {
          if (final) {
            return bad(p, pos_, lim - pos_,
                       "no delimiter \"" + escape_bytes(p.delimiter) + "\" before the end");
          }
          if (lim - pos_ > kMaxUntil) {
            return bad(p, pos_, 16,
                       "no delimiter in the first " + std::to_string(kMaxUntil) + " bytes");
          }
          return more();
        }
        pos_ = at;
        bind(p, std::nullopt, start);
        pos_ = at + p.delimiter.size();
        return St::ok;
      }
      case Part::Kind::block:
        return block(p, end);
    }
    // bytes
    if (buf_.substr(pos_, p.literal.size()) != p.literal) {
      std::string_view have = buf_.substr(pos_, p.literal.size());
      size_t d = 0;
      while (d < have.size() && have[d] == p.literal[d]) ++d;
      return bad(p, pos_ + d, std::min<size_t>(have.size() - d, 16),
                 "bytes differ at offset " + std::to_string(pos_ + d) + ": expected \"" +
                     escape_bytes(std::string_view(p.literal).substr(d, 16)) + "\", got \"" +
                     escape_bytes(have.substr(d, 16)) + "\"",
                 nullptr);
    }
    pos_ += p.literal.size();
    bind(p, std::nullopt, start);
    return St::ok;
  }

  St block(const Part& b, size_t end) {
    size_t start = pos_;
    size_t bend = end;
    auto sz = sized_.find(&b);
    if (sz != sized_.end()) {
      if (end != kOpen && sz->second > end - pos_) {
        return bad(b, pos_, end - pos_,
                   "its length field says " + std::to_string(sz->second) + " bytes, but only " +
                       std::to_string(end - pos_) + " remain");
      }
      bend = pos_ + static_cast<size_t>(sz->second);
    }
    open_.push_back(&b);
    St s = seq(b.parts, bend);
    open_.pop_back();
    if (s != St::ok) return s;
    if (sz != sized_.end() && pos_ != bend) {
      return bad(b, pos_, bend - pos_,
                 "its length field says " + std::to_string(sz->second) +
                     " bytes, but its parts took " + std::to_string(pos_ - start));
    }
    got_[&b] = {start, pos_};
    bind(b, std::nullopt, start);
    return St::ok;
  }

  std::string expected(const Part& p) const {
    const Value& v = p.value;
    switch (v.kind) {
      case Value::Kind::exact:
        return show(p, v.number.literal);
      case Value::Kind::mask:
        return "bits under mask 0x" + to_hex_int(v.mask.literal) + " equal to 0x" +
               to_hex_int(v.number.literal);
      case Value::Kind::range:
        return show(p, v.min.literal) + ".." + show(p, v.max.literal);
      case Value::Kind::any:
        return "any value";
    }
    return "";
  }
  static std::string to_hex_int(int64_t v) {
    char b[24];
    auto r = std::to_chars(b, b + sizeof b, static_cast<uint64_t>(v), 16);
    return std::string(b, r.ptr);
  }

  // The field's expected encoding, for the diff (exact values only).
  Bytes wire(const Part& p, int64_t v) const {
    Bytes w;
    if (p.kind == Part::Kind::integer) put_int(w, static_cast<uint64_t>(v), p.width, p.endian);
    if (p.kind == Part::Kind::varint) w = put_varint(static_cast<uint64_t>(v), p.format);
    if (p.kind == Part::Kind::decimal) w = std::to_string(v);
    return w;
  }

  St mismatch(const Part& p, int64_t got, size_t start, const std::string& want,
              std::optional<int64_t> exact) {
    Bytes w = exact ? wire(p, *exact) : Bytes();
    return bad(p, start, pos_ - start,
               "expected " + want + ", got " + show(p, got) + " at offset " + std::to_string(start),
               exact ? &w : nullptr);
  }

  St value(const Part& p, int64_t got, size_t start) {
    const Value& v = p.value;
    switch (v.kind) {
      case Value::Kind::any:
        return St::ok;
      case Value::Kind::mask:
        if ((static_cast<uint64_t>(got) & static_cast<uint64_t>(v.mask.literal)) ==
            (static_cast<uint64_t>(v.number.literal) & static_cast<uint64_t>(v.mask.literal))) {
          return St::ok;
        }
        return mismatch(p, got, start, expected(p), std::nullopt);
      case Value::Kind::range:
        if (!less(p, got, v.min.literal) && !less(p, v.max.literal, got)) return St::ok;
        return mismatch(p, got, start, expected(p), std::nullopt);
      case Value::Kind::exact:
        break;
    }
    const Number& n = v.number;
    if (!n.derived()) {
      if (got == n.literal) return St::ok;
      return mismatch(p, got, start, expected(p), n.literal);
    }
    const Part* target = blocks_.at(n.block);
    if (n.kind == Number::Kind::count_of) {
      auto want = static_cast<int64_t>(target->parts.size());
      if (got == want) return St::ok;
      return mismatch(p, got, start, std::to_string(want) + " (the count of \"" + n.block + "\")",
                      want);
    }
    bool after =
        !got_.count(target) && std::find(open_.begin(), open_.end(), target) == open_.end();
    if (n.kind == Number::Kind::length_of && after) {
      // The length announces the block's size: the block takes exactly that many bytes.
      // The block's size is got - adjust; a u64 above INT64_MAX counts as negative (too big).
      int64_t size = 0;
      if (__builtin_sub_overflow(got, n.adjust, &size) || size < 0) {
        return mismatch(p, got, start,
                        "a length of \"" + n.block + "\"" +
                            (n.adjust ? " + " + std::to_string(n.adjust) : "") +
                            " (a size of 0 or more bytes)",
                        std::nullopt);
      }
      sized_[target] = static_cast<uint64_t>(size);
      return St::ok;
    }
    if (got_.count(target)) return verify(p, got, start, pos_ - start);
    deferred_.push_back({&p, got, start, pos_ - start});
    return St::ok;
  }

  // A derived field whose block has been received: does it agree?
  St verify(const Part& p, int64_t got, size_t offset, size_t size) {
    const Number& n = p.value.number;
    const Part* target = blocks_.at(n.block);
    auto [s, e] = got_.at(target);
    if (n.kind == Number::Kind::length_of) {
      int64_t want = static_cast<int64_t>(e - s) + n.adjust;
      if (got == want) return St::ok;
      Bytes w = wire(p, want);
      return bad(p, offset, size,
                 "expected " + std::to_string(want) + " (length of \"" + n.block + "\"" +
                     (n.adjust ? " + " + std::to_string(n.adjust) : "") + "), got " + show(p, got) +
                     " at offset " + std::to_string(offset),
                 &w);
    }
    // A checksum: summed with its own field as zeros when the block contains it.
    Bytes region(buf_.substr(s, e - s));
    if (offset >= s && offset + size <= e) region.replace(offset - s, size, size, '\0');
    auto want = static_cast<int64_t>(checksum(n.sum, region));
    if (got == want) return St::ok;
    Bytes w = wire(p, want);
    return bad(p, offset, size,
               std::string(to_string(n.sum)) + " of \"" + n.block + "\" is 0x" + to_hex_int(want) +
                   ", got 0x" + to_hex_int(got) + " at offset " + std::to_string(offset),
               &w);
  }
};

}  // namespace

Decoded decode(const Parts& parts, std::string_view bytes, bool whole, bool eof) {
  return Decoder(parts, bytes, whole, eof).run(parts);
}

}  // namespace sockspec::codec
