// Reading and writing `config.json`: every BERT field, `clsgsepg`, our own fields, and unknown fields kept verbatim.
#include "core/model/model_config.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <type_traits>

#include "core/io/atomic_file.h"
#include "core/util/error.h"
#include "core/util/json_limits.h"

namespace ponet {
using nlohmann::json;

std::string to_string(MixerKind k) {
    switch (k) {
        case MixerKind::PoNet: return "ponet";
        case MixerKind::FNet: return "fnet";
        case MixerKind::Attention: return "attention";
    }
    return "ponet";
}
std::string to_string(ModelVariant v) { return v == ModelVariant::Lra ? "lra" : "bert"; }
std::string to_string(SegmentStrategy s) { return s == SegmentStrategy::Fixed ? "fixed" : "derived"; }

MixerKind mixer_kind_from_string(const std::string& s) {
    if (s == "ponet") return MixerKind::PoNet;
    if (s == "fnet") return MixerKind::FNet;
    if (s == "attention" || s == "softmax") return MixerKind::Attention;
    throw InvalidInput("unknown mixer '" + s + "' (expected ponet, fnet or attention)");
}
ModelVariant model_variant_from_string(const std::string& s) {
    if (s == "bert") return ModelVariant::Bert;
    if (s == "lra") return ModelVariant::Lra;
    throw InvalidInput("unknown ponet_variant '" + s + "' (expected bert or lra)");
}
SegmentStrategy segment_strategy_from_string(const std::string& s) {
    if (s == "derived") return SegmentStrategy::Derived;
    if (s == "fixed") return SegmentStrategy::Fixed;
    throw InvalidInput("unknown segment_strategy '" + s + "' (expected derived or fixed)");
}

namespace {

// Keys this struct owns; everything else goes to extra_json untouched.
const char* const kKnownKeys[] = {
    "architectures", "model_type", "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
    "intermediate_size", "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob",
    "max_position_embeddings", "type_vocab_size", "initializer_range", "layer_norm_eps", "clsgsepg",
    "position_embedding_type", "pad_token_id", "unk_token_id", "cls_token_id", "sep_token_id", "mask_token_id",
    "id2label", "label2id", "num_labels", "problem_type", "mixer", "ponet_variant", "segment_strategy",
    "segment_num", "classifier_hidden", "ponet_max_length", "ponet_lra_input"};

template <class T>
void read_field(const json& j, const char* key, T& out, const std::string& origin) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;
    if constexpr (std::is_same_v<T, int64_t>) {
        // nlohmann converts with a plain cast: 2^64-1 would become -1 and 1e300 is undefined behaviour. Whole
        // floats (768.0) are accepted as some exporters write them.
        const bool in_range = it->is_number_integer()
                                  ? !(it->is_number_unsigned() && it->get<uint64_t>() > uint64_t(INT64_MAX))
                                  : it->is_number_float() && std::fabs(it->get<double>()) <= 9.0e15 &&
                                        std::floor(it->get<double>()) == it->get<double>();
        if (!in_range) {
            if (!it->is_number())
                throw InvalidInput(origin + ": field '" + key + "' has the wrong type (" + it->type_name() + ")");
            throw InvalidInput(origin + ": field '" + key + "' is " + it->dump() +
                               ", not an integer between -2^63 and 2^63");
        }
        out = it->is_number_integer() ? it->get<int64_t>() : static_cast<int64_t>(it->get<double>());
        return;
    }
    try {
        out = it->get<T>();
    } catch (const json::exception&) {
        throw InvalidInput(origin + ": field '" + key + "' has the wrong type (" + it->type_name() + ")");
    }
}

void require(bool ok, const std::string& message) {
    if (!ok) throw InvalidInput(message);
}

}  // namespace

