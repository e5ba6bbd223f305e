// Reference PoNet mixing (PONET-SPEC §1.4, steps 3–14), written as plain ATen ops so autograd derives the backward.
#include "core/kernels/ponet_mixing.h"

#include <cmath>

#include "core/kernels/ponet_mixing_fused.h"
#include "core/util/error.h"

namespace ponet {

std::string to_string(MixerImpl impl) {
    switch (impl) {
        case MixerImpl::Reference: return "reference";
        case MixerImpl::Fused: return "fused";
        case MixerImpl::Auto: break;
    }
    return "auto";
}

MixerImpl mixer_impl_from_string(const std::string& s) {
    if (s == "auto") return MixerImpl::Auto;
    if (s == "reference") return MixerImpl::Reference;
    if (s == "fused") return MixerImpl::Fused;
    throw InvalidInput("unknown mixer implementation '" + s + "' (expected auto, fused or reference)");
}

namespace {

void check_inputs(const PoNetMixingInputs& in) {
    TORCH_CHECK(in.q.dim() == 3, "PoNet mixing: q must be [B, L, D]");
    const auto B = in.q.size(0), L = in.q.size(1), D = in.q.size(2);
    for (const torch::Tensor* t : {&in.k, &in.o, &in.s, &in.l})
        TORCH_CHECK(t->sizes() == in.q.sizes(), "PoNet mixing: projections must share the shape [B, L, D]");
    TORCH_CHECK(in.heads > 0 && D % in.heads == 0, "PoNet mixing: D must be a multiple of the head count");
    TORCH_CHECK(in.keep.sizes() == torch::IntArrayRef({B, L}) && in.keep.scalar_type() == torch::kBool,
                "PoNet mixing: keep must be bool [B, L]");
    TORCH_CHECK(in.segment_ids.sizes() == torch::IntArrayRef({B, L}) &&
                    in.segment_ids.scalar_type() == torch::kLong,
                "PoNet mixing: segment_ids must be int64 [B, L]");
    if (in.clsgsepg)
        TORCH_CHECK(in.special.defined() && in.special.sizes() == torch::IntArrayRef({B, L}),
                    "PoNet mixing: clsgsepg needs the special-token mask [B, L]");
}

// For every output element, the lowest token index j in the element's segment whose value equals the segment max.
torch::Tensor segment_winners(const torch::Tensor& s_tilde, const torch::Tensor& s_hat, const torch::Tensor& seg,
                              int64_t n_seg) {
    const auto B = s_tilde.size(0), L = s_tilde.size(1), D = s_tilde.size(2);
    auto pos = torch::arange(L, seg.options()).view({1, L, 1}).expand({B, L, D});
    // Only tokens that hold their segment's maximum are candidates; others get L (loses every min).
    auto cand = torch::where(s_tilde == s_hat, pos, torch::full_like(pos, L));
    auto idx = seg.unsqueeze(-1).expand({B, L, D});
    auto best = torch::full({B, n_seg, D}, L, seg.options()).scatter_reduce(1, idx, cand, "amin", true);
    return best.gather(1, idx);
}

}  // namespace

int64_t scan_segment_ids(const torch::Tensor& seg) {
    if (seg.numel() == 0) return 1;
    const int64_t L = seg.size(-1);
    const int64_t min_id = seg.min().item<int64_t>();
    if (min_id < 0) throw InvalidInput("segment_ids must be >= 0, found " + std::to_string(min_id));
    const int64_t n_seg = seg.max().item<int64_t>() + 1;
    if (n_seg > 2 * L + 2)
        throw InvalidInput("segment id " + std::to_string(n_seg - 1) + " is too large for a sequence of " +
                           std::to_string(L) + " tokens (ids must be below 2·L + 2)");
    return n_seg;
}

PoNetMixingOutput ponet_mix_reference(const PoNetMixingInputs& in, MixingTrace* trace) {
    check_inputs(in);
    const auto B = in.q.size(0), L = in.q.size(1), D = in.q.size(2);
    const auto H = in.heads, d = D / H;
    const auto out_dtype = in.o.scalar_type();
    auto f32 = [](const torch::Tensor& t) { return t.to(torch::kFloat); };

    const auto keep = in.keep;
    const auto keepf = keep.to(torch::kFloat);
    auto Q = f32(in.q).view({B, L, H, d});
    auto K = f32(in.k).view({B, L, H, d});
    auto O = f32(in.o).view({B, L, H, d});

    // GA stage 1: masked mean of the queries; an all-padding row divides by 1, not 0 (PONET-SPEC §7 #6).
    auto count = keepf.sum(1).clamp_min(1.0).view({B, 1, 1});
    auto g = (Q * keepf.view({B, L, 1, 1})).sum(1) / count;  // [B,H,d]

    // GA stage 2: one-query attention over the keys; values are the keys.
    auto z = torch::einsum("bhd,blhd->bhl", {g, K}) / std::sqrt(static_cast<double>(d));
    z = z + ((1.0 - keepf) * kPoolingSentinel).view({B, 1, L});
    auto alpha = torch::softmax(z, -1);                              // [B,H,L]
    auto g_prime = torch::einsum("bhl,blhd->bhd", {alpha, K});       // [B,H,d]

    // Sentinel rows before the max-poolings.
    auto pad_row = keep.logical_not().unsqueeze(-1);
    auto sentinel = torch::full({}, kPoolingSentinel, keepf.options());
    auto s_tilde = torch::where(pad_row, sentinel, f32(in.s));
    auto l_tilde = torch::where(pad_row, sentinel, f32(in.l));
    torch::Tensor spec_row;
    if (in.clsgsepg) {
        spec_row = in.special.to(torch::kBool).unsqueeze(-1);
        l_tilde = torch::where(spec_row, sentinel, l_tilde);
    }

    // SMP: scatter-max into [B, S, D] (S = max id + 1, the R1 sizing), then gather back.
    const auto& seg = in.segment_ids;
    const int64_t n_seg = scan_segment_ids(seg);
    auto seg_idx = seg.unsqueeze(-1).expand({B, L, D});
    auto seg_max = torch::zeros({B, n_seg, D}, s_tilde.options())
                       .scatter_reduce(1, seg_idx, s_tilde, "amax", /*include_self=*/false);
    auto s_hat = seg_max.gather(1, seg_idx);

    // LMP: window 3, stride 1; positions outside the sequence are ignored.
    torch::Tensor l_hat, l_idx;
    if (trace) {
        auto pooled = torch::max_pool1d_with_indices(l_tilde.transpose(1, 2), {3}, {1}, {1});
        l_hat = std::get<0>(pooled).transpose(1, 2);
        l_idx = std::get<1>(pooled).transpose(1, 2);
    } else {
        l_hat = torch::max_pool1d(l_tilde.transpose(1, 2), {3}, {1}, {1}).transpose(1, 2);
    }

    if (in.clsgsepg) {
        auto zero = torch::zeros({}, keepf.options());
        s_hat = torch::where(spec_row, zero, s_hat);
        l_hat = torch::where(spec_row, zero, l_hat);
    }

    // Pooling fusion, then zero the padding rows.
    auto y = (g_prime.unsqueeze(1) + s_hat.view({B, L, H, d})) * O + l_hat.view({B, L, H, d});
    y = torch::where(pad_row, torch::zeros({}, keepf.options()), y.reshape({B, L, D}));

    if (trace) {
        torch::NoGradGuard no_grad;
        trace->ga_weights = alpha.detach();
        trace->smp = s_hat.detach();
        trace->lmp = l_hat.detach();
        trace->smp_winner = segment_winners(s_tilde.detach(), seg_max.detach().gather(1, seg_idx), seg, n_seg);
        trace->lmp_winner = l_idx;
    }
    return {y.to(out_dtype), alpha};
}

PoNetMixingOutput ponet_mix(const PoNetMixingInputs& in, MixerImpl impl, MixingTrace* trace) {
    if (trace || impl == MixerImpl::Reference) return ponet_mix_reference(in, trace);
    if (impl == MixerImpl::Fused) return ponet_mix_fused(in);
    // Auto: the fused kernels wherever they take the input (CUDA and CPU: on the CPU they now win whole training
    // steps too, docs/PERFORMANCE.md), the reference path otherwise.
    if (fused_mixing_supported(in)) return ponet_mix_fused(in);
    return ponet_mix_reference(in, trace);
}

PoNetMixingInputs unpack_projections(const PoNetPackedMixingInputs& in) {
    TORCH_CHECK(in.qkosl.defined() && in.qkosl.dim() == 3 && in.qkosl.size(2) % 5 == 0,
                "packed PoNet mixing: the projections must be [B, L, 5·D]");
    const int64_t D = in.qkosl.size(2) / 5;
    auto part = [&](int64_t i) {
        auto v = in.qkosl.narrow(2, i * D, D).to(torch::kFloat);
        return in.bias.defined() && in.bias.numel() > 0 ? v + in.bias.narrow(0, i * D, D).to(torch::kFloat) : v;
    };
    PoNetMixingInputs out;
    out.q = part(0);
    out.k = part(1);
    out.o = part(2);
    out.s = part(3);
    out.l = part(4);
    copy_mixing_context(out, in);
    return out;
}

PoNetMixingOutput ponet_mix_packed(const PoNetPackedMixingInputs& in, MixerImpl impl) {
    if (impl != MixerImpl::Reference && in.qkosl.defined() && in.qkosl.dim() == 3 && in.qkosl.size(2) % 5 == 0 &&
        packed_mixing_supported(in.qkosl.device(), in.qkosl.scalar_type(), in.qkosl.size(2) / 5, in.heads))
        return ponet_mix_packed_fused(in);
    auto out = ponet_mix(unpack_projections(in), impl);
    out.y = out.y.to(in.qkosl.scalar_type());
    return out;
}

std::string resolved_mixer_impl(MixerImpl impl, const torch::Device& device) {
    if (impl == MixerImpl::Reference) return "reference";
    if (impl == MixerImpl::Fused)
        return fused_mixing_built_for(device) ? (device.is_cuda() ? "fused-cuda" : "fused-cpu")
                                              : "fused (unavailable on " + device.str() + ")";
    if (!fused_mixing_built_for(device)) return "reference";
    return device.is_cuda() ? "fused-cuda" : "fused-cpu";
}

}  // namespace ponet
