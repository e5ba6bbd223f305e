#include "core/train/metrics.h"

#include <algorithm>

#include "core/util/error.h"

namespace ponet {

namespace {

double ratio(int64_t num, int64_t den) {
    return den ? static_cast<double>(num) / static_cast<double>(den) : 0.0;
}

void finish(ClassStats& s) {
    const int64_t fp = s.predicted - s.true_positives, fn = s.support - s.true_positives;
    s.precision = ratio(s.true_positives, s.predicted);
    s.recall = ratio(s.true_positives, s.support);
    // 2TP / (2TP + FP + FN) equals 2PR / (P + R) wherever that is defined, and is 0 where it is not.
    s.f1 = ratio(2 * s.true_positives, 2 * s.true_positives + fp + fn);
}

void check_single_label(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold,
                        int64_t num_classes) {
    if (predicted.size() != gold.size())
        throw InvalidInput("metrics: " + std::to_string(predicted.size()) + " predictions for " +
                           std::to_string(gold.size()) + " gold labels");
    if (num_classes < 1) throw InvalidInput("metrics: num_classes must be at least 1");
    for (size_t i = 0; i < gold.size(); ++i)
        if (gold[i] < 0 || gold[i] >= num_classes || predicted[i] < 0 || predicted[i] >= num_classes)
            throw InvalidInput("metrics: example " + std::to_string(i) + " has gold " +
                               std::to_string(gold[i]) + " and prediction " + std::to_string(predicted[i]) +
                               ", classes are 0.." + std::to_string(num_classes - 1));
}

int64_t max_id(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
    int64_t m = 0;
    for (auto v : a) m = std::max(m, v);
    for (auto v : b) m = std::max(m, v);
    return m;
}

}  // namespace

ClassificationReport classification_report(const std::vector<int64_t>& predicted,
                                           const std::vector<int64_t>& gold, int64_t num_classes) {
    check_single_label(predicted, gold, num_classes);
    ClassificationReport r;
    const auto C = static_cast<size_t>(num_classes);
    r.examples = static_cast<int64_t>(gold.size());
    r.per_class.assign(C, {});
    r.confusion.assign(C, std::vector<int64_t>(C, 0));
    int64_t correct = 0;
    for (size_t i = 0; i < gold.size(); ++i) {
        const auto g = static_cast<size_t>(gold[i]), p = static_cast<size_t>(predicted[i]);
        ++r.confusion[g][p];
        ++r.per_class[g].support;
        ++r.per_class[p].predicted;
        if (g == p) ++r.per_class[g].true_positives, ++correct;
    }
    r.accuracy = ratio(correct, r.examples);
    int64_t present = 0, tp = 0, pred = 0, support = 0;
    for (auto& s : r.per_class) {
        finish(s);
        tp += s.true_positives, pred += s.predicted, support += s.support;
        r.weighted_f1 += s.f1 * static_cast<double>(s.support);
        if (s.support == 0 && s.predicted == 0) continue;
        ++present;
        r.macro_precision += s.precision, r.macro_recall += s.recall, r.macro_f1 += s.f1;
    }
    if (present) {
        r.macro_precision /= static_cast<double>(present);
        r.macro_recall /= static_cast<double>(present);
        r.macro_f1 /= static_cast<double>(present);
    }
    r.weighted_f1 = support ? r.weighted_f1 / static_cast<double>(support) : 0.0;
    r.micro_precision = ratio(tp, pred);
    r.micro_recall = ratio(tp, support);
    r.micro_f1 = ratio(2 * tp, pred + support);
    return r;
}

double accuracy(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold) {
    if (predicted.size() != gold.size())
        throw InvalidInput("metrics: " + std::to_string(predicted.size()) + " predictions for " +
                           std::to_string(gold.size()) + " gold labels");
    int64_t correct = 0;
    for (size_t i = 0; i < gold.size(); ++i) correct += predicted[i] == gold[i];
    return ratio(correct, static_cast<int64_t>(gold.size()));
}

double macro_f1(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold,
                int64_t num_classes) {
    return classification_report(predicted, gold, num_classes).macro_f1;
}

double micro_f1(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold,
                int64_t num_classes) {
    return classification_report(predicted, gold, num_classes).micro_f1;
}

double binary_f1(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold, int64_t positive) {
    if (positive < 0) throw InvalidInput("metrics: the positive class must be a class id >= 0");
    const int64_t C = std::max(max_id(predicted, gold), positive) + 1;
    return classification_report(predicted, gold, C).per_class[static_cast<size_t>(positive)].f1;
}

MultiLabelReport multi_label_report(const std::vector<std::vector<uint8_t>>& predicted,
                                    const std::vector<std::vector<uint8_t>>& gold, int64_t num_labels) {
    if (predicted.size() != gold.size())
        throw InvalidInput("metrics: " + std::to_string(predicted.size()) + " predicted rows for " +
                           std::to_string(gold.size()) + " gold rows");
    if (num_labels < 1) throw InvalidInput("metrics: num_labels must be at least 1");
    MultiLabelReport r;
    const auto L = static_cast<size_t>(num_labels);
    r.examples = static_cast<int64_t>(gold.size());
    r.labels = num_labels;
    r.per_label.assign(L, {});
    int64_t exact = 0, right_cells = 0;
    for (size_t i = 0; i < gold.size(); ++i) {
        if (predicted[i].size() != L || gold[i].size() != L)
            throw InvalidInput("metrics: row " + std::to_string(i) + " is not " + std::to_string(num_labels) +
                               " labels wide");
        bool all = true;
        for (size_t l = 0; l < L; ++l) {
            const bool p = predicted[i][l] != 0, g = gold[i][l] != 0;
            auto& s = r.per_label[l];
            s.support += g, s.predicted += p, s.true_positives += p && g;
            all = all && p == g;
            right_cells += p == g;
        }
        exact += all;
    }
    r.exact_match = ratio(exact, r.examples);
    r.hamming_accuracy = ratio(right_cells, r.examples * num_labels);
    int64_t tp = 0, pred = 0, support = 0;
    for (auto& s : r.per_label) {
        finish(s);
        tp += s.true_positives, pred += s.predicted, support += s.support;
        r.macro_precision += s.precision, r.macro_recall += s.recall, r.macro_f1 += s.f1;
    }
    r.macro_precision /= static_cast<double>(L);
    r.macro_recall /= static_cast<double>(L);
    r.macro_f1 /= static_cast<double>(L);
    r.micro_precision = ratio(tp, pred);
    r.micro_recall = ratio(tp, support);
    r.micro_f1 = ratio(2 * tp, pred + support);
    return r;
}

void MaskedAccuracy::add(const std::vector<int64_t>& predicted, const std::vector<int64_t>& labels,
                         int64_t ignore_index) {
    if (predicted.size() != labels.size())
        throw InvalidInput("metrics: " + std::to_string(predicted.size()) + " predictions for " +
                           std::to_string(labels.size()) + " labels");
    for (size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] == ignore_index) continue;
        ++counted;
        correct += predicted[i] == labels[i];
    }
}

void RunningMean::add(double value, double weight) {
    sum_ += value * weight;
    weight_ += weight;
    ++count_;
}

void Ema::add(double value) {
    avg_ = decay_ * avg_ + (1.0 - decay_) * value;
    decay_power_ *= decay_;
    ++count_;
}

double Ema::value() const {
    return count_ ? avg_ / (1.0 - decay_power_) : 0.0;
}

}  // namespace ponet
