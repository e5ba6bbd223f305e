// The model family of ponet_model.h. PONET-SPEC §1 (BERT skeleton) and §4.2 (LRA skeleton).
#include "core/model/ponet_model.h"

#include "core/kernels/layer_norm_fused.h"
#include "core/kernels/linear_fused.h"
#include "core/kernels/ponet_mixing_fused.h"

#include <cmath>
#include <tuple>

#include "core/model/segments.h"
#include "core/util/torch_compat.h"
#include "core/util/error.h"

namespace ponet {
namespace F = torch::nn::functional;

namespace {

torch::nn::Linear linear(int64_t in, int64_t out) { return torch::nn::Linear(torch::nn::LinearOptions(in, out)); }
torch::nn::LayerNorm layer_norm(const ModelConfig& c) {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps));
}

// A module with a single Linear called "dense" and, optionally, a LayerNorm called "LayerNorm".
struct DenseNormImpl : torch::nn::Module {
    DenseNormImpl(int64_t in, int64_t out, const ModelConfig* norm_cfg) {
        if (in > 0) dense = register_module("dense", linear(in, out));
        if (norm_cfg) LayerNorm = register_module("LayerNorm", layer_norm(*norm_cfg));
    }
    torch::nn::Linear dense{nullptr};
    torch::nn::LayerNorm LayerNorm{nullptr};
};
TORCH_MODULE(DenseNorm);

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Mixers

PoNetSelfImpl::PoNetSelfImpl(const ModelConfig& c) : heads_(c.num_attention_heads), clsgsepg_(c.clsgsepg) {
    const auto D = c.hidden_size;
    // Construction order = the reference's state-dict order.
    dense_local = register_module("dense_local", linear(D, D));
    dense_segment = register_module("dense_segment", linear(D, D));
    dense_q = register_module("dense_q", linear(D, D));
    dense_k = register_module("dense_k", linear(D, D));
    dense_o = register_module("dense_o", linear(D, D));
}

MixerResult PoNetSelfImpl::mix(const torch::Tensor& x_in, const MixContext& ctx, MixingTrace* trace) {
    // Under autocast each of the five projections would cast x to the low precision on its own, and autograd
    // would keep all five copies for the weight gradients; casting once keeps one (same values, same result).
    torch::Tensor x = x_in;
    if (const auto lp = cuda_autocast_dtype(x_in); lp && x_in.scalar_type() == torch::kFloat) x = x_in.to(*lp);
    const bool fused = ctx.impl != MixerImpl::Reference;
    const int64_t D = x.size(-1);
    auto with_context = [&](auto& in) {
        in.keep = ctx.keep;
        in.special = ctx.special;
        in.segment_ids = ctx.segment_ids;
        in.heads = heads_;
        in.clsgsepg = clsgsepg_ && ctx.special.defined();
        in.num_segments = ctx.num_segments;
        in.segment_width = ctx.segment_width;
    };
    if (fused && !trace && x.dim() == 3 && packed_projections_enabled() &&
        packed_mixing_supported(x.device(), x.scalar_type(), D, heads_)) {
        // One matrix product for the five projections (the weights stacked for this call; the modules and their
        // state-dict names stay as they are); the mixing adds the biases as it reads the products.
        PoNetPackedMixingInputs pk;
        torch::Tensor output_weight_low;
        std::tie(pk.qkosl, pk.bias) = stacked_linear(
            x, {dense_q->weight, dense_k->weight, dense_o->weight, dense_segment->weight, dense_local->weight},
            {dense_q->bias, dense_k->bias, dense_o->bias, dense_segment->bias, dense_local->bias}, x.scalar_type(),
            ctx.output_weight, &output_weight_low);
        with_context(pk);
        auto out = ponet_mix_packed(pk, ctx.impl);
        return {out.y, out.ga_weights, output_weight_low};
    }
    PoNetMixingInputs in;
    // Our bias kernels under CUDA autocast unless the reference path (pure ATen) is asked for.
    in.q = ponet::linear(dense_q, x, fused);
    in.k = ponet::linear(dense_k, x, fused);
    in.o = ponet::linear(dense_o, x, fused);
    in.s = ponet::linear(dense_segment, x, fused);
    in.l = ponet::linear(dense_local, x, fused);
    with_context(in);
    auto out = ponet_mix(in, ctx.impl, trace);
    return {out.y, out.ga_weights, {}};
}

