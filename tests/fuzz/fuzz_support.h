// Shared pieces of the libFuzzer targets: a private scratch folder on a RAM disk where one exists, file
// writing, and the invariant check that turns a broken promise into a crash libFuzzer records.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/util/fs_util.h"

namespace fuzz {

// A folder of this process that lives until exit (importers read paths, not buffers).
inline const std::string& scratch_dir() {
    static const std::string dir = [] {
        std::string templ = std::string(::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp") +
                            "/ponet-fuzz-XXXXXX";
        if (!::mkdtemp(templ.data())) {
            std::perror("mkdtemp");
            std::abort();
        }
        std::atexit([] { ponet::remove_tree(scratch_dir()); });
        return templ;
    }();
    return dir;
}

inline void write_bytes(const std::string& path, const uint8_t* data, size_t size) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) {
        std::perror(path.c_str());
        std::abort();
    }
    if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
    std::fclose(f);
}

// A promise of the parser was broken: report it and crash so that libFuzzer keeps the input.
#define FUZZ_CHECK(cond)                                                                          \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            std::fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            std::abort();                                                                         \
        }                                                                                         \
    } while (0)

}  // namespace fuzz
