#include "engine/case_run.h"

#include <sstream>

#include "common/codec.h"

namespace sockspec::engine {

ScaledTimeout scale_timeout(uint64_t ms, const char* whose, double scale) {
  std::string base = std::to_string(ms) + " ms";
  if (scale == 1.0) return {ms, base + " (" + whose + " timeout_ms)"};
  auto scaled = static_cast<uint64_t>(static_cast<double>(ms) * scale + 0.5);
  std::ostringstream factor;
  factor << scale;
  return {scaled, std::to_string(scaled) + " ms (" + whose + " timeout_ms of " + base + ", x" +
                      factor.str() + " by --timeout-scale)"};
}

std::vector<std::pair<std::string, std::string>> printable_captures(const scenario::Captures& c) {
  constexpr size_t kKept = 1024;  // a report shows tokens, not whole replies
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, val] : c.all()) {
    if (val.is_integer()) {
      out.emplace_back(name, std::to_string(val.integer));
      continue;
    }
    const std::string& value = val.bytes;
    std::string v = escape_bytes(std::string_view(value).substr(0, kKept));
    if (value.size() > kKept) v += "... (" + std::to_string(value.size()) + " bytes)";
    out.emplace_back(name, std::move(v));
  }
  return out;
}

Client& CaseRun::spawn(const scenario::Steps& steps, scenario::VarValues vars,
                       std::string path_prefix, net::Deadline deadline, std::string deadline_what,
                       std::function<void()> on_finish) {
  clients_.push_back(std::make_unique<Client>(*this, steps, std::move(vars), std::move(path_prefix),
                                              deadline, std::move(deadline_what),
                                              std::move(on_finish)));
  return *clients_.back();
}

CaseOutcome run_case(const scenario::Case& c, const RunCaseOptions& opts) {
  auto started = net::Clock::now();
  net::EventLoop loop;
  CaseEnv env{.target = opts.target,
              .seed = opts.seed,
              .default_timeout_ms = opts.default_timeout_ms,
              .server = opts.server,
              .loop = loop,
              .getenv = opts.getenv,
              .impair = opts.impair,
              .timeout_scale = opts.timeout_scale,
              .tls = nullptr,  // made by the first TLS handshake
              .on_handshake = nullptr};
  CaseRun run(std::move(env));

  scenario::VarValues vars;
  vars.target_host = opts.target.host;
  vars.target_port = opts.target.addr.port();
  vars.seed = opts.seed;
  vars.env = opts.getenv;

  net::Deadline deadline = net::Deadline::max();
  std::string what;
  if (c.timeout_ms) {
    auto t = scale_timeout(*c.timeout_ms, "the case's", opts.timeout_scale);
    deadline = started + std::chrono::milliseconds(t.ms);
    what = std::move(t.what);
  }
  Client& root = run.spawn(c.steps, vars, "", deadline, what, [] {});
  root.start();
  auto stop = loop.run([&] { return root.finished(); }, opts.cancel_fd);

  CaseOutcome out;
  out.steps = root.results();
  out.captures = printable_captures(root.captures());
  if (stop == net::EventLoop::Stop::cancelled) {
    out.verdict = reports::Verdict::error;
    out.reason = "interrupted";
  } else if (!root.finished()) {
    out.verdict = reports::Verdict::error;
    out.reason = "internal error: the case stopped with nothing to wait for";
  } else {
    for (const auto& s : out.steps) {
      if (s.verdict == reports::Verdict::error) {
        out.verdict = reports::Verdict::error;
        break;
      }
      if (s.verdict == reports::Verdict::fail) out.verdict = reports::Verdict::fail;
    }
    for (const auto& s : out.steps) {
      if (s.verdict == out.verdict && out.verdict != reports::Verdict::pass) {
        // A label says which rule the step checks ("RFC 864: 0 to 512 characters"): the reason
        // then reads in the spec's terms, not only in bytes.
        out.reason = "step " + s.path + " " + s.op + (s.label.empty() ? "" : " (" + s.label + ")") +
                     ": " + s.message;
        break;
      }
    }
  }
  out.duration_ms = std::chrono::duration<double, std::milli>(net::Clock::now() - started).count();
  return out;
}

}  // namespace sockspec::engine
