// Linear layers under CUDA autocast: the matrix products stay cuBLAS's, the bias add and the bias gradient run as
// our vectorised kernels (ATen's broadcast add and its narrow column reduction were a quarter of an LRA training
// step at 16K). Same arithmetic as autocast's linear: x, W and b rounded to the autocast dtype, fp32 accumulation,
// the result rounded once; the bias gradient is accumulated in fp32 and kept in fp32.
#pragma once
#include <torch/torch.h>

namespace ponet {

// `layer`(x), through the kernels above when `fused`, x is a CUDA tensor, CUDA autocast is on (bf16 or fp16), the
// layer has a bias and both widths are multiples of 8 (the kernels' 16-byte accesses); otherwise layer->forward(x).
torch::Tensor linear(torch::nn::Linear layer, const torch::Tensor& x, bool fused = true);

// Whether linear() would take the fused path for this input (under the current autocast state).
bool fused_linear_applies(const torch::nn::Linear& layer, const torch::Tensor& x);

}  // namespace ponet
