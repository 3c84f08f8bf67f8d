#include "load/profile.h"

#include <nlohmann/json.hpp>

#include "load/pipeline_steps.h"
#include "scenario/fields.h"

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

std::string in_flight_problem(const Profile& p, unsigned in_flight) {
  if (p.match_by) {
    std::string why;
    if (!pipeline_steps(p.iteration, p.default_timeout_ms, why)) return "match_by " + why;
    if (p.match_by->width < 8 && in_flight >= (1ull << p.match_by->range_bits())) {
      return "a match_by field of " + std::to_string(p.match_by->width) + " byte(s) numbers " +
             std::to_string(1ull << p.match_by->range_bits()) +
             " requests at most: keep in_flight below that";
    }
    return "";
  }
  if (!p.windowed(in_flight)) return "";
  std::string why;
  if (!pipeline_steps(p.iteration, p.default_timeout_ms, why))
    return (in_flight > 1 ? "more than 1 in flight " : "udp_tag_offset ") + why;
  if (p.transport == scenario::Transport::udp && !p.udp_sequence) {
    return "more than 1 in flight over UDP needs udp_sequence (replies are matched to their "
           "datagrams by tag) or match_by (by a field of the protocol, e.g. a DNS id: "
           "\"match_by\": {\"offset\": 0, \"width\": 2})";
  }
  return "";
}

namespace {

// The first `expect` of the profile that does not echo its request (a nested one names the
// step that holds it).
const scenario::Step* first_non_echo_expect(const Profile& p) {
  auto not_echo = [](const scenario::Step& s) {
    const auto* e = std::get_if<scenario::ExpectOp>(&s.op);
    return e && !std::holds_alternative<scenario::EchoMatch>(e->matcher.kind);
  };
  for (const scenario::Steps* list : {&p.setup, &p.iteration, &p.teardown}) {
    for (const scenario::Step& s : *list) {
      const auto* r = std::get_if<scenario::RepeatOp>(&s.op);
      const auto* par = std::get_if<scenario::ParallelOp>(&s.op);
      if (not_echo(s) || (r && scenario::any_step(r->steps, not_echo)) ||
          (par && scenario::any_step(par->steps, not_echo)))
        return &s;
    }
  }
  return nullptr;
}

}  // namespace

