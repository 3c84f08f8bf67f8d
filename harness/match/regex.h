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
#include <functional>
#include <map>
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
// Instructions all the distinct patterns of one file may compile to. A compiled instruction
// holds about 20 bytes and takes about 0.1 us to build, so one file's regexes stay within some
// 20 MB and a tenth of a second; without it a 64 MiB suite of distinct near-limit patterns
// (one per 60-byte step) would need over 20 GB. Real suites use a few thousand.
inline constexpr size_t kMaxRegexProgramsPerFile = size_t{1} << 20;
// Longest pattern text a file may give. Compiling costs time per byte of pattern before any
// instruction count is known ([a-z]{1000} repeated is ~10 us a byte), and a pattern within
// kMaxRegexProgram is at most a few thousand bytes anyway. Patterns built at run time from
// captured bytes are not held to it (their bytes are quoted literals, cheap to compile).
inline constexpr size_t kMaxRegexSourceInFile = 16384;

class Pattern;
struct RegexResult;

struct CompiledRegex {
  std::shared_ptr<const Pattern> pattern;  // null when `error` says why
  std::string error;                       // one line for a person, no pointer or file
  // Instructions compiling it built, also when refused as too large: the work it cost.
  size_t instructions = 0;
  // Refused by RegexCache for the file's total, not for its own syntax or size. Once the total
  // is spent, later patterns come back null with an empty error: not compiled, not checked
  // (the one refusal already makes the file invalid).
  bool file_limit = false;
};

// Compiles `source` for whole-segment matching. Cheap to share: a Pattern is immutable and
// safe to use from many threads at once.
CompiledRegex compile_regex(std::string_view source);

// The regexes of one file (a suite or a profile), compiled as the parser meets them: a pattern
// given again is the same shared Pattern, and the work of all distinct patterns, accepted or
// too large, stays within kMaxRegexProgramsPerFile instructions.
class RegexCache {
 public:
  CompiledRegex compile(std::string_view source);

 private:
  std::map<std::string, CompiledRegex, std::less<>> seen_;
  size_t instructions_ = 0;
  bool spent_ = false;
};

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
