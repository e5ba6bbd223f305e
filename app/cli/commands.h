// The `ponet` commands; each returns its spec (options + run function) for the table in main.cpp.
#pragma once
#include <vector>

#include "options.h"

namespace ponet::cli {

CommandSpec forward_command();
CommandSpec info_command();
CommandSpec selftest_command();

// "cpu", "cuda", "cuda:N" → a device LibTorch can use here; throws ponet::InvalidInput when it cannot.
std::string resolve_device(const std::string& requested);

}  // namespace ponet::cli
