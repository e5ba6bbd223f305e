// Launchers of the two memory-bound halves of a linear layer under autocast, for [rows, C] activations in bf16 or
// fp16 with C a multiple of 8: the bias added in place after the matrix product (ATen adds a broadcast bias with
// its generic, unvectorised kernel: three times the product's own time at the LRA width), and the bias gradient
// as column sums (ATen's reduction over a long, narrow matrix is as slow). Plain pointers, like the other headers
// here; linear_fused.cpp owns the tensors.
#pragma once
#include <cstdint>

#include "core/kernels/cuda/ponet_mixing_cuda.h"

namespace ponet::cuda_kernels {

// y[r, c] = round(y[r, c] + bias[c]) with the sum in fp32; bias in y's dtype. C % 8 == 0, y 16-byte aligned.
const char* bias_add_inplace(void* y, const void* bias, DType dt, int64_t rows, int64_t C, cudaStream_t stream);

// Blocks column_sums uses; it writes one partial row per block.
int column_sum_blocks(int64_t rows, int64_t C);

// part[b, c] = the fp32 sum of x[r, c] over block b's rows (the caller sums over the blocks). C % 8 == 0.
const char* column_sums(const void* x, DType dt, float* part, int blocks, int64_t rows, int64_t C,
                        cudaStream_t stream);

}  // namespace ponet::cuda_kernels
