#include "core/data/xdg.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>

namespace ponet {

namespace {

std::string home_dir() {
    if (const char* h = std::getenv("HOME"); h && *h) return h;
    // Services and sandboxes may run without $HOME; the password database still knows it.
    if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_dir) return pw->pw_dir;
    return "/tmp";
}

// The specification says a relative path in an XDG variable is invalid and must be ignored.
std::string xdg_base(const char* variable, const char* fallback_under_home) {
    if (const char* v = std::getenv(variable); v && v[0] == '/') return v;
    return home_dir() + "/" + fallback_under_home;
}

// Set from the GUI thread, read by worker threads that create runs.
std::mutex runs_override_mutex;
std::string runs_override;

}  // namespace

std::string data_dir() {
    if (const char* d = std::getenv("PONET_DATA_DIR"); d && *d) return d;
    return xdg_base("XDG_DATA_HOME", ".local/share") + "/ponet-studio";
}

std::string cache_dir() {
    return xdg_base("XDG_CACHE_HOME", ".cache") + "/ponet-studio";
}

std::string config_dir() {
    return xdg_base("XDG_CONFIG_HOME", ".config") + "/ponet-studio";
}

std::string runs_dir() {
    {
        const std::lock_guard<std::mutex> lock(runs_override_mutex);
        if (!runs_override.empty()) return runs_override;
    }
    if (const char* d = std::getenv("PONET_RUNS_DIR"); d && *d) return d;
    return default_runs_dir();
}

void set_runs_dir_override(const std::string& dir) {
    const std::lock_guard<std::mutex> lock(runs_override_mutex);
    runs_override = dir;
}

std::string default_runs_dir() {
    return data_dir() + "/runs";
}

std::string datasets_dir() {
    return data_dir() + "/datasets";
}

}  // namespace ponet