ProfileParse parse_profile(std::string_view text, const std::string& file) {
  ProfileParse out;
  auto doc = scenario::parse_json_text(text, file, out.errors);
  if (!doc) return out;
  const json& root = *doc;
  Profile p;
  p.file = file;
  scenario::DiagnosticSink sink(file, out.errors);
  scenario::Fields r(sink, root, "");
  if (!r.ok()) return out;
  if (const json* f = r.take("format"); !f || *f != 1) r.error("format", "must be 1");
  p.name = r.str("profile", true).value_or("");
  r.str("$schema", false);  // where an editor finds the JSON Schema; top level only
  p.title = r.str("title", false).value_or("");
  p.service = r.str("service", false).value_or("");
  std::string t = r.str("transport", false).value_or("");
  if (t == "udp") {
    p.transport = scenario::Transport::udp;
  } else if (!t.empty() && t != "tcp") {
    r.error("transport", "must be \"tcp\" or \"udp\", got \"" + t + "\"");
  }
  if (const json* d = r.take("defaults")) {
    scenario::Fields dr(sink, *d, "/defaults");
    p.default_timeout_ms = dr.uint("timeout_ms", false, 1, 3'600'000).value_or(2000);
    dr.reject_unknown("defaults");
  }
  p.duration_s = r.number("duration_s", false, 0.1, 86400).value_or(10);
  p.warmup_s = r.number("warmup_s", false, 0, 3600).value_or(0);
  p.threads = static_cast<unsigned>(r.uint("threads", false, 0, 256).value_or(0));
  if (const json* e = r.take("executor")) {
    scenario::Fields er(sink, *e, "/executor");
    std::string type = er.str("type", true).value_or("");
    auto connections = [&](const char* key) {
      return static_cast<unsigned>(er.uint(key, false, 1, 100000).value_or(1));
    };
    if (type == "closed") {
      p.executor = Profile::Executor::closed;
      p.connections = connections("vus");
    } else if (type == "constant-rate") {
      p.executor = Profile::Executor::constant_rate;
      p.rate = er.number("rate", false, 0.001, 10'000'000).value_or(0);
      if (er.ok() && !er.has("rate")) er.error("rate", "is required for constant-rate");
      p.connections = connections("connections");
    } else if (type == "ramping-rate") {
      p.executor = Profile::Executor::ramping_rate;
      p.connections = connections("connections");
      p.rate = er.number("start_rate", false, 0, 10'000'000).value_or(0);
      const json* st = er.take("stages");
      if (!st || !st->is_array() || st->empty()) {
        er.error("stages", "must be a non-empty array of {\"duration_s\", \"rate\"}");
      } else {
        double total = 0;
        for (size_t i = 0; i < st->size(); ++i) {
          scenario::Fields sr(sink, (*st)[i], er.ptr("stages") + "/" + std::to_string(i));
          Stage s{sr.number("duration_s", false, 0.1, 86400).value_or(1),
                  sr.number("rate", false, 0, 10'000'000).value_or(0)};
          sr.reject_unknown("a stage");
          total += s.duration_s;
          p.stages.push_back(s);
        }
        if (!r.has("duration_s")) p.duration_s = total;
      }
    } else if (!type.empty()) {
      er.error("type", "must be closed, constant-rate or ramping-rate, got \"" + type + "\"");
    }
    er.reject_unknown("executor " + type);
  } else {
    r.error("executor", "is required, e.g. {\"type\": \"closed\", \"vus\": 10}");
  }
  std::optional<bool> udp_sequence = r.boolean("udp_sequence");
  bool in_flight_given = r.has("in_flight");
  if (const json* f = r.take("in_flight")) {
    if (f->is_string() && *f == "auto") {
      p.in_flight_auto = true;
    } else if (f->is_number_unsigned() && *f >= 1u && *f <= kMaxInFlight) {
      p.in_flight = f->get<unsigned>();
    } else {
      r.error("in_flight", "must be an integer from 1 to " + std::to_string(kMaxInFlight) +
                               " or \"auto\", got " + f->dump());
    }
  }
  p.udp_tag_offset = static_cast<unsigned>(r.uint("udp_tag_offset", false, 0, 65'000).value_or(0));
  if (const json* m = r.take("match_by")) {
    scenario::Fields mr(sink, *m, "/match_by");
    MatchBy mb;
    mb.offset = static_cast<size_t>(mr.uint("offset", true, 0, 65'000).value_or(0));
    uint64_t width = mr.uint("width", true, 1, 8).value_or(2);
    if (width != 1 && width != 2 && width != 4 && width != 8) {
      mr.error("width", "must be 1, 2, 4 or 8 (bytes), got " + std::to_string(width));
    }
    mb.width = static_cast<unsigned>(width);
    std::string endian = mr.str("endian", false).value_or("big");
    if (endian != "big" && endian != "little")
      mr.error("endian", "must be \"big\" or \"little\", got \"" + endian + "\"");
    mb.little = endian == "little";
    mr.reject_unknown("match_by");
    p.match_by = mb;
    if (udp_sequence.value_or(false))
      r.error("udp_sequence", "match_by numbers the requests itself: no tag goes with it");
    if (p.udp_tag_offset > 0)
      r.error("udp_tag_offset", "places the UDP tag, which match_by replaces");
  }
  p.udp_sequence = !p.match_by && udp_sequence.value_or(p.transport == scenario::Transport::udp);
  if (p.udp_tag_offset > 0 && !p.match_by &&
      (p.transport != scenario::Transport::udp || !p.udp_sequence))
    r.error("udp_tag_offset", "places the UDP tag: it needs a UDP profile with udp_sequence");
  p.iterations_per_vu = r.uint("iterations", false, 0, 1'000'000'000'000).value_or(0);
  p.source_addresses = static_cast<unsigned>(r.uint("source_addresses", false, 0, 254).value_or(0));
  if (const json* th = r.take("thresholds")) {
    if (!th->is_array()) {
      r.error("thresholds", "must be an array of strings like \"p99 < 2ms\"");
    } else {
      for (size_t i = 0; i < th->size(); ++i) {
        const json& v = (*th)[i];
        auto parsed = v.is_string() ? reports::parse_threshold(v.get<std::string>())
                                    : reports::ThresholdParse{};
        if (!v.is_string()) parsed.error = "must be a string like \"p99 < 2ms\"";
        if (parsed.threshold) {
          p.thresholds.push_back(*parsed.threshold);
        } else {
          sink.error("/thresholds/" + std::to_string(i), parsed.error);
        }
      }
    }
  }
  const json* setup = r.take("setup");
  const json* iteration = r.take("iteration");
  const json* teardown = r.take("teardown");
  if (!iteration) r.error("iteration", "is required: the steps each virtual user repeats");
  r.reject_unknown("a load profile");
  auto steps = scenario::parse_step_lists(
      {{setup, "/setup"}, {iteration, "/iteration"}, {teardown, "/teardown"}}, file, p.transport,
      1);  // ${i}: the iteration's number on its virtual user
  out.errors.insert(out.errors.end(), steps.errors.begin(), steps.errors.end());
  if (!out.errors.empty()) return out;
  p.setup = std::move(steps.lists[0]);
  p.iteration = std::move(steps.lists[1]);
  p.teardown = std::move(steps.lists[2]);
  if (p.in_flight_auto && p.executor == Profile::Executor::closed) {
    out.errors.push_back({file, "/in_flight",
                          "\"auto\" sizes an open loop's window from its rate and timeout; a "
                          "closed loop keeps its window full: give a number"});
    return out;
  }
  // What `auto` is checked as: a window (its size is known when the run starts).
  if (std::string why = in_flight_problem(p, p.in_flight_auto ? 2 : p.in_flight); !why.empty()) {
    out.errors.push_back({file, p.match_by ? "/match_by" : "/in_flight", why});
    return out;
  }
  // Tags on by default rewrite the start of every datagram: only a reply that echoes the
  // request carries them back. Any other UDP profile must say what it wants.
  if (p.transport == scenario::Transport::udp && p.udp_sequence && !udp_sequence &&
      p.udp_tag_offset == 0) {
    const scenario::Step* other = first_non_echo_expect(p);
    if (!other) {
      p.udp_sequence = any_list(p, scenario::uses_echo);  // no reply expected: nothing to count
    } else {
      out.errors.push_back(
          {file, other->pointer,
           "this expect is not `echo`, but UDP datagrams carry an 18-byte tag at their start "
           "by default (udp_sequence, for the loss counts), so the server would get rewritten "
           "datagrams and its replies would carry no tag. Write \"match_by\": {\"offset\": "
           "0, \"width\": 2} to number the requests in a field of the protocol (its id), "
           "\"udp_sequence\": false to send the datagrams as written (one in flight), or "
           "\"udp_sequence\": true if the server returns the tag"});
      return out;
    }
  }
  // An open loop over UDP that names no window gets one sized for its rate: at one datagram
  // at a time, a lost one would hold its connection for the whole timeout and starts would
  // be missed behind it. Only an iteration a window can run (one send, one expect) qualifies.
  if (!in_flight_given && p.transport == scenario::Transport::udp &&
      p.executor != Profile::Executor::closed && (p.udp_sequence || p.match_by)) {
    std::string why;
    p.in_flight_auto = pipeline_steps(p.iteration, p.default_timeout_ms, why).has_value();
  }
  if (any_list(p, scenario::uses_server)) {
    out.errors.push_back({file, "", "server steps are not allowed in a load profile"});
    return out;
  }
  if (any_list(p, scenario::uses_impair)) {
    // One relay serves every virtual user: a step of one user would change the network of all.
    out.errors.push_back({file, "",
                          "impair steps are not allowed in a load profile; give the conditions "
                          "for the whole run with --impair"});
    return out;
  }
  out.profile = std::move(p);
  return out;
}

}  // namespace sockspec::load
