#include "load/profile.h"

#include <nlohmann/json.hpp>
#include <set>

namespace sockspec::load {

using json = nlohmann::json;

const char* to_string(Profile::Executor e) {
  switch (e) {
    case Profile::Executor::closed:
      return "closed";
    case Profile::Executor::constant_rate:
      return "constant-rate";
    case Profile::Executor::ramping_rate:
      return "ramping-rate";
  }
  return "closed";
}

namespace {

// Reads one JSON object's keys by name and reports the rest as unknown, like suites do.
class Reader {
 public:
  Reader(const json& j, std::string ptr, std::string file, std::vector<scenario::Diagnostic>& errs)
      : j_(j), ptr_(std::move(ptr)), file_(std::move(file)), errs_(errs) {
    if (!j.is_object()) error(ptr_, "must be an object, got " + j.dump().substr(0, 60));
  }
  const json* get(const std::string& key) {
    known_.insert(key);
    if (!j_.is_object() || !j_.contains(key)) return nullptr;
    return &j_[key];
  }
  std::string ptr(const std::string& key) const {
    return ptr_ + "/" + scenario::pointer_escape(key);
  }
  void error(const std::string& ptr, const std::string& msg) { errs_.push_back({file_, ptr, msg}); }
  double number(const std::string& key, double def, double min, double max) {
    const json* v = get(key);
    if (!v) return def;
    if (!v->is_number() || v->get<double>() < min || v->get<double>() > max) {
      error(ptr(key),
            "must be a number from " + num(min) + " to " + num(max) + ", got " + v->dump());
      return def;
    }
    return v->get<double>();
  }
  std::string str(const std::string& key, bool required) {
    const json* v = get(key);
    if (!v) {
      if (required) error(ptr(key), "is required");
      return "";
    }
    if (!v->is_string()) {
      error(ptr(key), "must be a string, got " + v->dump());
      return "";
    }
    return v->get<std::string>();
  }
  void finish(const std::string& what) {
    if (!j_.is_object()) return;
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (!known_.count(it.key()) && it.key().rfind("x-", 0) != 0) {
        error(ptr(it.key()), "unknown key '" + it.key() + "' in " + what);
      }
    }
  }

 private:
  static std::string num(double v) {
    std::string s = std::to_string(v);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }
  const json& j_;
  std::string ptr_, file_;
  std::vector<scenario::Diagnostic>& errs_;
  std::set<std::string> known_;
};

}  // namespace

