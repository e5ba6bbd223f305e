// Self-test checks: each compares our computation with an answer obtained independently of it.
#include "core/check/checks.h"

#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "core/io/model_io.h"
#include "core/kernels/layer_norm_fused.h"
#include "core/kernels/linear_fused.h"
#include "core/io/safetensors.h"
#include "core/model/ponet_model.h"
#include "core/model/segments.h"
#include "core/train/optimizer.h"
#include "core/util/error.h"
#include "core/util/fs_util.h"
#include "core/util/torch_compat.h"

namespace ponet::check {
namespace fs = std::filesystem;

namespace {

constexpr double kOutputTol = 1e-4;  // golden README: max abs error on outputs
constexpr double kGradTol = 1e-4;    // golden README: relative L2 error on gradients

std::string device_name(const torch::Device& d) { return d.str(); }

double max_abs(const torch::Tensor& a, const torch::Tensor& b) {
    if (a.numel() == 0) return 0.0;
    auto diff = (a.detach().to(torch::kCPU, torch::kDouble) - b.detach().to(torch::kCPU, torch::kDouble)).abs();
    const double m = diff.max().item<double>();
    return std::isnan(m) ? INFINITY : m;
}

double rel_l2(const torch::Tensor& got, const torch::Tensor& want) {
    auto g = got.detach().to(torch::kCPU, torch::kDouble), w = want.detach().to(torch::kCPU, torch::kDouble);
    const double denom = w.norm().item<double>();
    const double num = (g - w).norm().item<double>();
    if (std::isnan(num)) return INFINITY;
    return denom > 0 ? num / denom : num;
}

CheckResult result(std::string name, const torch::Device& dev, double err, double tol, std::string metric,
                   std::string detail = {}) {
    CheckResult r;
    r.name = std::move(name);
    r.device = device_name(dev);
    r.error = err;
    r.tolerance = tol;
    r.metric = std::move(metric);
    r.passed = err <= tol;
    r.detail = std::move(detail);
    return r;
}

CheckResult compare_shape_then(const std::string& name, const torch::Device& dev, const torch::Tensor& got,
                               const torch::Tensor& want) {
    if (!got.defined() || got.sizes() != want.sizes()) {
        std::ostringstream os;
        os << "shape " << (got.defined() ? got.sizes() : torch::IntArrayRef{}) << " vs expected " << want.sizes();
        auto r = result(name, dev, INFINITY, kOutputTol, "max abs", os.str());
        return r;
    }
    return result(name, dev, max_abs(got, want), kOutputTol, "max abs");
}


// Fills every parameter with N(0, 0.5) so that zero-initialised biases and unit LayerNorms do not hide mistakes.
void randomise(torch::nn::Module& m, uint64_t seed) {
    torch::NoGradGuard g;
    auto gen = at::detail::createCPUGenerator(seed);
    for (auto& p : m.parameters()) {
        auto r = at::normal(0.0, 0.5, p.sizes(), gen, torch::TensorOptions().dtype(torch::kFloat));
        p.copy_(r);
    }
}

// A batch of three rows in the pre-training layout: [CLS] a.. [SEP] b.. [SEP] [PAD]..
struct TinyBatch {
    torch::Tensor ids, mask;
};
TinyBatch tiny_batch(int64_t L, const std::vector<int64_t>& lengths, at::Generator& gen, int64_t vocab = 160) {
    const int64_t B = static_cast<int64_t>(lengths.size());
    // Ordinary tokens avoid the special ids 0..103.
    auto ids = at::randint(104, vocab, {B, L}, gen, torch::TensorOptions().dtype(torch::kLong));
    auto mask = torch::zeros({B, L}, torch::kLong);
    for (int64_t b = 0; b < B; ++b) {
        const int64_t n = lengths[b];
        ids[b][0] = 101;
        ids[b][n / 2] = 102;
        ids[b][n - 1] = 102;
        for (int64_t i = n; i < L; ++i) ids[b][i] = 0;
        mask[b].narrow(0, 0, n).fill_(1);
    }
    return {ids, mask};
}

PoNetMixingInputs random_mixing_inputs(uint64_t seed, bool clsgsepg, bool explicit_segments,
                                       const torch::Device& dev) {
    auto gen = at::detail::createCPUGenerator(seed);
    const int64_t L = 17, D = 12, H = 3;
    auto batch = tiny_batch(L, {17, 12, 9}, gen);
    const int64_t B = batch.ids.size(0);
    PoNetMixingInputs in;
    auto rnd = [&] { return at::randn({B, L, D}, gen, torch::TensorOptions().dtype(torch::kFloat)).to(dev); };
    in.q = rnd();
    in.k = rnd();
    in.o = rnd();
    in.s = rnd();
    in.l = rnd();
    in.keep = batch.mask.eq(1).to(dev);
    in.special = special_token_mask(batch.ids, 101, 102).to(dev);
    if (explicit_segments) {
        // Sentence-level ids as pre-training passes them: non-decreasing, several tokens per id, padding last.
        auto steps = at::randint(0, 2, {B, L}, gen, torch::TensorOptions().dtype(torch::kLong));
        steps.select(1, 0).zero_();
        in.segment_ids = steps.cumsum(1).to(dev);
    } else {
        in.segment_ids = derive_segment_ids(batch.ids, 101, 102).to(dev);
    }
    in.heads = H;
    in.clsgsepg = clsgsepg;
    return in;
}

ModelInputs inputs_of(const torch::Tensor& ids, const torch::Tensor& mask) {
    ModelInputs in;
    in.input_ids = ids;
    in.attention_mask = mask;
    return in;
}


}  // namespace

ModelConfig tiny_config(const std::string& architecture, MixerKind mixer) {
    ModelConfig c;
    c.architectures = {architecture};
    c.vocab_size = 160;
    c.hidden_size = 32;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.intermediate_size = 64;
    c.max_position_embeddings = 64;
    c.mixer = mixer;
    return c;
}

NaiveMixing naive_ponet_mixing(const PoNetMixingInputs& in) {
    auto cpu = [](const torch::Tensor& t) { return t.detach().to(torch::kCPU, torch::kDouble).contiguous(); };
    auto q = cpu(in.q), k = cpu(in.k), o = cpu(in.o), s = cpu(in.s), l = cpu(in.l);
    auto keep = in.keep.to(torch::kCPU, torch::kBool).contiguous();
    auto seg = in.segment_ids.to(torch::kCPU, torch::kLong).contiguous();
    torch::Tensor spec = in.clsgsepg ? in.special.to(torch::kCPU, torch::kBool).contiguous()
                                     : torch::zeros_like(keep);
    const int64_t B = q.size(0), L = q.size(1), D = q.size(2), H = in.heads, d = D / H;
    auto Q = q.accessor<double, 3>(), K = k.accessor<double, 3>(), O = o.accessor<double, 3>();
    auto S = s.accessor<double, 3>(), Lc = l.accessor<double, 3>();
    auto keepA = keep.accessor<bool, 2>(), specA = spec.accessor<bool, 2>();
    auto segA = seg.accessor<int64_t, 2>();
    auto y = torch::zeros({B, L, D}, torch::kDouble);
    auto alpha = torch::zeros({B, H, L}, torch::kDouble);
    auto Y = y.accessor<double, 3>();
    auto A = alpha.accessor<double, 3>();
    const double NEG = kPoolingSentinel;
    for (int64_t b = 0; b < B; ++b) {
        int64_t n = 0;
        for (int64_t i = 0; i < L; ++i) n += keepA[b][i];
        const double count = std::max<int64_t>(n, 1);
        std::vector<double> gp(D, 0.0);
        for (int64_t h = 0; h < H; ++h) {
            std::vector<double> g(d, 0.0), z(L);
            for (int64_t i = 0; i < L; ++i)
                if (keepA[b][i])
                    for (int64_t c = 0; c < d; ++c) g[c] += Q[b][i][h * d + c] / count;
            double zmax = -INFINITY;
            for (int64_t i = 0; i < L; ++i) {
                double dot = 0;
                for (int64_t c = 0; c < d; ++c) dot += g[c] * K[b][i][h * d + c];
                z[i] = dot / std::sqrt(static_cast<double>(d)) + (keepA[b][i] ? 0.0 : NEG);
                zmax = std::max(zmax, z[i]);
            }
            double total = 0;
            for (int64_t i = 0; i < L; ++i) total += std::exp(z[i] - zmax);
            for (int64_t i = 0; i < L; ++i) {
                A[b][h][i] = std::exp(z[i] - zmax) / total;
                for (int64_t c = 0; c < d; ++c) gp[h * d + c] += A[b][h][i] * K[b][i][h * d + c];
            }
        }
        for (int64_t i = 0; i < L; ++i) {
            if (!keepA[b][i]) continue;  // padding rows stay 0
            for (int64_t ch = 0; ch < D; ++ch) {
                double shat = -INFINITY, lhat = -INFINITY;
                for (int64_t j = 0; j < L; ++j)
                    if (segA[b][j] == segA[b][i]) shat = std::max(shat, keepA[b][j] ? S[b][j][ch] : NEG);
                for (int64_t j = std::max<int64_t>(i - 1, 0); j <= std::min(i + 1, L - 1); ++j) {
                    const bool blocked = !keepA[b][j] || specA[b][j];
                    lhat = std::max(lhat, blocked ? NEG : Lc[b][j][ch]);
                }
                if (specA[b][i]) shat = lhat = 0.0;
                Y[b][i][ch] = (gp[ch] + shat) * O[b][i][ch] + lhat;
            }
        }
    }
    return {y, alpha};
}

CheckResult mixing_vs_naive(const torch::Device& device, bool clsgsepg, bool explicit_segments, uint64_t seed) {
    auto in = random_mixing_inputs(seed, clsgsepg, explicit_segments, device);
    auto got = ponet_mix_reference(in);
    auto want = naive_ponet_mixing(in);
    const double err = std::max(max_abs(got.y, want.y), max_abs(got.ga_weights, want.alpha));
    std::string name = std::string("PoNet mixing vs naive loops (clsgsepg ") + (clsgsepg ? "on" : "off") +
                       (explicit_segments ? ", explicit segments)" : ", derived segments)");
    return result(name, device, err, 1e-4, "max abs");
}

namespace {

// One random mixing problem for the fused-vs-reference comparison: any shape, padding (sometimes a whole row),
// specials, and one of four segment layouts (derived, explicit sentences, fixed count, arbitrary ids), or with
// `large` and layout 6 and up, fixed segments of a promised width.
PoNetMixingInputs random_fused_case(at::Generator& gen, const torch::Device& dev, torch::ScalarType dtype,
                                    int64_t layout, bool large, std::string& label) {
    auto ri = [&](int64_t lo, int64_t hi) {  // inclusive
        return at::randint(lo, hi + 1, {1}, gen, torch::TensorOptions().dtype(torch::kLong)).item<int64_t>();
    };
    const int64_t B = ri(1, 3), L = large ? ri(200, 600) : ri(1, 40);
    int64_t H = ri(1, 4), d = large ? 32 : ri(1, 9);
    // Layouts 4 and up: the LRA shape (64 = 2 × 32), which the CUDA kernels' vector layout takes; 6 and up with
    // fixed segments of a promised width (LRA text: one token below 4,096 tokens, two up to 8,191, ...), which those
    // kernels take without segment tables: by shuffles where the width divides the 4 rows of their step, widths 1
    // (6, and 7 with a segment capacity above L, as a caller may give), 2 (8) and 4 (9); by reading each segment's
    // rows up to width 6, widths 3 (10) and 5 (11); width 7 (12) keeps the tables.
    const bool lra = large && layout >= 4;
    static const int64_t widths[] = {1, 1, 2, 4, 3, 5, 7};
    const int64_t width = large && layout >= 6 ? widths[std::min<int64_t>(layout, 12) - 6] : 0;
    const int64_t spare = layout == 7 ? 5 : 0;
    if (lra) H = 2;
    layout %= 4;
    // Large cases also cover the CUDA kernels' other layouts: heads wider than a warp (d 64, two lanes' words per
    // head), hidden sizes over 256 cut into channel slices (768 = 12 × 64), and slices that do not start on a
    // multiple of 32 (300 = 3 × 100: no tie bits, shared-memory head sums).
    if (large && !lra) switch (layout) {
            case 0: d = 64; break;
            case 1: H = 12, d = 64; break;
            case 2: H = 3, d = 100; break;
            default: break;
        }
    const int64_t D = H * d;
    auto ids = at::randint(104, 160, {B, L}, gen, torch::TensorOptions().dtype(torch::kLong));
    auto mask = torch::zeros({B, L}, torch::kLong);
    for (int64_t b = 0; b < B; ++b) {
        const int64_t n = (b == 1 && ri(0, 3) == 0) ? 0 : ri(1, L);  // now and then a row of padding only
        if (n > 0) {
            ids[b][0] = 101;
            ids[b][n - 1] = 102;
            for (int64_t k = 0; k < n / 8; ++k) ids[b][ri(0, n - 1)] = 102;
            mask[b].narrow(0, 0, n).fill_(1);
        }
        for (int64_t i = n; i < L; ++i) ids[b][i] = 0;
    }
    PoNetMixingInputs in;
    auto rnd = [&] { return at::randn({B, L, D}, gen, torch::TensorOptions().dtype(torch::kFloat)).to(dev, dtype); };
    in.q = rnd();
    in.k = rnd();
    in.o = rnd();
    in.s = rnd();
    in.l = rnd();
    in.keep = mask.eq(1).to(dev);
    in.special = special_token_mask(ids, 101, 102).to(dev);
    in.clsgsepg = ri(0, 1) == 1;
    in.heads = H;
    if (width > 0) {
        in.segment_ids = segment_ids_of_width(B, L, width, dev);
        in.num_segments = (L - 1) / width + 1 + spare;
        in.segment_width = width;
        label = width == 1 ? "a segment per token" : "fixed segments of " + std::to_string(width) + " tokens";
        return in;
    }
    switch (layout) {
        case 0: in.segment_ids = derive_segment_ids(ids, 101, 102); label = "derived"; break;
        case 1: {
            auto steps = at::randint(0, 2, {B, L}, gen, torch::TensorOptions().dtype(torch::kLong));
            steps.select(1, 0).zero_();
            in.segment_ids = steps.cumsum(1);
            label = "explicit sentences";
            break;
        }
        case 2: {
            const int64_t n = ri(1, 8), seg_len = L / n + 1;
            in.segment_ids = torch::arange(L, torch::kLong).div(seg_len, "floor").unsqueeze(0).expand({B, L}).contiguous();
            in.num_segments = n;
            label = "fixed count";
            break;
        }
        default:
            in.segment_ids = at::randint(0, std::max<int64_t>(1, L / 3), {B, L}, gen,
                                         torch::TensorOptions().dtype(torch::kLong));
            label = "arbitrary ids";
            break;
    }
    in.segment_ids = in.segment_ids.to(dev);
    return in;
}

struct MixRun {
    torch::Tensor y, alpha;
    std::vector<torch::Tensor> grads;  // q, k, o, s, l
};

MixRun run_mix_with_grads(const PoNetMixingInputs& base, bool fused, const torch::Tensor& gy, const torch::Tensor& ga) {
    PoNetMixingInputs in = base;
    std::vector<torch::Tensor*> leaves{&in.q, &in.k, &in.o, &in.s, &in.l};
    for (auto* t : leaves) *t = t->detach().clone().requires_grad_(true);
    auto out = fused ? ponet_mix(in, MixerImpl::Fused) : ponet_mix_reference(in);
    auto loss = (out.y.to(torch::kFloat) * gy).sum();
    if (ga.defined()) loss = loss + (out.ga_weights.to(torch::kFloat) * ga).sum();
    loss.backward();
    MixRun r{out.y.detach(), out.ga_weights.detach(), {}};
    for (auto* t : leaves) r.grads.push_back(t->grad());
    return r;
}

// The packed form of a case: the five projections side by side and a bias on grids that make q + b etc. exact in
// every dtype (the reference adds in fp32, the CPU kernels round the sum to the dtype: with inexact sums the two
// would see different ties in the segment maxima): projections at odd multiples of 1/32 in (-4, 4), biases at
// multiples of 1/16 in [-2, 2], so no sum is 0 either (a segment maximum of exactly 0 ties with the zeros the
// reference scatters into, which LibTorch 1.13's scatter_reduce backward counts as a winner).
// Without `with_bias` the bias is left undefined (no bias).
PoNetPackedMixingInputs packed_case(const PoNetMixingInputs& in, at::Generator& gen, bool with_bias) {
    PoNetPackedMixingInputs pk;
    const auto dtype = in.q.scalar_type();
    auto p = torch::cat({in.q, in.k, in.o, in.s, in.l}, 2).to(torch::kFloat);
    pk.qkosl = ((p * 16).floor().clamp(-64, 63) + 0.5).div(16).to(dtype);
    auto b = at::randn({5 * in.q.size(2)}, gen, torch::TensorOptions().dtype(torch::kFloat));
    if (with_bias) pk.bias = (b * 8).round().clamp(-32, 32).div(16).to(in.q.device());
    copy_mixing_context(pk, in);
    return pk;
}

// Outputs and gradients (the packed tensor's five column blocks, then the bias) of a packed call.
MixRun run_packed_with_grads(const PoNetPackedMixingInputs& base, bool fused, const torch::Tensor& gy,
                             const torch::Tensor& ga) {
    PoNetPackedMixingInputs in = base;
    in.qkosl = in.qkosl.detach().clone().requires_grad_(true);
    if (in.bias.defined()) in.bias = in.bias.detach().clone().requires_grad_(true);
    auto out = ponet_mix_packed(in, fused ? MixerImpl::Fused : MixerImpl::Reference);
    auto loss = (out.y.to(torch::kFloat) * gy).sum();
    if (ga.defined()) loss = loss + (out.ga_weights.to(torch::kFloat) * ga).sum();
    loss.backward();
    MixRun r{out.y.detach(), out.ga_weights.detach(), {}};
    const auto D = in.qkosl.size(2) / 5;
    for (int64_t i = 0; i < 5; ++i)
        r.grads.push_back(in.qkosl.grad().defined() ? in.qkosl.grad().narrow(2, i * D, D) : torch::Tensor());
    if (in.bias.defined()) r.grads.push_back(in.bias.grad());
    return r;
}

}  // namespace

CheckResult fused_vs_reference(const torch::Device& device, torch::ScalarType dtype, uint64_t seed, bool large,
                               bool packed) {
    auto gen = at::detail::createCPUGenerator(seed);
    const bool low = dtype != torch::kFloat;
    const double tol = low ? 1e-2 : 1e-5;
    double worst = 0;
    std::string worst_what;
    static const char* names[] = {"dq", "dk", "do", "ds", "dl", "d bias"};
    // large: one of each wide layout, two LRA shapes, seven with fixed segments of a promised width (random_fused_case)
    const int trials = large ? 13 : 8;
    for (int t = 0; t < trials; ++t) {
        std::string layout;
        auto in = random_fused_case(gen, device, dtype, large ? t : t % 4, large, layout);
        auto gy = at::randn(in.q.sizes(), gen, torch::TensorOptions().dtype(torch::kFloat)).to(device);
        auto ga = at::randn({in.q.size(0), in.heads, in.q.size(1)}, gen, torch::TensorOptions().dtype(torch::kFloat))
                      .to(device);
        // Every other trial leaves the GA weights out of the loss, as a training step does: the backward then has
        // no gradient of their own (and the CUDA key pass adds up C = <dg', g'> itself).
        if (t % 2 == 1) ga = torch::Tensor();
        MixRun want, got;
        if (packed) {
            const auto pk = packed_case(in, gen, /*with_bias=*/t % 4 != 3);
            want = run_packed_with_grads(pk, false, gy, ga);
            got = run_packed_with_grads(pk, true, gy, ga);
        } else {
            want = run_mix_with_grads(in, false, gy, ga);
            got = run_mix_with_grads(in, true, gy, ga);
        }
        auto note = [&](double e, const std::string& what) {
            if (!(e <= worst)) {
                worst = std::isnan(e) ? INFINITY : e;
                std::ostringstream os;
                os << what << " (B " << in.q.size(0) << ", L " << in.q.size(1) << ", D " << in.q.size(2) << ", H "
                   << in.heads << ", " << layout << ", clsgsepg " << (in.clsgsepg ? "on" : "off")
                   << (ga.defined() ? "" : ", GA weights not in the loss") << ")";
                worst_what = os.str();
            }
        };
        note(rel_l2(got.y, want.y), "y");
        note(rel_l2(got.alpha, want.alpha), "ga weights");
        for (size_t i = 0; i < want.grads.size(); ++i) {
            if (!got.grads[i].defined() || !want.grads[i].defined()) {
                note(INFINITY, std::string(names[i]) + " missing");
                continue;
            }
            note(rel_l2(got.grads[i], want.grads[i]), names[i]);
        }
    }
    std::string name = std::string(packed ? "packed fused vs reference mixing, " : "fused vs reference mixing, ") +
                       c10::toString(dtype) + (large ? ", long rows" : ", random shapes") +
                       (packed ? " (outputs, GA weights, all gradients incl. the biases')"
                               : " (outputs, GA weights, all gradients)");
    return result(name, device, worst, tol, "rel L2", "worst: " + worst_what);
}

std::vector<CheckResult> golden_parity(const std::string& golden_dir, const torch::Device& device,
                                       MixerImpl impl) {
    std::vector<CheckResult> out;
    auto io = read_safetensors((fs::path(golden_dir) / "io.safetensors").string()).tensors;
    auto loaded = load_model_dir(golden_dir, device);
    auto& model = *loaded.model;
    model.eval();
    auto t = [&](const std::string& name) {
        auto it = io.find(name);
        if (it == io.end()) throw Error("golden io.safetensors has no tensor '" + name + "'");
        return it->second.to(device);
    };
    ModelInputs in;
    in.input_ids = t("input_ids");
    in.attention_mask = t("attention_mask");
    in.token_type_ids = t("token_type_ids");
    in.labels = t("mlm_labels");
    in.sso_labels = t("sso_labels");
    ForwardOptions opt;
    opt.output_hidden_states = true;
    opt.output_ga = true;
    opt.impl = impl;
    auto res = model.forward(in, opt);
    const std::string tag = impl == MixerImpl::Reference ? " [reference]" : "";
    auto add = [&](const std::string& name, const torch::Tensor& got) {
        out.push_back(compare_shape_then("golden " + name + tag, device, got, t(name)));
    };
    add("last_hidden_state", res.encoder.last_hidden_state);
    add("pooler_output", res.encoder.pooler_output);
    add("prediction_logits", res.prediction_logits);
    add("seq_relationship_logits", res.seq_relationship_logits);
    for (size_t i = 0; i < res.encoder.hidden_states.size(); ++i)
        add("hidden_states." + std::to_string(i), res.encoder.hidden_states[i]);
    for (size_t i = 0; i < res.encoder.ga_attention.size(); ++i)
        add("ga_attention." + std::to_string(i), res.encoder.ga_attention[i]);
    add("mlm_loss", res.mlm_loss.reshape({1}));
    add("sso_loss", res.sso_loss.reshape({1}));

    res.loss.backward();
    std::map<std::string, torch::Tensor> params;
    for (const auto& p : model.named_parameters()) params[p.key()] = p.value();
    int grads = 0;
    for (const auto& [name, want] : io) {
        if (name.rfind("grad.", 0) != 0) continue;
        ++grads;
        const std::string pname = name.substr(5);
        auto it = params.find(pname);
        if (it == params.end() || !it->second.grad().defined()) {
            out.push_back(result("golden " + name + tag, device, INFINITY, kGradTol, "rel L2",
                                 "the model has no gradient for this parameter"));
            continue;
        }
        out.push_back(result("golden " + name + tag, device, rel_l2(it->second.grad(), want), kGradTol, "rel L2"));
    }
    if (grads != static_cast<int>(params.size()))
        out.push_back(result("golden gradient coverage" + tag, device, INFINITY, 0, "exact",
                             std::to_string(grads) + " gradients in the file, " + std::to_string(params.size()) +
                                 " parameters in the model"));
    return out;
}

CheckResult golden_segment_ids(const std::string& golden_dir) {
    auto io = read_safetensors((fs::path(golden_dir) / "io.safetensors").string());
    auto ids = io.tensors.at("input_ids");
    auto cls = std::stoll(io.metadata.count("cls_id") ? io.metadata.at("cls_id") : "101");
    auto sep = std::stoll(io.metadata.count("sep_id") ? io.metadata.at("sep_id") : "102");
    auto ours = derive_segment_ids(ids, cls, sep);
    const bool same = torch::equal(ours, io.tensors.at("segment_ids"));
    return result("derived segment ids = golden segment_ids", torch::kCPU, same ? 0 : 1, 0, "exact",
                  same ? "" : "derived ids differ from the reference's");
}

CheckResult padding_invariance(const torch::Device& device, const std::string& mixer) {
    auto cfg = tiny_config("PoNetModel", mixer_kind_from_string(mixer));
    auto model = build_model(cfg);
    randomise(*model, 7);
    model->to(device);
    model->eval();
    auto gen = at::detail::createCPUGenerator(11);
    const int64_t n = 13, extra = 9;
    auto b = tiny_batch(n, {n, 10}, gen);
    auto short_in = inputs_of(b.ids.to(device), b.mask.to(device));
    auto padded_ids = torch::cat({b.ids, torch::zeros({2, extra}, torch::kLong)}, 1);
    auto padded_mask = torch::cat({b.mask, torch::zeros({2, extra}, torch::kLong)}, 1);
    auto long_in = inputs_of(padded_ids.to(device), padded_mask.to(device));
    torch::NoGradGuard ng;
    auto a = model->forward(short_in).encoder;
    auto c = model->forward(long_in).encoder;
    // Compare only real tokens: row 1 is already padded inside the short batch.
    auto keep = b.mask.eq(1).unsqueeze(-1).to(device);
    auto got = c.last_hidden_state.narrow(1, 0, n) * keep;
    auto want = a.last_hidden_state * keep;
    const double err = std::max(max_abs(got, want), max_abs(c.pooler_output, a.pooler_output));
    return result("padding invariance (" + mixer + ")", device, err, 1e-5, "max abs",
                  "appending " + std::to_string(extra) + " padding tokens");
}

CheckResult explicit_segments_path(const torch::Device& device) {
    auto model = build_model(tiny_config("PoNetModel", MixerKind::PoNet));
    randomise(*model, 3);
    model->to(device);
    model->eval();
    auto gen = at::detail::createCPUGenerator(5);
    auto b = tiny_batch(20, {20, 16, 11}, gen);
    torch::NoGradGuard ng;
    auto derived = inputs_of(b.ids.to(device), b.mask.to(device));
    ModelInputs explicit_same = derived;
    explicit_same.segment_ids = derive_segment_ids(b.ids, 101, 102).to(device);
    ModelInputs explicit_other = derived;
    // One segment per pair of tokens: a different layout must change the output.
    explicit_other.segment_ids = (torch::arange(20, torch::kLong) / 2).unsqueeze(0).expand({3, 20}).contiguous().to(device);
    auto y0 = model->forward(derived).encoder.last_hidden_state;
    auto y1 = model->forward(explicit_same).encoder.last_hidden_state;
    auto y2 = model->forward(explicit_other).encoder.last_hidden_state;
    const double same = max_abs(y0, y1);
    const double diff = max_abs(y0, y2);
    auto r = result("explicit segment ids path", device, same, 0.0, "max abs",
                    "explicit = derived must match exactly; another layout changed outputs by " + std::to_string(diff));
    if (diff < 1e-6) {
        r.passed = false;
        r.detail = "explicit segment ids were ignored: a different layout gave the same output";
    }
    return r;
}

CheckResult fnet_vs_dft(const torch::Device& device) {
    auto gen = at::detail::createCPUGenerator(21);
    const int64_t B = 2, L = 11, D = 6;
    auto x = at::randn({B, L, D}, gen, torch::TensorOptions().dtype(torch::kDouble));
    FNetSelfImpl fnet;
    MixContext ctx;
    auto got = fnet.mix(x.to(device, torch::kFloat), ctx, nullptr).y;
    auto dft = [](int64_t n) {
        auto j = torch::arange(n, torch::kDouble);
        auto angle = torch::outer(j, j) * (2.0 * M_PI / static_cast<double>(n));
        return std::make_pair(torch::cos(angle), torch::sin(angle));
    };
    auto [cl, sl] = dft(L);
    auto [cd, sd] = dft(D);
    // Re((C_L − iS_L) X (C_D − iS_D)) = C_L X C_D − S_L X S_D
    auto want = torch::matmul(torch::matmul(cl, x), cd) - torch::matmul(torch::matmul(sl, x), sd);
    const double err = max_abs(got, want) / want.abs().max().item<double>();
    return result("FNet vs explicit DFT matrices", device, err, 1e-5, "max abs / max |ref|");
}

CheckResult attention_vs_softmax(const torch::Device& device) {
    auto cfg = tiny_config("PoNetModel", MixerKind::Attention);
    cfg.hidden_size = 8;
    cfg.num_attention_heads = 2;
    AttentionSelfImpl attn(cfg);
    randomise(attn, 13);
    attn.eval();
    auto gen = at::detail::createCPUGenerator(17);
    const int64_t B = 2, L = 7, D = 8, H = 2, d = 4;
    auto x = at::randn({B, L, D}, gen, torch::TensorOptions().dtype(torch::kFloat));
    auto keep = torch::ones({B, L}, torch::kBool);
    keep[1].narrow(0, 4, 3).fill_(false);
    attn.to(device);
    MixContext ctx;
    ctx.keep = keep.to(device);
    torch::Tensor got;
    {
        torch::NoGradGuard ng;
        got = attn.mix(x.to(device), ctx, nullptr).y.to(torch::kCPU, torch::kDouble);
    }
    auto proj = [&](torch::nn::Linear& lin) {
        auto w = lin->weight.detach().to(torch::kCPU, torch::kDouble), bias = lin->bias.detach().to(torch::kCPU, torch::kDouble);
        return (torch::matmul(x.to(torch::kDouble), w.t()) + bias).contiguous();
    };
    auto q = proj(attn.query), k = proj(attn.key), v = proj(attn.value);
    auto Q = q.accessor<double, 3>(), K = k.accessor<double, 3>(), V = v.accessor<double, 3>();
    auto want = torch::zeros({B, L, D}, torch::kDouble);
    auto W = want.accessor<double, 3>();
    auto keepA = keep.accessor<bool, 2>();
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t i = 0; i < L; ++i) {
                std::vector<double> s(L, -INFINITY);
                double m = -INFINITY;
                for (int64_t j = 0; j < L; ++j) {
                    if (!keepA[b][j]) continue;
                    double dot = 0;
                    for (int64_t c = 0; c < d; ++c) dot += Q[b][i][h * d + c] * K[b][j][h * d + c];
                    s[j] = dot / std::sqrt(static_cast<double>(d));
                    m = std::max(m, s[j]);
                }
                double z = 0;
                for (int64_t j = 0; j < L; ++j) z += keepA[b][j] ? std::exp(s[j] - m) : 0.0;
                for (int64_t j = 0; j < L; ++j) {
                    if (!keepA[b][j]) continue;
                    const double p = std::exp(s[j] - m) / z;
                    for (int64_t c = 0; c < d; ++c) W[b][i][h * d + c] += p * V[b][j][h * d + c];
                }
            }
    return result("attention vs explicit softmax", device, max_abs(got, want), 1e-5, "max abs");
}