std::vector<std::pair<std::string, long double>> ModelConfig::parameter_groups() const {
    using R = long double;
    const R D = R(hidden_size), I = R(intermediate_size), K = R(num_labels());
    const bool bert = variant == ModelVariant::Bert;
    auto linear = [](R in, R out) { return in * out + out; };
    const R norm = 2 * D;
    R embeddings = R(vocab_size) * D + R(max_position_embeddings) * D;
    if (bert) embeddings += R(type_vocab_size) * D + norm;
    R mixing = 0;
    if (mixer == MixerKind::PoNet) mixing = 5 * linear(D, D);
    if (mixer == MixerKind::Attention) mixing = 3 * linear(D, D);
    const R mixer_output = (mixer == MixerKind::FNet ? 0 : linear(D, D)) + norm;
    const R layer = mixing + mixer_output + linear(D, I) + linear(I, D) + norm;
    std::vector<std::pair<std::string, R>> groups = {
        {"embeddings", embeddings},
        {"encoder layers (x" + std::to_string(num_hidden_layers) + ")", R(num_hidden_layers) * layer},
        bert ? std::pair<std::string, R>{"pooler", linear(D, D)} : std::pair<std::string, R>{"encoder final norm", norm}};
    const std::string arch = architecture();
    if (!bert) {
        const R hidden = classifier_hidden > 0 ? R(classifier_hidden) : I;
        groups.emplace_back("classifier", linear(D, hidden) + linear(hidden, K));
    } else if (arch == "PoNetForPreTraining" || arch == "PoNetForMaskedLM") {
        // The MLM transform and the decoder's bias (its weight is the word embeddings), then SSO's three classes.
        groups.emplace_back("cls (MLM + SSO heads)", linear(D, D) + norm + R(vocab_size) + linear(D, 3));
    } else if (arch == "PoNetForSequenceClassification") {
        groups.emplace_back("classifier", linear(D, K));
    }
    return groups;
}

long double ModelConfig::parameter_count() const {
    long double total = 0;
    for (const auto& group : parameter_groups()) total += group.second;
    return total;
}

void ModelConfig::validate() const {
    auto positive = [](int64_t v, const char* name) {
        require(v > 0, std::string("config: ") + name + " must be positive, got " + std::to_string(v));
    };
    positive(vocab_size, "vocab_size");
    positive(hidden_size, "hidden_size");
    positive(num_hidden_layers, "num_hidden_layers");
    positive(num_attention_heads, "num_attention_heads");
    positive(intermediate_size, "intermediate_size");
    positive(max_position_embeddings, "max_position_embeddings");
    require(hidden_size % num_attention_heads == 0,
            "config: hidden_size " + std::to_string(hidden_size) + " is not a multiple of num_attention_heads " +
                std::to_string(num_attention_heads));
    require(variant == ModelVariant::Lra || type_vocab_size > 0, "config: type_vocab_size must be positive");
    require(hidden_act == "gelu" || hidden_act == "relu" || hidden_act == "gelu_new" || hidden_act == "tanh",
            "config: unsupported hidden_act '" + hidden_act + "' (gelu, gelu_new, relu, tanh)");
    require(position_embedding_type == "absolute",
            "config: only absolute position embeddings are supported, got '" + position_embedding_type + "'");
    require(hidden_dropout_prob >= 0 && hidden_dropout_prob < 1, "config: hidden_dropout_prob must be in [0, 1)");
    require(attention_probs_dropout_prob >= 0 && attention_probs_dropout_prob < 1,
            "config: attention_probs_dropout_prob must be in [0, 1)");
    require(layer_norm_eps > 0, "config: layer_norm_eps must be positive");
    require(pad_token_id >= 0 && pad_token_id < vocab_size,
            "config: pad_token_id " + std::to_string(pad_token_id) + " is outside the vocabulary");
    // The LRA skeleton has no special tokens (§4.2.2), so only BERT-style models must hold them in the vocabulary.
    if (variant == ModelVariant::Bert)
        for (auto [id, name] : {std::pair{cls_token_id, "cls_token_id"}, {sep_token_id, "sep_token_id"},
                                {mask_token_id, "mask_token_id"}}) {
        require(id >= 0 && id < vocab_size, std::string("config: ") + name + " " + std::to_string(id) +
                                                 " is outside the vocabulary [0, " + std::to_string(vocab_size) + ")");
    }
    require(!id2label.empty(), "config: id2label must name at least one label");
    require(problem_type == "single_label_classification" || problem_type == "multi_label_classification" ||
                problem_type == "regression",
            "config: unknown problem_type '" + problem_type + "'");
    require(segment_num > 0, "config: segment_num must be positive");
    require(classifier_hidden >= 0, "config: classifier_hidden must be >= 0");
    require(trained_length >= 0 && trained_length <= max_position_embeddings,
            "config: ponet_max_length " + std::to_string(trained_length) + " is outside [0, max_position_embeddings " +
                std::to_string(max_position_embeddings) + "]");
    require(lra_input.empty() || lra_input == "listops" || lra_input == "pixels" || lra_input == "bytes",
            "config: unknown ponet_lra_input '" + lra_input + "' (listops, pixels or bytes)");
    require(std::isfinite(initializer_range) && initializer_range >= 0,
            "config: initializer_range must be a finite number >= 0");
    require(std::isfinite(layer_norm_eps), "config: layer_norm_eps must be finite");
    // Size limits last, so that a negative size is reported as such rather than as a small model.
    require(num_hidden_layers <= kMaxHiddenLayers, "config: num_hidden_layers " + std::to_string(num_hidden_layers) +
                                                       " is more than the limit of " +
                                                       std::to_string(kMaxHiddenLayers));
    const long double params = parameter_count();
    if (params > kMaxModelParameters) {
        char text[160];
        std::snprintf(text, sizeof text,
                      "config: this shape has %.3Lg parameters (%.3Lg GB of fp32 weights); the limit is %.0e",
                      params, params * 4 / 1e9, kMaxModelParameters);
        throw InvalidInput(text);
    }
}

