#include "payload/payload.h"

#include <iconv.h>
#include <strings.h>

#include <cerrno>

namespace sockspec::payload {

uint64_t SplitMix64::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

Bytes fill_bytes(const Fill& fill, uint64_t run_seed) {
  Bytes out(fill.bytes, '\0');
  switch (fill.pattern) {
    case FillPattern::zero:
      break;
    case FillPattern::ascii:
      // 94 printable characters, '!' (0x21) through '~' (0x7e), rotating.
      for (uint64_t i = 0; i < fill.bytes; ++i) out[i] = static_cast<char>('!' + i % 94);
      break;
    case FillPattern::counter:
      for (uint64_t i = 0; i < fill.bytes; ++i) out[i] = static_cast<char>(i % 256);
      break;
    case FillPattern::random: {
      SplitMix64 rng(fill.seed.value_or(run_seed));
      uint64_t word = 0;
      for (uint64_t i = 0; i < fill.bytes; ++i) {
        if (i % 8 == 0) word = rng.next();
        out[i] = static_cast<char>((word >> (8 * (i % 8))) & 0xFF);
      }
      break;
    }
  }
  return out;
}

namespace {
bool is_utf8_name(std::string_view e) {
  return e.empty() || strcasecmp(std::string(e).c_str(), "utf-8") == 0 ||
         strcasecmp(std::string(e).c_str(), "utf8") == 0;
}

// Owns one iconv descriptor.
class Iconv {
 public:
  Iconv(const std::string& to, const std::string& from)
      : cd_(iconv_open(to.c_str(), from.c_str())) {}
  ~Iconv() {
    if (ok()) iconv_close(cd_);
  }
  Iconv(const Iconv&) = delete;
  Iconv& operator=(const Iconv&) = delete;
  bool ok() const { return cd_ != reinterpret_cast<iconv_t>(-1); }
  iconv_t get() const { return cd_; }

 private:
  iconv_t cd_;
};
}  // namespace

bool encoding_known(std::string_view encoding) {
  return is_utf8_name(encoding) || Iconv(std::string(encoding), "UTF-8").ok();
}

Encoded encode_text(std::string_view utf8, std::string_view encoding) {
  if (is_utf8_name(encoding)) return {std::string(utf8), ""};
  Iconv cd(std::string(encoding), "UTF-8");
  if (!cd.ok()) return {"", "unknown encoding '" + std::string(encoding) + "'"};
  std::string in(utf8);
  std::string out(in.size() * 4 + 16, '\0');
  char* inp = in.data();
  size_t inleft = in.size();
  char* outp = out.data();
  size_t outleft = out.size();
  if (iconv(cd.get(), &inp, &inleft, &outp, &outleft) == static_cast<size_t>(-1)) {
    return {"", "text cannot be encoded as " + std::string(encoding) + " at byte " +
                    std::to_string(in.size() - inleft)};
  }
  out.resize(out.size() - outleft);
  return {out, ""};
}

Bytes ascii_upper(std::string_view bytes) {
  Bytes out(bytes);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

}  // namespace sockspec::payload
