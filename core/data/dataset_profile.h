// What the Data page shows about a dataset before anything trains on it: how the labels are balanced, how long
// the documents are in tokens, and how many documents each split will get. Torch-free.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/data/document.h"
#include "core/data/splits.h"

namespace ponet {

struct LabelCount {
    std::string label;  // "" collects the unlabelled documents
    int64_t documents = 0;
};

// Documents per label, in label order (a multi-label document counts once under each of its labels).
std::vector<LabelCount> label_balance(const std::vector<Document>& documents);

struct LengthHistogram {
    int64_t bin_width = 1;        // bin i holds lengths in [i·bin_width, (i+1)·bin_width)
    std::vector<int64_t> counts;  // empty when there are no lengths
    int64_t documents = 0;
    int64_t min = 0, max = 0, median = 0;
    double mean = 0;
    int64_t over_limit = 0;  // lengths above `limit` (documents the model will truncate); 0 without a limit
};

// Bins of a "round" width (1, 2 or 5 × 10^k) chosen so that at most `max_bins` bins cover 0..max. Negative
// lengths are invalid input.
LengthHistogram length_histogram(const std::vector<int64_t>& lengths, int max_bins = 40, int64_t limit = 0);

struct SplitCounts {
    int64_t train = 0, dev = 0, test = 0;
};

// The fractions the trainer holds out of a training set that came without dev/test parts: dev gets
// `validation_fraction`, and fine-tuning (hold_out_test) also keeps an equal test part (task_data.cpp).
SplitFractions held_out_fractions(double validation_fraction, bool hold_out_test);

// The split sizes prepare_task_data will cut from `documents` with this fraction and seed (train.seed).
SplitCounts planned_split_counts(const std::vector<Document>& documents, double validation_fraction,
                                 uint64_t seed, bool hold_out_test);

}  // namespace ponet