ModelConfig ModelConfig::from_json_text(const std::string& text, const std::string& origin) {
    check_json_depth(text, origin);
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {  // parse_error, and out_of_range for a number such as 1e400
        throw InvalidInput(origin + ": not valid JSON (" + std::string(e.what()) + ")");
    }
    if (!j.is_object()) throw InvalidInput(origin + ": expected a JSON object, got " + std::string(j.type_name()));

    ModelConfig c;
    read_field(j, "architectures", c.architectures, origin);
    read_field(j, "model_type", c.model_type, origin);
    read_field(j, "vocab_size", c.vocab_size, origin);
    read_field(j, "hidden_size", c.hidden_size, origin);
    read_field(j, "num_hidden_layers", c.num_hidden_layers, origin);
    read_field(j, "num_attention_heads", c.num_attention_heads, origin);
    read_field(j, "intermediate_size", c.intermediate_size, origin);
    read_field(j, "hidden_act", c.hidden_act, origin);
    read_field(j, "hidden_dropout_prob", c.hidden_dropout_prob, origin);
    read_field(j, "attention_probs_dropout_prob", c.attention_probs_dropout_prob, origin);
    read_field(j, "max_position_embeddings", c.max_position_embeddings, origin);
    read_field(j, "type_vocab_size", c.type_vocab_size, origin);
    read_field(j, "initializer_range", c.initializer_range, origin);
    read_field(j, "layer_norm_eps", c.layer_norm_eps, origin);
    read_field(j, "clsgsepg", c.clsgsepg, origin);  // absent → true, as the reference
    read_field(j, "position_embedding_type", c.position_embedding_type, origin);
    read_field(j, "pad_token_id", c.pad_token_id, origin);
    read_field(j, "unk_token_id", c.unk_token_id, origin);
    read_field(j, "cls_token_id", c.cls_token_id, origin);
    read_field(j, "sep_token_id", c.sep_token_id, origin);
    read_field(j, "mask_token_id", c.mask_token_id, origin);
    read_field(j, "problem_type", c.problem_type, origin);
    read_field(j, "segment_num", c.segment_num, origin);
    read_field(j, "classifier_hidden", c.classifier_hidden, origin);
    read_field(j, "ponet_max_length", c.trained_length, origin);
    read_field(j, "ponet_lra_input", c.lra_input, origin);

    if (auto it = j.find("id2label"); it != j.end() && !it->is_null() && !it->is_object())
        throw InvalidInput(origin + ": field 'id2label' must be an object {\"0\": \"name\", ...}, got " +
                           std::string(it->type_name()));
    if (auto n = j.find("num_labels"); n != j.end() && !n->is_null() && !n->is_number_integer())
        throw InvalidInput(origin + ": field 'num_labels' must be an integer, got " + std::string(n->type_name()));
    if (auto it = j.find("id2label"); it != j.end() && it->is_object() && !it->empty()) {
        // HF writes {"0": "neg", "1": "pos"}; order by the integer key, which must cover 0..n-1.
        std::map<int64_t, std::string> by_id;
        for (auto& [k, v] : it->items()) {
            int64_t id = -1;
            try {
                size_t used = 0;
                id = std::stoll(k, &used);
                if (used != k.size()) id = -1;
            } catch (const std::exception&) {
            }
            if (id < 0 || !v.is_string()) throw InvalidInput(origin + ": id2label entry '" + k + "' is not int → string");
            by_id[id] = v.get<std::string>();
        }
        c.id2label.clear();
        for (auto& [id, name] : by_id) {
            if (id != static_cast<int64_t>(c.id2label.size()))
                throw InvalidInput(origin + ": id2label ids must be 0.." + std::to_string(by_id.size() - 1));
            c.id2label.push_back(name);
        }
    } else if (auto n = j.find("num_labels"); n != j.end() && n->is_number_integer()) {
        const int64_t count = n->get<int64_t>();
        if (count < 1 || count > 1000000) throw InvalidInput(origin + ": num_labels out of range");
        c.id2label.clear();
        for (int64_t i = 0; i < count; ++i) c.id2label.push_back("LABEL_" + std::to_string(i));
    }
    auto enum_field = [&](const char* key, auto parse, auto& out) {
        auto it = j.find(key);
        if (it == j.end() || it->is_null()) return;
        if (!it->is_string())
            throw InvalidInput(origin + ": field '" + key + "' must be a string, got " + it->type_name());
        try {
            out = parse(it->template get<std::string>());
        } catch (const InvalidInput& e) {
            throw InvalidInput(origin + ": " + e.what());
        }
    };
    enum_field("mixer", mixer_kind_from_string, c.mixer);
    enum_field("ponet_variant", model_variant_from_string, c.variant);
    enum_field("segment_strategy", segment_strategy_from_string, c.segment_strategy);

    json extra = json::object();
    for (auto& [k, v] : j.items()) {
        bool known = false;
        for (const char* key : kKnownKeys) known = known || k == key;
        if (!known) extra[k] = v;
    }
    c.extra_json = extra.dump();
    try {
        c.validate();
    } catch (const InvalidInput& e) {
        throw InvalidInput(origin + ": " + e.what());
    }
    return c;
}

