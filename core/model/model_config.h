// The model's configuration: Hugging Face `config.json` (all BERT fields, `clsgsepg`) plus our own fields.
// Torch-free so that the GUI and the CLI can read and show it cheaply.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ponet {

// Shapes beyond these are refused by validate(), before anything is allocated: a hostile or mistyped
// config.json must fail with a message, not exhaust memory. 10^10 parameters are 160 GB of training state.
inline constexpr int64_t kMaxHiddenLayers = 1024;
inline constexpr double kMaxModelParameters = 1e10;

enum class MixerKind { PoNet, FNet, Attention };
// Bert: post-LN BERT skeleton (PONET-SPEC §1). Lra: pre-LN skeleton with mean pooling (§4.2).
enum class ModelVariant { Bert, Lra };
// Where SMP segments come from when no explicit `segment_ids` are passed: derived from [CLS]/[SEP] (§1.5a) or
// fixed-size chunks of floor(L/segment_num)+1 tokens (§1.5c, the LRA rule).
enum class SegmentStrategy { Derived, Fixed };

std::string to_string(MixerKind k);
std::string to_string(ModelVariant v);
std::string to_string(SegmentStrategy s);
MixerKind mixer_kind_from_string(const std::string& s);           // throws ponet::InvalidInput
ModelVariant model_variant_from_string(const std::string& s);     // throws ponet::InvalidInput
SegmentStrategy segment_strategy_from_string(const std::string& s);  // throws ponet::InvalidInput

struct ModelConfig {
    // Hugging Face / BERT fields.
    std::vector<std::string> architectures{"PoNetForPreTraining"};
    std::string model_type = "ponet";
    int64_t vocab_size = 30522;
    int64_t hidden_size = 768;
    int64_t num_hidden_layers = 12;
    int64_t num_attention_heads = 12;
    int64_t intermediate_size = 3072;
    std::string hidden_act = "gelu";
    double hidden_dropout_prob = 0.1;
    double attention_probs_dropout_prob = 0.1;
    int64_t max_position_embeddings = 512;
    int64_t type_vocab_size = 2;
    double initializer_range = 0.02;
    double layer_norm_eps = 1e-12;
    bool clsgsepg = true;
    std::string position_embedding_type = "absolute";

    // Special-token ids: taken from the tokenizer, defaulting to BERT's. Never hard-coded in the math.
    int64_t pad_token_id = 0;
    int64_t unk_token_id = 100;
    int64_t cls_token_id = 101;
    int64_t sep_token_id = 102;
    int64_t mask_token_id = 103;

    // Classification heads (HF `id2label`; num_labels = its size).
    std::vector<std::string> id2label{"LABEL_0", "LABEL_1"};
    // "single_label_classification", "multi_label_classification" or "regression".
    std::string problem_type = "single_label_classification";

    // Our own fields.
    MixerKind mixer = MixerKind::PoNet;
    ModelVariant variant = ModelVariant::Bert;
    SegmentStrategy segment_strategy = SegmentStrategy::Derived;
    int64_t segment_num = 64;          // only with SegmentStrategy::Fixed (LRA `segment_num`, §4.2.2)
    int64_t classifier_hidden = 0;     // LRA MLP head width; 0 = intermediate_size
    // The sequence length the model was trained at (the run's model.max_length; 0: not recorded, as in a model
    // from elsewhere). Inference truncates to it, and LRA and FNet models pad every input to it, so a checkpoint
    // copied out of its run folder classifies as the run does.
    int64_t trained_length = 0;
    // What an LRA model without a tokenizer of its own reads: "listops", "pixels" or "bytes"; empty otherwise.
    std::string lra_input;

    // Fields we do not know, kept verbatim (a JSON object text) so a round trip loses nothing.
    std::string extra_json = "{}";

    int64_t num_labels() const { return static_cast<int64_t>(id2label.size()); }
    int64_t head_dim() const { return hidden_size / num_attention_heads; }
    std::string architecture() const { return architectures.empty() ? "PoNetModel" : architectures.front(); }

    // The parameters build_model() creates for this configuration, by group in the order the model holds them
    // (embeddings, the encoder's layers, its final norm or the pooler, the task's heads), computed without
    // building it (the tied MLM decoder counted once). Long doubles, so that absurd sizes cannot overflow.
    std::vector<std::pair<std::string, long double>> parameter_groups() const;
    long double parameter_count() const;  // their sum

    // Throws ponet::InvalidInput naming the field and the problem.
    void validate() const;

    static ModelConfig from_json_text(const std::string& text, const std::string& origin = "config.json");
    std::string to_json_text() const;
    static ModelConfig load(const std::string& path);
    void save(const std::string& path) const;  // atomic write
};

}  // namespace ponet
