// The one record every importer produces, and the report an import leaves for the user.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ponet {

struct Document {
    std::string id;                   // stable within its dataset (file path, line number, row id ...)
    std::string text;
    std::string text_b;               // second sentence of a pair task; empty otherwise
    std::vector<std::string> labels;  // empty: unlabelled (pre-training text); several: multi-label
    std::string source;               // file it came from
};

struct SkippedItem {
    std::string where;   // "train/neg/123.txt", "data.csv line 17"
    std::string reason;  // "binary file", "no column named 'label'; columns are text, category" ...
};

struct ImportReport {
    std::string format;                         // "folder-per-class", "jsonl", "csv", ...
    int64_t documents = 0;
    std::map<std::string, int64_t> label_counts;
    std::vector<SkippedItem> skipped;
    int64_t empty_documents = 0;                // skipped because empty after decoding
    int64_t replaced_bytes = 0;                 // undecodable bytes replaced by U+FFFD
    int64_t min_chars = 0, max_chars = 0;
    bool stopped_early = false;                 // ImportOptions::max_documents was reached
    double mean_chars = 0;
    std::string summary() const;                // a few readable lines for the CLI and the GUI
};

}  // namespace ponet
