// Plain-text renderings shared by the console, JUnit and Markdown writers.
#pragma once

#include <string>

#include "reports/model.h"

namespace sockspec::reports {

// Several lines, each starting with `indent`: offset, sizes, printable and hex excerpts.
std::string render_mismatch(const Mismatch& m, const std::string& indent);

// The failing step and its details, as a person reads them after a failed case.
std::string render_failure(const CaseResult& c, const std::string& indent);

// "12 passed, 1 failed, 2 skipped" (only non-zero kinds; "0 cases" when empty).
std::string render_counts(const Counts& c);

std::string format_ms(double ms);

// In-flight windows: "1251 in flight per connection (auto: ...)"; empty without a window.
std::string window_summary(const LoadResult& l);
// Why starts were missed when every window was full, and what to change; empty when none was.
std::string window_full_message(const LoadResult& l);

// Text for XML and HTML: & < > " ' as entities, and control bytes (which XML 1.0 forbids even
// as references) shown as \xHH.
std::string markup_escape(const std::string& s);  // "0.4ms", "12ms", "1.52s"

}  // namespace sockspec::reports