ProfileParse parse_profile(std::string_view text, const std::string& file) {
  ProfileParse out;
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    out.errors.push_back({file, "", std::string("invalid JSON: ") + e.what()});
    return out;
  }
  Profile p;
  p.file = file;
  Reader r(root, "", file, out.errors);
  if (const json* f = r.get("format"); !f || *f != 1) r.error("/format", "must be 1");
  p.name = r.str("profile", true);
  p.title = r.str("title", false);
  p.service = r.str("service", false);
  std::string t = r.str("transport", false);
  if (t == "udp") {
    p.transport = scenario::Transport::udp;
  } else if (!t.empty() && t != "tcp") {
    r.error("/transport", "must be \"tcp\" or \"udp\", got \"" + t + "\"");
  }
  if (const json* d = r.get("defaults")) {
    Reader dr(*d, "/defaults", file, out.errors);
    p.default_timeout_ms = static_cast<uint64_t>(dr.number("timeout_ms", 2000, 1, 3'600'000));
    dr.finish("defaults");
  }
  p.duration_s = r.number("duration_s", 10, 0.1, 86400);
  p.warmup_s = r.number("warmup_s", 0, 0, 3600);
  p.threads = static_cast<unsigned>(r.number("threads", 0, 0, 256));
  if (const json* e = r.get("executor")) {
    Reader er(*e, "/executor", file, out.errors);
    std::string type = er.str("type", true);
    if (type == "closed") {
      p.executor = Profile::Executor::closed;
      p.connections = static_cast<unsigned>(er.number("vus", 1, 1, 100000));
    } else if (type == "constant-rate") {
      p.executor = Profile::Executor::constant_rate;
      p.rate = er.number("rate", 0, 0.001, 10'000'000);
      if (!e->contains("rate")) er.error("/executor/rate", "is required for constant-rate");
      p.connections = static_cast<unsigned>(er.number("connections", 1, 1, 100000));
    } else if (type == "ramping-rate") {
      p.executor = Profile::Executor::ramping_rate;
      p.connections = static_cast<unsigned>(er.number("connections", 1, 1, 100000));
      p.rate = er.number("start_rate", 0, 0, 10'000'000);
      const json* st = er.get("stages");
      if (!st || !st->is_array() || st->empty()) {
        er.error("/executor/stages", "must be a non-empty array of {\"duration_s\", \"rate\"}");
      } else {
        double total = 0;
        for (size_t i = 0; i < st->size(); ++i) {
          Reader sr((*st)[i], "/executor/stages/" + std::to_string(i), file, out.errors);
          Stage s{sr.number("duration_s", 1, 0.1, 86400), sr.number("rate", 0, 0, 10'000'000)};
          sr.finish("a stage");
          total += s.duration_s;
          p.stages.push_back(s);
        }
        if (!root.contains("duration_s")) p.duration_s = total;
      }
    } else if (!type.empty()) {
      er.error("/executor/type",
               "must be closed, constant-rate or ramping-rate, got \"" + type + "\"");
    }
    er.finish("executor " + type);
  } else {
    r.error("/executor", "is required, e.g. {\"type\": \"closed\", \"vus\": 10}");
  }
  if (const json* us = r.get("udp_sequence")) {
    if (!us->is_boolean()) r.error("/udp_sequence", "must be true or false");
    p.udp_sequence = us->is_boolean() && us->get<bool>();
  }
  p.iterations_per_vu = static_cast<uint64_t>(r.number("iterations", 0, 0, 1e12));
  p.source_addresses = static_cast<unsigned>(r.number("source_addresses", 0, 0, 254));
  if (const json* th = r.get("thresholds")) {
    if (!th->is_array()) {
      r.error("/thresholds", "must be an array of strings like \"p99 < 2ms\"");
    } else {
      for (size_t i = 0; i < th->size(); ++i) {
        const json& v = (*th)[i];
        auto parsed = v.is_string() ? reports::parse_threshold(v.get<std::string>())
                                    : reports::ThresholdParse{};
        if (!v.is_string()) parsed.error = "must be a string like \"p99 < 2ms\"";
        if (parsed.threshold) {
          p.thresholds.push_back(*parsed.threshold);
        } else {
          r.error("/thresholds/" + std::to_string(i), parsed.error);
        }
      }
    }
  }
  const json* setup = r.get("setup");
  const json* iteration = r.get("iteration");
  const json* teardown = r.get("teardown");
  if (!iteration) r.error("/iteration", "is required: the steps each virtual user repeats");
  r.finish("a load profile");
  auto steps = scenario::parse_step_lists(
      {{setup, "/setup"}, {iteration, "/iteration"}, {teardown, "/teardown"}}, file, p.transport);
  out.errors.insert(out.errors.end(), steps.errors.begin(), steps.errors.end());
  if (!out.errors.empty()) return out;
  p.setup = std::move(steps.lists[0]);
  p.iteration = std::move(steps.lists[1]);
  p.teardown = std::move(steps.lists[2]);
  if (scenario::uses_server(p.setup) || scenario::uses_server(p.iteration) ||
      scenario::uses_server(p.teardown)) {
    out.errors.push_back({file, "", "server steps are not allowed in a load profile"});
    return out;
  }
  out.profile = std::move(p);
  return out;
}

}  // namespace sockspec::load
