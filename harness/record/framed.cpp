#include "record/framed.h"

#include "codec/ints.h"

namespace sockspec::record {

namespace {

bool printable(std::string_view s) {
  if (s.empty() || s.find("${") != std::string_view::npos) return false;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c >= 0x7f) return false;
  }
  return true;
}

codec::Part bytes_part(std::string_view b) {
  codec::Part p;
  p.kind = codec::Part::Kind::bytes;
  p.hex = !printable(b);
  p.source = p.hex ? "hex" : "text";
  p.literal = std::string(b);
  p.resolved = true;
  return p;
}

codec::Part block(std::string name, codec::Parts parts) {
  codec::Part p;
  p.kind = codec::Part::Kind::block;
  p.source = "parts";
  p.name = std::move(name);
  p.parts = std::move(parts);
  return p;
}

codec::Parts body_parts(std::string_view body, uint64_t max_body) {
  if (body.size() > max_body) {
    codec::Part rest;
    rest.kind = codec::Part::Kind::rest;
    rest.source = "rest";
    return {rest};
  }
  if (body.empty()) return {};
  return {bytes_part(body)};
}

codec::Number length_of(std::string block, int64_t adjust) {
  codec::Number n;
  n.kind = codec::Number::Kind::length_of;
  n.block = std::move(block);
  n.adjust = adjust;
  return n;
}

}  // namespace

std::vector<std::string> take_messages(const codec::Frame& f, std::string& buf, bool& bad) {
  std::vector<std::string> out;
  bad = false;
  for (;;) {
    codec::Framed r = codec::next_frame(f, buf);
    if (r.kind == codec::Framed::Kind::need_more) break;
    if (r.kind == codec::Framed::Kind::bad) {
      bad = true;
      break;
    }
    out.push_back(buf.substr(0, r.size));
    buf.erase(0, r.size);
  }
  return out;
}

codec::Parts message_parts(const codec::Frame& f, std::string_view msg, uint64_t max_body) {
  codec::Parts out;
  switch (f.kind) {
    case codec::Frame::Kind::fixed:
      return {bytes_part(msg)};
    case codec::Frame::Kind::delimiter: {
      std::string_view body = msg.substr(0, msg.size() - f.delimiter.size());
      out = body_parts(body, max_body);
      if (!out.empty() && out[0].kind == codec::Part::Kind::rest) {
        // `rest` would take the delimiter too: within a message the delimiter ends it.
        out[0].kind = codec::Part::Kind::until;
        out[0].source = "until";
        out[0].delimiter = f.delimiter;
        return out;
      }
      out.push_back(bytes_part(f.delimiter));
      return out;
    }
    case codec::Frame::Kind::length: {
      if (f.offset > 0) out.push_back(bytes_part(msg.substr(0, f.offset)));
      codec::Part len;
      len.kind = codec::Part::Kind::integer;
      len.source = "u" + std::to_string(8 * f.width);
      len.width = f.width;
      len.endian = f.endian;
      // The field holds the message's size minus adjust: length_of with the opposite adjust.
      len.value.number = length_of(f.includes_header ? "message" : "body", -f.adjust);
      out.push_back(len);
      out.push_back(block("body", body_parts(msg.substr(f.offset + f.width), max_body)));
      if (f.includes_header) return {block("message", std::move(out))};
      return out;
    }
    case codec::Frame::Kind::varint: {
      if (f.offset > 0) out.push_back(bytes_part(msg.substr(0, f.offset)));
      auto r = codec::get_varint(msg.substr(f.offset), f.format);
      codec::Part len;
      len.kind = codec::Part::Kind::varint;
      len.source = "varint";
      len.format = f.format;
      len.value.number = length_of("body", -f.adjust);
      out.push_back(len);
      out.push_back(block("body", body_parts(msg.substr(f.offset + r.size), max_body)));
      return out;
    }
  }
  return out;
}

}  // namespace sockspec::record
