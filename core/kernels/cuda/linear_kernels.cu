// Bias add and bias gradient for linear layers under autocast (see linear_cuda.h): 16-byte loads and stores,
// fp32 arithmetic.
#include "core/kernels/cuda/linear_cuda.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <curand_kernel.h>

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

__device__ __forceinline__ void load_keep8(const uint8_t* __restrict__ keep, int64_t pack, float k[8]) {
    const uint2 kv = reinterpret_cast<const uint2*>(keep)[pack];
    const uint8_t* kb = reinterpret_cast<const uint8_t*>(&kv);
#pragma unroll
    for (int j = 0; j < 8; ++j) k[j] = kb[j] ? 1.f : 0.f;
}

// The seed and offset where the kernel runs (from the generator's values, or through its pointers under capture).
__device__ __forceinline__ void philox_unpack(const PhiloxArgs& a, uint64_t& seed, uint64_t& offset) {
    seed = a.seed_ptr ? static_cast<uint64_t>(*a.seed_ptr) : a.seed;
    offset = a.offset_ptr ? static_cast<uint64_t>(*a.offset_ptr) + a.offset_intragraph : a.offset;
}

// The mask of element group `pack` (8 elements): 8 uniform numbers from the group's own Philox subsequence, an
// element kept where its number is below keep_prob (as ATen's dropout decides); the bytes stored for the backward.
__device__ __forceinline__ void draw_keep8(uint64_t seed, uint64_t offset, int64_t pack, float keep_prob,
                                           uint8_t* __restrict__ keep, float k[8]) {
    curandStatePhilox4_32_10_t st;
    curand_init(seed, static_cast<unsigned long long>(pack), offset, &st);
    const float4 u0 = curand_uniform4(&st), u1 = curand_uniform4(&st);
    const float u[8] = {u0.x, u0.y, u0.z, u0.w, u1.x, u1.y, u1.z, u1.w};
    uint2 kv;
    uint8_t* kb = reinterpret_cast<uint8_t*>(&kv);
#pragma unroll
    for (int j = 0; j < 8; ++j) {
        kb[j] = u[j] < keep_prob ? 1 : 0;
        k[j] = kb[j] ? 1.f : 0.f;
    }
    reinterpret_cast<uint2*>(keep)[pack] = kv;
}

// A dropped element is multiplied by 0, as ATen's dropout does, so an inf or NaN in the product still shows.
template <typename T>
__global__ void bias_dropout_add_kernel(const T* __restrict__ y, const float* __restrict__ bias, DropoutDraw drop,
                                        const float* __restrict__ residual, float* __restrict__ out, int64_t packs,
                                        int C) {
    const int packs_per_row = C / 8;
    const float scale = drop.keep ? drop.scale : 1.f;
    uint64_t seed = 0, offset = 0;
    if (drop.keep) philox_unpack(drop.rng, seed, offset);
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < packs;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int c0 = static_cast<int>(i % packs_per_row) * 8;
        const uint4 v = reinterpret_cast<const uint4*>(y)[i];
        const T* e = reinterpret_cast<const T*>(&v);
        const float4 b0 = *reinterpret_cast<const float4*>(bias + c0), b1 = *reinterpret_cast<const float4*>(bias + c0 + 4);
        const float4 r0 = reinterpret_cast<const float4*>(residual)[2 * i];
        const float4 r1 = reinterpret_cast<const float4*>(residual)[2 * i + 1];
        float k[8] = {1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f};
        if (drop.keep) draw_keep8(seed, offset, i, drop.keep_prob, drop.keep, k);
        const float be[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
        const float re[8] = {r0.x, r0.y, r0.z, r0.w, r1.x, r1.y, r1.z, r1.w};
        float o[8];
#pragma unroll
        for (int j = 0; j < 8; ++j) o[j] = re[j] + k[j] * scale * (to_f(e[j]) + be[j]);
        reinterpret_cast<float4*>(out)[2 * i] = make_float4(o[0], o[1], o[2], o[3]);
        reinterpret_cast<float4*>(out)[2 * i + 1] = make_float4(o[4], o[5], o[6], o[7]);
    }
}

