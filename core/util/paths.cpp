#include "core/util/paths.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace ponet {
namespace fs = std::filesystem;

std::string executable_dir() {
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec) return {};
    return exe.parent_path().string();
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
