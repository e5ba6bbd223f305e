// Bias add and bias gradient for linear layers under autocast (see linear_cuda.h): 16-byte loads and stores,
// fp32 arithmetic.
#include "core/kernels/cuda/linear_cuda.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <curand_kernel.h>

#include "core/kernels/cuda/device_info.h"
#include "core/kernels/cuda/launch.cuh"

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
    wait_for_prior_grids();
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

// Each thread owns 8 columns (one 16-byte pack) and walks rows; op(i, v) gives the 8 values of pack i (row r's p-th,
// i = r * C / 8 + p) to sum, and may store what it computed on the way (its inputs read through the read-only cache,
// __ldg, since the op's pointers carry no __restrict__). The threads of a block that own the same
// columns are summed through shared memory at the end: one partial row per block. blockDim = 256.
template <typename Op>
__global__ void column_pass_kernel(Op op, float* __restrict__ part, int64_t rows, int C) {
    wait_for_prior_grids();
    const int packs_per_row = C / 8;
    const int rows_per_pass = blockDim.x / packs_per_row;  // >= 1 (C <= 2048)
    const int p = threadIdx.x % packs_per_row, lane_row = threadIdx.x / packs_per_row;
    float acc[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
    if (lane_row < rows_per_pass) {
        for (int64_t r = static_cast<int64_t>(blockIdx.x) * rows_per_pass + lane_row; r < rows;
             r += static_cast<int64_t>(gridDim.x) * rows_per_pass) {
            float v[8];
            op(r * packs_per_row + p, v);
#pragma unroll
            for (int j = 0; j < 8; ++j) acc[j] += v[j];
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

// The column sums of x.
template <typename T>
struct SumPacks {
    const T* x;
    __device__ __forceinline__ void operator()(int64_t i, float v[8]) const {
        const uint4 u = __ldg(reinterpret_cast<const uint4*>(x) + i);
        const T* e = reinterpret_cast<const T*>(&u);
#pragma unroll
        for (int j = 0; j < 8; ++j) v[j] = to_f(e[j]);
    }
};

__device__ __forceinline__ void load_keep8(const uint8_t* __restrict__ keep, int64_t pack, float k[8]) {
    const uint2 kv = __ldg(reinterpret_cast<const uint2*>(keep) + pack);
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

// What an elementwise epilogue thread needs of its draw: the scale, and the Philox seed and offset (a mask only).
struct MaskStream {
    float scale = 1.f;
    uint64_t seed = 0, offset = 0;
};
__device__ __forceinline__ MaskStream mask_stream(const DropoutDraw& drop) {
    MaskStream m;
    if (drop.keep) {
        m.scale = drop.scale;
        philox_unpack(drop.rng, m.seed, m.offset);
    }
    return m;
}

// The 8 fp32 bias values of columns c0 .. c0 + 7.
__device__ __forceinline__ void load_bias8(const float* __restrict__ bias, int c0, float be[8]) {
    const float4 b0 = *reinterpret_cast<const float4*>(bias + c0), b1 = *reinterpret_cast<const float4*>(bias + c0 + 4);
    be[0] = b0.x, be[1] = b0.y, be[2] = b0.z, be[3] = b0.w, be[4] = b1.x, be[5] = b1.y, be[6] = b1.z, be[7] = b1.w;
}

// A dropped element is multiplied by 0, as ATen's dropout does, so an inf or NaN in the product still shows.
template <typename T>
__global__ void bias_dropout_add_kernel(const T* __restrict__ y, const float* __restrict__ bias, DropoutDraw drop,
                                        const float* __restrict__ residual, float* __restrict__ out, int64_t packs,
                                        int C) {
    wait_for_prior_grids();
    const int packs_per_row = C / 8;
    const MaskStream m = mask_stream(drop);
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < packs;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const uint4 v = reinterpret_cast<const uint4*>(y)[i];
        const T* e = reinterpret_cast<const T*>(&v);
        float be[8];
        load_bias8(bias, static_cast<int>(i % packs_per_row) * 8, be);
        const float4 r0 = reinterpret_cast<const float4*>(residual)[2 * i];
        const float4 r1 = reinterpret_cast<const float4*>(residual)[2 * i + 1];
        float k[8] = {1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f};
        if (drop.keep) draw_keep8(m.seed, m.offset, i, drop.keep_prob, drop.keep, k);
        const float re[8] = {r0.x, r0.y, r0.z, r0.w, r1.x, r1.y, r1.z, r1.w};
        float o[8];
#pragma unroll
        for (int j = 0; j < 8; ++j) o[j] = re[j] + k[j] * m.scale * (to_f(e[j]) + be[j]);
        reinterpret_cast<float4*>(out)[2 * i] = make_float4(o[0], o[1], o[2], o[3]);
        reinterpret_cast<float4*>(out)[2 * i + 1] = make_float4(o[4], o[5], o[6], o[7]);
    }
}

// The dropout backward before a linear layer's products: dy = round(g * keep * scale) from the fp32 gradient g,
// stored, and its rounded values summed (the bias gradient).
template <typename T>
struct DropoutGradPacks {
    const float* g;
    const uint8_t* keep;
    float scale;
    T* dy;
    __device__ __forceinline__ void operator()(int64_t i, float v[8]) const {
        const float4 g0 = __ldg(reinterpret_cast<const float4*>(g) + 2 * i);
        const float4 g1 = __ldg(reinterpret_cast<const float4*>(g) + 2 * i + 1);
        float k[8] = {1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f};
        if (keep) load_keep8(keep, i, k);
        const float ge[8] = {g0.x, g0.y, g0.z, g0.w, g1.x, g1.y, g1.z, g1.w};
        uint4 u;
        T* e = reinterpret_cast<T*>(&u);
#pragma unroll
        for (int j = 0; j < 8; ++j) {
            e[j] = from_f<T>(ge[j] * k[j] * scale);
            v[j] = to_f(e[j]);
        }
        reinterpret_cast<uint4*>(dy)[i] = u;
    }
};

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
    wait_for_prior_grids();
    const int packs_per_row = C / 8;
    const MaskStream m = mask_stream(drop);
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < packs;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        uint4 v = reinterpret_cast<const uint4*>(y)[i];
        T* e = reinterpret_cast<T*>(&v);
        float be[8];
        load_bias8(bias, static_cast<int>(i % packs_per_row) * 8, be);
        float k[8] = {1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f};
        if (drop.keep) draw_keep8(m.seed, m.offset, i, drop.keep_prob, drop.keep, k);
        uint4 o;
        T* oe = reinterpret_cast<T*>(&o);
#pragma unroll
        for (int j = 0; j < 8; ++j) {
            e[j] = from_f<T>(to_f(e[j]) + be[j]);
            oe[j] = from_f<T>(act_value<A>(to_f(e[j])) * k[j] * m.scale);
        }
        reinterpret_cast<uint4*>(y)[i] = v;
        reinterpret_cast<uint4*>(out)[i] = o;
    }
}

// As DropoutGradPacks, with the activation's derivative at the saved pre-activation and g in the low precision.
template <typename T, int A>
struct ActDropoutGradPacks {
    const T* g;
    const T* pre;
    const uint8_t* keep;
    float scale;
    T* dy;
    __device__ __forceinline__ void operator()(int64_t i, float v[8]) const {
        const uint4 gv = __ldg(reinterpret_cast<const uint4*>(g) + i);
        const uint4 pv = __ldg(reinterpret_cast<const uint4*>(pre) + i);
        const T* ge = reinterpret_cast<const T*>(&gv);
        const T* pe = reinterpret_cast<const T*>(&pv);
        float k[8] = {1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f};
        if (keep) load_keep8(keep, i, k);
        uint4 u;
        T* e = reinterpret_cast<T*>(&u);
#pragma unroll
        for (int j = 0; j < 8; ++j) {
            e[j] = from_f<T>(to_f(ge[j]) * k[j] * scale * act_grad<A>(to_f(pe[j])));
            v[j] = to_f(e[j]);
        }
        reinterpret_cast<uint4*>(dy)[i] = u;
    }
};

constexpr int kSumGroups = 32;  // a 1,024-thread block: 32 warps split the rows

__global__ void __launch_bounds__(32 * kSumGroups) sum_partials_kernel(const float* __restrict__ part, int64_t rows,
                                                                       int64_t cols, float* __restrict__ out) {
    wait_for_prior_grids();
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
    wait_for_prior_grids();
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

// Blocks of 256 threads for an elementwise pass over `packs` 8-element groups (grid-strided beyond 32 per SM).
int elementwise_blocks(int64_t packs) {
    const int64_t need = (packs + 255) / 256;
    return static_cast<int>(need < sm_count() * 32LL ? need : sm_count() * 32LL);
}

// Blocks of a column pass: about `rows_per_thread` rows for each thread, at most `per_sm` blocks per multiprocessor.
int column_pass_blocks(int64_t rows, int64_t C, int64_t rows_per_thread, int64_t per_sm) {
    const int64_t rows_per_pass = C >= 8 ? (256 / (C / 8 > 0 ? C / 8 : 1)) : 1;
    const int64_t step = rows_per_pass * rows_per_thread;
    const int64_t need = step > 0 ? (rows + step - 1) / step : 1;
    const int64_t cap = sm_count() * per_sm;
    return static_cast<int>(need < 1 ? 1 : need < cap ? need : cap);
}

// column_pass_kernel over `op` after checking the shape its 256 threads of 8 columns can take.
template <typename Op>
const char* launch_column_pass(const Op& op, float* part, int blocks, int64_t rows, int64_t C, cudaStream_t stream) {
    if (C < 8 || C % 8 != 0 || C > 2048) return "width must be a multiple of 8 up to 2048";
    if (blocks < 1) return "no blocks";
    launch(column_pass_kernel<Op>, blocks, 256, 256 * 8 * sizeof(float), stream, op, part, rows, static_cast<int>(C));
    return last_error();
}

// An elementwise pass's grid over rows x C: `packs` 8-element groups (0: nothing to launch) in `blocks` of 256.
struct ElementwiseLaunch {
    int64_t packs = 0;
    int blocks = 0;
    int c = 0;
};

// Checks the width (and a keep probability where a mask is drawn) and fills *l; an error message otherwise.
const char* elementwise_launch(int64_t rows, int64_t C, const DropoutDraw* drop, ElementwiseLaunch* l) {
    if (C < 8 || C % 8 != 0 || C > (1 << 20)) return "width must be a positive multiple of 8";
    if (drop && drop->keep && !(drop->keep_prob > 0.f && drop->keep_prob <= 1.f))
        return "keep probability must be in (0, 1]";
    l->packs = rows * (C / 8);
    l->blocks = l->packs > 0 ? elementwise_blocks(l->packs) : 0;
    l->c = static_cast<int>(C);
    return nullptr;
}

template <typename T>
const char* launch_bias_act_dropout(int act, int blocks, cudaStream_t stream, T* y, const float* bias,
                                    const DropoutDraw& drop, T* out, int64_t packs, int c) {
    switch (act) {
        case 0: launch(bias_act_dropout_kernel<T, 0>, blocks, 256, 0, stream, y, bias, drop, out, packs, c); break;
        case 1: launch(bias_act_dropout_kernel<T, 1>, blocks, 256, 0, stream, y, bias, drop, out, packs, c); break;
        case 2: launch(bias_act_dropout_kernel<T, 2>, blocks, 256, 0, stream, y, bias, drop, out, packs, c); break;
        case 3: launch(bias_act_dropout_kernel<T, 3>, blocks, 256, 0, stream, y, bias, drop, out, packs, c); break;
        default: return "unknown activation";
    }
    return last_error();
}

template <typename T>
const char* launch_act_grad(int act, const T* g, const T* pre, const uint8_t* keep, float scale, T* dy, float* part,
                            int blocks, int64_t rows, int64_t C, cudaStream_t stream) {
    switch (act) {
        case 0:
            return launch_column_pass(ActDropoutGradPacks<T, 0>{g, pre, keep, scale, dy}, part, blocks, rows, C, stream);
        case 1:
            return launch_column_pass(ActDropoutGradPacks<T, 1>{g, pre, keep, scale, dy}, part, blocks, rows, C, stream);
        case 2:
            return launch_column_pass(ActDropoutGradPacks<T, 2>{g, pre, keep, scale, dy}, part, blocks, rows, C, stream);
        case 3:
            return launch_column_pass(ActDropoutGradPacks<T, 3>{g, pre, keep, scale, dy}, part, blocks, rows, C, stream);
        default: return "unknown activation";
    }
}

}  // namespace

const char* bias_add_inplace(void* y, const float* bias, DType dt, int64_t rows, int64_t C, cudaStream_t stream) {
    ElementwiseLaunch l;
    if (const char* e = elementwise_launch(rows, C, nullptr, &l)) return e;
    if (l.packs == 0) return nullptr;
    switch (dt) {
        case DType::BF16:
            launch(bias_add_kernel<__nv_bfloat16>, l.blocks, 256, 0, stream, static_cast<__nv_bfloat16*>(y), bias,
                   l.packs, l.c);
            return last_error();
        case DType::F16:
            launch(bias_add_kernel<__half>, l.blocks, 256, 0, stream, static_cast<__half*>(y), bias, l.packs, l.c);
            return last_error();
        case DType::F32: break;
    }
    return "bf16 or fp16 only";
}

int column_sum_blocks(int64_t rows, int64_t C) { return column_pass_blocks(rows, C, 8, 4); }

const char* column_sums(const void* x, DType dt, float* part, int blocks, int64_t rows, int64_t C,
                        cudaStream_t stream) {
    switch (dt) {
        case DType::BF16:
            return launch_column_pass(SumPacks<__nv_bfloat16>{static_cast<const __nv_bfloat16*>(x)}, part, blocks, rows,
                                      C, stream);
        case DType::F16:
            return launch_column_pass(SumPacks<__half>{static_cast<const __half*>(x)}, part, blocks, rows, C, stream);
        case DType::F32: break;
    }
    return "bf16 or fp16 only";
}

const char* bias_dropout_add(const void* y, const float* bias, const DropoutDraw& drop, const float* residual,
                             float* out, DType dt, int64_t rows, int64_t C, cudaStream_t stream) {
    ElementwiseLaunch l;
    if (const char* e = elementwise_launch(rows, C, &drop, &l)) return e;
    if (l.packs == 0) return nullptr;
    switch (dt) {
        case DType::BF16:
            launch(bias_dropout_add_kernel<__nv_bfloat16>, l.blocks, 256, 0, stream,
                   static_cast<const __nv_bfloat16*>(y), bias, drop, residual, out, l.packs, l.c);
            return last_error();
        case DType::F16:
            launch(bias_dropout_add_kernel<__half>, l.blocks, 256, 0, stream, static_cast<const __half*>(y), bias, drop,
                   residual, out, l.packs, l.c);
            return last_error();
        case DType::F32: break;
    }
    return "bf16 or fp16 only";
}

int dropout_grad_blocks(int64_t rows, int64_t C) { return column_pass_blocks(rows, C, 2, 8); }

const char* dropout_grad_cast_sums(const float* g, const uint8_t* keep, float scale, void* dy, DType dt, float* part,
                                   int blocks, int64_t rows, int64_t C, cudaStream_t stream) {
    if (!keep) scale = 1.f;
    switch (dt) {
        case DType::BF16:
            return launch_column_pass(DropoutGradPacks<__nv_bfloat16>{g, keep, scale, static_cast<__nv_bfloat16*>(dy)},
                                      part, blocks, rows, C, stream);
        case DType::F16:
            return launch_column_pass(DropoutGradPacks<__half>{g, keep, scale, static_cast<__half*>(dy)}, part, blocks,
                                      rows, C, stream);
        case DType::F32: break;
    }
    return "bf16 or fp16 only";
}

const char* bias_act_dropout(void* y, const float* bias, const DropoutDraw& drop, void* out, DType dt, int act,
                             int64_t rows, int64_t C, cudaStream_t stream) {
    ElementwiseLaunch l;
    if (const char* e = elementwise_launch(rows, C, &drop, &l)) return e;
    if (l.packs == 0) return nullptr;
    switch (dt) {
        case DType::BF16:
            return launch_bias_act_dropout(act, l.blocks, stream, static_cast<__nv_bfloat16*>(y), bias, drop,
                                           static_cast<__nv_bfloat16*>(out), l.packs, l.c);
        case DType::F16:
            return launch_bias_act_dropout(act, l.blocks, stream, static_cast<__half*>(y), bias, drop,
                                           static_cast<__half*>(out), l.packs, l.c);
        case DType::F32: break;
    }
    return "bf16 or fp16 only";
}

const char* act_dropout_grad_cast_sums(const void* g, const void* pre, const uint8_t* keep, float scale, void* dy,
                                       DType dt, int act, float* part, int blocks, int64_t rows, int64_t C,
                                       cudaStream_t stream) {
    if (!keep) scale = 1.f;
    switch (dt) {
        case DType::BF16:
            return launch_act_grad(act, static_cast<const __nv_bfloat16*>(g), static_cast<const __nv_bfloat16*>(pre),
                                   keep, scale, static_cast<__nv_bfloat16*>(dy), part, blocks, rows, C, stream);
        case DType::F16:
            return launch_act_grad(act, static_cast<const __half*>(g), static_cast<const __half*>(pre), keep, scale,
                                   static_cast<__half*>(dy), part, blocks, rows, C, stream);
        case DType::F32: break;
    }
    return "bf16 or fp16 only";
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
            launch(stack_weights_kernel<__nv_bfloat16>, grid, threads, 0, stream, src, n, nb, bias_count,
                   static_cast<__nv_bfloat16*>(w), b);
            return last_error();
        case DType::F16:
            launch(stack_weights_kernel<__half>, grid, threads, 0, stream, src, n, nb, bias_count,
                   static_cast<__half*>(w), b);
            return last_error();
        case DType::F32: break;
    }
    return "stacked weights: bf16 or fp16 only";
}

const char* sum_partials(const float* part, int64_t sets, int64_t rows, int64_t cols, float* out,
                         cudaStream_t stream) {
    if (sets < 1 || cols < 1 || sets > 65535) return "partial sums: bad shape";
    const dim3 grid(static_cast<unsigned>((cols + 31) / 32), static_cast<unsigned>(sets));
    launch(sum_partials_kernel, grid, 32 * kSumGroups, 0, stream, part, rows, cols, out);
    return last_error();
}

}  // namespace ponet::cuda_kernels
