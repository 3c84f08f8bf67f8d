#include "reports/json_guard.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace sockspec::reports {

namespace {

// One open array or object on the way down, enough to name the pointer of what is inside.
struct Frame {
  bool array;
  size_t index = 0;      // arrays: the element being read
  std::string key;       // objects: the last key read
  bool want_key = true;  // objects: the next string is a key
};

std::string pointer_of(const std::vector<Frame>& stack) {
  std::string p;
  for (const auto& f : stack)
    p += "/" + (f.array ? std::to_string(f.index) : json_pointer_escape(f.key));
  return p;
}

// Reads the string starting at text[i] == '"'; returns the index past its closing quote. The
// escapes are kept as written (a key with \u escapes is named as written, which is enough to
// find it).
size_t read_string(std::string_view text, size_t i, std::string* out) {
  for (++i; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"') return i + 1;
    if (c == '\\' && i + 1 < text.size()) {
      if (out) out->push_back(c);
      c = text[++i];
    }
    if (out && out->size() < 256) out->push_back(c);
  }
  return i;
}

}  // namespace

std::string json_pointer_escape(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<JsonProblem> check_json_limits(std::string_view text, size_t max_depth,
                                             size_t max_bytes) {
  if (text.size() > max_bytes) {
    return JsonProblem{"", "is " + std::to_string(text.size()) + " bytes; the limit is " +
                               std::to_string(max_bytes)};
  }
  std::vector<Frame> stack;
  for (size_t i = 0; i < text.size();) {
    char c = text[i];
    if (c == '{' || c == '[') {
      if (stack.size() >= max_depth) {
        return JsonProblem{pointer_of(stack), "nested deeper than " + std::to_string(max_depth) +
                                                  " levels (the limit of sockspec's readers)"};
      }
      stack.push_back(Frame{c == '[', 0, {}, true});
      ++i;
    } else if (c == '}' || c == ']') {
      if (!stack.empty()) stack.pop_back();
      ++i;
    } else if (c == ',') {
      if (!stack.empty()) {
        if (stack.back().array) {
          ++stack.back().index;
        } else {
          stack.back().want_key = true;
        }
      }
      ++i;
    } else if (c == '"') {
      bool is_key = !stack.empty() && !stack.back().array && stack.back().want_key;
      std::string key;
      i = read_string(text, i, is_key ? &key : nullptr);
      if (is_key) {
        stack.back().key = std::move(key);
        stack.back().want_key = false;
      }
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t start = i;
      while (i < text.size() &&
             (text[i] == '-' || text[i] == '+' || text[i] == '.' || text[i] == 'e' ||
              text[i] == 'E' || (text[i] >= '0' && text[i] <= '9'))) {
        ++i;
      }
      std::string number(text.substr(start, i - start));
      errno = 0;
      double v = std::strtod(number.c_str(), nullptr);
      if (std::isinf(v)) {
        if (number.size() > 40) number = number.substr(0, 37) + "...";
        return JsonProblem{pointer_of(stack), "number " + number + " is out of range (beyond " +
                                                  "the largest double, about 1.8e308)"};
      }
    } else {
      ++i;
    }
  }
  return std::nullopt;
}

}  // namespace sockspec::reports
