// Bias add and bias gradient for linear layers under autocast (see linear_cuda.h): 16-byte loads and stores,
// fp32 arithmetic.
#include "core/kernels/cuda/linear_cuda.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "core/kernels/cuda/device_info.h"

namespace ponet::cuda_kernels {
namespace {

__device__ __forceinline__ float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float to_f(__half v) { return __half2float(v); }
template <typename T> __device__ __forceinline__ T from_f(float v);
template <> __device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <> __device__ __forceinline__ __half from_f<__half>(float v) { return __float2half_rn(v); }

struct alignas(16) Pack8 {
    uint4 bits;
};

// The bias is read in fp32 as the parameter is (no cast pass); each sum is rounded once.
template <typename T>
__global__ void bias_add_kernel(T* __restrict__ y, const float* __restrict__ bias, int64_t packs, int C) {
    const int packs_per_row = C / 8;
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < packs;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int c0 = static_cast<int>(i % packs_per_row) * 8;
        uint4 v = reinterpret_cast<const uint4*>(y)[i];
        const float4 b0 = *reinterpret_cast<const float4*>(bias + c0), b1 = *reinterpret_cast<const float4*>(bias + c0 + 4);
        const float be[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
        T* e = reinterpret_cast<T*>(&v);
#pragma unroll
        for (int j = 0; j < 8; ++j) e[j] = from_f<T>(to_f(e[j]) + be[j]);
        reinterpret_cast<uint4*>(y)[i] = v;
    }
}

// Each thread owns 8 columns (one 16-byte pack) and walks rows; threads of a block that own the same columns are
// summed through shared memory at the end. blockDim = 256.
template <typename T>
__global__ void column_sum_kernel(const T* __restrict__ x, float* __restrict__ part, int64_t rows, int C) {
    const int packs_per_row = C / 8;
    const int rows_per_pass = blockDim.x / packs_per_row;  // >= 1 (C <= 2048)
    const int p = threadIdx.x % packs_per_row, lane_row = threadIdx.x / packs_per_row;
    float acc[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
    if (lane_row < rows_per_pass) {
        for (int64_t r = static_cast<int64_t>(blockIdx.x) * rows_per_pass + lane_row; r < rows;
             r += static_cast<int64_t>(gridDim.x) * rows_per_pass) {
            const uint4 v = reinterpret_cast<const uint4*>(x + r * C)[p];
            const T* e = reinterpret_cast<const T*>(&v);
#pragma unroll
            for (int j = 0; j < 8; ++j) acc[j] += to_f(e[j]);
        }
    }
    extern __shared__ float smem[];  // [blockDim.x][8]
#pragma unroll
    for (int j = 0; j < 8; ++j) smem[threadIdx.x * 8 + j] = lane_row < rows_per_pass ? acc[j] : 0.f;
    __syncthreads();
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        const int pc = c / 8, j = c % 8;
        float s = 0.f;
        for (int lr = 0; lr < rows_per_pass; ++lr) s += smem[(lr * packs_per_row + pc) * 8 + j];
        part[static_cast<int64_t>(blockIdx.x) * C + c] = s;
    }
}

constexpr int kSumGroups = 32;  // a 1,024-thread block: 32 warps split the rows

__global__ void __launch_bounds__(32 * kSumGroups) sum_partials_kernel(const float* __restrict__ part, int64_t rows,
                                                                       int64_t cols, float* __restrict__ out) {
    __shared__ float acc_sh[kSumGroups][32];
    const int lane = threadIdx.x % 32, grp = threadIdx.x / 32;
    const int64_t c = blockIdx.x * int64_t(32) + lane;
    const float* base = part + blockIdx.y * rows * cols;
    float acc = 0.f;
    if (c < cols) {
        int64_t r = grp;
        for (; r + 3 * kSumGroups < rows; r += 4 * kSumGroups) {  // four loads in flight
            const float a0 = base[r * cols + c], a1 = base[(r + kSumGroups) * cols + c];
            const float a2 = base[(r + 2 * kSumGroups) * cols + c], a3 = base[(r + 3 * kSumGroups) * cols + c];
            acc += (a0 + a1) + (a2 + a3);
        }
        for (; r < rows; r += kSumGroups) acc += base[r * cols + c];
    }
    acc_sh[grp][lane] = acc;
    __syncthreads();
    if (grp != 0 || c >= cols) return;
    float s = 0.f;
    for (int q = 0; q < kSumGroups; ++q) s += acc_sh[q][lane];
    out[blockIdx.y * cols + c] = s;
}

// Grid y: the layer; grid x strides over its weight (and bias) elements. Layers from `bias_count` on have no bias.
template <typename T>
__global__ void stack_weights_kernel(StackedSources src, int64_t n, int64_t nb, int bias_count, T* __restrict__ w,
                                     float* __restrict__ b) {
    const int m = blockIdx.y;
    const float* wm = src.w[m];
    const float* bm = src.b[m];
    const int64_t nbm = m < bias_count ? nb : 0;
    const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n > nbm ? n : nbm);
         i += stride) {
        if (i < n) w[m * n + i] = from_f<T>(wm[i]);
        if (i < nbm) b[m * nb + i] = bm[i];
    }
}