CheckResult adamw_step_vs_libtorch(const torch::Device& device) {
    auto gen = at::detail::createCPUGenerator(77);
    auto f32 = torch::TensorOptions().dtype(torch::kFloat);
    const std::vector<std::vector<int64_t>> shapes{{64, 48}, {48}, {7, 3, 5}, {130}};
    std::vector<torch::Tensor> a, b;
    for (const auto& sh : shapes) {
        auto t = at::randn(sh, gen, f32).to(device);
        a.push_back(t.clone().requires_grad_(true));
        b.push_back(t.clone().requires_grad_(true));
    }
    auto build = [](const std::vector<torch::Tensor>& p) {
        auto o = torch::optim::AdamWOptions(3e-3).betas(std::make_tuple(0.85, 0.99)).eps(1e-6).weight_decay(0.05);
        std::vector<torch::optim::OptimizerParamGroup> groups;
        groups.emplace_back(std::vector<torch::Tensor>{p[0], p[2]}, std::make_unique<torch::optim::AdamWOptions>(o));
        auto no_decay = std::make_unique<torch::optim::AdamWOptions>(o);
        no_decay->weight_decay(0.0);
        groups.emplace_back(std::vector<torch::Tensor>{p[1], p[3]}, std::move(no_decay));
        return std::make_unique<torch::optim::AdamW>(std::move(groups), o);
    };
    auto oa = build(a), ob = build(b);
    for (int step = 0; step < 6; ++step) {
        oa->zero_grad();
        ob->zero_grad();
        for (size_t i = 0; i < a.size(); ++i) {
            if (step == 2 && i == 3) continue;  // this parameter has no gradient in step 2: a lower step count
            auto g = at::randn(a[i].sizes(), gen, f32).to(device);
            a[i].mutable_grad() = g.clone();
            b[i].mutable_grad() = g.clone();
        }
        if (step == 4)  // a schedule changes lr and beta1 between steps
            for (auto* o : {oa.get(), ob.get()})
                for (auto& group : o->param_groups()) {
                    auto& opt = static_cast<torch::optim::AdamWOptions&>(group.options());
                    opt.lr(1e-3).betas(std::make_tuple(0.9, 0.99));
                }
        oa->step();
        adamw_step(*ob);
    }
    double worst = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        worst = std::max(worst, rel_l2(b[i].detach(), a[i].detach()));
        const auto& sa = static_cast<torch::optim::AdamWParamState&>(*oa->state().at(optimizer_state_key(a[i])));
        const auto& sb = static_cast<torch::optim::AdamWParamState&>(*ob->state().at(optimizer_state_key(b[i])));
        worst = std::max({worst, rel_l2(sb.exp_avg(), sa.exp_avg()), rel_l2(sb.exp_avg_sq(), sa.exp_avg_sq())});
        if (sa.step() != sb.step()) worst = INFINITY;
    }
    return result("AdamW step (fused kernel on CUDA) vs torch::optim::AdamW", device, worst, 1e-5, "rel L2");
}

