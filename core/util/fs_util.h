// Small file-system helpers on POSIX calls. PyTorch's pip LibTorch (2.x) exports its own copies of some
// std::filesystem symbols (std::filesystem::remove_all among them) that crash when our code binds to them, so
// the core avoids those functions.
#pragma once
#include <string>

namespace ponet {

// Deletes a file or a directory tree without following symbolic links. Returns false if anything was left.
bool remove_tree(const std::string& path);

// stat(2)-based checks (std::filesystem's equivalents are fine too, but these never throw and need no path).
bool is_directory_at(const std::string& path);
bool is_regular_file_at(const std::string& path);

// A new, empty, private directory under $TMPDIR (or /tmp) named ponet-<tag>-XXXXXX. Throws ponet::Error.
std::string make_temp_dir(const std::string& tag);

}  // namespace ponet
