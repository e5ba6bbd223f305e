// Device helpers shared by the fused PoNet mixing kernels (ponet_mixing_kernels.cu, the lane-per-channel layout,
// and ponet_mixing_vec_kernels.cu, the vector layout): conversions, the float atomic max, a warp's rows, the
// packed projections' order. Internal to those two files.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "core/kernels/cuda/ponet_mixing_cuda.h"

namespace ponet::cuda_kernels::mixing {

constexpr int kWarps = 4;
constexpr float kSentinel = -10000.0f;

__device__ __forceinline__ float to_f(float v) { return v; }
__device__ __forceinline__ float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float to_f(__half v) { return __half2float(v); }
template <typename T>
__device__ __forceinline__ T from_f(float v);
template <>
__device__ __forceinline__ float from_f<float>(float v) { return v; }
template <>
__device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <>
__device__ __forceinline__ __half from_f<__half>(float v) { return __float2half_rn(v); }

// Float max through integer atomics: non-negative floats order like signed ints, negative ones reversed like
// unsigned ints. The sign bit (not `v >= 0`) decides, so -0.0 is handled too.
__device__ __forceinline__ void atomic_max_float(float* addr, float v) {
    if (!signbit(v))
        atomicMax(reinterpret_cast<int*>(addr), __float_as_int(v));
    else
        atomicMin(reinterpret_cast<unsigned int*>(addr), __float_as_uint(v));
}

struct Rows {
    int64_t b, begin, end;  // this warp's rows [begin, end) of batch row b
};

__device__ __forceinline__ Rows warp_rows(int64_t L, int rows_per_warp) {
    const int warp = threadIdx.x / 32;
    Rows r;
    r.b = blockIdx.y;
    r.begin = (static_cast<int64_t>(blockIdx.x) * kWarps + warp) * rows_per_warp;
    r.end = r.begin + rows_per_warp < L ? r.begin + rows_per_warp : L;
    return r;
}

__device__ __forceinline__ int64_t clamp_seg(int64_t s, int64_t S) { return s < 0 ? 0 : (s >= S ? S - 1 : s); }

// Merges an online-softmax part (max m, sum l, weighted sum a) into (M, Ls, A); an empty part (l = 0: rows a warp
// does not have) changes nothing, a NaN goes through, as in the reference. Starting from (-inf, 0, 0) it takes the
// part as it is.
__device__ __forceinline__ void merge_softmax(float& M, float& Ls, float& A, float m, float l, float a) {
    if (l == 0.f) return;
    const float mn = fmaxf(M, m);
    const float so = expf(M - mn), sn = expf(m - mn);
    Ls = Ls * so + l * sn;
    A = A * so + a * sn;
    M = mn;
}

// The projections' column blocks in a packed input, its bias and its bias gradient.
enum Projection : int { kProjQ = 0, kProjK = 1, kProjO = 2, kProjS = 3, kProjL = 4, kProjections = 5 };

}  // namespace ponet::cuda_kernels::mixing
