// libFuzzer target: config.json (ModelConfig::from_json_text). A config either throws InvalidInput or is
// valid, and what it writes reads back to the same text (unknown fields included).
#include <cstdint>
#include <string>

#include "core/model/model_config.h"
#include "core/util/error.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    ponet::ModelConfig config;
    try {
        config = ponet::ModelConfig::from_json_text(text, "fuzz/config.json");
    } catch (const ponet::InvalidInput&) {
        return 0;
    }
    config.validate();  // must not throw: from_json_text validated it
    FUZZ_CHECK(config.parameter_count() <= ponet::kMaxModelParameters);
    std::string written;
    try {
        written = config.to_json_text();
    } catch (const std::exception&) {
        return 0;  // label names that are not UTF-8 cannot be written as JSON; nothing was lost on disk
    }
    const auto again = ponet::ModelConfig::from_json_text(written, "rewritten");
    FUZZ_CHECK(again.to_json_text() == written);
    return 0;
}
