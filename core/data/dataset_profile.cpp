#include "core/data/dataset_profile.h"

#include <algorithm>
#include <map>

#include "core/util/error.h"

namespace ponet {

std::vector<LabelCount> label_balance(const std::vector<Document>& documents) {
    std::map<std::string, int64_t> counts;
    for (const Document& d : documents) {
        if (d.labels.empty()) ++counts[std::string()];
        for (const std::string& l : d.labels) ++counts[l];
    }
    std::vector<LabelCount> out;
    out.reserve(counts.size());
    for (auto& [label, n] : counts) out.push_back({label, n});
    return out;
}

namespace {

// The smallest of 1, 2, 5, 10, 20, 50 ... that is at least `minimum`.
int64_t round_width(int64_t minimum) {
    for (int64_t scale = 1;; scale *= 10) {
        for (int64_t m : {1, 2, 5})
            if (m * scale >= minimum) return m * scale;
    }
}

}  // namespace

LengthHistogram length_histogram(const std::vector<int64_t>& lengths, int max_bins, int64_t limit) {
    if (max_bins < 1) throw InvalidInput("a length histogram needs at least one bin");
    LengthHistogram h;
    if (lengths.empty()) return h;
    std::vector<int64_t> sorted = lengths;
    std::sort(sorted.begin(), sorted.end());
    if (sorted.front() < 0) throw InvalidInput("a document length cannot be negative");
    h.documents = static_cast<int64_t>(sorted.size());
    h.min = sorted.front();
    h.max = sorted.back();
    h.median = sorted[sorted.size() / 2];
    double sum = 0;
    for (int64_t v : sorted) sum += static_cast<double>(v);
    h.mean = sum / static_cast<double>(sorted.size());
    // max + 1 values (0..max) must fit into max_bins bins.
    h.bin_width = round_width((h.max + max_bins) / max_bins);
    h.counts.assign(static_cast<size_t>(h.max / h.bin_width + 1), 0);
    for (int64_t v : sorted) {
        ++h.counts[static_cast<size_t>(v / h.bin_width)];
        if (limit > 0 && v > limit) ++h.over_limit;
    }
    return h;
}

SplitFractions held_out_fractions(double validation_fraction, bool hold_out_test) {
    SplitFractions f;
    f.dev = validation_fraction;
    f.test = hold_out_test ? validation_fraction : 0.0;
    f.train = 1.0 - f.dev - f.test;
    return f;
}

SplitCounts planned_split_counts(const std::vector<Document>& documents, double validation_fraction,
                                 uint64_t seed, bool hold_out_test) {
    SplitCounts c;
    if (validation_fraction <= 0) {
        c.train = static_cast<int64_t>(documents.size());
        return c;
    }
    for (Split s : assign_splits(documents, held_out_fractions(validation_fraction, hold_out_test), seed)) {
        switch (s) {
            case Split::Train:
                ++c.train;
                break;
            case Split::Dev:
                ++c.dev;
                break;
            case Split::Test:
                ++c.test;
                break;
        }
    }
    return c;
}

}  // namespace ponet