MixerResult FNetSelfImpl::mix(const torch::Tensor& x, const MixContext&, MixingTrace*) {
    auto y = torch::real(torch::fft::fft2(x.to(torch::kFloat))).to(x.scalar_type());
    return {y, {}, {}};
}

AttentionSelfImpl::AttentionSelfImpl(const ModelConfig& c)
    : heads_(c.num_attention_heads), dropout_(c.attention_probs_dropout_prob) {
    const auto D = c.hidden_size;
    query = register_module("query", linear(D, D));
    key = register_module("key", linear(D, D));
    value = register_module("value", linear(D, D));
}

torch::Tensor softmax_attention_composed(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                         const torch::Tensor& key_keep, double dropout, bool training) {
    // q, k, v: [B, H, L, d]; key_keep: bool [B, L]. Scores in fp32 so long sequences stay stable.
    const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
    auto scores = torch::matmul(q.to(torch::kFloat), k.to(torch::kFloat).transpose(-1, -2)) * scale;
    auto masked = key_keep.logical_not().unsqueeze(1).unsqueeze(2);  // [B,1,1,L]
    scores = scores.masked_fill(masked, -1e9);
    auto probs = torch::dropout(torch::softmax(scores, -1), dropout, training);
    return torch::matmul(probs, v.to(torch::kFloat)).to(v.scalar_type());
}

MixerResult AttentionSelfImpl::mix(const torch::Tensor& x, const MixContext& ctx, MixingTrace*) {
    const auto B = x.size(0), L = x.size(1), D = x.size(2), H = heads_, d = D / H;
    auto heads = [&](const torch::Tensor& t) { return t.view({B, L, H, d}).transpose(1, 2); };
    const bool fused = ctx.impl != MixerImpl::Reference;
    auto q = heads(ponet::linear(query, x, fused)), k = heads(ponet::linear(key, x, fused)),
         v = heads(ponet::linear(value, x, fused));
    const double p = is_training() ? dropout_ : 0.0;
#if PONET_TORCH_AT_LEAST(2, 0)
    // LibTorch 2.x: the fused kernel (flash / memory-efficient / math, chosen by ATen). Boolean mask: true = attend.
    auto mask = ctx.keep.unsqueeze(1).unsqueeze(2);
    auto ctx_out = at::scaled_dot_product_attention(q, k, v, mask, p, false);
#else
    auto ctx_out = softmax_attention_composed(q, k, v, ctx.keep, p, is_training());
#endif
    return {ctx_out.transpose(1, 2).reshape({B, L, D}), {}, {}};
}

// ---------------------------------------------------------------------------------------------------------------
// Embeddings, layers, encoder, pooler

class EmbeddingsImpl : public torch::nn::Module {
public:
    explicit EmbeddingsImpl(const ModelConfig& c) : c_(c) {
        // BERT's word embeddings have padding_idx (row 0 gets no lookup gradient, §1.2); the LRA code's have none
        // (§4.2.1), which matters where id 0 is a real black pixel (§7 #18).
        auto word_opts = torch::nn::EmbeddingOptions(c.vocab_size, c.hidden_size);
        if (c.variant == ModelVariant::Bert) word_opts.padding_idx(c.pad_token_id);
        word_embeddings = register_module("word_embeddings", torch::nn::Embedding(word_opts));
        position_embeddings = register_module(
            "position_embeddings", torch::nn::Embedding(c.max_position_embeddings, c.hidden_size));
        if (c.variant == ModelVariant::Bert) {
            token_type_embeddings =
                register_module("token_type_embeddings", torch::nn::Embedding(c.type_vocab_size, c.hidden_size));
            LayerNorm = register_module("LayerNorm", layer_norm(c));
        }
    }
    torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& type_ids) {
        const auto L = ids.size(1);
        auto pos = torch::arange(L, ids.options()).unsqueeze(0);
        auto e = word_embeddings(ids) + position_embeddings(pos);
        if (c_.variant == ModelVariant::Bert) e = LayerNorm(e + token_type_embeddings(type_ids));
        return torch::dropout(e, c_.hidden_dropout_prob, is_training());
    }
    torch::nn::Embedding word_embeddings{nullptr}, position_embeddings{nullptr}, token_type_embeddings{nullptr};
    torch::nn::LayerNorm LayerNorm{nullptr};

