// The fused PoNet mixing (PONET-SPEC §1.4) as one autograd function: a few passes over the projections instead of
// the reference path's dozens of ATen ops and fp32 copies. CPU (on all intra-op threads) always; CUDA where built.
//
// What the backward keeps instead of the reference's intermediates: K, O, the GA weights α, the masked query mean
// g, g', the segment maxima [B, S, D] (fp32), one byte per element for the LMP winner (left/self/right) and where S̃
// ties with its segment maximum (on the CPU a bit of that byte, on CUDA a separate bit array; S is kept instead
// only where the CUDA kernels do without tie bits).
// Gradients follow ATen's rules exactly: a segment max's gradient is shared evenly among tied tokens (as
// scatter_reduce "amax" does), a window max's goes to the leftmost winner (as max_pool1d does).
#pragma once
#include <torch/torch.h>

#include <string>

#include "core/kernels/ponet_mixing.h"

namespace ponet {

// Whether the fused path takes these inputs on their device; when not, `why` says why (device not built,
// dtype, sizes). Inputs the fused path rejects are still valid for the reference path.
bool fused_mixing_supported(const PoNetMixingInputs& in, std::string* why = nullptr);

// Whether fused kernels exist for `device` in this build (CPU: always; CUDA: built with PONET_WITH_CUDA).
bool fused_mixing_built_for(const torch::Device& device);

// The fused path. Same contract as ponet_mix_reference without the trace; throws ponet::InvalidInput for inputs
// fused_mixing_supported() rejects.
PoNetMixingOutput ponet_mix_fused(const PoNetMixingInputs& in);

// Whether PoNet layers compute their five projections as one product feeding the packed fused mixing (default);
// PONET_PACKED_PROJECTIONS=0 keeps five separate linear layers, for measuring the difference.
bool packed_projections_enabled();

// Whether the packed fused path (ponet_mix_packed_fused) takes projections of this device, dtype, hidden size
// and head count; when not, `why` says why.
bool packed_mixing_supported(const torch::Device& device, torch::ScalarType dtype, int64_t hidden, int64_t heads,
                             std::string* why = nullptr);

// The fused mixing on packed projections (see PoNetPackedMixingInputs): one autograd function whose gradient is
// the packed [B, L, 5·D] tensor and the bias's [5·D]. Throws ponet::InvalidInput where packed_mixing_supported()
// says no.
PoNetMixingOutput ponet_mix_packed_fused(const PoNetPackedMixingInputs& in);

}  // namespace ponet
