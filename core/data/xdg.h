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
// Where training runs live: the folder set with set_runs_dir_override() (the app's Preferences), else
// $PONET_RUNS_DIR, else <data dir>/runs.
std::string runs_dir();
// Makes runs_dir() answer `dir` from now on, in every thread; an empty string goes back to the default.
void set_runs_dir_override(const std::string& dir);
// <data dir>/runs, what runs_dir() answers without an override or $PONET_RUNS_DIR.
std::string default_runs_dir();
// <data dir>/datasets: where fetched recipes are converted to.
std::string datasets_dir();

}  // namespace ponet
