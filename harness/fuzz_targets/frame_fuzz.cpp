// libFuzzer target: the framers. Byte 0..1 pick a frame (kind, offset, width, byte order,
// adjust, header counted or not); the rest is a stream, fed whole and in pieces whose sizes
// come from the stream itself. The messages found must be the same however it was split, and
// each no longer than what was buffered.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "codec/frame.h"

namespace c = sockspec::codec;

namespace {

// Messages taken from `stream` delivered in pieces of the given sizes (0: all at once);
// a bad frame ends the list with SIZE_MAX.
std::vector<size_t> frames(const c::Frame& f, std::string_view stream, size_t piece) {
  std::vector<size_t> out;
  std::string buf;
  size_t fed = 0;
  while (fed < stream.size() || !buf.empty()) {
    size_t n = piece == 0 ? stream.size() - fed : std::min(piece, stream.size() - fed);
    buf.append(stream.substr(fed, n));
    fed += n;
    for (;;) {
      c::Framed r = c::next_frame(f, buf);
      if (r.kind == c::Framed::Kind::bad) {
        out.push_back(SIZE_MAX);
        return out;
      }
      if (r.kind == c::Framed::Kind::need_more) break;
      // Every frame has at least one byte (a header, a delimiter, a fixed size), so the loop
      // always moves on.
      if (r.size == 0 || r.size > buf.size()) std::abort();
      out.push_back(r.size);
      buf.erase(0, r.size);
    }
    if (fed == stream.size()) break;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  uint8_t a = data[0], b = data[1];
  std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);
  c::Frame f;
  f.kind = static_cast<c::Frame::Kind>(a & 3);
  f.offset = (a >> 2) & 3;
  const unsigned widths[] = {1, 2, 4, 8};
  f.width = widths[(a >> 4) & 3];
  f.endian = (a & 0x40) ? c::Endian::little : c::Endian::big;
  f.includes_header = (a & 0x80) != 0;
  f.adjust = static_cast<int8_t>(b);
  f.format = (b & 1) ? c::VarintFormat::leb128 : c::VarintFormat::mqtt;
  f.delimiter = b & 2 ? "\r\n" : "\n";
  f.size = (b & 0x0F) + 1;
  f.max = 4096;
  auto whole = frames(f, stream, 0);
  for (size_t piece : {1, 3, 7}) {
    if (frames(f, stream, piece) != whole) std::abort();
  }
  (void)c::describe(f);
  return 0;
}
