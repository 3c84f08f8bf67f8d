#include "impair/conditions.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>

namespace sockspec::impair {

namespace {
std::string counts_text(const std::string& name, const Counts& c) {
  std::string s =
      name + ": " + std::to_string(c.arrived) + " arrived, " + std::to_string(c.sent) + " sent";
  auto add = [&](const char* what, uint64_t n) {
    if (n) s += ", " + std::to_string(n) + " " + what;
  };
  add("dropped", c.dropped);
  add("dropped by the full rate-limited queue", c.overflowed);
  add("duplicated", c.duplicated);
  add("reordered", c.reordered);
  add("corrupted", c.corrupted);
  add("truncated", c.truncated);
  return s;
}
}  // namespace

std::string describe(const Stats& s) {
  std::string out;
  if (s.to_server.arrived || s.to_client.arrived)
    out = counts_text(std::string(s.unit) + " to server", s.to_server) + "; " +
          counts_text(std::string(s.unit) + " to client", s.to_client);
  const StreamCounts& t = s.stream;
  if (t.connections) {
    if (!out.empty()) out += "; ";
    out += "stream: " + std::to_string(t.connections) + " connections, " +
           std::to_string(t.bytes_to_server) + " bytes to server in " +
           std::to_string(t.writes_to_server) + " writes, " + std::to_string(t.bytes_to_client) +
           " bytes to client in " + std::to_string(t.writes_to_client) + " writes";
    if (t.resets) out += ", " + std::to_string(t.resets) + " reset";
    if (t.closes) out += ", " + std::to_string(t.closes) + " closed";
    if (t.upstream_failures)
      out += ", " + std::to_string(t.upstream_failures) + " could not reach the target";
  }
  // Never expected: a release before its stamp + delay would be a relay bug, so it is shown.
  if (s.releases.early)
    out += (out.empty() ? "" : "; ") + std::to_string(s.releases.early) + " of " +
           std::to_string(s.releases.released) + " released before their due time";
  return out.empty() ? "no traffic" : out;
}

Mailbox::Mailbox(const Spec& initial)
    : wake_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)), spec_(initial) {}

void Mailbox::ring() const {
  uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(wake_.get(), &one, sizeof one);
}

void Mailbox::post(const Spec& spec) {
  std::unique_lock<std::mutex> lock(mu_);
  spec_ = spec;
  uint64_t gen = ++wanted_;
  ring();
  taken_cv_.wait_for(lock, std::chrono::seconds(2), [&] { return taken_ >= gen; });
}

void Mailbox::stop() {
  stopping_ = true;
  ring();
}

Spec Mailbox::spec() const {
  std::lock_guard<std::mutex> lock(mu_);
  return spec_;
}

Stats Mailbox::stats() const {
  std::unique_lock<std::mutex> lock(mu_);
  uint64_t ask = ++stats_asked_;
  ring();
  published_cv_.wait_for(lock, std::chrono::seconds(2), [&] { return stats_answered_ >= ask; });
  return published_;
}

std::optional<Spec> Mailbox::take() {
  uint64_t v;
  [[maybe_unused]] auto r = ::read(wake_.get(), &v, sizeof v);
  std::lock_guard<std::mutex> lock(mu_);
  if (taken_ == wanted_) return std::nullopt;
  taken_ = wanted_;
  taken_cv_.notify_all();
  return spec_;
}

void Mailbox::publish(const Stats& s) {
  std::lock_guard<std::mutex> lock(mu_);
  published_ = s;
  stats_answered_ = stats_asked_;
  published_cv_.notify_all();
}

}  // namespace sockspec::impair