CheckResult layer_norm_fused_vs_aten(const torch::Device& device, torch::ScalarType dtype) {
    auto gen = at::detail::createCPUGenerator(91);
    const auto f32 = torch::TensorOptions().dtype(torch::kFloat);
    const std::string dname = dtype == torch::kFloat ? "fp32" : dtype == torch::kBFloat16 ? "bf16" : "fp16";
    double worst_y = 0, worst_grad = 0;
    bool fused_everywhere = true;
    for (const auto& [rows, D] : std::vector<std::pair<int64_t, int64_t>>{{1, 16}, {37, 64}, {1000, 64}, {2051, 100},
                                                                          {129, 256}, {300, 512}, {5, 31}}) {
        torch::nn::LayerNorm norm(torch::nn::LayerNormOptions({D}).eps(1e-5));
        {
            torch::NoGradGuard ng;
            norm->weight.copy_(1.0 + 0.3 * at::randn({D}, gen, f32));
            norm->bias.copy_(0.2 * at::randn({D}, gen, f32));
        }
        norm->to(device);
        // Rows with an offset and a spread, as residual streams have; [2, rows/2 ...] keeps a leading batch axis.
        auto x0 = (3.0 + 2.0 * at::randn({rows, D}, gen, f32)).to(device);
        auto g = at::randn({rows, D}, gen, f32).to(dtype).to(device);
        auto x = x0.clone().requires_grad_(true);
        torch::Tensor y;
        {
            CudaAutocastGuard autocast(dtype != torch::kFloat, dtype);
            fused_everywhere = fused_everywhere && fused_layer_norm_applies(norm, x);
            y = layer_norm(norm, x, /*for_matmul=*/true);
        }
        if (y.scalar_type() != dtype)
            return result("fused LayerNorm vs at::layer_norm (" + dname + " out)", device, INFINITY, 0, "rel L2",
                          std::string("output dtype ") + c10::toString(y.scalar_type()));
        y.backward(g);
        const auto dx = x.grad().clone(), dw = norm->weight.grad().clone(), db = norm->bias.grad().clone();
        norm->zero_grad();
        auto xr = x0.clone().requires_grad_(true);
        auto yr = at::layer_norm(xr, {D}, norm->weight, norm->bias, 1e-5).to(dtype);
        yr.backward(g);
        worst_y = std::max(worst_y, rel_l2(y.to(torch::kFloat), yr.to(torch::kFloat)));
        worst_grad = std::max({worst_grad, rel_l2(dx, xr.grad()), rel_l2(dw, norm->weight.grad()),
                               rel_l2(db, norm->bias.grad())});
        norm->zero_grad();
    }
    // fp32: both are fp32 arithmetic in a different order; bf16/fp16: one rounding step of the output may differ.
    const double tol_y = dtype == torch::kFloat ? 1e-5 : 1e-2;
    auto r = result("fused LayerNorm vs at::layer_norm (" + dname + " out)", device,
                    std::max(worst_y / tol_y, worst_grad / 1e-5), 1.0, "worst rel L2 / its tolerance");
    std::ostringstream d;
    d << "output " << worst_y << " (tolerance " << tol_y << "), gradients " << worst_grad << " (tolerance 1e-5)";
    r.detail = d.str();
    if (!fused_everywhere) {
        r.passed = false;
        r.detail += "; the fused kernels were not used for every shape";
    }
    return r;
}