private:
    ModelConfig c_;
};

// The `attention` sub-module: the mixer (`self`) and its output projection and LayerNorm (`output`).
class MixerBlockImpl : public torch::nn::Module {
public:
    explicit MixerBlockImpl(const ModelConfig& c) {
        switch (c.mixer) {
            case MixerKind::PoNet: mixer = std::make_shared<PoNetSelfImpl>(c); break;
            case MixerKind::FNet: mixer = std::make_shared<FNetSelfImpl>(); break;
            case MixerKind::Attention: mixer = std::make_shared<AttentionSelfImpl>(c); break;
        }
        register_module("self", mixer);
        // FNet has no projection after the transform (§6.1, §4.2.4).
        const int64_t proj = c.mixer == MixerKind::FNet ? 0 : c.hidden_size;
        output = register_module("output", DenseNorm(proj, c.hidden_size, &c));
    }
    std::shared_ptr<TokenMixerImpl> mixer;
    DenseNorm output{nullptr};
};

class EncoderLayerImpl : public torch::nn::Module {
public:
    explicit EncoderLayerImpl(const ModelConfig& c) : c_(c) {
        attention = register_module("attention", std::make_shared<MixerBlockImpl>(c));
        intermediate = register_module("intermediate", DenseNorm(c.hidden_size, c.intermediate_size, nullptr));
        output = register_module("output", DenseNorm(c.intermediate_size, c.hidden_size, &c));
    }

    torch::Tensor forward(const torch::Tensor& x, const MixContext& ctx, MixerResult* mixed_out, MixingTrace* trace) {
        const double p = c_.hidden_dropout_prob;
        const bool train = is_training();
        // Our LayerNorm kernels on CUDA unless the reference path (pure ATen) is asked for.
        auto norm = [&](const torch::nn::LayerNorm& n, const torch::Tensor& t, bool for_matmul) {
            return layer_norm(n, t, for_matmul, ctx.impl != MixerImpl::Reference);
        };
        const bool fused = ctx.impl != MixerImpl::Reference;
        // The mixer may hand back the output projection's weight already in the low precision (MixContext).
        MixContext mix_ctx = ctx;
        if (fused && attention->output->dense) mix_ctx.output_weight = attention->output->dense->weight;
        // residual + dropout(output projection of the mixing): FNet has no projection there. On CUDA the
        // projection's bias, the dropout and the residual add are one kernel (linear_dropout_add).
        const double p_now = train ? p : 0.0;
        auto add_projected = [&](const torch::Tensor& residual, const MixerResult& m) {
            if (!attention->output->dense) return residual + torch::dropout(m.y, p, train);
            return linear_dropout_add(attention->output->dense, m.y, residual, p_now, fused, m.output_weight_low);
        };
        if (c_.variant == ModelVariant::Bert) {
            // Post-LN (§1.3).
            MixerResult m = attention->mixer->mix(x, mix_ctx, trace);
            auto a = norm(attention->output->LayerNorm, add_projected(x, m), false);
            auto f = linear_activation_dropout(intermediate->dense, a, c_.hidden_act, 0.0, fused);
            *mixed_out = std::move(m);
            return norm(output->LayerNorm, linear_dropout_add(output->dense, f, a, p_now, fused), false);
        }
        // Pre-LN (§4.2.1): attention.output.LayerNorm is the norm before the mixer, output.LayerNorm the one
        // before the MLP.
        // The norms' outputs feed matrix products only (PoNet's and attention's projections, the MLP), so under
        // autocast they may come out in the low precision directly; FNet's transform runs in fp32 on LN1's output.
        const bool mixer_matmul = c_.mixer != MixerKind::FNet;
        MixerResult m = attention->mixer->mix(norm(attention->output->LayerNorm, x, mixer_matmul), mix_ctx, trace);
        auto h = add_projected(x, m);
        auto f = linear_activation_dropout(intermediate->dense, norm(output->LayerNorm, h, true), c_.hidden_act, p_now,
                                           fused);
        *mixed_out = std::move(m);
        return linear_dropout_add(output->dense, f, h, p_now, fused);
    }
    std::shared_ptr<MixerBlockImpl> attention;
    DenseNorm intermediate{nullptr}, output{nullptr};

private:
    ModelConfig c_;
};

