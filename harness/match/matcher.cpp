#include "match/matcher.h"

#include <algorithm>
#include <cstring>
#include <span>

#include "common/codec.h"

namespace sockspec::match {

namespace {

std::string preview(std::string_view bytes, size_t max = 40) {
  std::string s = escape_bytes(bytes.substr(0, max));
  return "\"" + s + (bytes.size() > max ? "\"..." : "\"");
}

// A pattern as a person reads it: printable ASCII (backslashes included) as written, every
// other byte escaped, so a CR, LF, NUL or ESC in a pattern cannot break a report's line or
// reach a terminal (issue 22).
std::string display_pattern(std::string_view pattern) {
  std::string out;
  for (unsigned char c : pattern) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      out += escape_bytes(std::string_view(reinterpret_cast<const char*>(&c), 1));
    }
  }
  return out;
}

// What a failed regex saw: enough of the segment that a wrong field past the first few dozen
// bytes still shows (a regex gives no offset of its own, unlike an exact match).
constexpr size_t kRegexShown = 256;

size_t first_difference(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  // A stream's exact match is checked again as each read adds bytes: memcmp keeps that
  // cheap for megabytes (an echo of 8 MiB is compared some hundred times as it arrives).
  // (n == 0 first: an empty view may hold a null pointer, which memcmp must not get.)
  if (n == 0 || std::memcmp(a.data(), b.data(), n) == 0) return n;
  auto [ia, ib] = std::mismatch(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(n), b.begin());
  return static_cast<size_t>(ia - a.begin());
}

Outcome mismatch(std::string why) {
  Outcome o;
  o.kind = Outcome::Kind::mismatch;
  o.why = std::move(why);
  return o;
}

Outcome bytes_mismatch(std::string why, std::string_view expected, std::string_view actual,
                       size_t offset) {
  Outcome o = mismatch(std::move(why));
  o.diff_offset = offset;
  o.expected = expected;
  o.actual = actual;
  return o;
}

Outcome matched(size_t n) {
  Outcome o;
  o.kind = Outcome::Kind::matched;
  o.consumed = n;
  return o;
}

Outcome regex_check(const Regex& r, std::string_view segment, size_t consumed) {
  constexpr size_t kInline = 8;  // groups kept on the stack; more is rare
  std::optional<std::string_view> inline_groups[kInline];
  std::vector<std::optional<std::string_view>> many;
  std::span<std::optional<std::string_view>> groups(inline_groups, std::min(r.groups, kInline));
  if (r.groups > kInline) {
    many.resize(r.groups);
    groups = many;
  }
  RegexResult res = full_match(*r.re, segment, groups);
  if (res.kind == RegexResult::Kind::over_budget) return mismatch(res.why);
  if (res.kind == RegexResult::Kind::no_match) {
    return mismatch("segment " + preview(segment, kRegexShown) + " (" +
                    std::to_string(segment.size()) + " bytes) does not match /" +
                    display_pattern(r.re->source()) + "/");
  }
  Outcome o = matched(consumed);
  o.groups.reserve(groups.size());
  for (const auto& g : groups) {
    o.groups.push_back(g ? std::optional<std::string>(*g) : std::nullopt);
  }
  return o;
}

Outcome stream_exact(const Exact& e, std::string_view buf, bool eof) {
  const std::string& want = e.bytes;
  size_t n = std::min(buf.size(), want.size());
  size_t d = first_difference(want.substr(0, n), buf.substr(0, n));
  if (d < n) {
    // Show as much of what came as was expected (plus a little), not the whole buffer.
    return bytes_mismatch("bytes differ at offset " + std::to_string(d), want,
                          buf.substr(0, std::min(buf.size(), want.size() + 16)), d);
  }
  if (buf.size() >= want.size()) return matched(want.size());
  if (eof) {
    return bytes_mismatch("connection closed after " + std::to_string(buf.size()) + " of " +
                              std::to_string(want.size()) + " expected bytes",
                          want, buf, buf.size());
  }
  return {};
}

Outcome fields(const Fields& f, std::string_view buf, bool whole, bool eof) {
  codec::Decoded d = codec::decode(*f.parts, buf, whole, eof);
  Outcome o;
  switch (d.kind) {
    case codec::Decoded::Kind::need_more:
      return o;
    case codec::Decoded::Kind::matched:
      o = matched(d.consumed);
      o.fields = std::move(d.captures);
      return o;
    case codec::Decoded::Kind::mismatch:
      if (d.offset) return bytes_mismatch(std::move(d.why), d.expected, d.actual, *d.offset);
      return mismatch(std::move(d.why));
  }
  return o;
}

}  // namespace

Outcome match_framed(const Resolved& m, const codec::Frame& frame, std::string_view buf, bool eof) {
  codec::Framed f = codec::next_frame(frame, buf);
  if (f.kind == codec::Framed::Kind::bad) {
    return mismatch("bad frame (" + codec::describe(frame) + "): " + f.why);
  }
  if (f.kind == codec::Framed::Kind::need_more) {
    if (!eof) return {};
    return mismatch("connection closed inside a frame: " + std::to_string(buf.size()) +
                    " bytes buffered, " + codec::describe(frame) +
                    (buf.empty() ? "" : "; got " + preview(buf)));
  }
  Outcome o = match_datagram(m, buf.substr(0, f.size));
  if (o.kind == Outcome::Kind::matched) o.consumed = f.size;
  if (o.kind == Outcome::Kind::mismatch)
    o.why = "message of " + std::to_string(f.size) + " bytes: " + o.why;
  return o;
}

