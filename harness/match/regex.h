// The one regex engine of sockspec: every `regex` of a scenario or suite runs here, and nothing
// else in the code calls a regex library.
//
// It is RE2 underneath, chosen because its matching time is linear in the input and it never
// recurses on the input's length (std::regex overflowed the stack on a 30 KB line and took
// minutes on `(a*)*b`). Linear still has a factor: the worst case is about (bytes examined) x
// (the compiled program's size) steps, so every match is given a work budget of that product,
// and a pattern/segment pair over it fails at once with a message instead of running long.
// That keeps any one match to a bounded slice of time (well under a second on a slow machine),
// whatever the server sends.
//
// Bytes are matched as bytes (Latin-1 semantics: one byte is one character), as std::regex on
// chars did. Syntax differences from ECMAScript are listed in docs/scenario-format.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sockspec::match {

// Steps (bytes examined x program instructions) one match may take.
inline constexpr size_t kRegexWorkBudget = size_t{1} << 24;
// Largest compiled program accepted: at this size a match may still examine 4 KiB.
inline constexpr size_t kMaxRegexProgram = kRegexWorkBudget / 4096;

class Pattern;
struct RegexResult;

struct CompiledRegex {
  std::shared_ptr<const Pattern> pattern;  // null when `error` says why
  std::string error;                       // one line for a person, no pointer or file
};

// Compiles `source` for whole-segment matching. Cheap to share: a Pattern is immutable and
// safe to use from many threads at once.
CompiledRegex compile_regex(std::string_view source);

class Pattern {
 public:
  ~Pattern();
  Pattern(const Pattern&) = delete;
  Pattern& operator=(const Pattern&) = delete;

  const std::string& source() const { return source_; }
  // Number of capturing groups; group 0 (the whole match) is not counted.
  int groups() const { return groups_; }
  size_t program_size() const { return program_size_; }
  // The longest input one match may examine within kRegexWorkBudget.
  size_t max_input() const { return kRegexWorkBudget / program_size_; }

 private:
  friend CompiledRegex compile_regex(std::string_view source);
  friend RegexResult full_match(const Pattern&, std::string_view,
                                std::span<std::optional<std::string_view>>);
  struct Engine;
  Pattern() = default;
  std::string source_;
  int groups_ = 0;
  size_t program_size_ = 1;
  std::unique_ptr<Engine> engine_;
};

struct RegexResult {
  enum class Kind { matched, no_match, over_budget };
  Kind kind = Kind::no_match;
  std::string why;  // over_budget: what the limit was and how to stay within it
};

// A pattern that matches exactly `bytes` (a captured value inserted into a regex).
std::string quote_literal(std::string_view bytes);

// Why `bytes` of input are more than `pattern` may examine, for messages.
std::string over_budget(const Pattern& pattern, uint64_t bytes);

// Does the whole of `text` match? When it does, `groups[k]` is set to group k (0: the whole
// text) for each k < groups.size(); a group that took no part in the match is nullopt.
// Views point into `text`. groups.size() must not exceed pattern.groups() + 1.
RegexResult full_match(const Pattern& pattern, std::string_view text,
                       std::span<std::optional<std::string_view>> groups = {});

}  // namespace sockspec::match
