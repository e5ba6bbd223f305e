// Train/dev/test splits that cannot leak: stratified by label, grouped by normalised text so that copies of
// one text always land in the same split, and reproducible from a seed on every platform.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/data/document.h"

namespace ponet {

enum class Split { Train = 0, Dev = 1, Test = 2 };
const char* to_string(Split split);

struct SplitFractions {
    double train = 0.8, dev = 0.1, test = 0.1;  // non-negative, summing to 1
};

// 64-bit FNV-1a of the text with whitespace runs collapsed to one space, ends trimmed and ASCII letters
// lower-cased: the copies found in real corpora differ in exactly these ways (re-wrapped lines, trailing
// newlines, title case in a re-scrape).
uint64_t normalized_text_hash(std::string_view text);

// One split per document. Documents with the same normalised text (text and text_b) form a group that is
// placed as a whole; within each label (a multi-label document counts under its sorted label set), groups are
// shuffled by `seed` and dealt to the split furthest below its share. Throws InvalidInput for bad fractions.
std::vector<Split> assign_splits(const std::vector<Document>& documents, const SplitFractions& fractions,
                                 uint64_t seed);

struct SplitPart {
    std::string name;  // "train", "dev", "test" ...
    std::vector<Document> documents;
};

struct CrossSplitDuplicate {
    std::string split;        // where the copy is
    std::string id;           // its id there
    std::string first_split;  // the earliest split (in the order given) holding the same text
    std::string first_id;
};

struct LeakReport {
    int64_t documents = 0;
    int64_t unique_texts = 0;
    // Each document of a later split whose text already occurs in an earlier one, attributed to the earliest.
    std::vector<CrossSplitDuplicate> duplicates;
    // counts["test"]["train"]: documents of test whose text occurs in train (and in no split before train).
    std::vector<std::pair<std::string, std::vector<std::pair<std::string, int64_t>>>> counts;
    int64_t leaked(const std::string& split) const;  // documents of `split` whose text is in an earlier split
    int64_t leaked(const std::string& split, const std::string& earlier) const;
    std::string summary() const;
};

// Duplicates that straddle existing splits, e.g. a published train/dev/test whose test texts are also in
// train.
LeakReport find_cross_split_duplicates(const std::vector<SplitPart>& parts);

}  // namespace ponet
