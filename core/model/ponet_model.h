// The PoNet model family: embeddings, token mixers (PoNet, FNet, attention), encoder layers (post-LN BERT skeleton
// or pre-LN LRA skeleton), the pooler and the task heads. Module names follow the Hugging Face parameter names
// (`ponet.encoder.layer.N.attention.self.dense_q.weight` ...), so `named_parameters()` *is* the checkpoint layout.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "core/kernels/ponet_mixing.h"
#include "core/model/model_config.h"

namespace ponet {

// Inputs of one forward pass; every tensor is [B, L] int64 except `labels` (task-dependent) and `sso_labels` [B].
struct ModelInputs {
    torch::Tensor input_ids;
    torch::Tensor attention_mask;  // 1 = real token; default: all ones (BERT) or input_ids != pad (LRA)
    torch::Tensor token_type_ids;  // default: zeros
    torch::Tensor segment_ids;     // SMP index; default: derived or fixed per ModelConfig::segment_strategy
    torch::Tensor labels;          // MLM labels (-100 = ignored) or classification labels
    torch::Tensor sso_labels;      // pre-training only
    int64_t num_segments = -1;     // a known bound on segment_ids (complete_inputs fills it), -1: unknown
    // segment_ids[b, i] == i / segment_width: complete_inputs made fixed segments of segment_width tokens each (1 on
    // a row shorter than segment_num), which lets the fused CUDA mixing skip SMP's segment tables where they are
    // narrow. Kept when the inputs are completed again (and checked against the ids when validating); a caller that
    // brings its own segment_ids leaves it 0 (no promise).
    int64_t segment_width = 0;
};

struct ForwardOptions {
    bool output_hidden_states = false;        // hidden_states[0] = embeddings, [i+1] = layer i
    bool output_ga = false;                   // GA weights per layer (PoNet mixer only)
    std::vector<MixingTrace>* traces = nullptr;  // inspection hook: one entry per layer when set
    MixerImpl impl = MixerImpl::Auto;
    bool validate_inputs = true;              // range checks on ids (one host sync)
};

struct EncoderOutput {
    torch::Tensor last_hidden_state;   // [B, L, D]
    torch::Tensor pooler_output;       // [B, D]: tanh pooler on [CLS] (BERT) or the mean over all L (LRA)
    std::vector<torch::Tensor> hidden_states;
    std::vector<torch::Tensor> ga_attention;
};

struct ModelOutput {
    EncoderOutput encoder;
    torch::Tensor prediction_logits;        // [B, L, V]  (pre-training)
    torch::Tensor seq_relationship_logits;  // [B, 3]     (pre-training, SSO)
    torch::Tensor logits;                   // [B, C]     (classification)
    torch::Tensor loss, mlm_loss, sso_loss;
};

// Per-call context shared by the mixers of every layer.
struct MixContext {
    torch::Tensor keep;         // bool [B, L]
    torch::Tensor special;      // bool [B, L] (σ) or undefined
    torch::Tensor segment_ids;  // int64 [B, L]
    int64_t num_segments = -1;  // every id is below this when known (-1: unknown)
    int64_t segment_width = 0;  // segment_ids[b, i] == i / segment_width (fixed segments), 0: unknown
    MixerImpl impl = MixerImpl::Auto;
    // The weight of the projection after the mixer (attention.output.dense), or undefined: PoNet's fused path casts
    // it to the low precision with its own five (one kernel instead of two) and hands the copy back.
    torch::Tensor output_weight;
};

struct MixerResult {
    torch::Tensor y;
    torch::Tensor ga_weights;  // PoNet only
    torch::Tensor output_weight_low;  // MixContext::output_weight in the low precision, where the mixer made it
};

// A token mixer: the `attention.self` sub-module.
class TokenMixerImpl : public torch::nn::Module {
public:
    virtual MixerResult mix(const torch::Tensor& x, const MixContext& ctx, MixingTrace* trace) = 0;
};

class PoNetSelfImpl : public TokenMixerImpl {
public:
    explicit PoNetSelfImpl(const ModelConfig& c);
    MixerResult mix(const torch::Tensor& x, const MixContext& ctx, MixingTrace* trace) override;
    torch::nn::Linear dense_local{nullptr}, dense_segment{nullptr}, dense_q{nullptr}, dense_k{nullptr},
        dense_o{nullptr};

private:
    int64_t heads_;
    bool clsgsepg_;
};

// FNet (§6.1): Re(fft2) over the (sequence, hidden) axes in fp32; no parameters, the mask is ignored.
class FNetSelfImpl : public TokenMixerImpl {
public:
    MixerResult mix(const torch::Tensor& x, const MixContext& ctx, MixingTrace* trace) override;
};

// Softmax self-attention (BERT names query/key/value), key padding masked.
class AttentionSelfImpl : public TokenMixerImpl {
public:
    explicit AttentionSelfImpl(const ModelConfig& c);
    MixerResult mix(const torch::Tensor& x, const MixContext& ctx, MixingTrace* trace) override;
    torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr};

private:
    int64_t heads_;
    double dropout_;
};

