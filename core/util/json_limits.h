// Limits on JSON read from files we did not write. nlohmann parses iteratively, but copying, comparing and
// dumping a value recurse once per nesting level, so a few hundred kilobytes of "[[[[..." would overflow the
// stack long after parsing succeeded. Every reader of untrusted JSON checks the depth first.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ponet {

// No file of ours nests deeper than a handful of levels; JSONL datasets rarely more than ten.
inline constexpr size_t kMaxJsonDepth = 256;

// The byte offset of the first '[' or '{' that opens level max_depth + 1 (outside strings), or nullopt when
// the text never nests that deep. Linear, no allocation; does not validate the JSON otherwise.
std::optional<size_t> json_too_deep_at(std::string_view text, size_t max_depth = kMaxJsonDepth);

// Throws ponet::InvalidInput "<origin>: JSON nested more than 256 levels deep (at byte N)" when too deep.
void check_json_depth(std::string_view text, const std::string& origin, size_t max_depth = kMaxJsonDepth);

}  // namespace ponet
