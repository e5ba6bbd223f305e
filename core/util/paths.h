// Where PoNet Studio finds its own read-only resources (presets, built-in model shapes, the golden vectors).
#pragma once
#include <string>

namespace ponet {

// Directory holding `resources/` content: $PONET_RESOURCES_DIR, else the installed share directory next to the
// executable (<exe>/../share/ponet-studio), else the source tree this build came from. Empty if none exists.
std::string resources_dir();

// Directory of the running executable.
std::string executable_dir();

}  // namespace ponet