class EncoderImpl : public torch::nn::Module {
public:
    explicit EncoderImpl(const ModelConfig& c) {
        layer = register_module("layer", torch::nn::ModuleList());
        for (int64_t i = 0; i < c.num_hidden_layers; ++i) layer->push_back(std::make_shared<EncoderLayerImpl>(c));
        if (c.variant == ModelVariant::Lra) final_layer_norm = register_module("final_layer_norm", layer_norm(c));
    }
    torch::nn::ModuleList layer{nullptr};
    torch::nn::LayerNorm final_layer_norm{nullptr};
};

class PoolerImpl : public torch::nn::Module {
public:
    explicit PoolerImpl(const ModelConfig& c) { dense = register_module("dense", linear(c.hidden_size, c.hidden_size)); }
    torch::nn::Linear dense{nullptr};
};

// ---------------------------------------------------------------------------------------------------------------
// Inputs

ModelInputs complete_inputs(const ModelConfig& c, const ModelInputs& in, bool validate, int64_t* num_segments) {
    int64_t unused = -1;
    if (!num_segments) num_segments = &unused;
    *num_segments = in.num_segments;
    ModelInputs r = in;
    if (!r.input_ids.defined()) throw InvalidInput("input_ids are required");
    if (r.input_ids.dim() != 2) throw InvalidInput("input_ids must be [batch, seq], got " + std::to_string(r.input_ids.dim()) + " dimensions");
    r.input_ids = r.input_ids.to(torch::kLong);
    const auto B = r.input_ids.size(0), L = r.input_ids.size(1);
    auto check_shape = [&](const torch::Tensor& t, const char* name) {
        if (t.defined() && (t.dim() != 2 || t.size(0) != B || t.size(1) != L))
            throw InvalidInput(std::string(name) + " must have the shape of input_ids [" + std::to_string(B) + ", " +
                               std::to_string(L) + "]");
    };
    check_shape(r.attention_mask, "attention_mask");
    check_shape(r.token_type_ids, "token_type_ids");
    check_shape(r.segment_ids, "segment_ids");
    if (L > c.max_position_embeddings)
        throw InvalidInput("sequence length " + std::to_string(L) + " exceeds max_position_embeddings " +
                           std::to_string(c.max_position_embeddings));
    const auto opts = r.input_ids.options();
    if (!r.attention_mask.defined()) {
        // The LRA pipeline masks id 0 (also for pixels: §7 #18, kept for parity).
        r.attention_mask = c.variant == ModelVariant::Lra ? r.input_ids.ne(c.pad_token_id).to(torch::kLong)
                                                          : torch::ones({B, L}, opts);
    }
    r.attention_mask = r.attention_mask.to(torch::kLong);
    if (!r.token_type_ids.defined()) r.token_type_ids = torch::zeros({B, L}, opts);
    r.token_type_ids = r.token_type_ids.to(torch::kLong);
    if (!r.segment_ids.defined()) {
        const bool fixed = c.segment_strategy == SegmentStrategy::Fixed;
        r.segment_ids = fixed ? fixed_segment_ids(B, L, c.segment_num, r.input_ids.device())
                              : derive_segment_ids(r.input_ids, c.cls_token_id, c.sep_token_id);
        *num_segments = fixed ? fixed_segment_count(L, c.segment_num) : -1;
        // Fixed segments are runs of one width (one token each on a row shorter than segment_num: LRA text below
        // 4,096 tokens; two from 4,096 to 8,191).
        r.segment_width = fixed ? fixed_segment_width(L, c.segment_num) : 0;
    }
    r.segment_ids = r.segment_ids.to(torch::kLong);
    if (validate && B * L > 0) {
        auto range = [&](const torch::Tensor& t, int64_t hi, const char* name) {
            const auto lo_v = t.min().item<int64_t>(), hi_v = t.max().item<int64_t>();
            if (lo_v < 0 || hi_v >= hi)
                throw InvalidInput(std::string(name) + " out of range: found values in [" + std::to_string(lo_v) +
                                   ", " + std::to_string(hi_v) + "], allowed [0, " + std::to_string(hi) + ")");
            return hi_v;
        };
        range(r.input_ids, c.vocab_size, "input_ids");
        if (c.variant == ModelVariant::Bert) range(r.token_type_ids, c.type_vocab_size, "token_type_ids");
        range(r.attention_mask, 2, "attention_mask");
        *num_segments = range(r.segment_ids, 2 * L + 2, "segment_ids") + 1;
        // A promise carried over from an earlier completion is checked here too (the ids may have been replaced).
        if (r.segment_width > 0 && in.segment_ids.defined() &&
            !torch::equal(r.segment_ids, segment_ids_of_width(B, L, r.segment_width, r.segment_ids.device())))
            r.segment_width = 0;
    }
    r.num_segments = *num_segments;
    return r;
}

