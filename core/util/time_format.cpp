#include "core/util/time_format.h"

namespace ponet {

std::string iso_time_utc(std::time_t when) {
    std::tm tm{};
    ::gmtime_r(&when, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace ponet