// As column_sum_kernel, but reading the fp32 gradient, applying the dropout mask and writing the rounded values it
// sums. blockDim = 256.
template <typename T>
__global__ void dropout_grad_cast_sums_kernel(const float* __restrict__ g, const uint8_t* __restrict__ keep,
                                              float scale, T* __restrict__ dy, float* __restrict__ part, int64_t rows,
                                              int C) {
    const int packs_per_row = C / 8;
    const int rows_per_pass = blockDim.x / packs_per_row;  // >= 1 (C <= 2048)
    const int p = threadIdx.x % packs_per_row, lane_row = threadIdx.x / packs_per_row;
    float acc[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
    if (lane_row < rows_per_pass) {
        for (int64_t r = static_cast<int64_t>(blockIdx.x) * rows_per_pass + lane_row; r < rows;
             r += static_cast<int64_t>(gridDim.x) * rows_per_pass) {
            const int64_t i = r * packs_per_row + p;
            const float4 g0 = reinterpret_cast<const float4*>(g)[2 * i];
            const float4 g1 = reinterpret_cast<const float4*>(g)[2 * i + 1];
            float k[8] = {1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f};
            if (keep) load_keep8(keep, i, k);
            const float ge[8] = {g0.x, g0.y, g0.z, g0.w, g1.x, g1.y, g1.z, g1.w};
            uint4 v;
            T* e = reinterpret_cast<T*>(&v);
#pragma unroll
            for (int j = 0; j < 8; ++j) {
                e[j] = from_f<T>(ge[j] * k[j] * scale);
                acc[j] += to_f(e[j]);
            }
            reinterpret_cast<uint4*>(dy)[i] = v;
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

// The MLP activations and their derivatives in fp32 (as ATen's kernels compute them).
template <int A> __device__ __forceinline__ float act_value(float x) {
    if constexpr (A == 0) return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
    if constexpr (A == 1) {
        const float u = 0.79788456080286536f * (x + 0.044715f * x * x * x);
        return 0.5f * x * (1.f + tanhf(u));
    }
    if constexpr (A == 2) return x > 0.f || isnan(x) ? x : 0.f;  // a NaN passes, as through ATen's relu
    return tanhf(x);
}
template <int A> __device__ __forceinline__ float act_grad(float x) {
    if constexpr (A == 0) {
        const float cdf = 0.5f * (1.f + erff(x * 0.70710678118654752f));
        const float pdf = 0.39894228040143268f * expf(-0.5f * x * x);
        return cdf + x * pdf;
    }
    if constexpr (A == 1) {
        const float x2 = x * x;
        const float t = tanhf(0.79788456080286536f * (x + 0.044715f * x2 * x));
        return 0.5f * (1.f + t) + 0.5f * x * (1.f - t * t) * 0.79788456080286536f * (1.f + 3.f * 0.044715f * x2);
    }
    if constexpr (A == 2) return x > 0.f ? 1.f : 0.f;
    const float t = tanhf(x);
    return 1.f - t * t;
}

template <typename T, int A>
__global__ void bias_act_dropout_kernel(T* __restrict__ y, const float* __restrict__ bias, DropoutDraw drop,
                                        T* __restrict__ out, int64_t packs, int C) {
    const int packs_per_row = C / 8;
    const float scale = drop.keep ? drop.scale : 1.f;
    uint64_t seed = 0, offset = 0;
    if (drop.keep) philox_unpack(drop.rng, seed, offset);
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < packs;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int c0 = static_cast<int>(i % packs_per_row) * 8;
        uint4 v = reinterpret_cast<const uint4*>(y)[i];
        T* e = reinterpret_cast<T*>(&v);
        const float4 b0 = *reinterpret_cast<const float4*>(bias + c0), b1 = *reinterpret_cast<const float4*>(bias + c0 + 4);
        const float be[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
        float k[8] = {1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f};
        if (drop.keep) draw_keep8(seed, offset, i, drop.keep_prob, drop.keep, k);
        uint4 o;
        T* oe = reinterpret_cast<T*>(&o);
#pragma unroll
        for (int j = 0; j < 8; ++j) {
            e[j] = from_f<T>(to_f(e[j]) + be[j]);
            oe[j] = from_f<T>(act_value<A>(to_f(e[j])) * k[j] * scale);
        }
        reinterpret_cast<uint4*>(y)[i] = v;
        reinterpret_cast<uint4*>(out)[i] = o;
    }
}

// As dropout_grad_cast_sums_kernel, with the activation's derivative at the saved pre-activation.
template <typename T, int A>
__global__ void act_dropout_grad_cast_sums_kernel(const T* __restrict__ g, const T* __restrict__ pre,
                                                  const uint8_t* __restrict__ keep, float scale, T* __restrict__ dy,
                                                  float* __restrict__ part, int64_t rows, int C) {
    const int packs_per_row = C / 8;
    const int rows_per_pass = blockDim.x / packs_per_row;  // >= 1 (C <= 2048)
    const int p = threadIdx.x % packs_per_row, lane_row = threadIdx.x / packs_per_row;
    float acc[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
    if (lane_row < rows_per_pass) {
        for (int64_t r = static_cast<int64_t>(blockIdx.x) * rows_per_pass + lane_row; r < rows;
             r += static_cast<int64_t>(gridDim.x) * rows_per_pass) {
            const int64_t i = r * packs_per_row + p;
            const uint4 gv = reinterpret_cast<const uint4*>(g)[i], pv = reinterpret_cast<const uint4*>(pre)[i];
            const T* ge = reinterpret_cast<const T*>(&gv);
            const T* pe = reinterpret_cast<const T*>(&pv);
            float k[8] = {1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f};
            if (keep) load_keep8(keep, i, k);
            uint4 v;
            T* e = reinterpret_cast<T*>(&v);
#pragma unroll
            for (int j = 0; j < 8; ++j) {
                e[j] = from_f<T>(to_f(ge[j]) * k[j] * scale * act_grad<A>(to_f(pe[j])));
                acc[j] += to_f(e[j]);
            }
            reinterpret_cast<uint4*>(dy)[i] = v;
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

const char* bias_dropout_add(const void* y, const float* bias, const DropoutDraw& drop, const float* residual,
                             float* out, DType dt, int64_t rows, int64_t C, cudaStream_t stream) {
    if (C < 8 || C % 8 != 0 || C > (1 << 20)) return "bias-dropout-add kernel: width must be a positive multiple of 8";
    const int64_t packs = rows * (C / 8);
    if (packs == 0) return nullptr;
    const int threads = 256;
    const int64_t need = (packs + threads - 1) / threads;
    const int blocks = static_cast<int>(need < sm_count() * 32LL ? need : sm_count() * 32LL);
    const int c = static_cast<int>(C);
    if (drop.keep && !(drop.keep_prob > 0.f && drop.keep_prob <= 1.f))
        return "bias-dropout-add kernel: keep probability must be in (0, 1]";
    switch (dt) {
        case DType::BF16:
            bias_dropout_add_kernel<<<blocks, threads, 0, stream>>>(static_cast<const __nv_bfloat16*>(y), bias, drop,
                                                                    residual, out, packs, c);
            return last_error();
        case DType::F16:
            bias_dropout_add_kernel<<<blocks, threads, 0, stream>>>(static_cast<const __half*>(y), bias, drop,
                                                                    residual, out, packs, c);
            return last_error();
        case DType::F32: break;
    }
    return "bias-dropout-add kernel: bf16 or fp16 only";
}

int dropout_grad_blocks(int64_t rows, int64_t C) {
    const int64_t rows_per_pass = C >= 8 ? (256 / (C / 8 > 0 ? C / 8 : 1)) : 1;
    const int64_t need = rows_per_pass > 0 ? (rows + rows_per_pass * 2 - 1) / (rows_per_pass * 2) : 1;
    const int64_t cap = sm_count() * 8LL;
    return static_cast<int>(need < 1 ? 1 : need < cap ? need : cap);
}

const char* dropout_grad_cast_sums(const float* g, const uint8_t* keep, float scale, void* dy, DType dt, float* part,
                                   int blocks, int64_t rows, int64_t C, cudaStream_t stream) {
    if (C < 8 || C % 8 != 0 || C > 2048) return "dropout gradient kernel: width must be a multiple of 8 up to 2048";
    if (blocks < 1) return "dropout gradient kernel: no blocks";
    const int threads = 256, c = static_cast<int>(C);
    const size_t smem = threads * 8 * sizeof(float);
    if (!keep) scale = 1.f;
    switch (dt) {
        case DType::BF16:
            dropout_grad_cast_sums_kernel<<<blocks, threads, smem, stream>>>(
                g, keep, scale, static_cast<__nv_bfloat16*>(dy), part, rows, c);
            return last_error();
        case DType::F16:
            dropout_grad_cast_sums_kernel<<<blocks, threads, smem, stream>>>(g, keep, scale, static_cast<__half*>(dy),
                                                                             part, rows, c);
            return last_error();
        case DType::F32: break;
    }
    return "dropout gradient kernel: bf16 or fp16 only";
}

namespace {

template <typename T>
const char* launch_bias_act_dropout(int act, int blocks, cudaStream_t stream, T* y, const float* bias,
                                    const DropoutDraw& drop, T* out, int64_t packs, int c) {
    switch (act) {
        case 0: bias_act_dropout_kernel<T, 0><<<blocks, 256, 0, stream>>>(y, bias, drop, out, packs, c); break;
        case 1: bias_act_dropout_kernel<T, 1><<<blocks, 256, 0, stream>>>(y, bias, drop, out, packs, c); break;
        case 2: bias_act_dropout_kernel<T, 2><<<blocks, 256, 0, stream>>>(y, bias, drop, out, packs, c); break;
        case 3: bias_act_dropout_kernel<T, 3><<<blocks, 256, 0, stream>>>(y, bias, drop, out, packs, c); break;
        default: return "bias-activation-dropout kernel: unknown activation";
    }
    return last_error();
}

template <typename T>
const char* launch_act_grad(int act, int blocks, size_t smem, cudaStream_t stream, const T* g, const T* pre,
                            const uint8_t* keep, float scale, T* dy, float* part, int64_t rows, int c) {
    switch (act) {
        case 0:
            act_dropout_grad_cast_sums_kernel<T, 0><<<blocks, 256, smem, stream>>>(g, pre, keep, scale, dy, part, rows, c);
            break;
        case 1:
            act_dropout_grad_cast_sums_kernel<T, 1><<<blocks, 256, smem, stream>>>(g, pre, keep, scale, dy, part, rows, c);
            break;
        case 2:
            act_dropout_grad_cast_sums_kernel<T, 2><<<blocks, 256, smem, stream>>>(g, pre, keep, scale, dy, part, rows, c);
            break;
        case 3:
            act_dropout_grad_cast_sums_kernel<T, 3><<<blocks, 256, smem, stream>>>(g, pre, keep, scale, dy, part, rows, c);
            break;
        default: return "activation gradient kernel: unknown activation";
    }
    return last_error();
}

}  // namespace

const char* bias_act_dropout(void* y, const float* bias, const DropoutDraw& drop, void* out, DType dt, int act,
                             int64_t rows, int64_t C, cudaStream_t stream) {
    if (C < 8 || C % 8 != 0 || C > (1 << 20))
        return "bias-activation-dropout kernel: width must be a positive multiple of 8";
    const int64_t packs = rows * (C / 8);
    if (packs == 0) return nullptr;
    const int64_t need = (packs + 255) / 256;
    const int blocks = static_cast<int>(need < sm_count() * 32LL ? need : sm_count() * 32LL);
    const int c = static_cast<int>(C);
    if (drop.keep && !(drop.keep_prob > 0.f && drop.keep_prob <= 1.f))
        return "bias-activation-dropout kernel: keep probability must be in (0, 1]";
    switch (dt) {
        case DType::BF16:
            return launch_bias_act_dropout(act, blocks, stream, static_cast<__nv_bfloat16*>(y), bias, drop,
                                           static_cast<__nv_bfloat16*>(out), packs, c);
        case DType::F16:
            return launch_bias_act_dropout(act, blocks, stream, static_cast<__half*>(y), bias, drop,
                                           static_cast<__half*>(out), packs, c);
        case DType::F32: break;
    }
    return "bias-activation-dropout kernel: bf16 or fp16 only";
}

const char* act_dropout_grad_cast_sums(const void* g, const void* pre, const uint8_t* keep, float scale, void* dy,
                                       DType dt, int act, float* part, int blocks, int64_t rows, int64_t C,
                                       cudaStream_t stream) {
    if (C < 8 || C % 8 != 0 || C > 2048) return "activation gradient kernel: width must be a multiple of 8 up to 2048";
    if (blocks < 1) return "activation gradient kernel: no blocks";
    const int c = static_cast<int>(C);
    const size_t smem = 256 * 8 * sizeof(float);
    if (!keep) scale = 1.f;
    switch (dt) {
        case DType::BF16:
            return launch_act_grad(act, blocks, smem, stream, static_cast<const __nv_bfloat16*>(g),
                                   static_cast<const __nv_bfloat16*>(pre), keep, scale,
                                   static_cast<__nv_bfloat16*>(dy), part, rows, c);
        case DType::F16:
            return launch_act_grad(act, blocks, smem, stream, static_cast<const __half*>(g),
                                   static_cast<const __half*>(pre), keep, scale, static_cast<__half*>(dy), part, rows,
                                   c);
        case DType::F32: break;
    }
    return "activation gradient kernel: bf16 or fp16 only";
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
