#include "runner/report_files.h"

#include <poll.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>

#include "reports/html_writer.h"
#include "reports/json_reader.h"
#include "reports/json_writer.h"
#include "reports/junit_writer.h"
#include "reports/markdown_writer.h"
#include "runner/suites.h"

namespace sockspec::runner {

std::string utc_now_iso8601() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string host_name() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

bool cancel_requested(int fd) {
  if (fd < 0) return false;
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1;
}

void ReportPaths::defaults_in(const std::string& dir, const std::string& prefix,
                              const std::string& html_name) {
  if (dir.empty()) return;
  if (json.empty()) json = dir + "/" + prefix + "report.json";
  if (junit.empty()) junit = dir + "/" + prefix + "junit.xml";
  if (html.empty()) html = dir + "/" + html_name;
  if (markdown.empty()) markdown = dir + "/" + prefix + "summary.md";
}

bool write_output(const std::string& path, const std::function<void(std::ostream&)>& writer,
                  std::ostream& err) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::ofstream f(path, std::ios::binary);
  if (f) writer(f);
  if (!f) err << "cannot write " << path << "\n";
  return static_cast<bool>(f);
}

std::optional<reports::RunReport> read_report_file(const std::string& path, std::ostream& err) {
  std::string why;
  auto text = read_file(path, &why);
  if (!text) {
    err << path << ": " << why << "\n";
    return std::nullopt;
  }
  auto r = reports::read_report_text(*text);
  if (!r.report) err << path << ": " << r.error << "\n";
  return r.report;
}

bool write_report_files(const reports::RunReport& r, const ReportPaths& p, std::ostream& out,
                        std::ostream& err) {
  bool ok = true;
  auto write = [&](const std::string& path, const char* what,
                   void (*writer)(const reports::RunReport&, std::ostream&)) {
    if (path.empty()) return;
    if (!write_output(
            path, [&](std::ostream& f) { writer(r, f); }, err)) {
      ok = false;
      return;
    }
    out << what << path << "\n";
  };
  write(p.json, "report:   ", reports::write_json);
  write(p.junit, "junit:    ", reports::write_junit);
  write(p.markdown, "markdown: ", reports::write_markdown);
  write(p.html, "html:     ", reports::write_html);
  return ok;
}

int write_unreachable_report(reports::RunReport r, const std::string& reason,
                             const ReportPaths& paths, std::ostream& out, std::ostream& err) {
  r.notes.push_back(reason);
  r.exit_code = 3;
  write_report_files(r, paths, out, err);
  return 3;
}

}  // namespace sockspec::runner
