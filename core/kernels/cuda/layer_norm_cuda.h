// Launchers of the LayerNorm kernels for narrow rows (the LRA models' hidden size is 64, where ATen's LayerNorm runs
// one thread block per row and reaches about a tenth of the memory bandwidth). Plain pointers only, like
// ponet_mixing_cuda.h; layer_norm_fused.cpp owns the tensors and the autograd function.
#pragma once
#include <cstdint>

#include "core/kernels/cuda/ponet_mixing_cuda.h"

namespace ponet::cuda_kernels {

// Widest row the kernels take (each lane of a warp holds D/32 values in registers).
constexpr int64_t kLayerNormMaxHidden = 512;

// y[r, :] = (x[r, :] - mean_r) * rstd_r * w + b for `rows` rows of D fp32 values; y in `ydt` (rounded to nearest
// even, the same as ATen's cast of an fp32 LayerNorm), mean and rstd (fp32, [rows]) kept for the backward.
const char* layer_norm_forward(const float* x, const float* w, const float* b, void* y, DType ydt, float* mean,
                               float* rstd, int64_t rows, int64_t D, float eps, cudaStream_t stream);

// Blocks the backward uses; it writes one row of partial weight and bias gradients per block.
int layer_norm_backward_blocks(int64_t rows);

// dx (fp32, [rows, D]) and per-block partial sums of dw and db (fp32, [blocks, D]; the caller sums them over the
// blocks) from dy (in `dydt`).
const char* layer_norm_backward(const void* dy, DType dydt, const float* x, const float* w, const float* mean,
                                const float* rstd, float* dx, float* part_w, float* part_b, int blocks,
                                int64_t rows, int64_t D, cudaStream_t stream);

}  // namespace ponet::cuda_kernels