// ---------------------------------------------------------------------------------------------------------------
// PoNetModel

PoNetModelImpl::PoNetModelImpl(const ModelConfig& c) : config_(c) {
    config_.validate();
    embeddings_ = register_module("embeddings", std::make_shared<EmbeddingsImpl>(c));
    encoder_ = register_module("encoder", std::make_shared<EncoderImpl>(c));
    if (c.variant == ModelVariant::Bert) pooler_ = register_module("pooler", std::make_shared<PoolerImpl>(c));
}

torch::Tensor PoNetModelImpl::word_embedding_weight() const { return embeddings_->word_embeddings->weight; }

EncoderOutput PoNetModelImpl::forward(const ModelInputs& raw, const ForwardOptions& opt) {
    const auto& c = config_;
    MixContext ctx;
    ModelInputs in = complete_inputs(c, raw, opt.validate_inputs, &ctx.num_segments);
    ctx.keep = in.attention_mask.eq(1);
    if (c.mixer == MixerKind::PoNet && c.clsgsepg && c.variant == ModelVariant::Bert)
        ctx.special = special_token_mask(in.input_ids, c.cls_token_id, c.sep_token_id);
    ctx.segment_ids = in.segment_ids;
    ctx.segment_width = in.segment_width;
    ctx.impl = opt.impl;

    EncoderOutput out;
    auto x = embeddings_->forward(in.input_ids, in.token_type_ids);
    if (opt.output_hidden_states) out.hidden_states.push_back(x);
    if (opt.traces) opt.traces->clear();
    pending_.clear();
    const bool checkpoint = checkpointing_ && is_training() && torch::GradMode::is_enabled();
    for (size_t i = 0; i < encoder_->layer->size(); ++i) {
        MixingTrace* trace = nullptr;
        if (opt.traces) trace = &opt.traces->emplace_back();
        MixerResult m;
        auto layer = encoder_->layer->ptr<EncoderLayerImpl>(i);
        if (checkpoint) {
            CheckpointedLayer rec;
            rec.layer = i;
            rec.input = x;
            rec.ctx = ctx;
            rec.cpu_rng_state = cpu_generator_state();
            if (x.is_cuda()) rec.cuda_rng_state = cuda_generator_state(x.device().index());
            {
                torch::NoGradGuard no_grad;
                x = layer->forward(x, ctx, &m, trace);
            }
            x = x.detach().requires_grad_(true);
            rec.output = x;
            pending_.push_back(std::move(rec));
        } else {
            x = layer->forward(x, ctx, &m, trace);
        }
        if (opt.output_ga && m.ga_weights.defined()) out.ga_attention.push_back(m.ga_weights);
        if (opt.output_hidden_states) out.hidden_states.push_back(x);
    }
    if (c.variant == ModelVariant::Lra) {
        // Final LayerNorm, padded rows to 0, then the mean over ALL L positions (§4.2.1).
        x = layer_norm(encoder_->final_layer_norm, x, false, opt.impl != MixerImpl::Reference) *
            ctx.keep.unsqueeze(-1).to(x.scalar_type());
        out.last_hidden_state = x;
        out.pooler_output = opt.impl != MixerImpl::Reference ? mean_over_sequence(x) : x.mean(1);
    } else {
        out.last_hidden_state = x;
        out.pooler_output = torch::tanh(pooler_->dense(x.select(1, 0)));
    }
    return out;
}

