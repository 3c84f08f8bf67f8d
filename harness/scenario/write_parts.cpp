#include "scenario/write_parts.h"

#include "common/codec.h"
#include "scenario/template.h"

namespace sockspec::scenario {

namespace {

using json = nlohmann::ordered_json;

bool printable(std::string_view b) {
  for (unsigned char c : b) {
    if ((c < 0x20 || c > 0x7e) && c != '\r' && c != '\n' && c != '\t') return false;
  }
  return true;
}

json number_json(const codec::Number& n, bool unsigned64) {
  using K = codec::Number::Kind;
  switch (n.kind) {
    case K::literal:
      if (unsigned64 && n.literal < 0) return json(static_cast<uint64_t>(n.literal));
      return json(n.literal);
    case K::expr:
      return json(n.expr);
    case K::length_of: {
      json j = {{"length_of", n.block}};
      if (n.adjust != 0) j["adjust"] = n.adjust;
      return j;
    }
    case K::count_of:
      return json{{"count_of", n.block}};
    case K::checksum:
      return json{{"checksum", codec::to_string(n.sum)}, {"of", n.block}};
  }
  return json(0);
}

json value_json(const codec::Part& p) {
  bool u64 = p.kind != codec::Part::Kind::integer || !p.is_signed;
  const codec::Value& v = p.value;
  switch (v.kind) {
    case codec::Value::Kind::exact:
      return number_json(v.number, u64);
    case codec::Value::Kind::mask:
      return json{{"mask", number_json(v.mask, true)}, {"value", number_json(v.number, true)}};
    case codec::Value::Kind::range: {
      json j = json::object();
      if (v.min.kind != codec::Number::Kind::literal || v.min.literal != INT64_MIN) {
        j["min"] = number_json(v.min, false);
      }
      if (v.max.kind != codec::Number::Kind::literal || v.max.literal != INT64_MAX) {
        j["max"] = number_json(v.max, false);
      }
      return j;
    }
    case codec::Value::Kind::any:
      return json{{"any", true}};
  }
  return json(0);
}

json fill_json(const payload::Fill& f) {
  const char* names[] = {"ascii", "zero", "counter", "random"};
  json j = {{"bytes", f.bytes}, {"pattern", names[static_cast<int>(f.pattern)]}};
  if (f.seed) j["seed"] = *f.seed;
  return j;
}

json part_json(const codec::Part& p) {
  using K = codec::Part::Kind;
  json j = json::object();
  switch (p.kind) {
    case K::bytes:
      if (p.fill) {
        j["fill"] = fill_json(*p.fill);
      } else if (!p.text.empty()) {
        j[p.hex ? "hex" : "text"] = p.text;
      } else if (printable(p.literal) && !p.hex) {
        j["text"] = escape_literal(p.literal);  // a text is a template
      } else {
        j["hex"] = to_hex(p.literal);
      }
      if (!p.encoding.empty()) j["encoding"] = p.encoding;
      break;
    case K::integer:
    case K::varint:
    case K::decimal:
      j[p.source] = value_json(p);
      if (p.kind == K::integer && p.endian == codec::Endian::little) j["endian"] = "little";
      if (p.kind == K::varint && p.format == codec::VarintFormat::mqtt) j["format"] = "mqtt";
      break;
    case K::any:
      j["any"] = number_json(p.count, true);
      break;
    case K::rest:
      j["rest"] = true;
      break;
    case K::until:
      j["until"] = p.delimiter;
      break;
    case K::block:
      j["parts"] = parts_json(p.parts);
      break;
  }
  if (!p.name.empty()) j["name"] = p.name;
  if (!p.capture.empty()) j["capture"] = p.capture;
  return j;
}

}  // namespace

json parts_json(const codec::Parts& parts) {
  json a = json::array();
  for (const auto& p : parts) a.push_back(part_json(p));
  return a;
}

json frame_json(const codec::Frame& f) {
  const bool big = f.endian == codec::Endian::big;
  const codec::Frame defaults;
  json inner = json::object();
  switch (f.kind) {
    case codec::Frame::Kind::length:
      inner["offset"] = f.offset;
      inner["width"] = f.width;
      inner["endian"] = big ? "big" : "little";
      if (f.adjust != 0) inner["adjust"] = f.adjust;
      if (f.includes_header) inner["includes_header"] = true;
      if (f.max != defaults.max) inner["max"] = f.max;
      return json{{"length", inner}};
    case codec::Frame::Kind::varint:
      inner["offset"] = f.offset;
      inner["format"] = f.format == codec::VarintFormat::mqtt ? "mqtt" : "leb128";
      if (f.max != defaults.max) inner["max"] = f.max;
      return json{{"varint", inner}};
    case codec::Frame::Kind::delimiter:
      return json{{"delimiter", f.delimiter}};
    case codec::Frame::Kind::fixed:
      return json{{"fixed", f.size}};
  }
  return json::object();
}

}  // namespace sockspec::scenario
