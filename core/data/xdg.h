// The application's per-user directories, after the XDG Base Directory specification.
#pragma once
#include <string>

namespace ponet {

// $PONET_DATA_DIR if set (tests and portable installs), else $XDG_DATA_HOME/ponet-studio, else
// ~/.local/share/ponet-studio. Nothing is created.
std::string data_dir();
// $XDG_CACHE_HOME/ponet-studio, else ~/.cache/ponet-studio.
std::string cache_dir();
// $XDG_CONFIG_HOME/ponet-studio, else ~/.config/ponet-studio.
std::string config_dir();
// <data dir>/runs: where training runs live.
std::string runs_dir();
// <data dir>/datasets: where fetched recipes are converted to.
std::string datasets_dir();

}  // namespace ponet
