// Formatting of self-test results (torch-free: the GUI and the CLI share it).
#include "core/check/check_result.h"

#include <cstdio>

namespace ponet {

int SelfTestReport::passed() const {
    int n = 0;
    for (const auto& r : results) n += r.passed;
    return n;
}
int SelfTestReport::failed() const { return static_cast<int>(results.size()) - passed(); }

std::string format_result_line(const CheckResult& r) {
    char err[64];
    std::snprintf(err, sizeof err, "%.3g <= %.3g", r.error, r.tolerance);
    std::string line = std::string(r.passed ? "PASS" : "FAIL") + "  [" + r.device + "] " + r.name + "  (" +
                       r.metric + " " + err + ")";
    if (!r.detail.empty()) line += "  " + r.detail;
    return line;
}

}  // namespace ponet
