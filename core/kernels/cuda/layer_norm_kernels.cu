// LayerNorm for narrow rows: one warp per row, the row in registers, warp shuffles for the sums. The forward
// writes the output in the dtype the next matrix product wants (fp32, bf16 or fp16); the backward accumulates the
// weight and bias gradients per warp in registers and writes one partial row per block.
#include "core/kernels/cuda/layer_norm_cuda.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "core/kernels/cuda/device_info.h"
#include "core/kernels/cuda/launch.cuh"

namespace ponet::cuda_kernels {
namespace {

constexpr int kWarps = 8;  // rows in flight per block

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float to_f(float v) { return v; }
__device__ __forceinline__ float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float to_f(__half v) { return __half2float(v); }
template <typename T> __device__ __forceinline__ T from_f(float v);
template <> __device__ __forceinline__ float from_f<float>(float v) { return v; }
template <> __device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <> __device__ __forceinline__ __half from_f<__half>(float v) { return __float2half_rn(v); }

// K = values per lane (D <= 32 K).
template <typename OutT, int K>
__global__ void __launch_bounds__(kWarps * 32) ln_forward(const float* __restrict__ x, const float* __restrict__ w,
                                                         const float* __restrict__ b, OutT* __restrict__ y,
                                                         float* __restrict__ mean_out, float* __restrict__ rstd_out,
                                                         int64_t rows, int D, float eps) {
    wait_for_prior_grids();
    const int lane = threadIdx.x & 31;
    const float inv_d = 1.0f / static_cast<float>(D);
    for (int64_t r = static_cast<int64_t>(blockIdx.x) * kWarps + (threadIdx.x >> 5); r < rows;
         r += static_cast<int64_t>(gridDim.x) * kWarps) {
        const float* xr = x + r * D;
        float v[K];
        float s = 0.f;
#pragma unroll
        for (int k = 0; k < K; ++k) {
            const int c = lane + 32 * k;
            v[k] = c < D ? xr[c] : 0.f;
            s += v[k];
        }
        const float mean = warp_sum(s) * inv_d;
        float q = 0.f;
#pragma unroll
        for (int k = 0; k < K; ++k) {
            const int c = lane + 32 * k;
            const float d = c < D ? v[k] - mean : 0.f;
            q += d * d;
        }
        const float rstd = rsqrtf(warp_sum(q) * inv_d + eps);
        OutT* yr = y + r * D;
#pragma unroll
        for (int k = 0; k < K; ++k) {
            const int c = lane + 32 * k;
            if (c < D) yr[c] = from_f<OutT>((v[k] - mean) * rstd * w[c] + b[c]);
        }
        if (lane == 0) {
            mean_out[r] = mean;
            rstd_out[r] = rstd;
        }
    }
}

template <typename DyT, int K>
__global__ void __launch_bounds__(kWarps * 32) ln_backward(const DyT* __restrict__ dy, const float* __restrict__ x,
                                                          const float* __restrict__ w, const float* __restrict__ mean,
                                                          const float* __restrict__ rstd, float* __restrict__ dx,
                                                          float* __restrict__ part_w, float* __restrict__ part_b,
                                                          int64_t rows, int D) {
    wait_for_prior_grids();
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const float inv_d = 1.0f / static_cast<float>(D);
    float wk[K], acc_w[K], acc_b[K];
#pragma unroll
    for (int k = 0; k < K; ++k) {
        const int c = lane + 32 * k;
        wk[k] = c < D ? w[c] : 0.f;
        acc_w[k] = acc_b[k] = 0.f;
    }
    for (int64_t r = static_cast<int64_t>(blockIdx.x) * kWarps + warp; r < rows;
         r += static_cast<int64_t>(gridDim.x) * kWarps) {
        const float m = mean[r], rs = rstd[r];
        float xh[K], g[K];
        float s1 = 0.f, s2 = 0.f;
#pragma unroll
        for (int k = 0; k < K; ++k) {
            const int c = lane + 32 * k;
            const bool in = c < D;
            const float d = in ? to_f(dy[r * D + c]) : 0.f;
            xh[k] = in ? (x[r * D + c] - m) * rs : 0.f;
            g[k] = d * wk[k];
            s1 += g[k];
            s2 += g[k] * xh[k];
            acc_w[k] += d * xh[k];
            acc_b[k] += d;
        }
        s1 = warp_sum(s1) * inv_d;
        s2 = warp_sum(s2) * inv_d;
#pragma unroll
        for (int k = 0; k < K; ++k) {
            const int c = lane + 32 * k;
            if (c < D) dx[r * D + c] = rs * (g[k] - s1 - xh[k] * s2);
        }
    }
    // The block's partial weight and bias gradients: the warps' registers summed through shared memory.
    __shared__ float sw[kWarps][32 * K], sb[kWarps][32 * K];
#pragma unroll
    for (int k = 0; k < K; ++k) {
        sw[warp][lane + 32 * k] = acc_w[k];
        sb[warp][lane + 32 * k] = acc_b[k];
    }
    __syncthreads();
    for (int c = threadIdx.x; c < D; c += blockDim.x) {
        float a = 0.f, bb = 0.f;
#pragma unroll
        for (int i = 0; i < kWarps; ++i) {
            a += sw[i][c];
            bb += sb[i][c];
        }
        part_w[static_cast<int64_t>(blockIdx.x) * D + c] = a;
        part_b[static_cast<int64_t>(blockIdx.x) * D + c] = bb;
    }
}

int sm_count() { return multiprocessor_count(); }

int forward_blocks(int64_t rows) {
    const int64_t need = (rows + kWarps - 1) / kWarps;
    const int64_t cap = static_cast<int64_t>(sm_count()) * 16;
    return static_cast<int>(need < cap ? (need > 0 ? need : 1) : cap);
}

template <typename OutT>
const char* launch_forward(const float* x, const float* w, const float* b, OutT* y, float* mean, float* rstd,
                           int64_t rows, int D, float eps, cudaStream_t stream) {
    const int blocks = forward_blocks(rows);
    const int k = (D + 31) / 32;
#define PONET_LN_FWD(KV) \
    launch(ln_forward<OutT, KV>, blocks, kWarps * 32, 0, stream, x, w, b, y, mean, rstd, rows, D, eps)
    if (k <= 1) PONET_LN_FWD(1);
    else if (k <= 2) PONET_LN_FWD(2);
    else if (k <= 4) PONET_LN_FWD(4);
    else if (k <= 8) PONET_LN_FWD(8);
    else if (k <= 16) PONET_LN_FWD(16);
    else return "LayerNorm kernel: row wider than 512";
#undef PONET_LN_FWD
    const cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? nullptr : cudaGetErrorString(e);
}

template <typename DyT>
const char* launch_backward(const DyT* dy, const float* x, const float* w, const float* mean, const float* rstd,
                            float* dx, float* part_w, float* part_b, int blocks, int64_t rows, int D,
                            cudaStream_t stream) {
    const int k = (D + 31) / 32;
#define PONET_LN_BWD(KV) \
    launch(ln_backward<DyT, KV>, blocks, kWarps * 32, 0, stream, dy, x, w, mean, rstd, dx, part_w, part_b, rows, D)
    if (k <= 1) PONET_LN_BWD(1);
    else if (k <= 2) PONET_LN_BWD(2);
    else if (k <= 4) PONET_LN_BWD(4);
    else if (k <= 8) PONET_LN_BWD(8);
    else if (k <= 16) PONET_LN_BWD(16);
    else return "LayerNorm kernel: row wider than 512";
#undef PONET_LN_BWD
    const cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? nullptr : cudaGetErrorString(e);
}

}  // namespace

const char* layer_norm_forward(const float* x, const float* w, const float* b, void* y, DType ydt, float* mean,
                               float* rstd, int64_t rows, int64_t D, float eps, cudaStream_t stream) {
    if (D < 1 || D > kLayerNormMaxHidden) return "LayerNorm kernel: unsupported row width";
    if (rows == 0) return nullptr;
    const int d = static_cast<int>(D);
    switch (ydt) {
        case DType::F32: return launch_forward(x, w, b, static_cast<float*>(y), mean, rstd, rows, d, eps, stream);
        case DType::BF16:
            return launch_forward(x, w, b, static_cast<__nv_bfloat16*>(y), mean, rstd, rows, d, eps, stream);
        case DType::F16: return launch_forward(x, w, b, static_cast<__half*>(y), mean, rstd, rows, d, eps, stream);
    }
    return "LayerNorm kernel: unknown dtype";
}

int layer_norm_backward_blocks(int64_t rows) { return forward_blocks(rows) < sm_count() * 4 ? forward_blocks(rows) : sm_count() * 4; }

const char* layer_norm_backward(const void* dy, DType dydt, const float* x, const float* w, const float* mean,
                                const float* rstd, float* dx, float* part_w, float* part_b, int blocks,
                                int64_t rows, int64_t D, cudaStream_t stream) {
    if (D < 1 || D > kLayerNormMaxHidden) return "LayerNorm kernel: unsupported row width";
    if (blocks < 1) return "LayerNorm kernel: no blocks";
    const int d = static_cast<int>(D);
    switch (dydt) {
        case DType::F32:
            return launch_backward(static_cast<const float*>(dy), x, w, mean, rstd, dx, part_w, part_b, blocks, rows,
                                   d, stream);
        case DType::BF16:
            return launch_backward(static_cast<const __nv_bfloat16*>(dy), x, w, mean, rstd, dx, part_w, part_b,
                                   blocks, rows, d, stream);
        case DType::F16:
            return launch_backward(static_cast<const __half*>(dy), x, w, mean, rstd, dx, part_w, part_b, blocks,
                                   rows, d, stream);
    }
    return "LayerNorm kernel: unknown dtype";
}

}  // namespace ponet::cuda_kernels
