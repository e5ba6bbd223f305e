// A run's tags and notes: what the user wrote about it in the run library, kept in <run>/notes.json beside the
// run's own files so that they travel with the folder. Torch-free.
#pragma once
#include <string>
#include <vector>

namespace ponet {

struct RunNotes {
    static constexpr int kVersion = 1;
    std::vector<std::string> tags;
    std::string notes;

    bool empty() const { return tags.empty() && notes.empty(); }
};

std::string run_notes_path(const std::string& run_dir);  // <run_dir>/notes.json

// Empty notes when the run has no notes.json; throws InvalidInput naming the file when it is malformed.
RunNotes read_run_notes(const std::string& run_dir);
// Atomic write (a crash leaves the old notes or the new ones). Throws ponet::Error when the folder is not
// writable.
void write_run_notes(const std::string& run_dir, const RunNotes& notes);

// "baseline, lr sweep,, baseline" → {"baseline", "lr sweep"}: split at commas, trimmed, empty and repeated
// tags dropped, first occurrence order kept.
std::vector<std::string> parse_tags(const std::string& text);
std::string join_tags(const std::vector<std::string>& tags);  // "baseline, lr sweep"

}  // namespace ponet