// Plain softmax attention composed from ATen ops; used where the LibTorch has no fused kernel, and by the tests.
torch::Tensor softmax_attention_composed(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                         const torch::Tensor& key_keep, double dropout, bool training);

class PoNetModelImpl;
class PoNetTaskModelImpl;

// Builds the task model named by config.architectures[0]: PoNetModel, PoNetForPreTraining,
// PoNetForSequenceClassification or PoNetForLraClassification. Initialised as PONET-SPEC §1.7 unless
// `initialise` is false (the weights are then left as allocated, for counting or for an immediate load).
std::shared_ptr<PoNetTaskModelImpl> build_model(const ModelConfig& config, bool initialise = true);

// Throws ponet::InvalidInput where the architecture is unknown or does not match the variant (build_model's
// own check, for callers that need the verdict without building).
void check_architecture(const ModelConfig& config);

// The common interface of every task model.
class PoNetTaskModelImpl : public torch::nn::Module {
public:
    explicit PoNetTaskModelImpl(ModelConfig c) : config_(std::move(c)) {}
    virtual ModelOutput forward(const ModelInputs& in, const ForwardOptions& opt = {}) = 0;
    virtual PoNetModelImpl& base() = 0;
    const ModelConfig& config() const { return config_; }
    // Prefix of the base model's parameter names ("ponet." or "" for a bare PoNetModel).
    virtual std::string base_prefix() const { return "ponet."; }

protected:
    ModelConfig config_;
};

// Embeddings + encoder (+ pooler for the BERT skeleton).
class PoNetModelImpl : public torch::nn::Module {
public:
    explicit PoNetModelImpl(const ModelConfig& c);
    EncoderOutput forward(const ModelInputs& in, const ForwardOptions& opt);
    const ModelConfig& config() const { return config_; }
    torch::Tensor word_embedding_weight() const;

    // Gradient checkpointing per encoder layer, for long documents: a training forward pass keeps only each
    // layer's input, and backward() recomputes each layer (replaying its dropout RNG and, on CUDA, the autocast
    // dtype given here) just before its gradients are needed. Activation memory then grows with one layer,
    // not all of them. Only forward passes in training mode with grad enabled are checkpointed.
    void set_gradient_checkpointing(bool enabled, bool autocast = false, at::ScalarType autocast_dtype = at::kBFloat16);
    bool gradient_checkpointing() const { return checkpointing_; }
    // loss.backward(), then the checkpointed layers' recompute-and-backward, last layer first. Use it instead
    // of loss.backward() whenever checkpointing may be on (it is exactly loss.backward() otherwise).
    void backward(const torch::Tensor& loss);

private:
    struct CheckpointedLayer {
        size_t layer = 0;
        torch::Tensor input;   // the previous layer's (leaf) output, or the embeddings output
        torch::Tensor output;  // a leaf that collects the gradient flowing back into this layer
        MixContext ctx;
        torch::Tensor cpu_rng_state, cuda_rng_state;
    };
    ModelConfig config_;
    bool checkpointing_ = false, checkpoint_autocast_ = false;
    at::ScalarType checkpoint_autocast_dtype_ = at::kBFloat16;
    std::vector<CheckpointedLayer> pending_;
    std::shared_ptr<class EmbeddingsImpl> embeddings_;
    std::shared_ptr<class EncoderImpl> encoder_;
    std::shared_ptr<class PoolerImpl> pooler_;  // BERT skeleton only
};

// Initialises every parameter as the reference does (§1.7; PyTorch defaults for the LRA skeleton's layers).
void init_weights(PoNetTaskModelImpl& model);

// Fills defaults (attention mask, token types, segment ids) and checks shapes and id ranges; throws
// ponet::InvalidInput naming the problem.
// `num_segments` (optional) receives a bound on the segment ids when it is known without another device read,
// else -1.
ModelInputs complete_inputs(const ModelConfig& config, const ModelInputs& in, bool validate,
                            int64_t* num_segments = nullptr);

}  // namespace ponet
