#include "core/data/xdg.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

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
    return data_dir() + "/runs";
}

std::string datasets_dir() {
    return data_dir() + "/datasets";
}

}  // namespace ponet
