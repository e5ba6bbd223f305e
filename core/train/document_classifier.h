// Classifying a user's documents with a fine-tuned model, behind a torch-free API for the Classify page:
// gathering .txt/.md/.html/.jsonl files (everything else is listed as skipped with its reason), batched
// prediction with label, confidence, top-3, token length and truncation, and batch accuracy / macro-F1 /
// confusion matrix where the documents come from folders named after the model's labels.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/data/document.h"

namespace ponet {

struct ClassifyItem {
    std::string path;  // file, or "file.jsonl line N"
    std::string text;
    std::string gold_label;  // the parent folder's name when it is one of the model's labels; else empty
};

struct ClassifyInputs {
    std::vector<ClassifyItem> items;
    std::vector<SkippedItem> skipped;
};

// HTML to text: drops tags, comments, <script> and <style> bodies, decodes the common entities.
std::string html_to_text(const std::string& html);

// Files and folders (recursively, sorted) to documents. `labels`: the model's label names; a file whose
// parent folder carries one of them gets it as its gold label.
ClassifyInputs gather_classify_inputs(const std::vector<std::string>& paths,
                                      const std::vector<std::string>& labels);

struct Prediction {
    std::string label;
    double confidence = 0;
    std::vector<std::pair<std::string, double>> top;  // best first, up to 3
    int64_t tokens = 0;                               // with [CLS]/[SEP], before truncation
    bool truncated = false;
};

// A loaded classifier (run directory or exported model directory). Not thread-safe: one thread at a time.
class DocumentClassifier {
  public:
    // Throws InvalidInput when the path holds no classifier (pre-training model, ListOps/pixel model ...).
    static std::unique_ptr<DocumentClassifier> open(const std::string& path,
                                                    const std::string& device = "cpu");
    ~DocumentClassifier();
    const std::vector<std::string>& labels() const;
    int64_t max_length() const;
    std::string checkpoint() const;
    std::string device() const;  // where the model's weights live: "cpu", "cuda:0", ...
    std::vector<Prediction> classify(const std::vector<std::string>& texts);

  private:
    struct Impl;
    explicit DocumentClassifier(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

struct BatchScore {
    int64_t examples = 0;  // items with a gold label
    double accuracy = 0, macro_f1 = 0;
    std::vector<std::vector<int64_t>> confusion;  // [gold][predicted] over `labels`
};
// Scores the items with gold labels; examples == 0 when there are none.
BatchScore score_predictions(const std::vector<std::string>& gold, const std::vector<std::string>& predicted,
                             const std::vector<std::string>& labels);

}  // namespace ponet
