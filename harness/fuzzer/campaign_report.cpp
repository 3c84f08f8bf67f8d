#include "fuzzer/campaign_report.h"

#include <cstdio>
#include <filesystem>

namespace sockspec::fuzzer {

namespace {

reports::CaseResult finding_case(const Found& fd) {
  reports::CaseResult c;
  c.id = "finding-" + std::filesystem::path(fd.file).stem().string();
  c.title = fd.finding.summary;
  c.level = "must";
  c.verdict = reports::Verdict::fail;
  char after[32];
  std::snprintf(after, sizeof after, "%.1f", fd.after_s);
  c.reason = fd.finding.summary + " (" + to_string(fd.finding.kind) + "; input " +
             std::to_string(fd.exec) + " after " + after + " s, hit by " + std::to_string(fd.seen) +
             " input(s)); reproducer " + fd.file + "; mutation:" + fd.what +
             (fd.finding.stack.empty() ? "" : "\n" + fd.finding.stack);
  c.rerun = fd.rerun;
  return c;
}

}  // namespace

reports::RunReport campaign_report(reports::RunMeta meta, const Tally& t,
                                   const std::vector<const Found*>& found) {
  reports::RunReport r;
  r.meta = std::move(meta);
  r.meta.duration_ms = t.secs * 1000;
  reports::SuiteResult sr;
  sr.name = "fuzz";
  sr.title = "sockspec fuzz";
  reports::CaseResult campaign;
  campaign.id = "campaign";
  campaign.title = std::to_string(t.execs) + " inputs in " +
                   std::to_string(static_cast<int>(t.secs)) + " s, " +
                   std::to_string(found.size()) + " finding(s)";
  campaign.level = "must";
  campaign.duration_ms = t.secs * 1000;
  campaign.verdict = found.empty() ? reports::Verdict::pass : reports::Verdict::fail;
  if (!found.empty()) campaign.reason = std::to_string(found.size()) + " distinct finding(s)";
  sr.cases.push_back(campaign);
  for (const Found* fd : found) sr.cases.push_back(finding_case(*fd));
  r.suites.push_back(std::move(sr));
  double rate = t.secs > 0 ? static_cast<double>(t.execs) / t.secs : 0;
  r.notes.push_back(
      "fuzz: " + std::to_string(t.execs) + " inputs in " +
      std::to_string(static_cast<int>(t.secs)) + " s (" + std::to_string(static_cast<int>(rate)) +
      " inputs/s" + (t.jobs > 1 ? ", " + std::to_string(t.jobs) + " jobs" : std::string()) + "), " +
      std::to_string(t.restarts) + " server restarts, " + std::to_string(t.unconfirmed) +
      " finding(s) not confirmed on a fresh server; " + t.mode + t.coverage_end);
  r.exit_code = found.empty() ? 0 : 1;
  return r;
}

}  // namespace sockspec::fuzzer
