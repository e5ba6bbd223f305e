// Classification examples (PONET-SPEC §3): single sentences and sentence pairs (GLUE layout, segment ids
// derived by the model) and long documents with explicit sentence-level segment ids (§3.2.2, with §7 #15
// fixed).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/data/document.h"
#include "core/data/pretraining.h"
#include "core/text/tokenizer.h"

namespace ponet {

// Class names → indices. Names are sorted so that the mapping does not depend on the order of the data
// (the reference sorts HND's "false"/"true" the same way, §7 #16).
class LabelMap {
  public:
    LabelMap() = default;
    LabelMap(std::vector<std::string> names, bool multi_label);
    // Every label of `docs`; multi-label when any document has several.
    static LabelMap from_documents(const std::vector<Document>& docs);

    int64_t size() const { return static_cast<int64_t>(names_.size()); }
    bool multi_label() const { return multi_label_; }
    const std::vector<std::string>& names() const { return names_; }
    // Throws InvalidInput naming the known labels when `name` is not one of them.
    int64_t index(const std::string& name) const;

    nlohmann::json to_json() const;  // {"labels": [...], "multi_label": bool}: a run's labels.json
    static LabelMap from_json(const nlohmann::json& j);

  private:
    std::vector<std::string> names_;
    std::map<std::string, int64_t> index_;
    bool multi_label_ = false;
};

enum class Truncation { Head, HeadTail };
Truncation truncation_from_string(const std::string& s);  // "head", "head+tail"

// How a long document is cut into SMP segments.
enum class SegmentUnit { Sentence, Paragraph };

struct ClassificationOptions {
    int64_t max_length = 4096;  // including [CLS] and [SEP]
    Truncation truncation = Truncation::Head;
    // With head+tail: the share of the token budget kept from the start; the rest comes from the end
    // (0.25 ≈ the 128 + 382 of Sun et al. 2019 at 512).
    double head_fraction = 0.25;
    SegmentUnit unit = SegmentUnit::Sentence;
};

class ClassificationExampleBuilder {
  public:
    // Throws InvalidInput when the tokenizer lacks [CLS]/[SEP] or max_length < 3 (4 for pairs).
    ClassificationExampleBuilder(const Tokenizer& tokenizer, LabelMap labels,
                                 ClassificationOptions options = {});

    // `[CLS] A [SEP]`, or `[CLS] A [SEP] B [SEP]` when doc.text_b is set (longest-first truncation, token
    // types 0/1). No explicit segment ids: the model derives them from [CLS]/[SEP] as in GLUE (§1.5a).
    Example sentence(const Document& doc) const;
    // `[CLS] sentences... [SEP]` with segment ids [CLS]=0, sentence k = k, [SEP] = last + 1 (§3.2.2). The ids
    // are the concatenated per-sentence tokenisations, so ids and segments align by construction (§7 #15).
    Example document(const Document& doc) const;

    const LabelMap& labels() const { return labels_; }
    const ClassificationOptions& options() const { return options_; }

  private:
    void set_label(const Document& doc, Example& ex) const;
    const Tokenizer& tokenizer_;
    SpecialTokens specials_;
    LabelMap labels_;
    ClassificationOptions options_;
};

// The positions kept when `n` tokens must fit into `budget` (all of them when n <= budget): the first
// `budget` for Head; a head of round(budget * head_fraction) and a tail of the rest for HeadTail.
std::vector<size_t> kept_positions(size_t n, size_t budget, Truncation t, double head_fraction);

}  // namespace ponet
