// JUnit XML as CI systems read it: one <testsuite> per suite, one <testcase> per case.
#pragma once

#include <ostream>

#include "reports/model.h"

namespace sockspec::reports {

void write_junit(const RunReport& r, std::ostream& out);

}  // namespace sockspec::reports
