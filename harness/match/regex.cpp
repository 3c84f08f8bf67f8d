#include "match/regex.h"

#include <re2/re2.h>

#include <vector>

namespace sockspec::match {

struct Pattern::Engine {
  explicit Engine(const RE2::Options& o, std::string_view source) : re(source, o) {}
  RE2 re;
};

Pattern::~Pattern() = default;

namespace {

// Hints for what ECMAScript has and RE2 does not, keyed by the start of RE2's message.
std::string explain(const RE2& re) {
  const std::string& arg = re.error_arg();
  std::string msg = re.error();
  if (arg.starts_with("(?=") || arg.starts_with("(?!") || arg.starts_with("(?<")) {
    return msg +
           " (lookahead and lookbehind are not supported; named groups are written (?P<name>...))";
  }
  if (arg.size() == 2 && arg[0] == '\\' && arg[1] >= '1' && arg[1] <= '9') {
    return msg + " (backreferences are not supported)";
  }
  if (arg == "\\u") return msg + " (write a byte as \\xHH)";
  if (arg == "\\c") return msg + " (write a control byte as \\xHH)";
  if (re.error_code() == RE2::ErrorRepeatSize) {
    return msg + " (a counted repetition may be at most {1000}, nested ones at most 1000 in total)";
  }
  return msg;
}

}  // namespace

CompiledRegex compile_regex(std::string_view source) {
  RE2::Options o;
  o.set_encoding(RE2::Options::EncodingLatin1);  // a byte is a character, as on the wire
  o.set_log_errors(false);                       // errors are returned, never printed
  o.set_max_mem(4 << 20);                        // program and DFA cache of one pattern
  auto engine = std::make_unique<Pattern::Engine>(o, source);
  if (!engine->re.ok()) {
    if (engine->re.error_code() == RE2::ErrorPatternTooLarge) {
      // RE2 gives up at its max_mem, after building about 300,000 instructions.
      return {nullptr, "is too large to compile (simplify it: large {n} repetitions cost the most)",
              kMaxRegexProgramsPerFile / 4};
    }
    return {nullptr, explain(engine->re)};
  }
  size_t size = static_cast<size_t>(std::max(1, engine->re.ProgramSize()));
  if (size > kMaxRegexProgram) {
    return {nullptr,
            "compiles to " + std::to_string(size) + " instructions; at most " +
                std::to_string(kMaxRegexProgram) +
                " are allowed (simplify it: large {n} repetitions cost the most)",
            size};
  }
  std::shared_ptr<Pattern> p(new Pattern());
  p->source_ = std::string(source);
  p->groups_ = engine->re.NumberOfCapturingGroups();
  p->program_size_ = size;
  p->engine_ = std::move(engine);
  return {std::move(p), "", size};
}

CompiledRegex RegexCache::compile(std::string_view source) {
  if (auto it = seen_.find(source); it != seen_.end()) return it->second;
  if (spent_) return {};
  if (source.size() > kMaxRegexSourceInFile) {
    return {nullptr, "is " + std::to_string(source.size()) + " bytes long; at most " +
                         std::to_string(kMaxRegexSourceInFile) + " are allowed"};
  }
  CompiledRegex c = compile_regex(source);
  instructions_ += c.instructions;
  if (instructions_ > kMaxRegexProgramsPerFile) {
    spent_ = true;
    return {nullptr,
            "with the regexes before it, this file's distinct patterns compile to more than " +
                std::to_string(kMaxRegexProgramsPerFile) +
                " instructions in total; the regexes after it are not checked (use fewer or "
                "simpler patterns: one given again counts once)",
            c.instructions, true};
  }
  seen_.emplace(std::string(source), c);
  return c;
}

std::string quote_literal(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size());
  for (char ch : bytes) {
    auto b = static_cast<unsigned char>(ch);
    bool plain =
        (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '_';
    if (plain) {
      out += ch;
    } else {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 15];
    }
  }
  return out;
}

std::string over_budget(const Pattern& pattern, uint64_t bytes) {
  return "regex limit: /" + pattern.source() + "/ may examine at most " +
         std::to_string(pattern.max_input()) + " bytes, not " + std::to_string(bytes) +
         " (bytes x its " + std::to_string(pattern.program_size()) +
         " compiled instructions must stay within " + std::to_string(kRegexWorkBudget) +
         ", which bounds the time of one match)";
}

RegexResult full_match(const Pattern& pattern, std::string_view text,
                       std::span<std::optional<std::string_view>> groups) {
  RegexResult r;
  if (text.size() > pattern.max_input()) {
    r.kind = RegexResult::Kind::over_budget;
    r.why = over_budget(pattern, text.size());
    return r;
  }
  const RE2& re = pattern.engine_->re;
  // A non-null base even for empty input: a null group is how RE2 says "did not take part".
  re2::StringPiece input(text.empty() ? "" : text.data(), text.size());
  if (groups.empty()) {
    r.kind = re.Match(input, 0, text.size(), RE2::ANCHOR_BOTH, nullptr, 0)
                 ? RegexResult::Kind::matched
                 : RegexResult::Kind::no_match;
    return r;
  }
  std::vector<re2::StringPiece> sub(groups.size());
  if (!re.Match(input, 0, text.size(), RE2::ANCHOR_BOTH, sub.data(),
                static_cast<int>(sub.size()))) {
    return r;
  }
  r.kind = RegexResult::Kind::matched;
  for (size_t k = 0; k < groups.size(); ++k) {
    if (sub[k].data() == nullptr) {
      groups[k] = std::nullopt;  // the group took no part in the match
    } else {
      groups[k] = std::string_view(sub[k].data(), sub[k].size());
    }
  }
  return r;
}

}  // namespace sockspec::match
