#include "runner/suites.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/codec.h"
#include "load/profile.h"
#include "net/fd.h"
#include "reports/json_guard.h"

namespace sockspec::runner {

namespace fs = std::filesystem;

namespace {
// `found` marks the files a folder walk found (not named by the user).
void collect(const fs::path& p, std::vector<std::string>& files, std::vector<bool>& found_in_dir,
             std::vector<scenario::Diagnostic>& errors) {
  std::error_code ec;
  if (fs::is_directory(p, ec)) {
    std::vector<std::string> found;
    for (auto it = fs::recursive_directory_iterator(p, ec);
         it != fs::recursive_directory_iterator(); ++it) {
      const auto name = it->path().filename().string();
      if (it->is_directory() && (name == "schema" || name == "load")) {
        it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file() && it->path().extension() == ".json")
        found.push_back(it->path().string());
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
    found_in_dir.resize(files.size(), true);
    return;
  }
  if (!fs::exists(p, ec)) {
    errors.push_back({p.string(), "", "no such file or directory"});
    return;
  }
  files.push_back(p.string());
  found_in_dir.push_back(false);
}
// A load profile says "profile" where a suite says "suite"; anything else is read as a suite.
bool is_profile(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  return j.is_object() && j.contains("profile") && !j.contains("suite");
}
// A JSON file in a folder that is no scenario at all (no "format", "suite" or "profile"):
// why it is passed over, or "" when it is read as a suite. Reports that `--out` wrote beside
// the suites are the usual case; a named file is always read, so its mistakes are reported.
std::string not_a_scenario(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || j.contains("format") || j.contains("suite") || j.contains("profile"))
    return "";
  if (j.contains("schema_version") && j.contains("suites")) return "a sockspec report";
  return "no \"format\", \"suite\" or \"profile\" key";
}
}  // namespace

void reject_profiles(Loaded& l) {
  for (const auto& f : l.profiles) {
    l.errors.push_back(
        {f, "", "is a load profile: run it with `sockspec load " + f + " --target ...`"});
  }
  l.profiles.clear();
}

Loaded load_suites(const std::vector<std::string>& paths) {
  Loaded out;
  std::vector<std::string> files;
  std::vector<bool> found_in_dir;
  for (const auto& p : paths) collect(p, files, found_in_dir, out.errors);
  std::map<std::string, std::string> seen;  // suite name -> file
  for (size_t k = 0; k < files.size(); ++k) {
    const std::string& f = files[k];
    std::string why;
    auto text = read_file(f, &why);
    if (!text) {
      out.errors.push_back({f, "", why});
      continue;
    }
    if (auto problem = reports::check_json_limits(*text)) {  // before anything parses it
      out.errors.push_back({f, problem->pointer, problem->message});
      continue;
    }
    if (found_in_dir[k]) {
      if (auto what = not_a_scenario(*text); !what.empty()) {
        out.skipped.push_back(f + ": " + what + ", not a scenario");
        continue;
      }
    }
    if (is_profile(*text)) {
      auto profile = load::parse_profile(*text, f);
      out.errors.insert(out.errors.end(), profile.errors.begin(), profile.errors.end());
      if (profile.profile) out.profiles.push_back(f);
      continue;
    }
    auto parsed = scenario::parse_suite(*text, f);
    out.errors.insert(out.errors.end(), parsed.errors.begin(), parsed.errors.end());
    if (!parsed.suite) continue;
    auto [it, fresh] = seen.emplace(parsed.suite->suite, f);
    if (!fresh) {
      out.errors.push_back(
          {f, "/suite", "suite name '" + parsed.suite->suite + "' is also used by " + it->second});
      continue;
    }
    out.suites.push_back(std::move(*parsed.suite));
  }
  return out;
}

std::optional<std::string> read_file(const std::string& path, std::string* why) {
  auto fail = [&](std::string reason) -> std::optional<std::string> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever. Only a
  // regular file is read; its size is known before a byte is read.
  net::Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return fail("cannot be opened: " + errno_name(errno));
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return fail("cannot be read: fstat: " + errno_name(errno));
  if (!S_ISREG(st.st_mode)) {
    const char* kind = S_ISFIFO(st.st_mode)   ? "a FIFO"
                       : S_ISDIR(st.st_mode)  ? "a directory"
                       : S_ISCHR(st.st_mode)  ? "a character device"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "not a regular file";
    return fail(std::string("is ") + kind + "; only regular files are read");
  }
  auto size = static_cast<uint64_t>(st.st_size);
  if (size > reports::kMaxJsonBytes) {
    return fail("is " + std::to_string(size) + " bytes; the limit is " +
                std::to_string(reports::kMaxJsonBytes));
  }
  std::string text;
  text.resize(static_cast<size_t>(size));
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot be read: " + errno_name(errno));
    if (n == 0) break;  // it shrank while we read
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  return text;
}

std::string builtin_scenarios_dir(const std::string& self_exe) {
  if (const char* env = std::getenv("SOCKSPEC_SCENARIOS")) return env;
  // An installed sockspec (PREFIX/bin) finds PREFIX/share/sockspec by the same relative path
  // wherever PREFIX is (DESTDIR, /usr, /opt/x); a build-tree binary has none there.
  if (!self_exe.empty()) {
    auto installed = std::filesystem::path(self_exe).parent_path() / SOCKSPEC_DATA_FROM_BIN;
    std::error_code ec;
    if (std::filesystem::is_directory(installed / "suites", ec)) {
      return installed.lexically_normal().string();
    }
  }
  return SOCKSPEC_SCENARIOS_DIR;
}

}  // namespace sockspec::runner