void PoNetModelImpl::set_gradient_checkpointing(bool enabled, bool autocast, at::ScalarType autocast_dtype) {
    checkpointing_ = enabled;
    checkpoint_autocast_ = autocast;
    checkpoint_autocast_dtype_ = autocast_dtype;
}

void PoNetModelImpl::backward(const torch::Tensor& loss) {
    loss.backward();
    // Last layer first: each recompute's backward fills the previous layer's output leaf (or, for layer 0, flows
    // on into the embeddings, whose graph the no-grad forward left untouched).
    for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
        const torch::Tensor grad = it->output.grad();
        if (!grad.defined()) continue;  // nothing downstream used this layer's output
        // Replay the dropout masks of the forward pass, then put the generators back where training left them.
        const torch::Tensor cpu_now = cpu_generator_state();
        const bool cuda = it->cuda_rng_state.defined();
        const int device = cuda ? it->output.device().index() : -1;
        const torch::Tensor cuda_now = cuda ? cuda_generator_state(device) : torch::Tensor();
        set_cpu_generator_state(it->cpu_rng_state);
        if (cuda) set_cuda_generator_state(device, it->cuda_rng_state);
        torch::Tensor y;
        {
            CudaAutocastGuard autocast(checkpoint_autocast_, checkpoint_autocast_dtype_);
            MixerResult m;
            y = encoder_->layer->ptr<EncoderLayerImpl>(it->layer)->forward(it->input, it->ctx, &m, nullptr);
        }
        set_cpu_generator_state(cpu_now);
        if (cuda) set_cuda_generator_state(device, cuda_now);
        torch::autograd::backward({y}, {grad});
    }
    pending_.clear();
}

// ---------------------------------------------------------------------------------------------------------------
// Task models