int sm_count() { return multiprocessor_count(); }

const char* last_error() {
    const cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? nullptr : cudaGetErrorString(e);
}

}  // namespace

const char* bias_add_inplace(void* y, const float* bias, DType dt, int64_t rows, int64_t C, cudaStream_t stream) {
    if (C < 8 || C % 8 != 0 || C > (1 << 20)) return "bias add kernel: width must be a positive multiple of 8";
    const int64_t packs = rows * (C / 8);
    if (packs == 0) return nullptr;
    const int threads = 256;
    const int64_t need = (packs + threads - 1) / threads;
    const int blocks = static_cast<int>(need < sm_count() * 32LL ? need : sm_count() * 32LL);
    const int c = static_cast<int>(C);
    switch (dt) {
        case DType::BF16:
            bias_add_kernel<<<blocks, threads, 0, stream>>>(static_cast<__nv_bfloat16*>(y), bias, packs, c);
            return last_error();
        case DType::F16:
            bias_add_kernel<<<blocks, threads, 0, stream>>>(static_cast<__half*>(y), bias, packs, c);
            return last_error();
        case DType::F32: break;
    }
    return "bias add kernel: bf16 or fp16 only";
}

int column_sum_blocks(int64_t rows, int64_t C) {
    const int64_t rows_per_pass = C >= 8 ? (256 / (C / 8 > 0 ? C / 8 : 1)) : 1;
    const int64_t need = rows_per_pass > 0 ? (rows + rows_per_pass * 8 - 1) / (rows_per_pass * 8) : 1;
    const int64_t cap = sm_count() * 4LL;
    return static_cast<int>(need < 1 ? 1 : need < cap ? need : cap);
}

const char* column_sums(const void* x, DType dt, float* part, int blocks, int64_t rows, int64_t C,
                        cudaStream_t stream) {
    if (C < 8 || C % 8 != 0 || C > 2048) return "column sum kernel: width must be a multiple of 8 up to 2048";
    if (blocks < 1) return "column sum kernel: no blocks";
    const int threads = 256, c = static_cast<int>(C);
    const size_t smem = threads * 8 * sizeof(float);
    switch (dt) {
        case DType::BF16:
            column_sum_kernel<<<blocks, threads, smem, stream>>>(static_cast<const __nv_bfloat16*>(x), part, rows, c);
            return last_error();
        case DType::F16:
            column_sum_kernel<<<blocks, threads, smem, stream>>>(static_cast<const __half*>(x), part, rows, c);
            return last_error();
        case DType::F32: break;
    }
    return "column sum kernel: bf16 or fp16 only";
}

const char* stack_weights(const StackedSources& src, int count, int64_t n, int64_t nb, void* w, DType wdt,
                          float* b, cudaStream_t stream, int bias_count) {
    if (count < 1 || count > kMaxStacked) return "stacked weights: 1 to 8 layers";
    if (bias_count < 0 || bias_count > count) bias_count = count;
    const int64_t per_layer = n > nb ? n : nb;
    if (per_layer == 0) return nullptr;
    const int threads = 256;
    const int64_t need = (per_layer + threads - 1) / threads;
    const dim3 grid(static_cast<unsigned>(need < sm_count() * 2LL ? need : sm_count() * 2LL),
                    static_cast<unsigned>(count));
    switch (wdt) {
        case DType::BF16:
            stack_weights_kernel<<<grid, threads, 0, stream>>>(src, n, nb, bias_count, static_cast<__nv_bfloat16*>(w),
                                                                b);
            return last_error();
        case DType::F16:
            stack_weights_kernel<<<grid, threads, 0, stream>>>(src, n, nb, bias_count, static_cast<__half*>(w), b);
            return last_error();
        case DType::F32: break;
    }
    return "stacked weights: bf16 or fp16 only";
}

const char* sum_partials(const float* part, int64_t sets, int64_t rows, int64_t cols, float* out,
                         cudaStream_t stream) {
    if (sets < 1 || cols < 1 || sets > 65535) return "partial sums: bad shape";
    const dim3 grid(static_cast<unsigned>((cols + 31) / 32), static_cast<unsigned>(sets));
    sum_partials_kernel<<<grid, 32 * kSumGroups, 0, stream>>>(part, rows, cols, out);
    return last_error();
}

}  // namespace ponet::cuda_kernels
