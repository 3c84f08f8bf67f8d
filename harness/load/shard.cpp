#include "load/shard.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace sockspec::load {

namespace {

std::optional<uint64_t> whole(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

constexpr uint64_t kMaxShards = 100000;

ShardChoice make(uint64_t index, uint64_t count, std::string source) {
  ShardChoice c;
  c.source = std::move(source);
  if (count < 1 || count > kMaxShards) {
    c.error = c.source + ": the shard count must be 1.." + std::to_string(kMaxShards) + ", got " +
              std::to_string(count);
  } else if (index >= count) {
    c.error = c.source + ": shard index " + std::to_string(index) + " is not below the count " +
              std::to_string(count) + " (shards are numbered 0.." + std::to_string(count - 1) + ")";
  } else {
    c.shard = Shard{static_cast<unsigned>(index), static_cast<unsigned>(count)};
  }
  return c;
}

ShardChoice fail(std::string source, std::string error) {
  ShardChoice c;
  c.source = std::move(source);
  c.error = std::move(error);
  return c;
}

// total * k / n without overflow (total up to 2^64, k <= n <= 10^5).
uint64_t scaled_floor(uint64_t total, uint64_t k, uint64_t n) {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(total) * k / n);
}

}  // namespace

ShardChoice parse_shard(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos)
    return fail("--shard", "--shard: expected I/N (e.g. 0/4), got \"" + std::string(text) + "\"");
  auto i = whole(text.substr(0, slash));
  auto n = whole(text.substr(slash + 1));
  if (!i || !n)
    return fail("--shard",
                "--shard: expected I/N with whole numbers, got \"" + std::string(text) + "\"");
  return make(*i, *n, "--shard");
}

ShardChoice choose_shard(std::string_view shard_option, unsigned shards_option,
                         const std::function<const char*(const char*)>& env) {
  if (!shard_option.empty()) {
    if (shards_option > 0)
      return fail("--shard",
                  "give --shard I/N or --shards N (with JOB_COMPLETION_INDEX), not both");
    return parse_shard(shard_option);
  }
  auto number = [&](const char* name) -> std::optional<uint64_t> {
    const char* v = env(name);
    return v ? whole(v) : std::nullopt;
  };
  auto bad = [&](const char* name) {
    return fail(name, std::string(name) + ": expected a whole number, got \"" + env(name) + "\"");
  };
  if (env("JOB_COMPLETION_INDEX")) {
    auto i = number("JOB_COMPLETION_INDEX");
    if (!i) return bad("JOB_COMPLETION_INDEX");
    if (shards_option > 0) return make(*i, shards_option, "JOB_COMPLETION_INDEX");
    if (!env("SOCKSPEC_SHARDS"))
      return fail("JOB_COMPLETION_INDEX",
                  "JOB_COMPLETION_INDEX is set but not the shard count: give --shards N or set "
                  "SOCKSPEC_SHARDS (the Job's completions)");
    auto n = number("SOCKSPEC_SHARDS");
    if (!n) return bad("SOCKSPEC_SHARDS");
    return make(*i, *n, "JOB_COMPLETION_INDEX");
  }
  if (env("SLURM_ARRAY_TASK_ID")) {
    auto id = number("SLURM_ARRAY_TASK_ID");
    if (!id) return bad("SLURM_ARRAY_TASK_ID");
    if (!env("SLURM_ARRAY_TASK_COUNT"))
      return fail("SLURM_ARRAY_TASK_ID",
                  "SLURM_ARRAY_TASK_ID is set without SLURM_ARRAY_TASK_COUNT");
    auto n = number("SLURM_ARRAY_TASK_COUNT");
    if (!n) return bad("SLURM_ARRAY_TASK_COUNT");
    uint64_t min = 0;
    if (env("SLURM_ARRAY_TASK_MIN")) {  // --array=1-4 numbers its tasks from 1
      auto m = number("SLURM_ARRAY_TASK_MIN");
      if (!m) return bad("SLURM_ARRAY_TASK_MIN");
      min = *m;
    }
    if (*id < min) return make(*id, *n, "SLURM_ARRAY_TASK_ID");
    return make(*id - min, *n, "SLURM_ARRAY_TASK_ID");
  }
  if (shards_option > 1)
    return fail("--shards",
                "--shards N needs JOB_COMPLETION_INDEX in the environment (a "
                "Kubernetes Indexed Job); elsewhere give --shard I/N");
  return make(0, 1, "");
}

uint64_t share_start(uint64_t total, Shard s) { return scaled_floor(total, s.index, s.count); }

uint64_t share_of(uint64_t total, Shard s) {
  return scaled_floor(total, s.index + 1ull, s.count) - share_start(total, s);
}