namespace {

class BareModel : public PoNetTaskModelImpl {
public:
    explicit BareModel(const ModelConfig& c) : PoNetTaskModelImpl(c) {
        ponet = register_module("ponet", std::make_shared<PoNetModelImpl>(c));
    }
    ModelOutput forward(const ModelInputs& in, const ForwardOptions& opt) override {
        ModelOutput out;
        out.encoder = ponet->forward(in, opt);
        return out;
    }
    PoNetModelImpl& base() override { return *ponet; }
    // A bare PoNetModel checkpoint has no prefix (§1.8).
    std::string base_prefix() const override { return ""; }
    std::shared_ptr<PoNetModelImpl> ponet;
};

class PreTrainingHeadsImpl : public torch::nn::Module {
public:
    explicit PreTrainingHeadsImpl(const ModelConfig& c) {
        predictions = register_module("predictions", std::make_shared<torch::nn::Module>());
        transform = predictions->register_module("transform", DenseNorm(c.hidden_size, c.hidden_size, &c));
        bias = predictions->register_parameter("bias", torch::zeros({c.vocab_size}));
        seq_relationship = register_module("seq_relationship", linear(c.hidden_size, 3));
    }
    std::shared_ptr<torch::nn::Module> predictions;
    DenseNorm transform{nullptr};
    torch::Tensor bias;
    torch::nn::Linear seq_relationship{nullptr};
};

class PreTrainingModel : public PoNetTaskModelImpl {
public:
    explicit PreTrainingModel(const ModelConfig& c) : PoNetTaskModelImpl(c) {
        ponet = register_module("ponet", std::make_shared<PoNetModelImpl>(c));
        cls = register_module("cls", std::make_shared<PreTrainingHeadsImpl>(c));
    }
    ModelOutput forward(const ModelInputs& in, const ForwardOptions& opt) override {
        ModelOutput out;
        out.encoder = ponet->forward(in, opt);
        auto t = cls->transform->dense(out.encoder.last_hidden_state);
        t = cls->transform->LayerNorm(apply_activation(config_.hidden_act, t));
        // The decoder is tied to the word embeddings (§1.6).
        out.prediction_logits = torch::matmul(t, ponet->word_embedding_weight().t()) + cls->bias;
        out.seq_relationship_logits = cls->seq_relationship(out.encoder.pooler_output);
        if (in.labels.defined() && in.sso_labels.defined()) {
            const auto V = out.prediction_logits.size(-1);
            out.mlm_loss = F::cross_entropy(out.prediction_logits.reshape({-1, V}).to(torch::kFloat),
                                            in.labels.reshape({-1}).to(torch::kLong),
                                            F::CrossEntropyFuncOptions().ignore_index(-100));
            out.sso_loss = F::cross_entropy(out.seq_relationship_logits.to(torch::kFloat),
                                            in.sso_labels.reshape({-1}).to(torch::kLong));
            out.loss = out.mlm_loss + out.sso_loss;
        }
        return out;
    }
    PoNetModelImpl& base() override { return *ponet; }
    std::shared_ptr<PoNetModelImpl> ponet;
    std::shared_ptr<PreTrainingHeadsImpl> cls;
};

torch::Tensor classification_loss(const ModelConfig& c, const torch::Tensor& logits, const torch::Tensor& labels) {
    if (c.problem_type == "regression") return F::mse_loss(logits.squeeze(-1).to(torch::kFloat), labels.to(torch::kFloat));
    if (c.problem_type == "multi_label_classification")
        return F::binary_cross_entropy_with_logits(logits.to(torch::kFloat), labels.to(torch::kFloat));
    return F::cross_entropy(logits.to(torch::kFloat), labels.reshape({-1}).to(torch::kLong));
}

class SequenceClassificationModel : public PoNetTaskModelImpl {
public:
    explicit SequenceClassificationModel(const ModelConfig& c) : PoNetTaskModelImpl(c) {
        ponet = register_module("ponet", std::make_shared<PoNetModelImpl>(c));
        classifier = register_module("classifier", linear(c.hidden_size, c.num_labels()));
    }
    ModelOutput forward(const ModelInputs& in, const ForwardOptions& opt) override {
        ModelOutput out;
        out.encoder = ponet->forward(in, opt);
        out.logits = classifier(torch::dropout(out.encoder.pooler_output, config_.hidden_dropout_prob, is_training()));
        if (in.labels.defined()) out.loss = classification_loss(config_, out.logits, in.labels);
        return out;
    }
    PoNetModelImpl& base() override { return *ponet; }
    std::shared_ptr<PoNetModelImpl> ponet;
    torch::nn::Linear classifier{nullptr};
};

// LRA head: Linear(dim→hidden) → ReLU → Linear(hidden→classes) on the mean-pooled output (§4.2.1).
class LraClassificationModel : public PoNetTaskModelImpl {
public:
    explicit LraClassificationModel(const ModelConfig& c) : PoNetTaskModelImpl(c) {
        const int64_t hidden = c.classifier_hidden > 0 ? c.classifier_hidden : c.intermediate_size;
        ponet = register_module("ponet", std::make_shared<PoNetModelImpl>(c));
        classifier = register_module("classifier", std::make_shared<torch::nn::Module>());
        dense = classifier->register_module("dense", linear(c.hidden_size, hidden));
        out_proj = classifier->register_module("out_proj", linear(hidden, c.num_labels()));
    }
    ModelOutput forward(const ModelInputs& in, const ForwardOptions& opt) override {
        ModelOutput out;
        out.encoder = ponet->forward(in, opt);
        out.logits = out_proj(torch::relu(dense(out.encoder.pooler_output)));
        if (in.labels.defined()) out.loss = classification_loss(config_, out.logits, in.labels);
        return out;
    }
    PoNetModelImpl& base() override { return *ponet; }
    std::shared_ptr<PoNetModelImpl> ponet;
    std::shared_ptr<torch::nn::Module> classifier;
    torch::nn::Linear dense{nullptr}, out_proj{nullptr};
};

}  // namespace

