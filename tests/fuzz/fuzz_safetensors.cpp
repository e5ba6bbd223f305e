// libFuzzer target: the safetensors header parser (core/io/safetensors_format) on arbitrary file bytes.
// Whatever the bytes, it either throws SafetensorsError or returns a header whose tensors tile the data
// section exactly; a header it accepts must survive being rebuilt by build_safetensors_header and parsed
// again with the same tensors.
#include <cstdint>
#include <string>

#include "core/io/safetensors_format.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ponet::StHeader header;
    try {
        header = ponet::parse_safetensors_header(data, size, "fuzz.safetensors");
    } catch (const ponet::SafetensorsError& e) {
        FUZZ_CHECK(std::string(e.what()).rfind("fuzz.safetensors: ", 0) == 0);
        return 0;
    }
    uint64_t covered = 0;
    for (const auto& t : header.tensors) {
        FUZZ_CHECK(t.begin == covered && t.end >= t.begin);
        covered = t.end;
    }
    FUZZ_CHECK(header.data_start + covered == size);

    // Rebuild in the parsed (offset) order and parse again: the same names, shapes and extents.
    auto tensors = header.tensors;
    std::string bytes;
    try {
        bytes = ponet::build_safetensors_header(tensors, header.metadata);
    } catch (const ponet::InvalidInput&) {
        return 0;  // names or metadata that are not valid UTF-8 cannot be written back as JSON
    }
    bytes.append(covered, '\0');
    const auto again =
        ponet::parse_safetensors_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "rebuilt");
    FUZZ_CHECK(again.tensors.size() == header.tensors.size());
    for (size_t i = 0; i < again.tensors.size(); ++i) {
        FUZZ_CHECK(again.tensors[i].name == header.tensors[i].name);
        FUZZ_CHECK(again.tensors[i].shape == header.tensors[i].shape);
        FUZZ_CHECK(again.tensors[i].begin == header.tensors[i].begin);
        FUZZ_CHECK(again.tensors[i].end == header.tensors[i].end);
    }
    FUZZ_CHECK(again.metadata == header.metadata);
    return 0;
}