CheckResult linear_fused_vs_aten(const torch::Device& device, torch::ScalarType dtype) {
    auto gen = at::detail::createCPUGenerator(93);
    const auto f32 = torch::TensorOptions().dtype(torch::kFloat);
    const std::string dname = dtype == torch::kBFloat16 ? "bf16" : "fp16";
    double worst = 0;
    bool fused_everywhere = true;
    const std::vector<std::array<int64_t, 4>> shapes{// batch, length, in, out
                                                     {4, 250, 64, 64}, {3, 37, 64, 128}, {2, 150, 128, 64},
                                                     {1, 5, 16, 8}, {2, 1025, 256, 768}};
    int index = 0;
    for (const auto& [B, L, K, C] : shapes) {
        torch::nn::Linear layer(torch::nn::LinearOptions(K, C));
        layer->to(device);
        auto x0 = at::randn({B, L, K}, gen, f32).to(device);
        if (index++ % 2) x0 = x0.to(dtype);  // inputs already in the low precision (after a fused LayerNorm)
        auto g = at::randn({B, L, C}, gen, f32).to(dtype).to(device);
        auto run = [&](bool fused, torch::Tensor& dx, torch::Tensor& dw, torch::Tensor& db) {
            auto x = x0.clone().requires_grad_(true);
            torch::Tensor y;
            {
                CudaAutocastGuard autocast(true, dtype);
                if (fused) fused_everywhere = fused_everywhere && fused_linear_applies(layer, x);
                y = linear(layer, x, fused);
            }
            y.backward(g);
            dx = x.grad().clone();
            dw = layer->weight.grad().clone();
            db = layer->bias.grad().clone();
            layer->zero_grad();
            return y.detach();
        };
        torch::Tensor dx, dw, db, rx, rw, rb;
        const auto y = run(true, dx, dw, db);
        const auto yr = run(false, rx, rw, rb);
        if (y.scalar_type() != yr.scalar_type() || dx.scalar_type() != rx.scalar_type())
            return result("fused linear vs autocast linear (" + dname + ")", device, INFINITY, 1e-2, "rel L2",
                          "dtype of the output or of the input gradient differs");
        worst = std::max({worst, rel_l2(y.to(torch::kFloat), yr.to(torch::kFloat)), rel_l2(dx.to(torch::kFloat), rx.to(torch::kFloat)),
                          rel_l2(dw, rw), rel_l2(db, rb)});
    }
    // A PoNet layer's five projections as one product (the stacked weights made by one kernel on CUDA) against
    // torch::cat, a cast and matmul: output, input gradient and the bias gradients; the weight gradients within the
    // low precision's rounding (ours come out of cuBLAS in fp32, the reference's are rounded first).
    {
        std::vector<torch::Tensor> ws, bs, wr, br;
        for (int i = 0; i < 5; ++i) {
            ws.push_back(at::randn({64, 48}, gen, f32).to(device).requires_grad_(true));
            bs.push_back(at::randn({64}, gen, f32).to(device).requires_grad_(true));
            wr.push_back(ws.back().detach().clone().requires_grad_(true));
            br.push_back(bs.back().detach().clone().requires_grad_(true));
        }
        auto x = at::randn({2, 300, 48}, gen, f32).to(dtype).to(device).requires_grad_(true);
        auto xr = x.detach().clone().requires_grad_(true);
        // An extra layer's weight cast by the same kernel (PoNet's output projection): handed back as it is cast.
        torch::nn::Linear extra_layer(torch::nn::LinearOptions(48, 64));
        extra_layer->to(device);
        torch::Tensor extra_low;
        const auto [y, b] = stacked_linear(x, ws, bs, dtype, extra_layer->weight, &extra_low);
        const auto y_ref = torch::matmul(xr, torch::cat(wr).to(dtype).t()), b_ref = torch::cat(br);
        const auto gy = at::randn(y_ref.sizes(), gen, f32).to(dtype).to(device);
        const auto gb = at::randn(b_ref.sizes(), gen, f32).to(device);
        ((y.to(torch::kFloat) * gy.to(torch::kFloat)).sum() + (b * gb).sum()).backward();
        ((y_ref.to(torch::kFloat) * gy.to(torch::kFloat)).sum() + (b_ref * gb).sum()).backward();
        const std::string what = "stacked projections vs cat + cast + matmul (" + dname + ")";
        if (y.scalar_type() != dtype || !x.grad().defined() || x.grad().scalar_type() != dtype)
            return result(what, device, INFINITY, 1e-2, "rel L2", "output or input gradient in the wrong dtype");
        double e = std::max(rel_l2(y.to(torch::kFloat), y_ref.to(torch::kFloat)),
                            rel_l2(x.grad().to(torch::kFloat), xr.grad().to(torch::kFloat)));
        e = std::max(e, (b - b_ref).abs().max().item<double>());
        for (int i = 0; i < 5; ++i) {
            if (!ws[i].grad().defined() || !bs[i].grad().defined()) e = INFINITY;
            else e = std::max({e, rel_l2(ws[i].grad(), wr[i].grad()),
                               (bs[i].grad() - br[i].grad()).abs().max().item<double>()});
        }
        if (!(e <= 1e-2)) return result(what, device, e, 1e-2, "rel L2", "values or gradients differ");
        if (!y.grad_fn() || y.grad_fn()->name().find("StackedLinear") == std::string::npos)
            return result(what, device, INFINITY, 1e-2, "rel L2", "the stacking kernel was not used");
        if (!extra_low.defined() || extra_low.requires_grad() ||
            !torch::equal(extra_low, extra_layer->weight.detach().to(dtype)))
            return result(what, device, INFINITY, 1e-2, "rel L2", "the extra weight was not cast as it is");
        // The layer given its weight so cast computes what it computes casting it itself, gradients included.
        {
            CudaAutocastGuard autocast(true, dtype);
            auto x2 = at::randn({2, 30, 48}, gen, f32).to(device).requires_grad_(true);
            auto x3 = x2.detach().clone().requires_grad_(true);
            const auto y2 = linear(extra_layer, x2, true, extra_low);
            y2.to(torch::kFloat).square().sum().backward();
            const auto dw2 = extra_layer->weight.grad().clone();
            extra_layer->zero_grad();
            const auto y3 = linear(extra_layer, x3, true);
            y3.to(torch::kFloat).square().sum().backward();
            if (!torch::equal(y2, y3) || !torch::equal(x2.grad(), x3.grad()) ||
                !torch::equal(dw2, extra_layer->weight.grad()))
                return result(what, device, INFINITY, 1e-2, "rel L2",
                              "a linear layer given its cast weight differs from one casting it");
            // And the weight given is the one used: twice the weight, twice the product.
            const auto doubled = (extra_low.to(torch::kFloat) * 2).to(dtype);
            const auto y4 = linear(extra_layer, x2.detach(), true, doubled).to(torch::kFloat);
            const auto bias = extra_layer->bias.detach();
            const double e4 = rel_l2(y4 - bias, 2 * (y3.detach().to(torch::kFloat) - bias));
            if (!(e4 <= 1e-2))
                return result(what, device, e4, 1e-2, "rel L2", "a linear layer ignored the cast weight given to it");
        }
    }
    // The LRA pooling's mean over the sequence (our partial sums on CUDA) against ATen's, value and gradient.
    {
        auto x = (1.0 + at::randn({3, 1037, 64}, gen, f32)).to(device).requires_grad_(true);
        auto xr = x.detach().clone().requires_grad_(true);
        auto m = mean_over_sequence(x);
        auto mr = xr.mean(1);
        const auto gm = at::randn(mr.sizes(), gen, f32).to(device);
        (m * gm).sum().backward();
        (mr * gm).sum().backward();
        const double e = std::max(rel_l2(m.detach(), mr.detach()), rel_l2(x.grad(), xr.grad()));
        if (!(e <= 1e-6))
            return result("sequence mean vs ATen's mean (fp32)", device, e, 1e-6, "rel L2",
                          "the pooling mean or its gradient differs");
    }
    // Both round the product, the bias add and the gradients to the low precision, in places that may differ by one
    // unit of the last place (and our bias gradient is kept in fp32).
    auto r = result("fused linear vs autocast linear (" + dname + ")", device, worst, 1e-2, "rel L2");
    r.detail = "and the stacked projections match torch::cat + matmul, the sequence mean ATen's, with their gradients";
    if (!fused_everywhere) {
        r.passed = false;
        r.detail = "the fused kernels were not used for every shape";
    }
    return r;
}

