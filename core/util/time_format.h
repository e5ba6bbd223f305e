// Timestamps as the project writes them into JSON files (run status, manifests, reports).
#pragma once
#include <ctime>
#include <string>

namespace ponet {

// `when` as ISO 8601 UTC ("2024-05-01T12:00:00Z").
std::string iso_time_utc(std::time_t when);

}  // namespace ponet
