// A one-pass scanner for the nesting depth of JSON text (see json_limits.h for why).
#include "core/util/json_limits.h"

#include "core/util/error.h"

namespace ponet {

std::optional<size_t> json_too_deep_at(std::string_view text, size_t max_depth) {
    size_t depth = 0;
    bool in_string = false, escaped = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        switch (c) {
            case '"':
                in_string = true;
                break;
            case '[':
            case '{':
                if (++depth > max_depth) return i;
                break;
            case ']':
            case '}':
                if (depth > 0) --depth;
                break;
            default:
                break;
        }
    }
    return std::nullopt;
}

void check_json_depth(std::string_view text, const std::string& origin, size_t max_depth) {
    if (const auto at = json_too_deep_at(text, max_depth)) {
        throw InvalidInput(origin + ": JSON nested more than " + std::to_string(max_depth) +
                           " levels deep (at byte " + std::to_string(*at) + "); refusing to read it");
    }
}

}  // namespace ponet
