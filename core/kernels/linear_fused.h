// Linear layers under CUDA autocast: the matrix products stay cuBLAS's, the bias add and the bias gradient run as
// our vectorised kernels (ATen's broadcast add and its narrow column reduction were a quarter of an LRA training
// step at 16K). The arithmetic of autocast's linear but for the bias: x and W rounded to the autocast dtype, fp32
// accumulation, the product rounded, then the fp32 bias added and the sum rounded (autocast rounds the bias first;
// reading it as it is saves a cast pass per layer); the bias gradient is accumulated in fp32 and kept in fp32, and
// (LibTorch 2.10 and later) the weight gradient comes out of cuBLAS in fp32 rather than rounded and cast.
#pragma once
#include <torch/torch.h>

namespace ponet {

// `layer`(x), through the kernels above when `fused`, x is a CUDA tensor, CUDA autocast is on (bf16 or fp16), the
// layer has a bias and both widths are multiples of 8 (the kernels' 16-byte accesses); otherwise layer->forward(x).
// `low_weight`: the layer's weight already cast to the autocast dtype (stacked_linear's `extra_low`), used instead
// of casting it again where the fused path runs; undefined or of another dtype or shape, it is ignored.
torch::Tensor linear(torch::nn::Linear layer, const torch::Tensor& x, bool fused = true,
                     const torch::Tensor& low_weight = {});

// residual + dropout(layer(x), p), with p the drop probability in [0, 1) (0 when not training). Where linear()
// would take its fused path and the residual is an fp32 CUDA tensor of the output's shape, one kernel after the
// product adds the bias, draws and applies the mask (from the CUDA generator's Philox state, as ATen's dropout
// draws from it, though not the same mask; kept as bytes) and adds the residual in fp32, and one kernel in the
// backward masks and rounds the gradient and sums the bias gradient (ATen's path is a bias add, a dropout and an
// add; a cast, a masked scale and the column sums back). Elsewhere the ATen ops themselves.
torch::Tensor linear_dropout_add(torch::nn::Linear layer, const torch::Tensor& x, const torch::Tensor& residual,
                                 double p, bool fused = true, const torch::Tensor& low_weight = {});

// dropout(act(layer(x)), p) for the MLP's first layer, act one of "gelu", "gelu_new" (tanh approximation), "relu",
// "tanh", p in [0, 1) (0 when not training). Where linear() would take its fused path, one kernel after the product
// adds the bias, applies the activation and the mask (drawn in the kernel likewise), and one in the backward
// masks the gradient, multiplies it by the activation's derivative, rounds it and sums the bias gradient. Elsewhere
// the ATen ops themselves.
torch::Tensor linear_activation_dropout(torch::nn::Linear layer, const torch::Tensor& x, const std::string& act,
                                        double p, bool fused = true);

// The MLP activation by its config name (gelu, gelu_new, relu, tanh); throws ponet::Error on another.
torch::Tensor apply_activation(const std::string& name, const torch::Tensor& x);

// Whether linear() would take the fused path for this input (under the current autocast state).
bool fused_linear_applies(const torch::nn::Linear& layer, const torch::Tensor& x);

// x.mean(1) for x [B, L, D]; for an fp32 CUDA tensor our partial-sum kernel does the sum (ATen's reduction over
// the middle axis gives each output one thread that walks all L rows: 20 µs at 512 tokens in the LRA pooling).
torch::Tensor mean_over_sequence(const torch::Tensor& x);

// Several linear layers of one input as one matrix product without their biases: x.to(dtype) @
// torch::cat(weights).to(dtype).T, and the biases stacked in fp32 (torch::cat(biases)), gradients included. For
// fp32 CUDA parameters and a bf16/fp16 `dtype` one kernel stacks and casts the weights and the biases (ATen takes
// three: two concatenations and a cast) and the backward takes the weights' gradient from cuBLAS in fp32 (no cast
// pass). At most 8 layers (7 with an extra one). With `extra_low`, an `extra` fp32 weight of the same shape (another layer's, such as
// the output projection after PoNet's mixing) is cast by the same kernel into *extra_low, without a gradient, for
// that layer's linear(); *extra_low stays undefined where the kernel does not run.
std::pair<torch::Tensor, torch::Tensor> stacked_linear(const torch::Tensor& x, const std::vector<torch::Tensor>& weights,
                                                       const std::vector<torch::Tensor>& biases, torch::ScalarType dtype,
                                                       const torch::Tensor& extra = {},
                                                       torch::Tensor* extra_low = nullptr);

}  // namespace ponet
