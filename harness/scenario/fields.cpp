#include "scenario/fields.h"

#include "reports/json_guard.h"

namespace sockspec::scenario {

using json = nlohmann::json;

std::string Diagnostic::to_string() const { return file + ":" + pointer + ": " + message; }

std::string pointer_escape(std::string_view key) { return reports::json_pointer_escape(key); }

std::optional<json> parse_json_text(std::string_view text, const std::string& file,
                                    std::vector<Diagnostic>& out) {
  if (auto problem = reports::check_json_limits(text)) {
    out.push_back({file, problem->pointer, problem->message});
    return std::nullopt;
  }
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    // Translate the byte offset into line:column, which is what an editor shows.
    size_t line = 1, col = 1;
    for (size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    std::string what = e.what();
    auto pos = what.find("syntax error");
    out.push_back({file, "",
                   "invalid JSON at line " + std::to_string(line) + ", column " +
                       std::to_string(col) + ": " +
                       (pos == std::string::npos ? what : what.substr(pos))});
  } catch (const json::exception& e) {  // anything the guard did not foresee: still this file's
    out.push_back({file, "", std::string("invalid JSON: ") + e.what()});
  }
  return std::nullopt;
}

std::string show(const json& v) {
  std::string s = v.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

Fields::Fields(DiagnosticSink& sink, const json& j, std::string ptr)
    : sink_(sink), obj_(j.is_object() ? &j : nullptr), ptr_(std::move(ptr)) {
  if (!obj_) sink_.error(ptr_, "must be an object, got " + show(j));
}

const json* Fields::take(std::string_view key) {
  known_.insert(std::string(key));
  if (obj_ == nullptr) return nullptr;
  auto it = obj_->find(key);
  return it == obj_->end() ? nullptr : &*it;
}

void Fields::take_all() {
  if (obj_ == nullptr) return;
  for (auto it = obj_->begin(); it != obj_->end(); ++it) known_.insert(it.key());
}

void Fields::reject_unknown(std::string_view what) {
  if (obj_ == nullptr) return;
  for (auto it = obj_->begin(); it != obj_->end(); ++it) {
    const std::string& k = it.key();
    if (known_.count(k) || k.starts_with("x-")) continue;
    std::string allowed;
    for (const auto& kn : known_) allowed += (allowed.empty() ? "" : ", ") + kn;
    sink_.error(ptr(k), "unknown key '" + k + "' in " + std::string(what) +
                            " (allowed: " + allowed + "; keys starting with x- are free)");
  }
}

const json* Fields::present(std::string_view key, bool required) {
  const json* v = take(key);
  if (!v && required && ok()) error(key, "is required");
  return v;
}

std::optional<std::string> Fields::str(std::string_view key, bool required) {
  const json* v = present(key, required);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    error(key, "must be a string, got " + show(*v));
    return std::nullopt;
  }
  return v->get<std::string>();
}

std::optional<uint64_t> Fields::uint(std::string_view key, bool required, uint64_t min,
                                     uint64_t max) {
  const json* v = present(key, required);
  if (!v) return std::nullopt;
  if (v->is_number_integer()) {
    if (v->is_number_unsigned() || v->get<int64_t>() >= 0) {
      uint64_t n = v->get<uint64_t>();
      if (n >= min && n <= max) return n;
    }
    if (min > 0 && !(v->is_number_unsigned()) && v->get<int64_t>() < static_cast<int64_t>(min)) {
      error(key, "must be >= " + std::to_string(min) + ", got " + show(*v));
    } else if (v->is_number_unsigned() && v->get<uint64_t>() > max) {
      error(key, "must be <= " + std::to_string(max) + ", got " + show(*v));
    } else {
      error(key, "must be >= " + std::to_string(min) + ", got " + show(*v));
    }
    return std::nullopt;
  }
  error(key, "must be a whole number, got " + show(*v));
  return std::nullopt;
}

std::optional<double> Fields::number(std::string_view key, bool required, double min, double max) {
  const json* v = present(key, required);
  if (!v) return std::nullopt;
  if (!v->is_number() || v->get<double>() < min || v->get<double>() > max) {
    auto text = [](double d) {
      std::string s = std::to_string(d);
      s.erase(s.find_last_not_of('0') + 1);
      if (!s.empty() && s.back() == '.') s.pop_back();
      return s;
    };
    error(key, "must be a number from " + text(min) + " to " + text(max) + ", got " + show(*v));
    return std::nullopt;
  }
  return v->get<double>();
}

std::optional<bool> Fields::boolean(std::string_view key) {
  const json* v = take(key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) {
    error(key, "must be true or false, got " + show(*v));
    return std::nullopt;
  }
  return v->get<bool>();
}

std::string Fields::or_list(const std::vector<std::string_view>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? " or " : ", ";
    out += words[i];
  }
  return out;
}

}  // namespace sockspec::scenario