namespace {

// A linear layer on `device` with an input (every other one already in the low precision on CUDA, as after a fused
// LayerNorm) and an fp32 upstream gradient, for the epilogue checks.
struct EpilogueCase {
    torch::nn::Linear layer{nullptr};
    torch::Tensor x0, g;
};

std::vector<EpilogueCase> epilogue_cases(at::Generator& gen, const torch::Device& device, torch::ScalarType dtype,
                                         const std::vector<std::array<int64_t, 4>>& shapes) {  // batch, length, in, out
    const auto f32 = torch::TensorOptions().dtype(torch::kFloat);
    std::vector<EpilogueCase> cases;
    for (const auto& [B, L, K, C] : shapes) {
        EpilogueCase c;
        c.layer = torch::nn::Linear(torch::nn::LinearOptions(K, C));
        c.layer->to(device);
        c.x0 = at::randn({B, L, K}, gen, f32).to(device);
        if (cases.size() % 2 && device.is_cuda()) c.x0 = c.x0.to(dtype);
        c.g = at::randn({B, L, C}, gen, f32).to(device);
        cases.push_back(std::move(c));
    }
    return cases;
}

// The verdict of an epilogue check: the worst error, then the kept fraction of the drawn masks (1 - p within
// 0.005), then whether the fused kernel ran everywhere on CUDA.
CheckResult epilogue_verdict(const std::string& what, const torch::Device& device, double worst,
                             const std::string& worst_case, double kept, double drawn, double p, bool fused_everywhere,
                             const std::string& detail) {
    if (!(worst <= 1e-2))
        return result(what, device, worst, 1e-2, "rel L2", "values or gradients differ (worst: " + worst_case + ")");
    const double frac = kept / drawn;
    std::ostringstream d;
    d << "kept " << frac << " of the elements with p = " << p;
    if (!(std::abs(frac - (1.0 - p)) <= 0.005))
        return result(what, device, std::abs(frac - (1.0 - p)), 0.005, "kept fraction off 1 - p", d.str());
    auto res = result(what, device, worst, 1e-2, "rel L2");
    res.detail = detail + "; " + d.str() + "; worst: " + worst_case;
    if (!fused_everywhere) {
        res.passed = false;
        res.detail = "the fused kernel was not used for every shape";
    }
    return res;
}

}  // namespace

