// Reading JSON objects key by key, for the suite and the load-profile parsers alike: every
// problem becomes a Diagnostic (file, JSON pointer, message), and a key that nobody read is
// reported as unknown, with the keys allowed there. Pure.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace sockspec::scenario {

struct Diagnostic {
  std::string file;
  std::string pointer;  // JSON pointer ("" for the whole document)
  std::string message;
  std::string to_string() const;  // file:pointer: message
};

// Escapes a key for use in a JSON pointer (RFC 6901: ~ as ~0, / as ~1).
std::string pointer_escape(std::string_view key);

// A suite's or a profile's text as JSON: its depth, size and numbers checked before the
// parser sees it (reports/json_guard.h), a syntax error reported with its line and column.
// nullopt after reporting the problem (one Diagnostic) into `out`.
std::optional<nlohmann::json> parse_json_text(std::string_view text, const std::string& file,
                                              std::vector<Diagnostic>& out);

// A JSON value as quoted in a message: its text, cut short.
std::string show(const nlohmann::json& v);

// Where one file's diagnostics go.
class DiagnosticSink {
 public:
  DiagnosticSink(std::string file, std::vector<Diagnostic>& out)
      : file_(std::move(file)), out_(out) {}
  void error(const std::string& pointer, std::string message) {
    out_.push_back({file_, pointer, std::move(message)});
  }

 private:
  std::string file_;
  std::vector<Diagnostic>& out_;
};

// The keys of one JSON object at `ptr`: read by name, then everything not read is an error.
// The typed getters report a wrong type or range and return nullopt; so does an absent key
// (reported only when `required`).
class Fields {
 public:
  Fields(DiagnosticSink& sink, const nlohmann::json& j, std::string ptr);
  bool ok() const { return obj_ != nullptr; }
  const std::string& ptr() const { return ptr_; }
  std::string ptr(std::string_view key) const { return ptr_ + "/" + pointer_escape(key); }
  const nlohmann::json* take(std::string_view key);
  bool has(std::string_view key) const { return obj_ != nullptr && obj_->contains(key); }
  void take_all();
  void error(std::string_view key, std::string message) {
    sink_.error(ptr(key), std::move(message));
  }
  // Call last: reports every key not taken (keys starting with x- are free).
  void reject_unknown(std::string_view what);

  std::optional<std::string> str(std::string_view key, bool required);
  std::optional<uint64_t> uint(std::string_view key, bool required, uint64_t min, uint64_t max);
  std::optional<double> number(std::string_view key, bool required, double min, double max);
  std::optional<bool> boolean(std::string_view key);
  // A string naming one of `names` (in that order in the message: "must be a, b or c, got X").
  template <class E>
  std::optional<E> one_of(std::string_view key, bool required,
                          std::initializer_list<std::pair<std::string_view, E>> names) {
    auto s = str(key, required);
    if (!s) return std::nullopt;
    std::vector<std::string_view> words;
    for (const auto& [name, value] : names) {
      if (*s == name) return value;
      words.push_back(name);
    }
    error(key, "must be " + or_list(words) + ", got " + show(*s));
    return std::nullopt;
  }

 private:
  static std::string or_list(const std::vector<std::string_view>& words);  // "a, b or c"
  const nlohmann::json* present(std::string_view key, bool required);
  DiagnosticSink& sink_;
  const nlohmann::json* obj_;
  std::string ptr_;
  std::set<std::string> known_;
};

}  // namespace sockspec::scenario
