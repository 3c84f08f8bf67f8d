#include "codec/frame.h"

#include <charconv>

#include "codec/ints.h"
#include "common/codec.h"

namespace sockspec::codec {

namespace {

Framed bad(std::string why) { return {Framed::Kind::bad, 0, std::move(why)}; }

Framed sized(const Frame& f, uint64_t header, int64_t announced, bool includes_header) {
  // The message's size, computed without overflow: every term is checked against max.
  int64_t body = 0;
  if (announced < 0 || __builtin_add_overflow(announced, f.adjust, &body) || body < 0) {
    return bad("length field " + std::to_string(announced) + " with adjust " +
               std::to_string(f.adjust) + " gives a negative size");
  }
  uint64_t total =
      includes_header ? static_cast<uint64_t>(body) : header + static_cast<uint64_t>(body);
  if (total < header) {
    return bad("length field says " + std::to_string(total) + " bytes in all, fewer than its " +
               std::to_string(header) + "-byte header");
  }
  if (total > f.max) {
    return bad("message of " + std::to_string(total) + " bytes is above the frame's max " +
               std::to_string(f.max));
  }
  return {Framed::Kind::message, static_cast<size_t>(total), ""};
}

}  // namespace

Framed next_frame(const Frame& f, std::string_view buf) {
  switch (f.kind) {
    case Frame::Kind::fixed:
      if (buf.size() < f.size) return {};
      return {Framed::Kind::message, static_cast<size_t>(f.size), ""};
    case Frame::Kind::delimiter: {
      size_t at = buf.substr(0, std::min<uint64_t>(buf.size(), f.max)).find(f.delimiter);
      if (at != std::string_view::npos) {
        return {Framed::Kind::message, at + f.delimiter.size(), ""};
      }
      if (buf.size() >= f.max) {
        return bad("no delimiter \"" + escape_bytes(f.delimiter) + "\" in the first " +
                   std::to_string(f.max) + " bytes");
      }
      return {};
    }
    case Frame::Kind::length: {
      uint64_t header = f.offset + f.width;
      if (buf.size() < header) return {};
      uint64_t v = get_int(buf.substr(f.offset), f.width, f.endian);
      if (v > static_cast<uint64_t>(INT64_MAX)) return bad("length field above 2^63");
      Framed r = sized(f, header, static_cast<int64_t>(v), f.includes_header);
      if (r.kind == Framed::Kind::message && buf.size() < r.size) return {};
      return r;
    }
    case Frame::Kind::varint: {
      if (buf.size() <= f.offset) return {};
      auto r = get_varint(buf.substr(f.offset), f.format);
      if (r.kind == VarintRead::Kind::need_more) return {};
      if (r.kind == VarintRead::Kind::bad)
        return bad(r.why + " at offset " + std::to_string(f.offset));
      if (r.value > static_cast<uint64_t>(INT64_MAX)) return bad("varint length above 2^63");
      Framed m = sized(f, f.offset + r.size, static_cast<int64_t>(r.value), false);
      if (m.kind == Framed::Kind::message && buf.size() < m.size) return {};
      return m;
    }
  }
  return {};
}

namespace {
std::vector<std::string_view> split(std::string_view s, size_t max_parts) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < max_parts) {
    size_t c = s.find(':');
    if (c == std::string_view::npos) break;
    out.push_back(s.substr(0, c));
    s.remove_prefix(c + 1);
  }
  out.push_back(s);
  return out;
}
bool number(std::string_view s, uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}
// \r \n \t \\ \xHH in a delimiter written on a command line.
std::optional<std::string> unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    char c = s[++i];
    if (c == 'r')
      out += '\r';
    else if (c == 'n')
      out += '\n';
    else if (c == 't')
      out += '\t';
    else if (c == '\\')
      out += '\\';
    else if (c == 'x' && i + 2 < s.size()) {
      auto h = from_hex(s.substr(i + 1, 2));
      if (!h) return std::nullopt;
      out += *h;
      i += 2;
    } else
      return std::nullopt;
  }
  return out;
}
}  // namespace

std::string parse_frame_spec(std::string_view spec, Frame& f) {
  f = Frame{};
  auto kind = spec.substr(0, spec.find(':'));
  if (kind == "delimiter") {
    if (spec.size() <= kind.size() + 1) return "delimiter: needs the delimiter (delimiter:\\r\\n)";
    auto d = unescape(spec.substr(kind.size() + 1));
    if (!d || d->empty()) return "delimiter: bad escape (use \\r \\n \\t \\\\ \\xHH)";
    f.kind = Frame::Kind::delimiter;
    f.delimiter = *d;
    return "";
  }
  auto parts = split(spec, 8);
  uint64_t n = 0;
  if (kind == "fixed") {
    if (parts.size() != 2 || !number(parts[1], n) || n == 0) return "fixed:N with N > 0";
    f.kind = Frame::Kind::fixed;
    f.size = n;
    return "";
  }
  if (kind == "length") {
    // length:OFFSET:WIDTH[:big|little[:ADJUST]]
    if (parts.size() < 3 || parts.size() > 5 || !number(parts[1], f.offset) ||
        !number(parts[2], n) || (n != 1 && n != 2 && n != 4 && n != 8)) {
      return "length:OFFSET:WIDTH[:big|little[:ADJUST]] with WIDTH 1, 2, 4 or 8";
    }
    f.kind = Frame::Kind::length;
    f.width = static_cast<unsigned>(n);
    if (parts.size() >= 4) {
      if (parts[3] == "little")
        f.endian = Endian::little;
      else if (parts[3] != "big")
        return "length: byte order is big or little";
    }
    if (parts.size() == 5) {
      int64_t a = 0;
      auto [p, ec] = std::from_chars(parts[4].data(), parts[4].data() + parts[4].size(), a);
      if (ec != std::errc() || p != parts[4].data() + parts[4].size())
        return "length: ADJUST is an integer";
      f.adjust = a;
    }
    return "";
  }
  if (kind == "varint") {
    // varint:OFFSET[:mqtt|leb128]
    if (parts.size() < 2 || parts.size() > 3 || !number(parts[1], f.offset)) {
      return "varint:OFFSET[:mqtt|leb128]";
    }
    f.kind = Frame::Kind::varint;
    if (parts.size() == 3) {
      if (parts[2] == "leb128")
        f.format = VarintFormat::leb128;
      else if (parts[2] != "mqtt")
        return "varint: format is mqtt or leb128";
    }
    return "";
  }
  return "unknown frame kind \"" + std::string(kind) + "\": length, varint, delimiter or fixed";
}

std::string describe(const Frame& f) {
  switch (f.kind) {
    case Frame::Kind::fixed:
      return "frames of " + std::to_string(f.size) + " bytes";
    case Frame::Kind::delimiter:
      return "frames ending \"" + escape_bytes(f.delimiter) + "\"";
    case Frame::Kind::length:
      return "frames with a " + std::to_string(f.width) + "-byte " +
             (f.endian == Endian::big ? "big" : "little") + "-endian length at offset " +
             std::to_string(f.offset);
    case Frame::Kind::varint:
      return std::string("frames with a ") + (f.format == VarintFormat::mqtt ? "MQTT" : "LEB128") +
             " length at offset " + std::to_string(f.offset);
  }
  return "frames";
}

}  // namespace sockspec::codec
