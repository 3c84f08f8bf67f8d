// GitHub Actions workflow commands (`::error title=...::message`): each failing case, warning
// and failed threshold becomes an annotation on the job, pointing at the suite file.
#pragma once

#include <ostream>
#include <string>

#include "reports/model.h"

namespace sockspec::reports {

void write_github_annotations(const RunReport& r, std::ostream& out);

// The escaping GitHub asks for: % CR LF in a message; those and : , in a property.
std::string annotation_escape(const std::string& s, bool property);

// One workflow command: "::LEVEL file=F,title=T::MESSAGE" (no file= when `file` is empty).
void annotate(std::ostream& out, const char* level, const std::string& file,
              const std::string& title, std::string message);

}  // namespace sockspec::reports
