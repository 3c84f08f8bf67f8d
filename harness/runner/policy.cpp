#include "runner/policy.h"

#include <fnmatch.h>

#include <algorithm>
#include <sstream>

namespace sockspec::runner {

ExpectFail parse_expect_fail(const std::string& text, const std::string& file) {
  ExpectFail out;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    auto end = line.find_first_of(" \t", first);
    std::string id = line.substr(first, end == std::string::npos ? std::string::npos : end - first);
    std::string reason;
    if (end != std::string::npos) {
      auto r = line.find_first_not_of(" \t", end);
      if (r != std::string::npos) reason = line.substr(r);
      while (!reason.empty() && (reason.back() == '\r' || reason.back() == ' ')) reason.pop_back();
    }
    std::string where = file + ":" + std::to_string(n) + ": ";
    if (id.find('/') == std::string::npos) {
      out.errors.push_back(where + "expected SUITE/CASE-ID followed by a reason, got '" + id + "'");
    } else if (reason.empty()) {
      out.errors.push_back(where + "'" + id + "' needs a reason after the id");
    } else if (!out.reasons.emplace(id, reason).second) {
      out.errors.push_back(where + "'" + id + "' is listed twice");
    }
  }
  return out;
}

Decided decide(reports::Verdict raw, const std::string& raw_reason, scenario::Level level,
               bool strict, const std::optional<std::string>& expected_failure) {
  using reports::Verdict;
  Verdict v = raw;
  if (raw == Verdict::fail && level != scenario::Level::must && !strict) v = Verdict::warn;
  if (expected_failure) {
    // "flaky: ..." marks a known failure that does not always happen: a pass is then a pass.
    bool flaky = expected_failure->rfind("flaky:", 0) == 0;
    if (v == Verdict::pass)
      return flaky ? Decided{Verdict::pass, ""} : Decided{Verdict::xpass, *expected_failure};
    if (v == Verdict::fail || v == Verdict::error || v == Verdict::warn) {
      return {Verdict::xfail, *expected_failure};
    }
  }
  return {v, raw_reason};
}

bool selected(const Selection& s, const std::string& full_id,
              const std::vector<std::string>& tags) {
  bool by_filter =
      s.filters.empty() ||
      std::any_of(s.filters.begin(), s.filters.end(), [&](const std::string& g) {
        // A bare suite name selects the whole suite.
        return fnmatch(g.c_str(), full_id.c_str(), 0) == 0 || full_id.rfind(g + "/", 0) == 0;
      });
  bool by_tag =
      s.tags.empty() || std::any_of(s.tags.begin(), s.tags.end(), [&](const std::string& t) {
        return std::find(tags.begin(), tags.end(), t) != tags.end();
      });
  return by_filter && by_tag;
}

std::string shell_quote(const std::string& s) {
  bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("-_./:=@,+").find(c) != std::string_view::npos;
  });
  if (plain) return s;
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

}  // namespace sockspec::runner