uint64_t rate_units(double rate) {
  return rate <= 0 ? 0 : static_cast<uint64_t>(std::llround(rate * kRateUnitsPerIteration));
}

double rate_share(double rate, Shard s) {
  return static_cast<double>(share_of(rate_units(rate), s)) / kRateUnitsPerIteration;
}

Slice slice_profile(Profile p, Shard s, unsigned connections_override, double rate_override) {
  Slice out;
  if (connections_override > 0) p.connections = connections_override;
  if (rate_override > 0 && p.executor != Profile::Executor::closed) {
    p.executor = Profile::Executor::constant_rate;  // one rate for the whole run
    p.stages.clear();
    p.rate = rate_override;
  }
  bool closed = p.executor == Profile::Executor::closed;
  const char* what = closed ? "virtual users" : "connections";
  uint64_t users = share_of(p.connections, s);
  if (users == 0) {
    out.error = "the profile's " + std::to_string(p.connections) + " " + what +
                " cannot be split into " + std::to_string(s.count) + " shards: shard " +
                std::to_string(s.index) + " would have none (use at most " +
                std::to_string(p.connections) + " shards, or more " + what + ")";
    return out;
  }
  out.first_user = share_start(p.connections, s);
  p.connections = static_cast<unsigned>(users);
  if (p.executor == Profile::Executor::constant_rate) {
    p.rate = rate_share(p.rate, s);
    if (p.rate <= 0) {
      out.error = "the rate is too small to split into " + std::to_string(s.count) +
                  " shards: shard " + std::to_string(s.index) + " would have none";
      return out;
    }
  } else if (p.executor == Profile::Executor::ramping_rate) {
    p.rate = rate_share(p.rate, s);
    for (auto& st : p.stages) st.rate = rate_share(st.rate, s);
  }
  out.profile = std::move(p);
  return out;
}

std::optional<double> parse_start_at(std::string_view t) {
  if (t.empty()) return std::nullopt;
  if (t.find_first_not_of("0123456789.") == std::string_view::npos) {  // epoch seconds
    double v = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || end != t.data() + t.size()) return std::nullopt;
    return v;
  }
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  auto digits = [&](size_t at, size_t n) -> std::optional<int> {
    if (at + n > t.size()) return std::nullopt;
    auto v = whole(t.substr(at, n));
    return v ? std::optional<int>(static_cast<int>(*v)) : std::nullopt;
  };
  auto at = [&](size_t i, std::string_view chars) {
    return i < t.size() && chars.find(t[i]) != std::string_view::npos;
  };
  auto y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2), h = digits(11, 2), mi = digits(14, 2),
       sec = digits(17, 2);
  if (!y || !mo || !d || !h || !mi || !sec || !at(4, "-") || !at(7, "-") || !at(10, "Tt ") ||
      !at(13, ":") || !at(16, ":"))
    return std::nullopt;
  if (*mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 || *mi > 59 || *sec > 60)
    return std::nullopt;
  size_t i = 19;
  double frac = 0;
  if (at(i, ".")) {
    size_t j = i + 1;
    while (j < t.size() && t[j] >= '0' && t[j] <= '9') ++j;
    if (j == i + 1) return std::nullopt;
    double scale = 0.1;
    for (size_t k = i + 1; k < j; ++k, scale /= 10) frac += (t[k] - '0') * scale;
    i = j;
  }
  int offset_s = 0;
  if (at(i, "Zz") && i + 1 == t.size()) {
    offset_s = 0;
  } else if (at(i, "+-") && i + 6 == t.size() && at(i + 3, ":")) {
    auto oh = digits(i + 1, 2), om = digits(i + 4, 2);
    if (!oh || !om || *oh > 23 || *om > 59) return std::nullopt;
    offset_s = (*oh * 3600 + *om * 60) * (t[i] == '-' ? -1 : 1);
  } else {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = *y - 1900;
  tm.tm_mon = *mo - 1;
  tm.tm_mday = *d;
  tm.tm_hour = *h;
  tm.tm_min = *mi;
  tm.tm_sec = *sec;
  time_t base = timegm(&tm);
  return static_cast<double>(base) - offset_s + frac;
}

std::string format_utc(double epoch_s) {
  auto whole_s = static_cast<time_t>(std::floor(epoch_s));
  auto ms = static_cast<int>(std::llround((epoch_s - static_cast<double>(whole_s)) * 1000));
  if (ms == 1000) {
    ++whole_s;
    ms = 0;
  }
  std::tm tm{};
  gmtime_r(&whole_s, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (ms) {
    char f[8];
    std::snprintf(f, sizeof f, ".%03d", ms);
    out += f;
  }
  return out + "Z";
}

}  // namespace sockspec::load
