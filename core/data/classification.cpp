// Classification examples: GLUE-style sentences and pairs, long documents with sentence segment ids.
#include "core/data/classification.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "core/data/sentences.h"
#include "core/util/error.h"

namespace ponet {

LabelMap::LabelMap(std::vector<std::string> names, bool multi_label) : multi_label_(multi_label) {
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    names_ = std::move(names);
    for (size_t i = 0; i < names_.size(); ++i) index_[names_[i]] = static_cast<int64_t>(i);
}

LabelMap LabelMap::from_documents(const std::vector<Document>& docs) {
    std::set<std::string> names;
    bool multi = false;
    for (const auto& d : docs) {
        names.insert(d.labels.begin(), d.labels.end());
        multi = multi || d.labels.size() > 1;
    }
    return LabelMap(std::vector<std::string>(names.begin(), names.end()), multi);
}

int64_t LabelMap::index(const std::string& name) const {
    const auto it = index_.find(name);
    if (it != index_.end()) return it->second;
    std::string known;
    for (const auto& n : names_) known += (known.empty() ? "" : ", ") + n;
    throw InvalidInput("unknown label '" + name + "'; the labels are " + (known.empty() ? "(none)" : known));
}

nlohmann::json LabelMap::to_json() const {
    return {{"labels", names_}, {"multi_label", multi_label_}};
}

LabelMap LabelMap::from_json(const nlohmann::json& j) {
    if (!j.is_object() || !j.contains("labels") || !j["labels"].is_array())
        throw InvalidInput("a label map needs a \"labels\" array");
    std::vector<std::string> names;
    for (const auto& n : j["labels"]) {
        if (!n.is_string()) throw InvalidInput("label names must be strings");
        names.push_back(n.get<std::string>());
    }
    return LabelMap(std::move(names), j.value("multi_label", false));
}

Truncation truncation_from_string(const std::string& s) {
    if (s == "head") return Truncation::Head;
    if (s == "head+tail" || s == "head_tail") return Truncation::HeadTail;
    throw InvalidInput("unknown truncation '" + s + "'; expected head or head+tail");
}

std::vector<size_t> kept_positions(size_t n, size_t budget, Truncation t, double head_fraction) {
    std::vector<size_t> keep;
    if (n <= budget) {
        keep.resize(n);
        for (size_t i = 0; i < n; ++i) keep[i] = i;
        return keep;
    }
    size_t head = budget;
    if (t == Truncation::HeadTail) {
        const double f = std::clamp(head_fraction, 0.0, 1.0);
        head = std::min(budget, static_cast<size_t>(std::llround(static_cast<double>(budget) * f)));
    }
    for (size_t i = 0; i < head; ++i) keep.push_back(i);
    for (size_t i = n - (budget - head); i < n; ++i) keep.push_back(i);
    return keep;
}

ClassificationExampleBuilder::ClassificationExampleBuilder(const Tokenizer& tokenizer, LabelMap labels,
                                                           ClassificationOptions options)
    : tokenizer_(tokenizer),
      specials_(tokenizer.special_tokens()),
      labels_(std::move(labels)),
      options_(options) {
    if (specials_.cls < 0 || specials_.sep < 0)
        throw InvalidInput("classification inputs need [CLS] and [SEP] tokens; this tokenizer has none");
    if (options_.max_length < 3)
        throw InvalidInput("max_length must be at least 3, got " + std::to_string(options_.max_length));
}

void ClassificationExampleBuilder::set_label(const Document& doc, Example& ex) const {
    if (doc.labels.empty() || labels_.size() == 0) return;  // unlabelled: prediction input
    if (labels_.multi_label()) {
        ex.multi_hot.assign(static_cast<size_t>(labels_.size()), 0.0f);
        for (const auto& l : doc.labels) ex.multi_hot[static_cast<size_t>(labels_.index(l))] = 1.0f;
        return;
    }
    if (doc.labels.size() > 1)
        throw InvalidInput("document " + doc.id + " has " + std::to_string(doc.labels.size()) +
                           " labels but the task is single-label");
    ex.label = labels_.index(doc.labels.front());
}

Example ClassificationExampleBuilder::sentence(const Document& doc) const {
    Example ex;
    ex.id = doc.id;
    std::vector<int64_t> a = tokenizer_.encode(doc.text);
    const bool pair = !doc.text_b.empty();
    std::vector<int64_t> b;
    if (pair) {
        if (options_.max_length < 4) throw InvalidInput("a sentence pair needs max_length of at least 4");
        b = tokenizer_.encode(doc.text_b);
        // Hugging Face's "longest_first": drop the last token of the longer side, of B on ties.
        const auto budget = static_cast<size_t>(options_.max_length - 3);
        while (a.size() + b.size() > budget) {
            if (a.size() > b.size())
                a.pop_back();
            else
                b.pop_back();
        }
    } else {
        const auto keep = kept_positions(a.size(), static_cast<size_t>(options_.max_length - 2),
                                         options_.truncation, options_.head_fraction);
        std::vector<int64_t> kept;
        kept.reserve(keep.size());
        for (size_t i : keep) kept.push_back(a[i]);
        a = std::move(kept);
    }
    auto push = [&ex](int64_t id, int64_t type, uint8_t special) {
        ex.input_ids.push_back(id);
        ex.token_type_ids.push_back(type);
        ex.special_tokens_mask.push_back(special);
    };
    push(specials_.cls, 0, 1);
    for (int64_t id : a) push(id, 0, 0);
    push(specials_.sep, 0, 1);
    if (pair) {
        for (int64_t id : b) push(id, 1, 0);
        push(specials_.sep, 1, 1);
    }
    set_label(doc, ex);
    return ex;
}

Example ClassificationExampleBuilder::document(const Document& doc) const {
    Example ex;
    ex.id = doc.id;
    const auto units =
        options_.unit == SegmentUnit::Paragraph ? split_paragraphs(doc.text) : split_sentences(doc.text);
    std::vector<int64_t> ids, unit_of;
    int64_t unit = 0;
    for (const auto& u : units) {
        const auto t = tokenizer_.encode(u);
        if (t.empty()) continue;
        ++unit;
        ids.insert(ids.end(), t.begin(), t.end());
        unit_of.insert(unit_of.end(), t.size(), unit);
    }
    const auto keep = kept_positions(ids.size(), static_cast<size_t>(options_.max_length - 2),
                                     options_.truncation, options_.head_fraction);
    ex.input_ids.reserve(keep.size() + 2);
    ex.segment_ids.reserve(keep.size() + 2);
    ex.input_ids.push_back(specials_.cls);
    ex.segment_ids.push_back(0);
    // Renumbered densely: head+tail cuts out the middle sentences, and the ids must stay below the model's
    // bound (2L + 2) however many sentences the document had.
    int64_t seg = 0, prev_unit = -1;
    for (size_t i : keep) {
        if (unit_of[i] != prev_unit) {
            ++seg;
            prev_unit = unit_of[i];
        }
        ex.input_ids.push_back(ids[i]);
        ex.segment_ids.push_back(seg);
    }
    ex.input_ids.push_back(specials_.sep);
    ex.segment_ids.push_back(seg + 1);
    ex.token_type_ids.assign(ex.input_ids.size(), 0);
    ex.special_tokens_mask.assign(ex.input_ids.size(), 0);
    ex.special_tokens_mask.front() = ex.special_tokens_mask.back() = 1;
    set_label(doc, ex);
    return ex;
}

}  // namespace ponet