Outcome match_stream(const Resolved& m, std::string_view buf, bool eof) {
  if (auto* e = std::get_if<Exact>(&m)) return stream_exact(*e, buf, eof);
  if (auto* f = std::get_if<Fields>(&m)) return fields(*f, buf, false, eof);
  if (auto* l = std::get_if<Length>(&m)) {
    if (buf.size() >= l->min) return matched(std::min<size_t>(buf.size(), l->max));
    if (eof) {
      return mismatch("connection closed after " + std::to_string(buf.size()) +
                      " bytes, expected at least " + std::to_string(l->min));
    }
    return {};
  }
  const auto& r = std::get<Regex>(m);
  if (r.count) {
    // Fail now rather than wait for bytes the regex could not look at.
    if (*r.count > r.re->max_input()) return mismatch(over_budget(*r.re, *r.count));
    if (buf.size() >= *r.count) return regex_check(r, buf.substr(0, *r.count), *r.count);
    if (eof) {
      return mismatch("connection closed after " + std::to_string(buf.size()) + " of " +
                      std::to_string(*r.count) + " bytes");
    }
    return {};
  }
  if (r.until_eof) {
    if (eof) return regex_check(r, buf, buf.size());
    // Stop waiting once the close, wherever it comes, would end a segment too long to match.
    size_t limit = std::min(r.re->max_input(), kMaxRegexSegment);
    if (buf.size() > limit) {
      return mismatch("no close in the first " + std::to_string(buf.size()) + " bytes" +
                      (r.re->max_input() < kMaxRegexSegment ? "; " + over_budget(*r.re, buf.size())
                                                            : std::string()));
    }
    return {};
  }
  const std::string& delim = r.until.value_or("\n");
  size_t pos = buf.find(delim);
  if (pos != std::string_view::npos) return regex_check(r, buf.substr(0, pos), pos + delim.size());
  if (eof) {
    return mismatch("connection closed before the delimiter " + preview(delim) + "; got " +
                    preview(buf));
  }
  // Stop waiting once the delimiter, wherever it comes, would end a segment too long to match.
  if (buf.size() >= r.re->max_input() + delim.size() && r.re->max_input() < kMaxRegexSegment) {
    return mismatch("no delimiter " + preview(delim) + " in the first " +
                    std::to_string(buf.size()) + " bytes; " + over_budget(*r.re, buf.size()));
  }
  if (buf.size() > kMaxRegexSegment) {
    return mismatch("no delimiter " + preview(delim) + " in the first " +
                    std::to_string(kMaxRegexSegment) + " bytes");
  }
  return {};
}

Outcome match_datagram(const Resolved& m, std::string_view dg) {
  if (auto* f = std::get_if<Fields>(&m)) return fields(*f, dg, true, true);
  if (auto* e = std::get_if<Exact>(&m)) {
    size_t d = first_difference(e->bytes, dg);
    if (d == e->bytes.size() && d == dg.size()) return matched(dg.size());
    std::string why = dg.size() != e->bytes.size()
                          ? "datagram is " + std::to_string(dg.size()) + " bytes, expected " +
                                std::to_string(e->bytes.size())
                          : "datagram bytes differ at offset " + std::to_string(d);
    if (dg.size() != e->bytes.size() && d < std::min(dg.size(), e->bytes.size())) {
      why += "; first difference at offset " + std::to_string(d);
    }
    return bytes_mismatch(why, e->bytes, dg, d);
  }
  if (auto* l = std::get_if<Length>(&m)) {
    if (dg.size() >= l->min && dg.size() <= l->max) return matched(dg.size());
    std::string want = l->min == l->max ? std::to_string(l->min)
                                        : std::to_string(l->min) + ".." + std::to_string(l->max);
    return mismatch("datagram is " + std::to_string(dg.size()) + " bytes, expected " + want);
  }
  return regex_check(std::get<Regex>(m), dg, dg.size());
}

std::string describe(const Resolved& m) {
  if (auto* f = std::get_if<Fields>(&m)) {
    std::string s = std::to_string(f->parts->size()) + " typed parts (";
    for (size_t i = 0; i < f->parts->size() && i < 6; ++i) {
      s += (i ? ", " : "") + codec::describe((*f->parts)[i]);
    }
    return s + (f->parts->size() > 6 ? ", ...)" : ")");
  }
  if (auto* e = std::get_if<Exact>(&m)) {
    return std::to_string(e->bytes.size()) + " bytes " + preview(e->bytes);
  }
  if (auto* l = std::get_if<Length>(&m)) {
    return l->min == l->max ? std::to_string(l->min) + " bytes of any content"
                            : std::to_string(l->min) + ".." + std::to_string(l->max) + " bytes";
  }
  const auto& r = std::get<Regex>(m);
  std::string s = "/" + display_pattern(r.re->source()) + "/";
  if (r.until) s += " until " + preview(*r.until);
  if (r.count) s += " over " + std::to_string(*r.count) + " bytes";
  if (r.until_eof) s += " up to the close";
  return s;
}

}  // namespace sockspec::match
