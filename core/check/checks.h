// The individual self-test checks. Each builds its own inputs, runs on the given device and returns measured
// errors against an independent answer (golden vectors, a naive loop implementation, an explicit DFT matrix ...).
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/check/check_result.h"
#include "core/kernels/ponet_mixing.h"
#include "core/model/model_config.h"

namespace ponet::check {

// Every output, hidden state, GA weight, both losses and every parameter gradient of the golden tiny model.
std::vector<CheckResult> golden_parity(const std::string& golden_dir, const torch::Device& device,
                                       MixerImpl impl = MixerImpl::Auto);
// Our derived segment ids equal the golden file's (which the reference computed).
CheckResult golden_segment_ids(const std::string& golden_dir);
// The mixing against a naive per-element loop in float64 (random projections, padding, specials, segments).
CheckResult mixing_vs_naive(const torch::Device& device, bool clsgsepg, bool explicit_segments, uint64_t seed);
// The fused mixing against the reference path: forward outputs, GA weights and the gradients of q, k, o, s, l
// under random upstream gradients, for random shapes, padding, specials and segment layouts in `dtype`.
// `packed`: the same through ponet_mix_packed (the five projections as one [B, L, 5·D] tensor plus a bias added
// by the mixing), with the bias gradient too; where the packed kernels do not take a layout (CUDA channel slices
// off a multiple of 32) the call takes the separate-projection path, as the model does.
CheckResult fused_vs_reference(const torch::Device& device, torch::ScalarType dtype, uint64_t seed, bool large = false,
                               bool packed = false);
// Appending padding changes no real token's output (PoNet and attention mixers).
CheckResult padding_invariance(const torch::Device& device, const std::string& mixer);
// Explicit segment ids equal to the derived ones give identical outputs; other explicit layouts change SMP only.
CheckResult explicit_segments_path(const torch::Device& device);
// FNet mixing against Re(W_L X W_D) with explicit DFT matrices in float64.
CheckResult fnet_vs_dft(const torch::Device& device);
// Attention mixing against an explicit masked softmax computed element by element in float64.
CheckResult attention_vs_softmax(const torch::Device& device);
// The inspection hook's winner indices reproduce the SMP and LMP values they explain.
CheckResult trace_winners(const torch::Device& device);

// The trainer's AdamW step (ATen's fused multi-tensor kernel on CUDA, the LibTorch optimizer elsewhere) against
// torch::optim::AdamW::step() over several steps: two groups (with and without weight decay), a parameter that
// misses a step, weights and both moments compared.
CheckResult adamw_step_vs_libtorch(const torch::Device& device);
// Our LayerNorm kernels (CUDA) against at::layer_norm: outputs in fp32 and in the autocast dtypes (bf16, fp16),
// and the input, weight and bias gradients under the same upstream gradient, for widths from 16 to 512 and row
// counts that do not fill the last block. `dtype` is the output dtype. Only meaningful on a CUDA device (the
// CPU runs at::layer_norm itself).
CheckResult layer_norm_fused_vs_aten(const torch::Device& device, torch::ScalarType dtype);
// Our linear layer under CUDA autocast (cuBLAS product, our bias add and bias-gradient kernels) against autocast's
// at::linear: output and the input, weight and bias gradients under the same upstream gradient, `dtype` = the
// autocast dtype (bf16 or fp16), inputs in fp32 and in that dtype. Only meaningful on a CUDA device.
CheckResult linear_fused_vs_aten(const torch::Device& device, torch::ScalarType dtype);
// residual + dropout(linear(x)) through linear_dropout_add (on CUDA our bias-dropout-add kernel and its backward)
// against ATen under the same autocast `dtype` with the same mask, read off the output: output and the input,
// weight, bias and residual gradients, with p = 0 and p = 0.25; that the mask keeps 1 - p of the elements; and that
// the generator's state decides the mask (what a checkpointed layer's recompute relies on). On the CPU the ATen
// ops run on both sides and the check covers the mask and the gradients' plumbing.
CheckResult linear_dropout_add_vs_aten(const torch::Device& device, torch::ScalarType dtype);
// dropout(act(linear(x))) through linear_activation_dropout (on CUDA our bias-activation-dropout kernel and its
// backward) against ATen under the same autocast `dtype`: every activation without dropout, the GELUs with p = 0.25
// and the mask read off the output; output and the input, weight and bias gradients, and the kept fraction.
CheckResult linear_activation_dropout_vs_aten(const torch::Device& device, torch::ScalarType dtype);
// save_model_dir → load_model_dir is bit-exact in every parameter and output.
CheckResult save_load_roundtrip(const torch::Device& device);

// The golden vectors' model shape (vocab 160, hidden 32, 2 layers, 4 heads, FFN 64, 64 positions), for quick
// checks and tests.
ModelConfig tiny_config(const std::string& architecture, MixerKind mixer = MixerKind::PoNet);

// Naive float64 PoNet mixing used by mixing_vs_naive (exposed for the tests).
struct NaiveMixing {
    torch::Tensor y, alpha;
};
NaiveMixing naive_ponet_mixing(const PoNetMixingInputs& in);

}  // namespace ponet::check