void check_architecture(const ModelConfig& config) {
    const std::string arch = config.architecture();
    const bool lra = config.variant == ModelVariant::Lra;
    if (arch == "PoNetForLraClassification") {
        if (!lra) throw InvalidInput("PoNetForLraClassification needs \"ponet_variant\": \"lra\"");
        return;
    }
    if (lra) throw InvalidInput("the LRA variant only comes as PoNetForLraClassification, not " + arch);
    if (arch == "PoNetForPreTraining" || arch == "PoNetForMaskedLM" || arch == "PoNetForSequenceClassification" ||
        arch == "PoNetModel")
        return;
    throw InvalidInput("unknown architecture '" + arch +
                       "' (PoNetModel, PoNetForPreTraining, PoNetForSequenceClassification, "
                       "PoNetForLraClassification)");
}

std::shared_ptr<PoNetTaskModelImpl> build_model(const ModelConfig& config, bool initialise) {
    config.validate();
    check_architecture(config);
    const std::string arch = config.architecture();
    std::shared_ptr<PoNetTaskModelImpl> model;
    if (arch == "PoNetForLraClassification")
        model = std::make_shared<LraClassificationModel>(config);
    else if (arch == "PoNetForPreTraining" || arch == "PoNetForMaskedLM")
        model = std::make_shared<PreTrainingModel>(config);
    else if (arch == "PoNetForSequenceClassification")
        model = std::make_shared<SequenceClassificationModel>(config);
    else
        model = std::make_shared<BareModel>(config);
    if (initialise) init_weights(*model);
    return model;
}

void init_weights(PoNetTaskModelImpl& model) {
    torch::NoGradGuard no_grad;
    const auto& c = model.config();
    const double std_dev = c.initializer_range;
    const bool lra = c.variant == ModelVariant::Lra;
    for (auto& item : model.named_modules("", /*include_self=*/false)) {
        auto* m = item.value().get();
        if (auto* lin = dynamic_cast<torch::nn::LinearImpl*>(m)) {
            if (lra) continue;  // the LRA code keeps PyTorch's default Linear init
            lin->weight.normal_(0.0, std_dev);
            if (lin->bias.defined()) lin->bias.zero_();
        } else if (auto* emb = dynamic_cast<torch::nn::EmbeddingImpl*>(m)) {
            emb->weight.normal_(0.0, std_dev);
            if (emb->options.padding_idx()) emb->weight[*emb->options.padding_idx()].zero_();
        } else if (auto* ln = dynamic_cast<torch::nn::LayerNormImpl*>(m)) {
            ln->weight.fill_(1.0);
            ln->bias.zero_();
        }
    }
    for (auto& p : model.named_parameters()) {
        if (p.key() == "cls.predictions.bias") p.value().zero_();
    }
}

}  // namespace ponet
