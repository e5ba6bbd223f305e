// Launchers of the two memory-bound halves of a linear layer under autocast, for [rows, C] activations in bf16 or
// fp16 with C a multiple of 8: the bias added in place after the matrix product (ATen adds a broadcast bias with
// its generic, unvectorised kernel: three times the product's own time at the LRA width), and the bias gradient
// as column sums (ATen's reduction over a long, narrow matrix is as slow). Plain pointers, like the other headers
// here; linear_fused.cpp owns the tensors.
#pragma once
#include <cstdint>

#include "core/kernels/cuda/ponet_mixing_cuda.h"

namespace ponet::cuda_kernels {

// y[r, c] = round(y[r, c] + bias[c]) for y [rows, C] bf16/fp16 and bias [C] fp32 (read as it is), the sum in fp32.
// C % 8 == 0; y and bias 16-byte aligned.
const char* bias_add_inplace(void* y, const float* bias, DType dt, int64_t rows, int64_t C, cudaStream_t stream);

// A dropout mask's random numbers: the CUDA generator's Philox seed and offset, or where a CUDA graph is being
// captured, pointers to them (read when the kernel runs, as ATen's own dropout does). Each group of 8 elements
// draws 8 numbers from its own Philox subsequence, so a draw takes 8 from the generator's offset.
struct PhiloxArgs {
    uint64_t seed = 0;
    const int64_t* seed_ptr = nullptr;
    uint64_t offset = 0;
    const int64_t* offset_ptr = nullptr;
    uint64_t offset_intragraph = 0;
};
constexpr uint64_t kPhiloxPerElementGroup = 8;

// A dropout drawn in the kernel: keep[r, c] = 1 with probability keep_prob (written, [rows, C] bytes, for the
// backward), and kept values multiplied by `scale` (1 / keep_prob, computed once by the caller, who hands the
// backward the same value). keep null: no dropout.
struct DropoutDraw {
    uint8_t* keep = nullptr;
    float keep_prob = 1.f;
    float scale = 1.f;
    PhiloxArgs rng;
};

// The end of a linear layer followed by dropout and a residual connection, in one pass over the product:
// out[r, c] = residual[r, c] + keep[r, c] * scale * (y[r, c] + bias[c]) in fp32, for the product y [rows, C] in
// bf16/fp16, bias [C] and residual, out [rows, C] in fp32. C % 8 == 0; y, bias, residual and out 16-byte aligned,
// keep 8-byte aligned.
const char* bias_dropout_add(const void* y, const float* bias, const DropoutDraw& drop, const float* residual,
                             float* out, DType dt, int64_t rows, int64_t C, cudaStream_t stream);

// Blocks dropout_grad_cast_sums uses (two rows per thread where the grid stays within 8 blocks per multiprocessor).
int dropout_grad_blocks(int64_t rows, int64_t C);

// Its backward for the product: dy[r, c] = round(g[r, c] * keep[r, c] * scale) in bf16/fp16 from the fp32 gradient
// g (keep null: no dropout), and part[b, c] = the fp32 sums of the rounded dy over block b's rows, as column_sums
// (dropout_grad_blocks(rows, C) blocks; the caller sums over them). Alignment as above; C <= 2048.
const char* dropout_grad_cast_sums(const float* g, const uint8_t* keep, float scale, void* dy, DType dt, float* part,
                                   int blocks, int64_t rows, int64_t C, cudaStream_t stream);

// The MLP's first layer: its bias, activation and dropout after the product, in one pass. y [rows, C] bf16/fp16
// holds the product on entry and the pre-activation round(y + bias) on return (kept for the backward);
// out[r, c] = round(act(pre) * keep[r, c] * scale) in the same dtype, the mask drawn as bias_dropout_add's.
// act: 0 GELU (erf), 1 GELU (tanh approximation), 2 ReLU, 3 tanh. Alignment as bias_dropout_add's.
const char* bias_act_dropout(void* y, const float* bias, const DropoutDraw& drop, void* out, DType dt, int act,
                             int64_t rows, int64_t C, cudaStream_t stream);

// Its backward for the product: dy = round(g * keep * scale * act'(pre)) from the gradient g of `out` (same dtype),
// and the column partial sums of the rounded dy into part, as dropout_grad_cast_sums (dropout_grad_blocks blocks).
const char* act_dropout_grad_cast_sums(const void* g, const void* pre, const uint8_t* keep, float scale, void* dy,
                                       DType dt, int act, float* part, int blocks, int64_t rows, int64_t C,
                                       cudaStream_t stream);

// Blocks column_sums uses; it writes one partial row per block.
int column_sum_blocks(int64_t rows, int64_t C);

// part[b, c] = the fp32 sum of x[r, c] over block b's rows (the caller sums over the blocks). C % 8 == 0.
const char* column_sums(const void* x, DType dt, float* part, int blocks, int64_t rows, int64_t C,
                        cudaStream_t stream);

// out[s, c] = Σ_r part[s, r, c] for part [sets, rows, cols] fp32 (the per-block partials of column_sums and of the
// LayerNorm backward), in a fixed order. ATen's sum over the middle dimension gives each output to one thread
// that walks every row; here 32 warps split the rows of 32 columns.
const char* sum_partials(const float* part, int64_t sets, int64_t rows, int64_t cols, float* out,
                         cudaStream_t stream);

// Up to kMaxStacked fp32 matrices of `n` elements each, one after another into `w` (bf16/fp16), and the first
// `bias_count` of them (all when negative) their fp32 vectors of `nb` elements into `b` (fp32).
constexpr int kMaxStacked = 8;
struct StackedSources {
    const float* w[kMaxStacked] = {};
    const float* b[kMaxStacked] = {};
};
const char* stack_weights(const StackedSources& src, int count, int64_t n, int64_t nb, void* w, DType wdt,
                          float* b, cudaStream_t stream, int bias_count = -1);

}  // namespace ponet::cuda_kernels