CheckResult linear_dropout_add_vs_aten(const torch::Device& device, torch::ScalarType dtype) {
    auto gen = at::detail::createCPUGenerator(71);
    const auto f32 = torch::TensorOptions().dtype(torch::kFloat);
    // The CPU has no autocast: fp32 on both sides there.
    const std::string dname = !device.is_cuda() ? "fp32" : dtype == torch::kBFloat16 ? "bf16" : "fp16";
    const std::string what = "linear + dropout + residual vs ATen (" + dname + ")";
    const double p = 0.25;
    double worst = 0;
    std::string worst_case;
    bool fused_everywhere = true;
    double kept = 0, drawn = 0;
    for (auto& [layer, x0, g] : epilogue_cases(gen, device, dtype, {{4, 250, 64, 64}, {2, 150, 128, 64}, {1, 5, 16, 8},
                                                                    {2, 1025, 256, 768}})) {
        const auto r0 = at::randn(g.sizes(), gen, f32).to(device);
        for (const double pp : {0.0, p}) {
            // With dropout the residual is small (about 1e-3 against products of about 0.5), so out - residual is
            // exactly zero where an element was dropped and far from zero where it was kept; the residual stays
            // non-zero, so a kernel that masked or scaled it too would fail the comparison below.
            const auto res0 = pp > 0 ? r0 * 1e-3 : r0;
            auto x = x0.clone().requires_grad_(true);
            auto r = res0.clone().requires_grad_(true);
            torch::Tensor out;
            {
                CudaAutocastGuard autocast(device.is_cuda(), dtype);
                out = linear_dropout_add(layer, x, r, pp, true);
            }
            if (device.is_cuda() &&
                (!out.grad_fn() || out.grad_fn()->name().find("LinearDropoutAdd") == std::string::npos))
                fused_everywhere = false;
            if (out.scalar_type() != torch::kFloat || out.sizes() != r0.sizes())
                return result(what, device, INFINITY, 1e-2, "rel L2", "the output is not fp32 of the residual's shape");
            out.backward(g);
            const auto dx = x.grad().clone(), dw = layer->weight.grad().clone(), db = layer->bias.grad().clone();
            const auto dr = r.grad().clone();
            layer->zero_grad();
            if (!torch::equal(dr, g))
                return result(what, device, INFINITY, 1e-2, "rel L2", "the residual's gradient is not passed through");
            const auto keep = pp > 0 ? (out.detach() - res0 != 0).to(torch::kFloat) : torch::ones_like(r0);
            if (pp > 0) {
                kept += keep.sum().item<double>();
                drawn += static_cast<double>(keep.numel());
            }
            // ATen under the same autocast, with the mask just read off.
            auto xr = x0.clone().requires_grad_(true);
            auto rr = res0.clone().requires_grad_(true);
            torch::Tensor yr;
            {
                CudaAutocastGuard autocast(device.is_cuda(), dtype);
                yr = linear(layer, xr, false);
            }
            const auto outr = rr + yr.to(torch::kFloat) * keep / (1.0 - pp);
            outr.backward(g);
            const auto dxr = xr.grad().clone(), dwr = layer->weight.grad().clone(), dbr = layer->bias.grad().clone();
            layer->zero_grad();
            if (dx.scalar_type() != dxr.scalar_type())
                return result(what, device, INFINITY, 1e-2, "rel L2", "the input gradient's dtype differs");
            const double e = std::max({rel_l2(out.detach(), outr.detach()),
                                       rel_l2(dx.to(torch::kFloat), dxr.to(torch::kFloat)), rel_l2(dw, dwr),
                                       rel_l2(db, dbr)});
            if (e >= worst) {
                worst = e;
                std::ostringstream c;
                c << "p = " << pp << ", " << layer->weight.size(1) << " → " << layer->weight.size(0);
                worst_case = c.str();
            }
        }
    }
    // The generator's state decides the mask (a checkpointed layer's recompute relies on it); a new draw differs.
    {
        torch::nn::Linear layer(torch::nn::LinearOptions(64, 64));
        layer->to(device);
        const auto x = at::randn({2, 300, 64}, gen, f32).to(device);
        const auto r = at::randn({2, 300, 64}, gen, f32).to(device);
        const int dev = device.is_cuda() ? device.index() < 0 ? 0 : device.index() : -1;
        const auto state = device.is_cuda() ? cuda_generator_state(dev) : cpu_generator_state();
        auto draw = [&] {
            torch::NoGradGuard no_grad;
            CudaAutocastGuard autocast(device.is_cuda(), dtype);
            return linear_dropout_add(layer, x, r, p, true);
        };
        const auto a = draw();
        if (device.is_cuda()) set_cuda_generator_state(dev, state);
        else set_cpu_generator_state(state);
        const auto b = draw();
        const auto c = draw();
        if (!torch::equal(a, b) || torch::equal(b, c))
            return result(what, device, INFINITY, 1e-2, "rel L2",
                          "the mask does not follow the generator's state (same state, same mask; next draw, "
                          "new mask)");
    }
    // The drawn masks keep 1 - p of the elements (about 1.7 million draws: the standard error is 0.0003).
    return epilogue_verdict(what, device, worst, worst_case, kept, drawn, p, fused_everywhere,
                            "p = 0 and 0.25, outputs and the input, weight, bias and residual gradients; the mask "
                            "follows the generator's state");
}

