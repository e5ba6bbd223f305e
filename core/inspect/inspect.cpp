// One forward pass with the inspection hook (ForwardOptions::traces, on the reference mixing path) and its
// reduction into the compact arrays of inspection.h.
#include <torch/torch.h>

#include <cmath>

#include "core/data/sentences.h"
#include "core/inspect/inspection.h"
#include "core/io/atomic_file.h"
#include "core/io/model_io.h"
#include "core/model/segments.h"
#include "core/train/checkpoint.h"
#include "core/train/trainer.h"
#include "core/util/error.h"
#include "core/util/fs_util.h"

namespace ponet {
namespace {

struct Progress {
    const InspectOptions& o;
    void operator()(double f, const std::string& stage) const {
        if (o.cancel && o.cancel->load()) throw InspectionCancelled{};
        if (o.progress) o.progress(f, stage);
    }
};

// The document as the model reads long documents: [CLS] sentence₁ … sentenceₙ [SEP], segment ids [CLS] = 0,
// sentence k = k, [SEP] = n + 1 (PONET-SPEC §3.2.2); cut to `budget` tokens keeping the head.
void build_tokens(const Tokenizer& tok, const ModelConfig& mc, const std::string& text, int64_t budget,
                  Inspection& r) {
    const SpecialTokens sp = tok.special_tokens();
    const bool fixed = mc.segment_strategy == SegmentStrategy::Fixed;
    std::vector<int64_t> ids;
    std::vector<int32_t> seg;
    std::vector<uint8_t> special;
    auto push = [&](int64_t id, int32_t s, bool is_special) {
        ids.push_back(id);
        seg.push_back(s);
        special.push_back(is_special ? 1 : 0);
    };
    int64_t total = 0;
    if (fixed || sp.cls < 0 || sp.sep < 0) {
        if (!fixed)
            throw InvalidInput("the tokenizer has no [CLS]/[SEP] tokens, which this model's segments are derived from");
        for (int64_t id : tok.encode(text)) push(id, 0, false);
        total = static_cast<int64_t>(ids.size());
        if (total > budget) ids.resize(static_cast<size_t>(budget)), seg.resize(ids.size()), special.resize(ids.size());
        auto f = fixed_segment_ids(1, static_cast<int64_t>(ids.size()), mc.segment_num, torch::kCPU);
        auto acc = f.accessor<int64_t, 2>();
        for (size_t i = 0; i < ids.size(); ++i) seg[i] = static_cast<int32_t>(acc[0][static_cast<int64_t>(i)]);
    } else {
        push(sp.cls, 0, true);
        int32_t k = 0;
        for (const std::string& sentence : split_sentences(text)) {
            const auto piece = tok.encode(sentence);
            if (piece.empty()) continue;
            ++k;
            total += static_cast<int64_t>(piece.size());
            for (int64_t id : piece)
                if (static_cast<int64_t>(ids.size()) < budget - 1) push(id, k, false);
        }
        total += 2;
        push(sp.sep, seg.back() + 1, true);
    }
    if (ids.size() <= (fixed ? 0u : 2u)) throw InvalidInput("the document has no tokens after tokenisation");
    if (total > static_cast<int64_t>(ids.size()))
        r.note = "the document has " + std::to_string(total) + " tokens; the first " + std::to_string(ids.size()) +
                 " are inspected (the model reads at most " + std::to_string(budget) + ")";
    r.token_ids = std::move(ids);
    r.segment_of = std::move(seg);
    r.special = std::move(special);
    r.length = static_cast<int64_t>(r.token_ids.size());
    for (int64_t id : r.token_ids) r.tokens.push_back(tok.id_to_token(id));
}

std::vector<float> floats(const torch::Tensor& t) {
    auto c = t.to(torch::kCPU, torch::kFloat).contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}
std::vector<int32_t> ints(const torch::Tensor& t) {
    auto c = t.to(torch::kCPU, torch::kInt).contiguous();
    return std::vector<int32_t>(c.data_ptr<int32_t>(), c.data_ptr<int32_t>() + c.numel());
}
template <class T>
void append(std::vector<T>& to, const std::vector<T>& from) {
    to.insert(to.end(), from.begin(), from.end());
}

}  // namespace

Inspection inspect_document(const std::string& model_path, const std::string& text, const std::string& document_name,
                            const InspectOptions& options) {
    const Progress progress{options};
    progress(0.0, "loading the model");
    const torch::Device device(options.device.empty() ? std::string("cpu") : options.device);
    InferenceModel im = load_inference_model(model_path, options.checkpoint, device);
    const ModelConfig& mc = im.model->config();
    if (mc.mixer != MixerKind::PoNet)
        throw InvalidInput(im.checkpoint + " is a " + to_string(mc.mixer) +
                           " model; the explorer shows what PoNet's poolings do");
    if (!im.data.tokenizer)
        throw InvalidInput("no tokenizer for " + model_path +
                           ": a run directory keeps it in tokenizer/, a model directory needs its vocab.txt");

    Inspection r;
    r.model_path = model_path;
    r.checkpoint = im.checkpoint;
    r.document = document_name;
    r.layers = mc.num_hidden_layers;
    r.heads = mc.num_attention_heads;
    r.hidden = mc.hidden_size;
    int64_t budget = mc.max_position_embeddings;
    if (options.max_tokens > 0) budget = std::min(budget, options.max_tokens);
    progress(0.05, "tokenising");
    build_tokens(*im.data.tokenizer, mc, text, budget, r);
    const int64_t L = r.length, D = r.hidden, H = r.heads, d = D / H;

    torch::NoGradGuard no_grad;
    ModelInputs in;
    in.input_ids = torch::tensor(r.token_ids, torch::kLong).view({1, L}).to(device);
    in.segment_ids = torch::tensor(std::vector<int64_t>(r.segment_of.begin(), r.segment_of.end()), torch::kLong)
                         .view({1, L})
                         .to(device);
    std::vector<MixingTrace> traces;
    ForwardOptions fo;
    fo.traces = &traces;
    fo.output_hidden_states = true;
    fo.impl = MixerImpl::Reference;  // the reference path fills every trace field
    progress(0.1, "forward pass");
    EncoderOutput enc = im.model->base().forward(in, fo);

    r.segments = *std::max_element(r.segment_of.begin(), r.segment_of.end()) + 1;
    r.segment_first.assign(static_cast<size_t>(r.segments), -1);
    for (int64_t t = L - 1; t >= 0; --t) r.segment_first[static_cast<size_t>(r.segment_of[static_cast<size_t>(t)])] = t;
    std::vector<int64_t> used_first;
    for (int64_t f : r.segment_first) used_first.push_back(std::max<int64_t>(f, 0));
    auto first_idx = torch::tensor(used_first, torch::kLong).to(device);
    auto unused = torch::tensor(std::vector<uint8_t>(r.segment_first.size(), 0), torch::kBool);
    for (size_t s = 0; s < r.segment_first.size(); ++s) unused[static_cast<int64_t>(s)] = r.segment_first[s] < 0;
    unused = unused.to(device).unsqueeze(1);

    const auto modules = im.model->base().named_modules();
    const std::string prefix = "encoder.layer.";
    auto pos = torch::arange(L, torch::TensorOptions().dtype(torch::kLong).device(device)).unsqueeze(1);
    for (int64_t l = 0; l < r.layers; ++l) {
        progress(0.6 + 0.4 * static_cast<double>(l) / static_cast<double>(r.layers),
                 "layer " + std::to_string(l + 1) + " of " + std::to_string(r.layers));
        MixingTrace& tr = traces[static_cast<size_t>(l)];
        const std::string base = prefix + std::to_string(l) + ".attention.";
        const auto* found = modules.find(base + "self");
        auto self = found ? std::dynamic_pointer_cast<PoNetSelfImpl>(*found) : nullptr;
        if (!self) throw Error("layer " + std::to_string(l) + " has no PoNet mixer");
        torch::Tensor x = enc.hidden_states[static_cast<size_t>(l)];
        if (mc.variant == ModelVariant::Lra) {
            const auto* norm = modules.find(base + "output.LayerNorm");
            auto ln = norm ? std::dynamic_pointer_cast<torch::nn::LayerNormImpl>(*norm) : nullptr;
            if (!ln) throw Error("layer " + std::to_string(l) + " has no pre-mixer LayerNorm");
            x = ln->forward(x);
        }
        x = x[0];
        auto K = self->dense_k(x).to(torch::kFloat).view({L, H, d});
        auto O = self->dense_o(x).to(torch::kFloat).view({L, H, d});
        auto alpha = tr.ga_weights[0].to(torch::kFloat);  // [H, L]
        auto g_prime = torch::einsum("hl,lhd->hd", {alpha, K});
        auto global = (g_prime.unsqueeze(0) * O).reshape({L, D});
        auto segment = (tr.smp[0].to(torch::kFloat).view({L, H, d}) * O).reshape({L, D});
        auto local = tr.lmp[0].to(torch::kFloat);
        auto norms = torch::stack({global.norm(2, 1), segment.norm(2, 1), local.norm(2, 1)}, 1);  // [L, 3]
        auto sum = norms.sum(1, true);
        auto shares = torch::where(sum > 0, norms / sum.clamp_min(1e-30), torch::full_like(norms, 1.0 / 3.0));

        auto smp_w = tr.smp_winner[0];  // [L, D]
        auto wins = smp_w.eq(pos).sum(1);
        auto source = smp_w.index_select(0, first_idx).masked_fill(unused, -1);  // [S, D]
        auto rel = tr.lmp_winner[0] - pos;                                       // -1, 0, +1
        auto lmp = torch::stack({rel.eq(-1).sum(1), rel.eq(0).sum(1), rel.eq(1).sum(1)}, 1);

        append(r.ga, floats(alpha));
        append(r.shares, floats(shares));
        append(r.smp_wins, ints(wins));
        append(r.lmp_counts, ints(lmp));
        auto src = source.to(torch::kCPU).contiguous();
        r.smp_source.insert(r.smp_source.end(), src.data_ptr<int64_t>(), src.data_ptr<int64_t>() + src.numel());
        tr = MixingTrace{};  // free the layer's [L, D] tensors early: long documents
    }
    progress(1.0, "done");
    return r;
}

void write_random_model(const std::string& dir, const ModelConfig& config, const std::vector<std::string>& vocab,
                        uint64_t seed, double std) {
    if (static_cast<int64_t>(vocab.size()) != config.vocab_size)
        throw InvalidInput("the vocabulary has " + std::to_string(vocab.size()) + " tokens but vocab_size is " +
                           std::to_string(config.vocab_size));
    auto model = build_model(config);
    {
        torch::NoGradGuard no_grad;
        torch::manual_seed(seed);
        for (auto& p : model->parameters()) p.normal_(0.0, std);
    }
    save_model_dir(*model, dir);
    std::string text;
    for (const auto& w : vocab) text += w + "\n";
    write_file_atomic(dir + "/vocab.txt", text);
}

std::vector<std::pair<int64_t, std::string>> run_checkpoints(const std::string& run_dir) {
    std::vector<std::pair<int64_t, std::string>> out;
    if (!is_directory_at(run_dir + "/checkpoints")) return out;
    for (const CheckpointInfo& c : list_checkpoints(run_dir))
        if (c.valid) out.emplace_back(c.step, c.path);
    return out;
}

}  // namespace ponet
