// The PoNet token-mixing computation (PONET-SPEC §1.4) behind one dispatch point.
// The plain ATen composition here is the *reference path*: fused CPU/CUDA kernels are checked against it.
#pragma once
#include <torch/torch.h>

#include <string>

namespace ponet {

// Auto: the fastest path for the tensors' device (fused on CUDA where built, the reference on the CPU).
// Reference: the plain ATen composition. Fused: the fused kernels (CPU, or CUDA where built); an error where absent.
enum class MixerImpl { Auto, Reference, Fused };
std::string to_string(MixerImpl impl);
MixerImpl mixer_impl_from_string(const std::string& s);  // "auto" | "reference" | "fused"; throws ponet::InvalidInput

// Projections and masks of one mixing call. q, k, o, s, l: [B, L, D]; keep, special: bool [B, L];
// segment_ids: int64 [B, L] with 0 <= id.
struct PoNetMixingInputs {
    torch::Tensor q, k, o, s, l;
    torch::Tensor keep;         // true = real token (attention_mask == 1)
    torch::Tensor special;      // true = [CLS]/[SEP] (σ); may be undefined when clsgsepg is off
    torch::Tensor segment_ids;  // SMP index
    int64_t heads = 1;
    bool clsgsepg = false;
    // The caller's promise that every segment id is below this (saves the fused path a device-to-host read);
    // -1: unknown, the ids are scanned.
    int64_t num_segments = -1;
    // The caller's promise that segment_ids[b, i] == i / segment_width: fixed segments of segment_width consecutive
    // tokens (LRA's fixed segments; 1 on a row shorter than segment_num). 0: no promise. Where the segments are
    // narrow enough, the fused CUDA kernels then take each segment's maximum and gradient sum from its rows directly
    // instead of building the segment tables; other paths ignore it.
    int64_t segment_width = 0;
};

// The five projections packed side by side, as one matrix product of the layer input with the five weights
// stacked makes them: qkosl [B, L, 5·D] with column blocks q, k, o, s, l, *without* their biases, and the biases
// stacked the same way in `bias` ([5·D] fp32; undefined: none). The mixing adds them in fp32 as it reads the
// projections (and returns their gradient), so the product needs no bias pass and no five separate outputs.
struct PoNetPackedMixingInputs {
    torch::Tensor qkosl, bias;
    torch::Tensor keep, special, segment_ids;  // as in PoNetMixingInputs
    int64_t heads = 1;
    bool clsgsepg = false;
    int64_t num_segments = -1;
    int64_t segment_width = 0;
};

// Everything of one mixing call but the projections (masks, segment ids, head count, options), copied between the
// two kinds of inputs.
template <typename To, typename From>
void copy_mixing_context(To& to, const From& from) {
    to.keep = from.keep;
    to.special = from.special;
    to.segment_ids = from.segment_ids;
    to.heads = from.heads;
    to.clsgsepg = from.clsgsepg;
    to.num_segments = from.num_segments;
    to.segment_width = from.segment_width;
}

// The separate projections of a packed input (q = qkosl[..., 0:D] + bias[0:D], ...), in fp32; an undefined or
// empty bias is none.
PoNetMixingInputs unpack_projections(const PoNetPackedMixingInputs& in);

// What the inspection hook records for one layer. Winner indices are token positions (int64).
struct MixingTrace {
    torch::Tensor ga_weights;  // [B, H, L]  α of GA stage 2
    torch::Tensor smp;         // [B, L, D]  Ŝ after the clsgsepg zeroing (what enters the fusion)
    torch::Tensor smp_winner;  // [B, L, D]  index j of the token whose S̃ won the segment max (lowest j on ties)
    torch::Tensor lmp;         // [B, L, D]  L̂ after the clsgsepg zeroing
    torch::Tensor lmp_winner;  // [B, L, D]  index of the window token (i-1, i or i+1) that won the local max
};

struct PoNetMixingOutput {
    torch::Tensor y;           // [B, L, D] mixed tokens, zero at padding
    torch::Tensor ga_weights;  // [B, H, L]
};

// The reference path: ATen ops only, autograd through every op. Pooling and softmax run in fp32 whatever the input
// dtype (PONET-SPEC §1.9); y comes back in the dtype of `o`. Fills `trace` when given.
PoNetMixingOutput ponet_mix_reference(const PoNetMixingInputs& in, MixingTrace* trace = nullptr);

// The dispatch point every mixer call goes through. Auto: fused on CUDA where the inputs allow it, else the reference;
// Fused: the fused kernels or an InvalidInput saying why not; Reference: the ATen composition. A call that asks
// for a trace (the inspection hook) always takes the reference path, whose intermediates the trace records.
PoNetMixingOutput ponet_mix(const PoNetMixingInputs& in, MixerImpl impl, MixingTrace* trace = nullptr);
// The same on packed projections: Fused/Auto take the packed fused kernels where they take the input
// (packed_mixing_supported), otherwise (and for Reference) the separate projections go through ponet_mix.
// y comes back in the dtype of qkosl.
PoNetMixingOutput ponet_mix_packed(const PoNetPackedMixingInputs& in, MixerImpl impl);
// The implementation `Auto` resolves to for tensors on `device` (for logs and benchmarks).
std::string resolved_mixer_impl(MixerImpl impl, const torch::Device& device);

// The size of a per-segment pooling buffer (max id + 1; 1 for no tokens), after checking that every id is >= 0
// and below 2·L + 2. One device-to-host read. Throws ponet::InvalidInput.
int64_t scan_segment_ids(const torch::Tensor& segment_ids);

// The sentinel the reference writes into padded (and, with clsgsepg, special) rows before max-pooling.
constexpr double kPoolingSentinel = -10000.0;

}  // namespace ponet
