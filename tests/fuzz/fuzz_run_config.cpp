// libFuzzer target: the run configuration (RunConfig::from_json_text and the CLI's --set key=value). Bad input
// throws InvalidInput; an accepted configuration validates and reads back from what it writes.
#include <cstdint>
#include <string>

#include "core/train/run_config.h"
#include "core/util/error.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    ponet::RunConfig config;
    try {
        ponet::apply_override(config, text);  // the same bytes as a --set argument
    } catch (const ponet::InvalidInput&) {
    }
    try {
        config = ponet::RunConfig::from_json_text(text, "fuzz/run.json");
    } catch (const ponet::InvalidInput&) {
        return 0;
    }
    try {
        config.validate();
    } catch (const ponet::InvalidInput&) {
        return 0;  // consistency between options is checked separately from reading
    }
    std::string written;
    try {
        written = config.to_json_text();
    } catch (const std::exception&) {
        return 0;  // strings that are not UTF-8 cannot be written as JSON
    }
    const auto again = ponet::RunConfig::from_json_text(written, "rewritten");
    FUZZ_CHECK(again.to_json_text() == written);
    return 0;
}
