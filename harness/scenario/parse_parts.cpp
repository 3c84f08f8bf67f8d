// Typed parts (`"parts": [...]` in a send or an expect), fills, and frames (`"frame"` on connect,
// accept and expect): JSON to codec::Part and codec::Frame, every mistake at its JSON pointer.
#include <charconv>

#include "codec/ints.h"
#include "common/codec.h"
#include "payload/payload.h"
#include "scenario/parser.h"
#include "scenario/template.h"

namespace sockspec::scenario::detail {

namespace {

struct IntKind {
  const char* key;
  unsigned width;
  bool is_signed;
};
constexpr IntKind kInts[] = {{"u8", 1, false},  {"u16", 2, false}, {"u32", 4, false},
                             {"u64", 8, false}, {"i8", 1, true},   {"i16", 2, true},
                             {"i32", 4, true},  {"i64", 8, true}};
constexpr const char* kOtherKinds[] = {"text", "hex",  "fill",  "varint", "decimal",
                                       "any",  "rest", "until", "parts"};

std::string kind_list() {
  std::string s;
  for (const auto& k : kInts) s += std::string(s.empty() ? "" : ", ") + k.key;
  for (const char* k : kOtherKinds) s += std::string(", ") + k;
  return s;
}

}  // namespace

// `"fill": {...}`, in a payload or as a part.
std::optional<Fill> Parser::fill(const json& j, const std::string& ptr) {
  Fields f(sink_, j, ptr);
  if (!f.ok()) return std::nullopt;
  Fill out;
  auto bytes = f.uint("bytes", true, 0, kMaxFillBytes);
  if (bytes) out.bytes = *bytes;
  if (auto p = f.one_of<FillPattern>("pattern", false,
                                     {{"ascii", FillPattern::ascii},
                                      {"zero", FillPattern::zero},
                                      {"counter", FillPattern::counter},
                                      {"random", FillPattern::random}})) {
    out.pattern = *p;
  }
  out.seed = f.uint("seed", false, 0, UINT64_MAX);
  f.reject_unknown("fill");
  if (!bytes) return std::nullopt;
  return out;
}

// A number: a JSON integer, or a string (an expression resolved when the step runs).
std::optional<codec::Number> Parser::number(const json& j, const std::string& ptr,
                                            StepContext& ctx) {
  codec::Number n;
  if (j.is_number_unsigned()) {
    n.literal = static_cast<int64_t>(j.get<uint64_t>());
    return n;
  }
  if (j.is_number_integer()) {
    n.literal = j.get<int64_t>();
    return n;
  }
  if (j.is_string()) {
    auto e = expr_value(j, ptr, ctx);  // syntax and names checked here, evaluated when it runs
    if (!e) return std::nullopt;
    if (auto c = e->constant()) {
      n.literal = *c;
    } else {
      n.kind = codec::Number::Kind::expr;
      n.expr = e->source;
    }
    return n;
  }
  error(ptr, "must be an integer or an expression string, got " + show(j));
  return std::nullopt;
}

// VALUE: a number, or an object: length_of/count_of/checksum (derived), mask/value,
// min/max, any.
std::optional<codec::Value> Parser::value(const json& j, const std::string& ptr, StepContext& ctx) {
  codec::Value v;
  if (!j.is_object()) {
    auto n = number(j, ptr, ctx);
    if (!n) return std::nullopt;
    v.number = *n;
    return v;
  }
  Fields f(sink_, j, ptr);
  int kinds = (f.has("min") || f.has("max")) ? 1 : 0;
  for (const char* k : {"length_of", "count_of", "checksum", "mask", "any"}) kinds += f.has(k);
  if (kinds != 1) {
    error(ptr,
          "needs exactly one of length_of, count_of, checksum (with of), mask (with value), "
          "min/max, any");
    f.take_all();
    return std::nullopt;
  }
  auto num = [&](const char* key, codec::Number& into) {
    if (const json* x = f.take(key)) {
      if (auto n = number(*x, f.ptr(key), ctx)) into = *n;
    }
  };
  if (auto b = f.str("length_of", false)) {
    v.number.kind = codec::Number::Kind::length_of;
    v.number.block = *b;
    if (const json* a = f.take("adjust")) {
      if (a->is_number_integer()) {
        v.number.adjust = a->get<int64_t>();
      } else {
        error(f.ptr("adjust"), "must be an integer, got " + show(*a));
      }
    }
  } else if (auto c = f.str("count_of", false)) {
    v.number.kind = codec::Number::Kind::count_of;
    v.number.block = *c;
  } else if (auto s = f.str("checksum", false)) {
    v.number.kind = codec::Number::Kind::checksum;
    if (auto k = codec::checksum_from_name(*s)) {
      v.number.sum = *k;
    } else {
      error(f.ptr("checksum"),
            "must be crc32, crc32c, crc16-ccitt, adler32 or internet, got " + show(*s));
    }
    if (auto of = f.str("of", true)) v.number.block = *of;
  } else if (f.has("mask")) {
    v.kind = codec::Value::Kind::mask;
    num("mask", v.mask);
    if (!f.has("value")) error(ptr, "a mask needs a value (the bits under the mask)");
    num("value", v.number);
  } else if (f.has("min") || f.has("max")) {
    v.kind = codec::Value::Kind::range;
    v.min.literal = INT64_MIN;
    v.max.literal = INT64_MAX;
    num("min", v.min);
    num("max", v.max);
  } else if (const json* a = f.take("any")) {
    v.kind = codec::Value::Kind::any;
    if (!a->is_boolean() || !a->get<bool>()) error(f.ptr("any"), "must be true");
  }
  f.reject_unknown("value");
  return v;
}

std::optional<codec::Part> Parser::part(const json& j, const std::string& ptr, StepContext& ctx,
                                        bool send) {
  if (!j.is_object()) {
    error(ptr, "a part must be an object with one kind (" + kind_list() + "), got " + show(j));
    return std::nullopt;
  }
  Fields f(sink_, j, ptr);
  std::vector<std::string> present;
  for (const auto& k : kInts) {
    if (f.has(k.key)) present.push_back(k.key);
  }
  for (const char* k : kOtherKinds) {
    if (f.has(k)) present.push_back(k);
  }
  if (present.size() != 1) {
    std::string unknown;
    for (const auto& [key, v] : j.items()) {
      bool option = key == "name" || key == "capture" || key == "endian" || key == "format" ||
                    key == "encoding" || key.rfind("x-", 0) == 0;
      if (!option) unknown += (unknown.empty() ? "; unknown key \"" : ", \"") + key + "\"";
    }
    error(ptr, present.empty()
                   ? "needs one kind: " + kind_list() + (unknown.empty() ? "" : unknown + "")
                   : "has two kinds (" + present[0] + " and " + present[1] +
                         "); a part has exactly one");
    f.take_all();
    return std::nullopt;
  }
  codec::Part p;
  p.source = present[0];
  p.pointer = ptr;
  const std::string& k = p.source;
  if (auto n = f.str("name", false)) {
    if (auto why = capture_name_problem(*n); !why.empty()) error(f.ptr("name"), why);
    p.name = *n;
  }
  if (auto c = f.str("capture", false)) {
    if (auto why = capture_name_problem(*c); !why.empty()) error(f.ptr("capture"), why);
    p.capture = *c;
  }
  auto endian = f.one_of<codec::Endian>(
      "endian", false, {{"big", codec::Endian::big}, {"little", codec::Endian::little}});
  auto format = f.one_of<codec::VarintFormat>(
      "format", false,
      {{"leb128", codec::VarintFormat::leb128}, {"mqtt", codec::VarintFormat::mqtt}});
  auto encoding = f.str("encoding", false);
  bool integer = false;
  for (const auto& ik : kInts) {
    if (k != ik.key) continue;
    integer = true;
    p.kind = codec::Part::Kind::integer;
    p.width = ik.width;
    p.is_signed = ik.is_signed;
  }
  if (endian) {
    if (!integer) error(f.ptr("endian"), "only applies to u8..u64 and i8..i64");
    p.endian = *endian;
  }
  if (format) {
    if (k != "varint") error(f.ptr("format"), "only applies to varint");
    p.format = *format;
  }
  if (encoding && k != "text") error(f.ptr("encoding"), "only applies to text");
  const json& body = *f.take(k);
  std::string bptr = f.ptr(k);
  if (integer || k == "varint" || k == "decimal") {
    if (!integer) p.kind = k == "varint" ? codec::Part::Kind::varint : codec::Part::Kind::decimal;
    auto v = value(body, bptr, ctx);
    if (!v) return std::nullopt;
    p.value = *v;
  } else if (k == "text" || k == "hex") {
    p.kind = codec::Part::Kind::bytes;
    if (!body.is_string()) {
      error(bptr, "must be a string, got " + show(body));
      return std::nullopt;
    }
    p.text = body.get<std::string>();
    p.hex = k == "hex";
    check_vars(p.text, bptr, ctx);
    bool vars = p.text.find("${") != std::string::npos;
    if (p.hex && !vars && !from_hex(p.text)) {
      error(bptr, "must be pairs of hex digits (whitespace ignored), got " + show(body));
    }
    if (encoding) {
      if (!payload::encoding_known(*encoding)) {
        error(f.ptr("encoding"), "unknown charset " + show(*encoding));
      }
      p.encoding = *encoding;
    }
    if (!vars && !p.hex) {  // fixed text: encoded once, here
      auto enc = payload::encode_text(p.text, p.encoding);
      if (!enc.error.empty()) error(bptr, enc.error);
      p.literal = enc.bytes;
      p.resolved = true;
    } else if (!vars) {
      p.literal = from_hex(p.text).value_or("");
      p.resolved = true;
    }
  } else if (k == "fill") {
    p.kind = codec::Part::Kind::bytes;
    p.fill = fill(body, bptr);
    if (!p.fill) return std::nullopt;
  } else if (k == "any") {
    p.kind = codec::Part::Kind::any;
    auto n = number(body, bptr, ctx);
    if (!n) return std::nullopt;
    if (n->kind == codec::Number::Kind::literal &&
        (n->literal < 0 || static_cast<uint64_t>(n->literal) > kMaxFillBytes)) {
      error(bptr, "must be a byte count from 0 to " + std::to_string(kMaxFillBytes));
    }
    p.count = *n;
  } else if (k == "rest") {
    p.kind = codec::Part::Kind::rest;
    if (!body.is_boolean() || !body.get<bool>()) error(bptr, "must be true");
  } else if (k == "until") {
    p.kind = codec::Part::Kind::until;
    if (!body.is_string() || body.get<std::string>().empty()) {
      error(bptr, "must be a non-empty delimiter string, got " + show(body));
      return std::nullopt;
    }
    p.delimiter = body.get<std::string>();
  } else if (k == "parts") {
    p.kind = codec::Part::Kind::block;
    auto inner = parts(body, bptr, ctx, send);
    if (!inner) return std::nullopt;
    p.parts = std::move(*inner);
  }
  f.reject_unknown("part");
  return p;
}

std::optional<codec::Parts> Parser::parts(const json& j, const std::string& ptr, StepContext& ctx,
                                          bool send) {
  if (!j.is_array() || j.empty()) {
    error(ptr, "must be a non-empty array of parts, got " + show(j));
    return std::nullopt;
  }
  codec::Parts out;
  bool ok = true;
  for (size_t i = 0; i < j.size(); ++i) {
    auto p = part(j[i], ptr + "/" + std::to_string(i), ctx, send);
    if (p) {
      out.push_back(std::move(*p));
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

// The top-level list: parts, then the checks that need the whole tree (names, references).
std::optional<codec::Parts> Parser::message_parts(Fields& f, StepContext& ctx, bool send) {
  const json* j = f.take("parts");
  if (!j) return std::nullopt;
  size_t before = errors_.size();
  auto p = parts(*j, f.ptr("parts"), ctx, send);
  if (!p) return std::nullopt;
  for (const auto& problem : codec::check(*p, send)) error(problem.pointer, problem.message);
  if (errors_.size() != before) return std::nullopt;
  return p;
}

std::optional<codec::Frame> Parser::frame(Fields& outer) {
  const json* j = outer.take("frame");
  if (!j) return std::nullopt;
  std::string ptr = outer.ptr("frame");
  Fields f(sink_, *j, ptr);
  if (!f.ok()) return std::nullopt;
  int kinds = 0;
  for (const char* k : {"length", "varint", "delimiter", "fixed"}) kinds += f.has(k) ? 1 : 0;
  if (kinds != 1) {
    error(ptr, "needs exactly one of length, varint, delimiter, fixed");
    f.take_all();
    return std::nullopt;
  }
  codec::Frame fr;
  auto inner = [&](const char* key, auto&& read) {
    if (!f.has(key)) return;
    const json* x = f.take(key);
    Fields g(sink_, *x, f.ptr(key));
    if (!g.ok()) return;
    read(g);
    if (auto m = g.uint("max", false, 1, kMaxFillBytes)) fr.max = *m;
    g.reject_unknown(key);
  };
  inner("length", [&](Fields& g) {
    fr.kind = codec::Frame::Kind::length;
    if (auto o = g.uint("offset", false, 0, 65535)) fr.offset = *o;
    if (auto w = g.uint("width", false, 1, 8)) {
      if (*w != 1 && *w != 2 && *w != 4 && *w != 8) error(g.ptr("width"), "must be 1, 2, 4 or 8");
      fr.width = static_cast<unsigned>(*w);
    }
    if (auto e = g.one_of<codec::Endian>(
            "endian", false, {{"big", codec::Endian::big}, {"little", codec::Endian::little}})) {
      fr.endian = *e;
    }
    if (const json* a = g.take("adjust")) {
      if (a->is_number_integer() && std::abs(a->get<int64_t>()) <= int64_t{1} << 32) {
        fr.adjust = a->get<int64_t>();
      } else {
        error(g.ptr("adjust"), "must be an integer (bytes added to the length field's value)");
      }
    }
    if (auto h = g.boolean("includes_header")) fr.includes_header = *h;
  });
  inner("varint", [&](Fields& g) {
    fr.kind = codec::Frame::Kind::varint;
    if (auto o = g.uint("offset", false, 0, 65535)) fr.offset = *o;
    if (auto fm = g.one_of<codec::VarintFormat>(
            "format", false,
            {{"mqtt", codec::VarintFormat::mqtt}, {"leb128", codec::VarintFormat::leb128}})) {
      fr.format = *fm;
    }
  });
  if (auto d = f.str("delimiter", false)) {
    fr.kind = codec::Frame::Kind::delimiter;
    if (d->empty()) error(f.ptr("delimiter"), "must not be empty");
    fr.delimiter = *d;
  }
  if (auto n = f.uint("fixed", false, 1, kMaxFillBytes)) {
    fr.kind = codec::Frame::Kind::fixed;
    fr.size = *n;
    fr.max = std::max<uint64_t>(fr.max, *n);
  }
  f.reject_unknown("frame");
  return fr;
}

// Names the parts bind, for the steps after the expect.
void parts_captures(const codec::Parts& parts, std::set<std::string>& into) {
  for (const auto& p : parts) {
    if (!p.capture.empty()) into.insert(p.capture);
    if (p.kind == codec::Part::Kind::block) parts_captures(p.parts, into);
  }
}

}  // namespace sockspec::scenario::detail
