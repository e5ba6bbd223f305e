// Typed errors at the core's edges: every message says what was wrong and where, so a user can act on it.
#pragma once
#include <stdexcept>
#include <string>

namespace ponet {

// Any user-facing failure of the core (bad file, bad config, bad input tensor).
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The input data or arguments are invalid (maps to exit code 2 in the CLI).
class InvalidInput : public Error {
public:
    using Error::Error;
};

// The first line of a message (ATen's carry a C++ backtrace after it).
inline std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace ponet
