// LayerNorm for the model: our CUDA kernels for narrow rows on CUDA (one warp per row; ATen's kernel runs one
// block per row and is the largest single cost of an LRA training step at hidden size 64), ATen's layer_norm
// everywhere else. The kernels are checked against at::layer_norm by the self-test.
#pragma once
#include <torch/torch.h>

namespace ponet {

// LayerNorm over the last dimension of `x` with `norm`'s weight, bias and eps. With `for_matmul` and CUDA
// autocast on, the result comes in the autocast dtype — exactly the fp32 LayerNorm followed by the cast the next
// matrix product would make, in one pass; otherwise it has x's dtype. Uses the fused kernels when x is an fp32
// CUDA tensor whose rows are at most cuda_kernels::kLayerNormMaxHidden wide and `fused` is true.
torch::Tensor layer_norm(torch::nn::LayerNorm norm, const torch::Tensor& x, bool for_matmul,
                         bool fused = true);

// False when the environment sets PONET_FUSED_LAYERS=0 (or off/false): layer_norm() and linear() then use ATen.
bool fused_layers_enabled();

// Whether layer_norm() would take the fused CUDA kernels for this input.
bool fused_layer_norm_applies(const torch::nn::LayerNorm& norm, const torch::Tensor& x);

}  // namespace ponet
