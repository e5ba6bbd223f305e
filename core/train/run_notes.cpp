#include "core/train/run_notes.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "core/io/atomic_file.h"
#include "core/util/error.h"
#include "core/util/fs_util.h"

namespace ponet {

namespace {
using json = nlohmann::json;
constexpr uint64_t kMaxNotesBytes = 4u << 20;

std::string trimmed(const std::string& s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return {};
    const auto last = s.find_last_not_of(" \t\r\n");
    return s.substr(first, last - first + 1);
}
}  // namespace

std::string run_notes_path(const std::string& run_dir) {
    return run_dir + "/notes.json";
}

RunNotes read_run_notes(const std::string& run_dir) {
    const std::string path = run_notes_path(run_dir);
    RunNotes n;
    if (!is_regular_file_at(path)) return n;
    try {
        const json j = json::parse(read_file(path, kMaxNotesBytes));
        if (!j.is_object()) throw InvalidInput(path + ": expected a JSON object with \"tags\" and \"notes\"");
        if (j.value("version", 1) > RunNotes::kVersion)
            throw InvalidInput(path + ": notes version " + j["version"].dump() + " is newer than this program");
        if (j.contains("tags")) {
            for (const json& t : j.at("tags")) n.tags.push_back(t.get<std::string>());
            n.tags = parse_tags(join_tags(n.tags));
        }
        n.notes = j.value("notes", std::string());
    } catch (const json::exception& e) {
        throw InvalidInput(path + ": cannot read the run's notes (" + e.what() + ")");
    }
    return n;
}

void write_run_notes(const std::string& run_dir, const RunNotes& notes) {
    if (!is_directory_at(run_dir)) throw Error("'" + run_dir + "' is not a folder; the notes were not saved");
    json j = {{"version", RunNotes::kVersion}, {"tags", notes.tags}, {"notes", notes.notes}};
    write_file_atomic(run_notes_path(run_dir), j.dump(2) + "\n");
}

std::vector<std::string> parse_tags(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        std::string tag = trimmed(text.substr(start, comma - start));
        if (!tag.empty() && std::find(out.begin(), out.end(), tag) == out.end()) out.push_back(std::move(tag));
        start = comma + 1;
    }
    return out;
}

std::string join_tags(const std::vector<std::string>& tags) {
    std::string out;
    for (const std::string& t : tags) {
        if (!out.empty()) out += ", ";
        out += t;
    }
    return out;
}

}  // namespace ponet