std::string ModelConfig::to_json_text() const {
    json j = json::parse(extra_json.empty() ? "{}" : extra_json);
    j["architectures"] = architectures;
    j["model_type"] = model_type;
    j["vocab_size"] = vocab_size;
    j["hidden_size"] = hidden_size;
    j["num_hidden_layers"] = num_hidden_layers;
    j["num_attention_heads"] = num_attention_heads;
    j["intermediate_size"] = intermediate_size;
    j["hidden_act"] = hidden_act;
    j["hidden_dropout_prob"] = hidden_dropout_prob;
    j["attention_probs_dropout_prob"] = attention_probs_dropout_prob;
    j["max_position_embeddings"] = max_position_embeddings;
    j["type_vocab_size"] = type_vocab_size;
    j["initializer_range"] = initializer_range;
    j["layer_norm_eps"] = layer_norm_eps;
    j["clsgsepg"] = clsgsepg;
    j["position_embedding_type"] = position_embedding_type;
    j["pad_token_id"] = pad_token_id;
    j["unk_token_id"] = unk_token_id;
    j["cls_token_id"] = cls_token_id;
    j["sep_token_id"] = sep_token_id;
    j["mask_token_id"] = mask_token_id;
    json id2 = json::object(), label2 = json::object();
    for (size_t i = 0; i < id2label.size(); ++i) {
        id2[std::to_string(i)] = id2label[i];
        label2[id2label[i]] = i;
    }
    j["id2label"] = id2;
    j["label2id"] = label2;
    j["problem_type"] = problem_type;
    j["mixer"] = to_string(mixer);
    j["ponet_variant"] = to_string(variant);
    j["segment_strategy"] = to_string(segment_strategy);
    j["segment_num"] = segment_num;
    j["classifier_hidden"] = classifier_hidden;
    // Written only where known, so that a model from elsewhere keeps its config.json as it came.
    if (trained_length > 0) j["ponet_max_length"] = trained_length;
    if (!lra_input.empty()) j["ponet_lra_input"] = lra_input;
    return j.dump(2) + "\n";
}

ModelConfig ModelConfig::load(const std::string& path) {
    std::string text;
    try {
        // A config.json is a few kilobytes; a huge file here is a mistake (or a JSON bomb), not a config.
        text = read_file(path, 16u << 20);
    } catch (const Error& e) {
        throw InvalidInput(std::string("cannot read model config: ") + e.what());
    }
    return from_json_text(text, path);
}

void ModelConfig::save(const std::string& path) const { write_file_atomic(path, to_json_text()); }

}  // namespace ponet
