// Evaluation metrics for classification, multi-label classification and MLM, plus running averages.
// Torch-free (plain integer vectors), so the GUI and the CLI can compute and show them too.
//
// Zero division follows scikit-learn's zero_division=0: a precision, recall or F1 whose denominator is 0 is 0
// (a class never predicted has precision 0; a class with no support has recall 0). Macro averages are taken,
// like sklearn's default `labels=None`, over the classes that occur in the gold labels or the predictions;
// the per-class table still lists every class.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ponet {

struct ClassStats {
    int64_t support = 0;    // gold examples of the class
    int64_t predicted = 0;  // examples predicted as the class
    int64_t true_positives = 0;
    double precision = 0, recall = 0, f1 = 0;
};

struct ClassificationReport {
    int64_t examples = 0;
    double accuracy = 0;
    double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
    double micro_precision = 0, micro_recall = 0, micro_f1 = 0;  // all = accuracy for single-label data
    double weighted_f1 = 0;                                      // by support
    std::vector<ClassStats> per_class;
    std::vector<std::vector<int64_t>> confusion;  // confusion[gold][predicted]
};

// Single-label classification over classes 0..num_classes-1. Sizes must match and every id must be in range;
// otherwise ponet::InvalidInput.
ClassificationReport classification_report(const std::vector<int64_t>& predicted,
                                           const std::vector<int64_t>& gold, int64_t num_classes);

double accuracy(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold);
double macro_f1(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold, int64_t num_classes);
double micro_f1(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold, int64_t num_classes);
// F1 of one class against the rest (HF `glue/mrpc`'s f1 with positive = 1).
double binary_f1(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold,
                 int64_t positive = 1);

struct MultiLabelReport {
    int64_t examples = 0, labels = 0;
    double exact_match = 0;       // share of examples whose whole label set is right (subset accuracy)
    double hamming_accuracy = 0;  // share of right (example, label) cells
    double micro_precision = 0, micro_recall = 0, micro_f1 = 0;
    double macro_precision = 0, macro_recall = 0, macro_f1 = 0;  // over every label column
    std::vector<ClassStats> per_label;
};

// Multi-hot rows (0 or non-zero), every row `num_labels` wide. Macro averages cover every label column, as
// sklearn does for indicator matrices.
MultiLabelReport multi_label_report(const std::vector<std::vector<uint8_t>>& predicted,
                                    const std::vector<std::vector<uint8_t>>& gold, int64_t num_labels);

// Accuracy over labelled positions only (label != ignore_index), the MLM accuracy of PONET-SPEC §2.7.
struct MaskedAccuracy {
    int64_t correct = 0, counted = 0;
    void add(const std::vector<int64_t>& predicted, const std::vector<int64_t>& labels,
             int64_t ignore_index = -100);
    double value() const {
        return counted ? static_cast<double>(correct) / static_cast<double>(counted) : 0.0;
    }
};

// Weighted mean of a stream of values (a loss over batches of different sizes).
class RunningMean {
  public:
    void add(double value, double weight = 1.0);
    double mean() const { return weight_ > 0 ? sum_ / weight_ : 0.0; }
    double weight() const { return weight_; }
    int64_t count() const { return count_; }
    void reset() { *this = RunningMean(); }

  private:
    double sum_ = 0, weight_ = 0;
    int64_t count_ = 0;
};

// Exponential moving average with Adam-style bias correction, so the first values are not pulled towards 0:
// after one add(x), value() == x.
class Ema {
  public:
    explicit Ema(double decay = 0.98) : decay_(decay) {}
    void add(double value);
    double value() const;
    int64_t count() const { return count_; }
    void reset() { *this = Ema(decay_); }

  private:
    double decay_;
    double avg_ = 0, decay_power_ = 1;
    int64_t count_ = 0;
};

}  // namespace ponet