CheckResult linear_activation_dropout_vs_aten(const torch::Device& device, torch::ScalarType dtype) {
    auto gen = at::detail::createCPUGenerator(73);
    const std::string dname = !device.is_cuda() ? "fp32" : dtype == torch::kBFloat16 ? "bf16" : "fp16";
    const std::string what = "linear + activation + dropout vs ATen (" + dname + ")";
    const double p = 0.25;
    double worst = 0;
    std::string worst_case;
    bool fused_everywhere = true;
    double kept = 0, drawn = 0;
    const std::vector<std::array<int64_t, 4>> shapes{{4, 250, 64, 128}, {2, 150, 128, 64}, {1, 5, 16, 8},
                                                     {2, 1025, 256, 1024}};  // batch, length, in, out
    for (auto& [layer, x0, g0] : epilogue_cases(gen, device, dtype, shapes)) {
        const int64_t K = layer->weight.size(1), C = layer->weight.size(0);
        for (const std::string act : {"gelu", "gelu_new", "relu", "tanh"}) {
            // Dropout with the GELUs, whose outputs here are never exactly zero, so the zeros are the dropped.
            for (const double pp : {0.0, p}) {
                if (pp > 0 && act.rfind("gelu", 0) != 0) continue;
                auto x = x0.clone().requires_grad_(true);
                torch::Tensor out;
                {
                    CudaAutocastGuard autocast(device.is_cuda(), dtype);
                    out = linear_activation_dropout(layer, x, act, pp, true);
                }
                if (device.is_cuda() &&
                    (!out.grad_fn() || out.grad_fn()->name().find("LinearActDropout") == std::string::npos))
                    fused_everywhere = false;
                const auto g = g0.to(out.scalar_type());
                out.backward(g);
                const auto dx = x.grad().clone(), dw = layer->weight.grad().clone(), db = layer->bias.grad().clone();
                layer->zero_grad();
                const auto keep = pp > 0 ? (out.detach() != 0).to(torch::kFloat)
                                         : torch::ones(out.sizes(), out.options().dtype(torch::kFloat));
                if (pp > 0) {
                    kept += keep.sum().item<double>();
                    drawn += static_cast<double>(keep.numel());
                }
                auto xr = x0.clone().requires_grad_(true);
                torch::Tensor yr;
                {
                    CudaAutocastGuard autocast(device.is_cuda(), dtype);
                    yr = apply_activation(act, linear(layer, xr, false));
                }
                if (yr.scalar_type() != out.scalar_type())
                    return result(what, device, INFINITY, 1e-2, "rel L2", "the output's dtype differs (" + act + ")");
                const auto outr = yr.to(torch::kFloat) * keep / (1.0 - pp);
                outr.backward(g.to(torch::kFloat));
                const auto dxr = xr.grad().clone(), dwr = layer->weight.grad().clone(), dbr = layer->bias.grad().clone();
                layer->zero_grad();
                const double e = std::max({rel_l2(out.detach().to(torch::kFloat), outr.detach()),
                                           rel_l2(dx.to(torch::kFloat), dxr.to(torch::kFloat)), rel_l2(dw, dwr),
                                           rel_l2(db, dbr)});
                if (e >= worst) {
                    worst = e;
                    std::ostringstream c;
                    c << act << ", p = " << pp << ", " << K << " → " << C;
                    worst_case = c.str();
                }
            }
        }
    }
    return epilogue_verdict(what, device, worst, worst_case, kept, drawn, p, fused_everywhere,
                            "gelu, gelu_new, relu, tanh without dropout, the GELUs with p = 0.25; outputs and the "
                            "input, weight and bias gradients");
}

