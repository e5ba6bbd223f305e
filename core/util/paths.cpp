#include "core/util/paths.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace ponet {
namespace fs = std::filesystem;

std::string executable_dir() {
    // readlink(2), not std::filesystem::read_symlink: pip LibTorch exports a copy of the latter (see fs_util.h).
    char buf[4096];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return {};
    return fs::path(std::string(buf, static_cast<size_t>(n))).parent_path().string();
}

std::string resources_dir() {
    std::error_code ec;
    if (const char* env = std::getenv("PONET_RESOURCES_DIR"); env && *env) {
        if (fs::is_directory(env, ec)) return env;
    }
    const std::string exe_dir = executable_dir();
    if (!exe_dir.empty()) {
        fs::path installed = fs::path(exe_dir) / ".." / PONET_INSTALL_DATADIR;
        if (fs::is_directory(installed, ec)) return fs::weakly_canonical(installed, ec).string();
    }
    fs::path source = fs::path(PONET_SOURCE_DIR) / "resources";
    if (fs::is_directory(source, ec)) return source.string();
    return {};
}

}  // namespace ponet
