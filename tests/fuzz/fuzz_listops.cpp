// libFuzzer target: the ListOps parser and tokenizer (core/data/lra): evaluate_listops and listops_token_ids
// on arbitrary text. Malformed strings throw InvalidInput; a well-formed one evaluates to a digit and its ids
// come from the 15-symbol vocabulary.
#include <cstdint>
#include <string>

#include "core/data/lra.h"
#include "core/util/error.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const auto v = ponet::evaluate_listops(text);
        FUZZ_CHECK(v.value >= 0 && v.value <= 9);
        FUZZ_CHECK(v.depth >= 0 && v.length >= 1);
    } catch (const ponet::InvalidInput&) {
    }
    try {
        const auto ids = ponet::listops_token_ids(text, 64);
        FUZZ_CHECK(ids.size() <= 64);
        for (const auto id : ids) FUZZ_CHECK(id >= 1 && id <= 15);
    } catch (const ponet::InvalidInput&) {
    }
    return 0;
}