CheckResult trace_winners(const torch::Device& device) {
    auto in = random_mixing_inputs(29, true, false, device);
    MixingTrace tr;
    ponet_mix_reference(in, &tr);
    const auto L = in.q.size(1);
    auto pad_row = in.keep.logical_not().unsqueeze(-1);
    auto sentinel = torch::full({}, kPoolingSentinel, in.s.options());
    auto s_tilde = torch::where(pad_row, sentinel, in.s);
    auto l_tilde = torch::where(pad_row.logical_or(in.special.unsqueeze(-1)), sentinel, in.l);
    auto ordinary = in.keep.logical_and(in.special.logical_not()).unsqueeze(-1).expand_as(tr.smp);
    // The winner's own value is the pooled value, it lies in the same segment / window, and it is a real token.
    auto smp_from_winner = s_tilde.gather(1, tr.smp_winner);
    auto lmp_from_winner = l_tilde.gather(1, tr.lmp_winner);
    auto seg_of_winner = in.segment_ids.unsqueeze(-1).expand_as(tr.smp_winner).gather(1, tr.smp_winner);
    auto pos = torch::arange(L, in.segment_ids.options()).view({1, L, 1});
    double err = 0;
    err = std::max(err, max_abs(smp_from_winner.masked_select(ordinary), tr.smp.masked_select(ordinary)));
    err = std::max(err, max_abs(lmp_from_winner.masked_select(ordinary), tr.lmp.masked_select(ordinary)));
    const bool same_seg = torch::equal(seg_of_winner.masked_select(ordinary),
                                       in.segment_ids.unsqueeze(-1).expand_as(tr.smp).masked_select(ordinary));
    const bool in_window = (tr.lmp_winner - pos).abs().le(1).all().item<bool>();
    auto r = result("inspection hook winners explain SMP and LMP", device, err, 0.0, "max abs");
    if (!same_seg || !in_window) {
        r.passed = false;
        r.detail = !same_seg ? "an SMP winner lies outside its segment" : "an LMP winner lies outside its window";
    }
    return r;
}

CheckResult save_load_roundtrip(const torch::Device& device) {
    auto cfg = tiny_config("PoNetForPreTraining", MixerKind::PoNet);
    auto model = build_model(cfg);
    randomise(*model, 31);
    const auto dir = make_temp_dir("roundtrip");
    CheckResult r;
    try {
        save_model_dir(*model, dir);
        auto loaded = load_model_dir(dir, device).model;
        auto a = state_tensors(*model), b = state_tensors(*loaded);
        int differing = 0;
        for (auto& [name, t] : a)
            if (!b.count(name) || !torch::equal(t, b[name])) ++differing;
        model->to(device);
        model->eval();
        auto gen = at::detail::createCPUGenerator(37);
        auto batch = tiny_batch(12, {12, 8}, gen);
        torch::NoGradGuard ng;
        auto in = inputs_of(batch.ids.to(device), batch.mask.to(device));
        auto ya = model->forward(in).prediction_logits, yb = loaded->forward(in).prediction_logits;
        const bool same_out = torch::equal(ya, yb);
        r = result("save → load round trip is bit-exact", device, differing + (same_out ? 0 : 1), 0, "exact",
                   std::to_string(a.size()) + " tensors compared");
        if (differing) r.detail = std::to_string(differing) + " tensors differ after the round trip";
    } catch (...) {
        remove_tree(dir);
        throw;
    }
    remove_tree(dir);
    return r;
}

}  // namespace ponet::check
