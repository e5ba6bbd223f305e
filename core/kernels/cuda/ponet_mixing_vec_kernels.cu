// The fused PoNet mixing's row kernels in the vector layout (see ponet_mixing_vec.h): lane `j` of a group of LPR
// lanes holds channels 8j … 8j+7 of one token row, and the G = 32 / LPR groups of a warp hold G consecutive rows,
// so every load and store of a row slice is one 16-byte access (two for fp32) and a warp keeps G rows in flight.
// Each kernel computes what its lane-per-channel twin in ponet_mixing_kernels.cu computes, in the same buffers
// (with fixed segments within a step, Problem::seg_width, the segment work moves as ponet_mixing_vec.h says);
// where a sum runs over rows, the groups' parts are added by shuffles, then written once per block (partials, in
// warp order; bias and g gradients, one atomic per channel). Segment runs: a warp keeps one running segment; a step
// whose rows all lie in it adds to the running sums, a step across a boundary (every step with short segments)
// updates each row's segment through a per-warp scratch in shared memory. Every atomic instruction covers
// 32 consecutive words: atomics from all warps onto a few sectors are what these kernels would otherwise wait on.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <string>

#include "core/kernels/cuda/launch.cuh"
#include "core/kernels/cuda/ponet_mixing_device.cuh"
#include "core/kernels/cuda/ponet_mixing_vec.h"

namespace ponet::cuda_kernels::vec {

namespace {

using namespace mixing;  // NOLINT: the shared helpers of ponet_mixing_device.cuh

constexpr unsigned kFull = 0xffffffffu;

// 8 consecutive values of a row as floats, and back. Loads go through the read-only cache: every buffer these
// kernels load is written only by the kernels before them.
__device__ __forceinline__ void load8(const float* p, float (&v)[8]) {
    const float4 a = __ldg(reinterpret_cast<const float4*>(p)), b = __ldg(reinterpret_cast<const float4*>(p) + 1);
    v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
}
template <typename Pair, typename F>
__device__ __forceinline__ void load8_pairs(const void* p, float (&v)[8], F unpack) {
    const uint4 u = __ldg(reinterpret_cast<const uint4*>(p));
    const uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const float2 f = unpack(*reinterpret_cast<const Pair*>(&w[i]));
        v[2 * i] = f.x, v[2 * i + 1] = f.y;
    }
}
__device__ __forceinline__ void load8(const __nv_bfloat16* p, float (&v)[8]) {
    load8_pairs<__nv_bfloat162>(p, v, [](__nv_bfloat162 h) { return __bfloat1622float2(h); });
}
__device__ __forceinline__ void load8(const __half* p, float (&v)[8]) {
    load8_pairs<__half2>(p, v, [](__half2 h) { return __half22float2(h); });
}

__device__ __forceinline__ void store8(float* p, const float (&v)[8]) {
    reinterpret_cast<float4*>(p)[0] = make_float4(v[0], v[1], v[2], v[3]);
    reinterpret_cast<float4*>(p)[1] = make_float4(v[4], v[5], v[6], v[7]);
}
template <typename Pair, typename F>
__device__ __forceinline__ void store8_pairs(void* p, const float (&v)[8], F pack) {
    uint32_t w[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const Pair h = pack(v[2 * i], v[2 * i + 1]);
        w[i] = *reinterpret_cast<const uint32_t*>(&h);
    }
    *reinterpret_cast<uint4*>(p) = make_uint4(w[0], w[1], w[2], w[3]);
}
__device__ __forceinline__ void store8(__nv_bfloat16* p, const float (&v)[8]) {
    store8_pairs<__nv_bfloat162>(p, v, [](float a, float b) { return __floats2bfloat162_rn(a, b); });
}
__device__ __forceinline__ void store8(__half* p, const float (&v)[8]) {
    store8_pairs<__half2>(p, v, [](float a, float b) { return __floats2half2_rn(a, b); });
}

// The fixed segment (p.seg_width = w) of row i: rows below 2^31, so a 32-bit division.
__device__ __forceinline__ int64_t run_of(int64_t i, int w) {
    return static_cast<int64_t>(static_cast<uint32_t>(i) / static_cast<uint32_t>(w));
}

// Winner code k of a row's 8 packed codes (int8: 0 left, 1 self, 2 right, -1 none).
__device__ __forceinline__ int code(uint64_t w, int k) { return static_cast<int8_t>((w >> (8 * k)) & 0xffu); }

__device__ __forceinline__ uint64_t shfl_u64(uint64_t v, int src) {
    const uint32_t lo = __shfl_sync(kFull, static_cast<uint32_t>(v), src);
    const uint32_t hi = __shfl_sync(kFull, static_cast<uint32_t>(v >> 32), src);
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

// Sum over the G groups of a warp (lanes LPR apart); every lane gets the total of its channels.
template <int LPR>
__device__ __forceinline__ float group_sum(float v) {
#pragma unroll
    for (int off = LPR; off < 32; off *= 2) v += __shfl_xor_sync(kFull, v, off);
    return v;
}

// Sum over the `lanes` lanes of one head (a power of two, aligned).
__device__ __forceinline__ float head_sum(float v, int lanes) {
    for (int off = 1; off < lanes; off *= 2) v += __shfl_xor_sync(kFull, v, off);
    return v;
}

// Where this lane sits: its group (row of the step) and its first channel.
template <int LPR>
struct Lane {
    int lane, grp, j, c;
    __device__ Lane() : lane(threadIdx.x % 32), grp(lane / LPR), j(lane % LPR), c(8 * (lane % LPR)) {}
};

// The warp's per-channel values (every group holding the same totals) moved to the lane-per-channel layout: lane L
// gets channel L + 32m in out[m], so that an atomic over the warp covers 32 consecutive words (a sector takes one
// update per instruction, not eight: same-address atomics from every warp are what these kernels wait on).
template <int LPR>
__device__ __forceinline__ void lane_major(const float (&v)[8], int lane, float (&out)[LPR / 4]) {
#pragma unroll
    for (int m = 0; m < LPR / 4; ++m) {
        const int ch = lane + 32 * m, src = ch / 8, kk = ch % 8;
        float r = 0.f;
#pragma unroll
        for (int q = 0; q < 8; ++q) {
            const float t = __shfl_sync(kFull, v[q], src);
            if (q == kk) r = t;
        }
        out[m] = r;
    }
}

// One step's per-row values (lane j of group g: channels 8j … 8j+7 of row g's `v`, already in the warp's scratch
// `sh` as [G][D]) applied to each row's own destination row dst + at (at < 0: none, this lane's value; the group's
// lanes agree) by `op`, 32 consecutive words per instruction. For steps whose rows lie in different segments (with
// a segment per token, every step).
template <int LPR, typename Op>
__device__ __forceinline__ void rows_apply(const float* sh, int64_t at, const Lane<LPR>& ln, float* dst, Op op) {
    constexpr int G = 32 / LPR, D = 8 * LPR;
    __syncwarp();
#pragma unroll
    for (int g = 0; g < G; ++g) {
        const int64_t a = __shfl_sync(kFull, at, g * LPR);
        if (a < 0) continue;
#pragma unroll
        for (int m = 0; m < D / 32; ++m) op(dst + a + ln.lane + 32 * m, sh[g * D + ln.lane + 32 * m]);
    }
    __syncwarp();
}

// Adds the block's per-channel sums of N vectors into dst[n][0, D): the groups by shuffles, the warps by
// shared-memory atomics on `red` ([N · D] shared scratch), then one global atomic per channel and block. value(n, k)
// gives element k of vector n (constant indices once unrolled, so the vectors stay in registers). All N share one
// zeroing and one set of barriers (three, where a call per vector took three each). Every thread of the block calls
// it; nothing is added for a null dst[n] (kernel arguments, the same for the whole block).
template <int LPR, int N, typename Value>
__device__ void block_sums_add(float* red, const Lane<LPR>& ln, float* const (&dst)[N], Value&& value) {
    constexpr int D = 8 * LPR;
    for (int c = threadIdx.x; c < N * D; c += blockDim.x) red[c] = 0.f;
    __syncthreads();
#pragma unroll
    for (int n = 0; n < N; ++n) {
        if (!dst[n]) continue;
#pragma unroll
        for (int k = 0; k < 8; ++k) {
            const float t = group_sum<LPR>(value(n, k));
            if (ln.grp == 0) atomicAdd(red + n * D + ln.c + k, t);
        }
    }
    __syncthreads();
#pragma unroll
    for (int n = 0; n < N; ++n) {
        if (!dst[n]) continue;
        for (int c = threadIdx.x; c < D; c += blockDim.x)
            if (red[n * D + c] != 0.f) atomicAdd(dst[n] + c, red[n * D + c]);
    }
    __syncthreads();  // `red` may be used again
}

// A projection's bias for the block's channels, into shared memory (0 without a bias).
template <int D>
__device__ __forceinline__ void stage_bias(const Problem& p, Projection which, float* out) {
    for (int c = threadIdx.x; c < D; c += blockDim.x) out[c] = p.bias ? p.bias[which * D + c] : 0.f;
}

// The per-row merges of the forward's partials, done at the start of the kernel that needs them rather than by a
// kernel of their own where a row has few partials (at 512 tokens each kernel was a 3–4 µs launch per layer for a
// few kilobytes; with many partials every block repeating the merge costs more than the launch, see
// ponet_mixing_vec.h). Every block of a batch row reads the same partials in the same order, so all of them get the
// same bits; the row's block 0 also writes the result out for the backward. Blocks are 128 threads: 128 / D of them
// share a channel, each taking every (128 / D)-th partial, then the first D threads add the parts in order. Both
// end with __syncthreads().
constexpr int kBlockThreads = 32 * kWarps;

// g, the masked mean of the queries, from the query pass's P partial sums per batch row ([B, P, D]) and the real
// token counts, into `g` (shared [D]) and, from block 0, into g_save[b]. Without `pq` (fwd_qmean made g) it only
// reads g_save[b].
template <int D>
__device__ void query_mean(const float* pq, int64_t P, const float* cnt, int64_t b, float* g, float* g_save) {
    if (!pq) {
        for (int c = threadIdx.x; c < D; c += blockDim.x) g[c] = g_save[b * D + c];
        __syncthreads();
        return;
    }
    constexpr int kParts = kBlockThreads / D;
    __shared__ float part[kParts][D];
    const int c = threadIdx.x % D, q = threadIdx.x / D;
    float acc = 0.f;
#pragma unroll 4
    for (int64_t j = q; j < P; j += kParts) acc += pq[(b * P + j) * D + c];
    part[q][c] = acc;
    __syncthreads();
    if (threadIdx.x < D) {
        float sum = 0.f;
#pragma unroll
        for (int i = 0; i < kParts; ++i) sum += part[i][c];
        sum /= fmaxf(cnt[b], 1.f);
        g[c] = sum;
        if (blockIdx.x == 0) g_save[b * D + c] = sum;
    }
    __syncthreads();
}

// g′ = Σ α K and each head's softmax maximum and sum, from the scores pass's P online-softmax partials per batch
// row, into `gp` (shared [D]), `mh` and `lh` (shared, one per head; the channels of a head carry the same values)
// and, from block 0, g′ into gp_save[b]. Without `pm` (fwd_combine made them) it reads gp_save[b] and the heads'
// values from mh_in and lh_in.
template <int D>
__device__ void softmax_combine(const float* pm, const float* pl, const float* pa, int64_t P, int64_t b, int d,
                                const float* mh_in, const float* lh_in, float* gp, float* mh, float* lh,
                                float* gp_save) {
    if (!pm) {
        const int H = D / d;
        for (int c = threadIdx.x; c < D; c += blockDim.x) {
            gp[c] = gp_save[b * D + c];
            if (c < H) mh[c] = mh_in[b * H + c], lh[c] = lh_in[b * H + c];
        }
        __syncthreads();
        return;
    }
    constexpr int kParts = kBlockThreads / D;
    __shared__ float part_m[kParts][D], part_l[kParts][D], part_a[kParts][D];
    const int c = threadIdx.x % D, q = threadIdx.x / D;
    float M = -INFINITY, Ls = 0.f, A = 0.f;
    for (int64_t j = q; j < P; j += kParts) {
        const int64_t o = (b * P + j) * D + c;
        merge_softmax(M, Ls, A, pm[o], pl[o], pa[o]);
    }
    part_m[q][c] = M, part_l[q][c] = Ls, part_a[q][c] = A;
    __syncthreads();
    if (threadIdx.x < D) {
#pragma unroll
        for (int i = 1; i < kParts; ++i) merge_softmax(M, Ls, A, part_m[i][c], part_l[i][c], part_a[i][c]);
        gp[c] = A / Ls;
        if (c % d == 0) mh[c / d] = M, lh[c / d] = Ls;
        if (blockIdx.x == 0) gp_save[b * D + c] = A / Ls;
    }
    __syncthreads();
}

// ---- forward ----------------------------------------------------------------------------------------------------

template <typename T, int LPR>
__global__ void __launch_bounds__(128, 7) qsum_segmax_kernel(Problem p, int rpw, const T* __restrict__ q,
                                                          const T* __restrict__ s, float* pq, float* cnt,
                                                          float* segmax) {
    wait_for_prior_grids();
    constexpr int G = 32 / LPR, D = 8 * LPR;
    __shared__ float sbq[D], sbs[D];
    stage_bias<D>(p, kProjQ, sbq);
    stage_bias<D>(p, kProjS, sbs);
    __syncthreads();
    const Rows r = warp_rows(p.L, rpw);
    const Lane<LPR> ln;
    const int64_t b = r.b;
    float acc[8], cur[8];
#pragma unroll
    for (int k = 0; k < 8; ++k) acc[k] = 0.f, cur[k] = -INFINITY;
    int n = 0;
    const bool tables = segmax != nullptr;  // without: narrow fixed segments, fuse_kernel takes the maxima
    int64_t run = -1;  // the warp's running segment
    __shared__ __align__(16) float scratch[kWarps][8 * 32];  // a step's rows, [G][D] per warp
    float* sh = scratch[threadIdx.x / 32];
    auto flush = [&]() {
        if (run < 0) return;  // nothing gathered (the same for the whole warp)
#pragma unroll
        for (int k = 0; k < 8; ++k) {
#pragma unroll
            for (int off = LPR; off < 32; off *= 2) cur[k] = fmaxf(cur[k], __shfl_xor_sync(kFull, cur[k], off));
        }
        float mx[LPR / 4];
        lane_major<LPR>(cur, ln.lane, mx);
#pragma unroll
        for (int m = 0; m < LPR / 4; ++m) atomic_max_float(segmax + (b * p.S + run) * D + ln.lane + 32 * m, mx[m]);
#pragma unroll
        for (int k = 0; k < 8; ++k) cur[k] = -INFINITY;
    };
    for (int64_t i0 = r.begin; i0 < r.end; i0 += G) {
        const int64_t i = i0 + ln.grp, t = b * p.L + i;
        const bool valid = i < r.end;
        float qv[8], sv[8];
        bool keep = false;
        int64_t sid = 0;
        if (valid) {
            load8(q + t * p.ld + ln.c, qv);
            keep = p.keep[t] != 0;
            if (tables) load8(s + t * p.ld + ln.c, sv), sid = clamp_seg(p.seg[t], p.S);
        }
        n += __popc(__ballot_sync(kFull, ln.j == 0 && keep));
#pragma unroll
        for (int k = 0; k < 8; ++k)
            if (keep) acc[k] += qv[k] + sbq[ln.c + k];
        if (!tables) continue;
        float sm[8];
#pragma unroll
        for (int k = 0; k < 8; ++k) sm[k] = valid ? (keep ? sv[k] + sbs[ln.c + k] : kSentinel) : -INFINITY;
        const int64_t sid0 = __shfl_sync(kFull, sid, 0);
        if (__all_sync(kFull, !valid || sid == sid0)) {
            if (sid0 != run) flush(), run = sid0;
#pragma unroll
            for (int k = 0; k < 8; ++k) cur[k] = fmaxf(cur[k], sm[k]);
        } else {
            flush();
            run = -1;
            // Through fmaxf as on the running path (and in fwd_qsum_segmax): a NaN does not become a maximum.
#pragma unroll
            for (int k = 0; k < 8; ++k) sm[k] = fmaxf(-INFINITY, sm[k]);
            reinterpret_cast<float4*>(sh + ln.grp * D + ln.c)[0] = make_float4(sm[0], sm[1], sm[2], sm[3]);
            reinterpret_cast<float4*>(sh + ln.grp * D + ln.c)[1] = make_float4(sm[4], sm[5], sm[6], sm[7]);
            rows_apply<LPR>(sh, valid ? (b * p.S + sid) * D : -1, ln, segmax,
                            [](float* a, float v) { atomic_max_float(a, v); });
        }
    }
    flush();
    // One partial per block (the launcher passes the combine kernel P = blocks per row): the warps' sums added in
    // warp order, a fixed order, so the forward gives the same bits every run.
    __shared__ float wsum[kWarps][D];
    const int warp = threadIdx.x / 32;
#pragma unroll
    for (int k = 0; k < 8; ++k) {
        const float v = group_sum<LPR>(acc[k]);
        if (ln.grp == 0) wsum[warp][ln.c + k] = v;  // 0 for a warp without rows
    }
    if (ln.lane == 0 && n > 0) atomicAdd(cnt + b, static_cast<float>(n));
    __syncthreads();
    for (int c = threadIdx.x; c < D; c += blockDim.x) {
        float s = 0.f;
#pragma unroll
        for (int w = 0; w < kWarps; ++w) s += wsum[w][c];
        pq[(b * gridDim.x + blockIdx.x) * D + c] = s;
    }
}

template <typename T, int LPR>
__global__ void __launch_bounds__(128) scores_kernel(Problem p, int rpw, const T* __restrict__ k_in,
                                                     const float* pq, int64_t pq_parts, const float* cnt,
                                                     float* g_save, float* zbuf, float* pm, float* pl,
                                                     float* pa, T* __restrict__ keys) {
    wait_for_prior_grids();
    constexpr int G = 32 / LPR, D = 8 * LPR;
    __shared__ float sbk[D], sg[D];
    stage_bias<D>(p, kProjK, sbk);
    query_mean<D>(pq, pq_parts, cnt, blockIdx.y, sg, g_save);
    const Rows r = warp_rows(p.L, rpw);
    const Lane<LPR> ln;
    const int64_t b = r.b, H = p.H, L = p.L;
    const int d = static_cast<int>(D / H), lanes = d / 8;
    const int h = ln.c / d;
    const bool lead = ln.j % lanes == 0;
    const float inv_sqrt_d = rsqrtf(static_cast<float>(d));
    float g[8], m[8], l[8], a[8];
#pragma unroll
    for (int k = 0; k < 8; ++k) g[k] = sg[ln.c + k], m[k] = -INFINITY, l[k] = 0.f, a[k] = 0.f;
    for (int64_t i0 = r.begin; i0 < r.end; i0 += G) {
        const int64_t i = i0 + ln.grp, t = b * L + i;
        const bool valid = i < r.end;
        float kb[8];
        float bias = 0.f, part = 0.f;
        if (valid) {
            load8(k_in + t * p.ld + ln.c, kb);
            bias = p.keep[t] ? 0.f : kSentinel;
#pragma unroll
            for (int k = 0; k < 8; ++k) kb[k] += sbk[ln.c + k], part += g[k] * kb[k];
            if (keys) store8(keys + t * D + ln.c, kb);
        }
        const float zi = head_sum(part, lanes) * inv_sqrt_d + bias;
        if (!valid) continue;
        if (lead) zbuf[(b * H + h) * L + i] = zi;
#pragma unroll
        for (int k = 0; k < 8; ++k) {
            const float mn = fmaxf(m[k], zi);
            const float scale = expf(m[k] - mn), e = expf(zi - mn);
            a[k] = a[k] * scale + e * kb[k];
            l[k] = l[k] * scale + e;
            m[k] = mn;
        }
    }
    // One partial per block (P = blocks per row for the combine kernel): the groups' online softmaxes merged by
    // shuffles, then the warps' in warp order (the same merge as fwd_combine's, in a fixed order).
    __shared__ float wm[kWarps][D], wl[kWarps][D], wa[kWarps][D];
    const int warp = threadIdx.x / 32;
#pragma unroll
    for (int k = 0; k < 8; ++k) {
#pragma unroll
        for (int off = LPR; off < 32; off *= 2) {
            const float mo = __shfl_xor_sync(kFull, m[k], off), lo = __shfl_xor_sync(kFull, l[k], off),
                        ao = __shfl_xor_sync(kFull, a[k], off);
            merge_softmax(m[k], l[k], a[k], mo, lo, ao);
        }
        if (ln.grp == 0) wm[warp][ln.c + k] = m[k], wl[warp][ln.c + k] = l[k], wa[warp][ln.c + k] = a[k];
    }
    __syncthreads();
    for (int c = threadIdx.x; c < D; c += blockDim.x) {
        float M = -INFINITY, Ls = 0.f, A = 0.f;
#pragma unroll
        for (int w = 0; w < kWarps; ++w) merge_softmax(M, Ls, A, wm[w][c], wl[w][c], wa[w][c]);
        const int64_t at = (b * gridDim.x + blockIdx.x) * D + c;
        pm[at] = M, pl[at] = Ls, pa[at] = A;
    }
}

// With p.seg_width (fixed segments of w rows) each segment's maximum is taken here over its rows' S̃ (the sentinel on
// padding, a NaN passed over, as the segment pass would leave them), and the segment's first row writes it into
// `segmax` for the backward: where w divides the G rows of a step (a segment is then w adjacent groups of one step)
// by shuffles between those groups, else (w up to kLoadRunsMax) each row reads its segment's other rows of S.
template <typename T, int LPR>
__global__ void __launch_bounds__(128, 4) fuse_kernel(Problem p, int rpw, const T* __restrict__ o,
                                                   const T* __restrict__ l, const T* __restrict__ s,
                                                   const float* pm, const float* pl, const float* pa,
                                                   int64_t ps_parts, const float* mh_in, const float* lh_in,
                                                   float* gp_save, float* segmax,
                                                   T* __restrict__ y, int8_t* __restrict__ win, float* alpha,
                                                   uint32_t* __restrict__ ties, T* __restrict__ outs) {
    wait_for_prior_grids();
    constexpr int G = 32 / LPR, D = 8 * LPR, W = D / 32;
    __shared__ float sgp[D], sbo[D], sbs[D], sbl[D], smh[D], slh[D];
    const int64_t b = blockIdx.y, L = p.L;
    const int H = static_cast<int>(p.H), d = D / H;
    stage_bias<D>(p, kProjO, sbo);
    stage_bias<D>(p, kProjS, sbs);
    stage_bias<D>(p, kProjL, sbl);
    softmax_combine<D>(pm, pl, pa, ps_parts, b, d, mh_in, lh_in, sgp, smh, slh, gp_save);
    const Rows r = warp_rows(L, rpw);
    if (r.begin >= r.end) return;  // whole warps only: the shuffles below need every lane
    const Lane<LPR> ln;
    const uint8_t* keep = p.keep + b * L;
    const uint8_t* spec = (p.clsgsepg && p.special) ? p.special + b * L : nullptr;
    // This lane's channels that start a head (α is normalised once per head and row).
    unsigned lead = 0;
#pragma unroll
    for (int k = 0; k < 8; ++k) lead |= ((ln.c + k) % d == 0 ? 1u : 0u) << k;
    // L̃ with its bias, the sentinel where the row is closed to the window; the loads do not wait for the mask.
    auto load_lt = [&](int64_t i, float (&lt)[8]) {
        if (i < 0 || i >= L) {
#pragma unroll
            for (int k = 0; k < 8; ++k) lt[k] = kSentinel;
            return;
        }
        load8(l + (b * L + i) * p.ld + ln.c, lt);
        const bool open = keep[i] && !(spec && spec[i]);
#pragma unroll
        for (int k = 0; k < 8; ++k) lt[k] = open ? lt[k] + sbl[ln.c + k] : kSentinel;
    };
    float llt[8];  // the left neighbour of group 0's row
    load_lt(r.begin - 1, llt);
    // The segment maxima of the lane's last segment: consecutive rows mostly share one, so the lookup (a load
    // that waits on the segment id's) is made once per segment, not once per row.
    float sm[8];
    int64_t sm_sid = -1;
    // Fixed segments: their width; where it divides G (a power of two then), as a shift, and the lanes one segment
    // spans.
    const int w = static_cast<int>(p.seg_width);
    const bool step_runs = w > 0 && G % w == 0;
    const int wsh = step_runs ? __ffs(w) - 1 : 0, span = LPR << wsh;
    for (int64_t i0 = r.begin; i0 < r.end; i0 += G) {
        const int64_t i = i0 + ln.grp, t = b * L + i;
        const bool valid = i < r.end;
        float lt[8], ov[8], sv[8], rlt[8] = {};
        load_lt(i, lt);
        bool real = false, sp = false;
        int64_t sid = 0;
        if (valid) {
            load8(o + t * p.ld + ln.c, ov);
            load8(s + t * p.ld + ln.c, sv);
            real = keep[i] != 0, sp = spec && spec[i];
            if (p.seg_width == 0) sid = clamp_seg(p.seg[t], p.S);
        }
        if (ln.grp == G - 1) load_lt(i + 1, rlt);
        float left[8], right[8];
#pragma unroll
        for (int k = 0; k < 8; ++k) {
            const float up = __shfl_up_sync(kFull, lt[k], LPR), dn = __shfl_down_sync(kFull, lt[k], LPR);
            left[k] = ln.grp == 0 ? llt[k] : up;
            right[k] = ln.grp == G - 1 ? rlt[k] : dn;
            llt[k] = __shfl_sync(kFull, lt[k], (G - 1) * LPR + ln.j);
        }
        if (step_runs) {
            // Every lane takes part (rows past the warp's end add −∞); a segment's groups are aligned in the step.
#pragma unroll
            for (int k = 0; k < 8; ++k) {
                sm[k] = valid ? fmaxf(-INFINITY, real ? sv[k] + sbs[ln.c + k] : kSentinel) : -INFINITY;
                for (int off = LPR; off < span; off *= 2) sm[k] = fmaxf(sm[k], __shfl_xor_sync(kFull, sm[k], off));
            }
            sid = i >> wsh;
        } else if (w > 0 && valid) {
            // The segment's rows in order, this one included (read again: the same values, from the cache).
            sid = run_of(i, w);
#pragma unroll
            for (int k = 0; k < 8; ++k) sm[k] = -INFINITY;
            for (int64_t j = sid * w; j < sid * w + w && j < L; ++j) {
                float sj[8];
                load8(s + (b * L + j) * p.ld + ln.c, sj);
                const bool rj = keep[j] != 0;
#pragma unroll
                for (int k = 0; k < 8; ++k) sm[k] = fmaxf(sm[k], rj ? sj[k] + sbs[ln.c + k] : kSentinel);
            }
        }
        unsigned eq = 0;
        if (valid) {
            float yv[8];
            if (w > 0) {
                if (sid * w == i) store8(segmax + (b * p.S + sid) * D + ln.c, sm);
            } else if (sid != sm_sid) {
                load8(segmax + (b * p.S + sid) * D + ln.c, sm), sm_sid = sid;
            }
            uint64_t codes = 0;
#pragma unroll
            for (int k = 0; k < 8; ++k) {
                ov[k] += sbo[ln.c + k];
                const float sk = sv[k] + sbs[ln.c + k];
                // The same fp32 value as the segment maxima were taken over, so a winner compares equal.
                eq |= ((real ? sk : kSentinel) == sm[k] ? 1u : 0u) << k;
                float best;
                uint64_t w;
                if (i > 0) {
                    best = left[k], w = 0;
                    if (lt[k] > best) best = lt[k], w = 1;
                } else {
                    best = lt[k], w = 1;
                }
                if (i + 1 < L && right[k] > best) best = right[k], w = 2;
                codes |= w << (8 * k);
                const float gpk = sgp[ln.c + k];
                yv[k] = real ? (sp ? gpk * ov[k] : (gpk + sm[k]) * ov[k] + best) : 0.f;
            }
            store8(y + t * D + ln.c, yv);
            *reinterpret_cast<uint64_t*>(win + t * D + ln.c) = codes;
            if (outs) store8(outs + t * D + ln.c, ov);
            if (lead) {
#pragma unroll
                for (int k = 0; k < 8; ++k) {
                    if (!((lead >> k) & 1u)) continue;
                    const int h = (ln.c + k) / d;
                    const int64_t ai = (b * H + h) * L + i;
                    alpha[ai] = expf(alpha[ai] - smh[h]) / slh[h];
                }
            }
        }
        if (ties) {
            // Word c / 32 of the row: 4 lanes' 8 bits each.
            uint32_t bits = eq << (8 * (ln.j % 4));
            bits |= __shfl_xor_sync(kFull, bits, 1);
            bits |= __shfl_xor_sync(kFull, bits, 2);
            if (valid && ln.j % 4 == 0) ties[t * W + ln.j / 4] = bits;
        }
    }
}

// ---- backward ---------------------------------------------------------------------------------------------------

// How the backward's row pass treats SMP's segments (rows_kernel).
enum RunsMode { kTables = 0, kStepRuns = 1, kLoadRuns = 2 };

// With fixed segments (RUNS, p.seg_width = w) a segment's gradient sum and tie count are added up here and dS is
// written with the other row gradients (and its bias gradient); gsum / ties are not used. RUNS = kStepRuns: w divides
// the G rows of a step, and the sums are shuffles between the segment's w adjacent groups (with a segment per token,
// w = 1, the row's own gradient and a count of 1); kLoadRuns: each row reads its segment's rows of dY, O, the masks
// and the tie bits. RUNS = kTables: the segment tables. A template argument, so that one mode's code does not take
// registers from another's instance.
template <typename T, int LPR, int RUNS>
__global__ void __launch_bounds__(128, 4) rows_kernel(Problem p, int rpw, const T* __restrict__ o,
                                                   const T* __restrict__ s, const T* __restrict__ dy,
                                                   const float* gp_in, const float* segmax,
                                                   const int8_t* __restrict__ win,
                                                   const uint32_t* __restrict__ eqbits, T* __restrict__ dout,
                                                   T* __restrict__ dl, T* __restrict__ ds, float* dgp_out,
                                                   float* gsum, float* ties) {
    wait_for_prior_grids();
    constexpr int G = 32 / LPR, D = 8 * LPR, W = D / 32;
    __shared__ float sgp[D];
    const int64_t b = blockIdx.y, L = p.L;
    for (int c = threadIdx.x; c < D; c += blockDim.x) sgp[c] = gp_in[b * D + c];
    __syncthreads();
    const Rows r = warp_rows(L, rpw);
    // A warp without rows skips the loop (no return: the block synchronises at the end).
    const Lane<LPR> ln;
    const uint8_t* keep = p.keep + b * L;
    const uint8_t* spec = (p.clsgsepg && p.special) ? p.special + b * L : nullptr;
    // The gradient reaching L̂ (dY where the row is open to the window, else 0) and the winner codes of row i.
    auto load_g = [&](int64_t i, float (&g)[8], uint64_t& w) {
        if (i < 0 || i >= L) {
#pragma unroll
            for (int k = 0; k < 8; ++k) g[k] = 0.f;
            w = ~uint64_t(0);
            return;
        }
        load8(dy + (b * L + i) * D + ln.c, g);
        w = __ldg(reinterpret_cast<const unsigned long long*>(win + (b * L + i) * D + ln.c));
        const bool open = keep[i] && !(spec && spec[i]);
        if (!open)
#pragma unroll
            for (int k = 0; k < 8; ++k) g[k] = 0.f;
    };
    float dgp[8], gs[8], tc[8], dbo[8], dbl[8], gprev[8];
    uint64_t wprev;
#pragma unroll
    for (int k = 0; k < 8; ++k) dgp[k] = gs[k] = tc[k] = dbo[k] = dbl[k] = 0.f;
    load_g(r.begin - 1, gprev, wprev);
    int64_t run = -1;
    float sm[8];  // the segment maxima of the lane's last segment (looked up once per segment, as in fuse_kernel)
    int64_t sm_sid = -1;
    const int w = static_cast<int>(p.seg_width);
    const int wsh = RUNS == kStepRuns ? __ffs(w) - 1 : 0, span = LPR << wsh;  // as in fuse_kernel
    __shared__ __align__(16) float scratch[kWarps][2][8 * 32];  // a step's segment sums and tie counts, [G][D]
    float* shg = scratch[threadIdx.x / 32][0];
    float* sht = scratch[threadIdx.x / 32][1];
    auto flush = [&]() {
        if (run < 0) return;  // nothing gathered (the same for the whole warp)
#pragma unroll
        for (int k = 0; k < 8; ++k) gs[k] = group_sum<LPR>(gs[k]), tc[k] = group_sum<LPR>(tc[k]);
        float gsm[LPR / 4], tcm[LPR / 4];
        lane_major<LPR>(gs, ln.lane, gsm);
        lane_major<LPR>(tc, ln.lane, tcm);
#pragma unroll
        for (int m = 0; m < LPR / 4; ++m) {
            const int64_t at = (b * p.S + run) * D + ln.lane + 32 * m;
            if (gsm[m] != 0.f) atomicAdd(gsum + at, gsm[m]);
            if (tcm[m] != 0.f) atomicAdd(ties + at, tcm[m]);
        }
#pragma unroll
        for (int k = 0; k < 8; ++k) gs[k] = tc[k] = 0.f;
    };
    for (int64_t i0 = r.begin; i0 < r.end; i0 += G) {
        const int64_t i = i0 + ln.grp, t = b * L + i;
        const bool valid = i < r.end;
        float gy[8], ov[8], gn[8] = {};
        uint64_t wc = ~uint64_t(0), wn = ~uint64_t(0);
        uint32_t tied = 0;
        bool real = false, sp = false;
        int64_t sid = 0;
#pragma unroll
        for (int k = 0; k < 8; ++k) gy[k] = 0.f;
        if (i < L) {
            load8(dy + t * D + ln.c, gy);
            wc = __ldg(reinterpret_cast<const unsigned long long*>(win + t * D + ln.c));
            real = keep[i] != 0, sp = spec && spec[i];
        }
        if (valid) {
            load8(o + t * D + ln.c, ov);
            if (eqbits) tied = (__ldg(eqbits + t * W + ln.j / 4) >> (8 * (ln.j % 4))) & 0xffu;
            sid = RUNS == kStepRuns ? i >> wsh : RUNS == kLoadRuns ? run_of(i, w) : clamp_seg(p.seg[t], p.S);
        }
        if (ln.grp == G - 1) load_g(i + 1, gn, wn);
        // The window's neighbours: dY reaching L̂ and the winner codes of rows i − 1 and i + 1.
        const bool op = real && !sp, rv = valid && real;
        const uint64_t wup = shfl_u64(wc, ln.lane >= LPR ? ln.lane - LPR : ln.lane);
        const uint64_t wdn = shfl_u64(wc, ln.lane + LPR < 32 ? ln.lane + LPR : ln.lane);
        const uint64_t wl = ln.grp == 0 ? wprev : wup, wr = ln.grp == G - 1 ? wn : wdn;
        wprev = shfl_u64(wc, (G - 1) * LPR + ln.j);
        // Segment sums: into the running ones when the step's rows all lie in one segment, else per row (none
        // with fixed segments: below).
        bool uniform = true;
        if constexpr (RUNS == kTables) {
            const int64_t sid0 = __shfl_sync(kFull, sid, 0);
            uniform = __all_sync(kFull, !valid || sid == sid0);
            if (!uniform || sid0 != run) flush(), run = uniform ? sid0 : -1;
        }
        if (valid && sid != sm_sid) load8(segmax + (b * p.S + sid) * D + ln.c, sm), sm_sid = sid;
        if (valid && !eqbits) {
            float sv[8];
            load8(s + t * D + ln.c, sv);
#pragma unroll
            for (int k = 0; k < 8; ++k) tied |= ((real ? sv[k] : kSentinel) == sm[k] ? 1u : 0u) << k;
        }
        // kLoadRuns: the segment's gradient sum and tie count over its rows in order (this one read again), the same
        // bits for every row of the segment; the counts (at most kLoadRunsMax) as 4-bit fields of one word.
        float gseg[8];
        uint32_t tcnt = 0;
        if constexpr (RUNS == kLoadRuns) {
#pragma unroll
            for (int k = 0; k < 8; ++k) gseg[k] = 0.f;
            for (int64_t j = sid * w; valid && j < sid * w + w && j < L; ++j) {
                const int64_t tj = b * L + j;
                float gj[8], oj[8];
                load8(dy + tj * D + ln.c, gj);
                load8(o + tj * D + ln.c, oj);
                const bool rj = keep[j] != 0, gate = rj && !(spec && spec[j]);
                uint32_t tb;
                if (eqbits) {
                    tb = (__ldg(eqbits + tj * W + ln.j / 4) >> (8 * (ln.j % 4))) & 0xffu;
                } else {
                    float sj[8];
                    load8(s + tj * D + ln.c, sj);
                    tb = 0;
#pragma unroll
                    for (int k = 0; k < 8; ++k) tb |= ((rj ? sj[k] : kSentinel) == sm[k] ? 1u : 0u) << k;
                }
#pragma unroll
                for (int k = 0; k < 8; ++k) {
                    if (gate) gseg[k] += gj[k] * oj[k];
                    tcnt += ((tb >> k) & 1u) << (4 * k);
                }
            }
        }
        // Every lane runs this loop (its shuffles fetch the window's neighbours: dY reaching L̂ of rows i ± 1);
        // rows past the warp's end only lend their values.
        float dov[8], dlv[8], dsv[8];
#pragma unroll
        for (int k = 0; k < 8; ++k) {
            const float gm = op ? gy[k] : 0.f;
            const float up = __shfl_up_sync(kFull, gm, LPR), dn = __shfl_down_sync(kFull, gm, LPR);
            const float gl = ln.grp == 0 ? gprev[k] : up, gr = ln.grp == G - 1 ? gn[k] : dn;
            gprev[k] = __shfl_sync(kFull, gm, (G - 1) * LPR + ln.j);
            const float tk = valid && ((tied >> k) & 1u) ? 1.f : 0.f;
            float d_o = 0.f, d_l = 0.f, gsk = 0.f;
            if (rv) {
                const float g = gy[k];
                dgp[k] += g * ov[k];
                d_o = g * (sgp[ln.c + k] + (sp ? 0.f : sm[k]));
                if (!sp) gsk = g * ov[k];
                if (op) {
                    if (i > 0 && code(wl, k) == 2) d_l += gl;
                    if (code(wc, k) == 1) d_l += g;
                    if (i + 1 < L && code(wr, k) == 0) d_l += gr;
                }
            }
            dov[k] = d_o, dlv[k] = d_l;
            dbo[k] += d_o, dbl[k] += d_l;
            if constexpr (RUNS != kTables) {
                // dS of a tied real row: its segment's gsum / ties as qs_kernel takes them from the tables (exactly
                // gsk with one row); gs sums it for the bias gradient.
                float gsum_k, ties_k;
                if constexpr (RUNS == kStepRuns) {
                    gsum_k = gsk, ties_k = tk;
                    for (int off = LPR; off < span; off *= 2) {
                        gsum_k += __shfl_xor_sync(kFull, gsum_k, off);
                        ties_k += __shfl_xor_sync(kFull, ties_k, off);
                    }
                } else {
                    gsum_k = gseg[k], ties_k = static_cast<float>((tcnt >> (4 * k)) & 0xfu);
                }
                dsv[k] = rv && tk != 0.f ? gsum_k / ties_k : 0.f;
                gs[k] += dsv[k];
            } else if (uniform) {
                gs[k] += gsk, tc[k] += tk;
            } else {
                shg[ln.grp * D + ln.c + k] = gsk;
                sht[ln.grp * D + ln.c + k] = tk;
            }
        }
        if (!uniform) {
            const int64_t at = valid ? (b * p.S + sid) * D : -1;
            auto add = [](float* a, float v) {
                if (v != 0.f) atomicAdd(a, v);
            };
            rows_apply<LPR>(shg, at, ln, gsum, add);
            rows_apply<LPR>(sht, at, ln, ties, add);
        }
        if (!valid) continue;
        store8(dout + t * p.ldg + ln.c, dov);
        store8(dl + t * p.ldg + ln.c, dlv);
        if constexpr (RUNS != kTables) store8(ds + t * p.ldg + ln.c, dsv);
    }
    flush();
    __shared__ float red[4 * D];
    float* const dst[4] = {dgp_out + b * D, p.dbias ? p.dbias + kProjO * D : nullptr,
                           p.dbias ? p.dbias + kProjL * D : nullptr,
                           RUNS != kTables && p.dbias ? p.dbias + kProjS * D : nullptr};
    block_sums_add<LPR>(red, ln, dst, [&](int n, int k) {
        return n == 0 ? dgp[k] : n == 1 ? dbo[k] : n == 2 ? dbl[k] : gs[k];
    });
}

template <typename T, int LPR>
__global__ void __launch_bounds__(128) keys_kernel(Problem p, int rpw, const T* __restrict__ k_in, const float* g_in,
                                                   const float* dgp_in, const float* alpha, const float* dalpha,
                                                   const float* C, const float* gp, T* __restrict__ dk,
                                                   float* dg_out) {
    wait_for_prior_grids();
    constexpr int G = 32 / LPR, D = 8 * LPR;
    const Rows r = warp_rows(p.L, rpw);
    // A warp without rows skips the loop (no return: the block synchronises at the end).
    const Lane<LPR> ln;
    const int64_t b = r.b, H = p.H, L = p.L;
    const int d = static_cast<int>(D / H), lanes = d / 8, h = ln.c / d;
    const float inv_sqrt_d = rsqrtf(static_cast<float>(d));
    // C = Σ_i α_i dα_i per head: without the α output's own gradient it is <dg′, g′> over the head's channels,
    // which each block adds up itself (in channel order) instead of a kernel of its own doing it.
    __shared__ float sc[D];
    if (!C && threadIdx.x < H) {
        float v = 0.f;
        for (int c = static_cast<int>(threadIdx.x) * d; c < (static_cast<int>(threadIdx.x) + 1) * d; ++c)
            v += dgp_in[b * D + c] * gp[b * D + c];
        sc[threadIdx.x] = v;
    }
    __syncthreads();
    const float cc = C ? C[b * H + h] : sc[h];
    const float* arow = alpha + (b * H + h) * L;
    const float* darow = dalpha ? dalpha + (b * H + h) * L : nullptr;
    float g[8], dgp[8], dg[8], dbk[8];
#pragma unroll
    for (int k = 0; k < 8; ++k) g[k] = g_in[b * D + ln.c + k], dgp[k] = dgp_in[b * D + ln.c + k], dg[k] = dbk[k] = 0.f;
    for (int64_t i0 = r.begin; i0 < r.end; i0 += G) {
        const int64_t i = i0 + ln.grp, t = b * L + i;
        const bool valid = i < r.end;
        float kb[8];
        float part = 0.f, ab = 0.f, base = 0.f;
        if (valid) {
            load8(k_in + t * D + ln.c, kb);
            ab = arow[i];
            if (darow) base = darow[i];
#pragma unroll
            for (int k = 0; k < 8; ++k) part += dgp[k] * kb[k];
        }
        // The GA weights' own gradient dα (when the caller used them) is each head's base.
        const float zk = head_sum(part, lanes) + base;
        if (!valid) continue;
        const float dz = ab * (zk - cc) * inv_sqrt_d;
        float dkv[8];
#pragma unroll
        for (int k = 0; k < 8; ++k) {
            dkv[k] = ab * dgp[k] + dz * g[k];
            dbk[k] += dkv[k];
            dg[k] += dz * kb[k];
        }
        store8(dk + t * p.ldg + ln.c, dkv);
    }
    __shared__ float red[2 * D];
    float* const dst[2] = {dg_out + b * D, p.dbias ? p.dbias + kProjK * D : nullptr};
    block_sums_add<LPR>(red, ln, dst, [&](int n, int k) { return n == 0 ? dg[k] : dbk[k]; });
}

template <typename T, int LPR>
__global__ void __launch_bounds__(128) qs_kernel(Problem p, int rpw, const T* __restrict__ s, const float* dg,
                                                 const float* cnt, const float* segmax, const float* gsum,
                                                 const float* ties, const uint32_t* __restrict__ eqbits,
                                                 T* __restrict__ dq, T* __restrict__ ds) {
    wait_for_prior_grids();
    constexpr int G = 32 / LPR, D = 8 * LPR, W = D / 32;
    const Rows r = warp_rows(p.L, rpw);
    // A warp without rows skips the loop (no return: the block synchronises at the end).
    const Lane<LPR> ln;
    const int64_t b = r.b;
    const float inv_n = 1.f / fmaxf(cnt[b], 1.f);
    float dq_v[8], dbq[8], dbs[8];
#pragma unroll
    for (int k = 0; k < 8; ++k) dq_v[k] = dg[b * D + ln.c + k] * inv_n, dbq[k] = dbs[k] = 0.f;
    for (int64_t i0 = r.begin; i0 < r.end; i0 += G) {
        const int64_t i = i0 + ln.grp, t = b * p.L + i;
        if (i >= r.end) continue;
        const bool real = p.keep[t] != 0;
        if (p.seg_width > 0) {  // dS came from rows_kernel
            float qv[8];
#pragma unroll
            for (int k = 0; k < 8; ++k) qv[k] = real ? dq_v[k] : 0.f, dbq[k] += qv[k];
            store8(dq + t * p.ldg + ln.c, qv);
            continue;
        }
        const int64_t at = (b * p.S + clamp_seg(p.seg[t], p.S)) * D + ln.c;
        unsigned tied = 0;
        if (eqbits) {
            tied = (__ldg(eqbits + t * W + ln.j / 4) >> (8 * (ln.j % 4))) & 0xffu;
        } else {
            float sv[8], sm[8];
            load8(s + t * D + ln.c, sv);
            load8(segmax + at, sm);
#pragma unroll
            for (int k = 0; k < 8; ++k) tied |= ((real ? sv[k] : kSentinel) == sm[k] ? 1u : 0u) << k;
        }
        float qv[8], sg[8];
#pragma unroll
        for (int k = 0; k < 8; ++k) qv[k] = real ? dq_v[k] : 0.f, sg[k] = 0.f;
        if (real && tied) {
            float gsv[8], tcv[8];
            load8(gsum + at, gsv);
            load8(ties + at, tcv);
#pragma unroll
            for (int k = 0; k < 8; ++k)
                if ((tied >> k) & 1u) sg[k] = gsv[k] / tcv[k];
        }
#pragma unroll
        for (int k = 0; k < 8; ++k) dbq[k] += qv[k], dbs[k] += sg[k];
        store8(dq + t * p.ldg + ln.c, qv);
        store8(ds + t * p.ldg + ln.c, sg);
    }
    __shared__ float red[2 * D];
    float* const dst[2] = {p.dbias ? p.dbias + kProjQ * D : nullptr,
                           p.dbias && p.seg_width == 0 ? p.dbias + kProjS * D : nullptr};
    block_sums_add<LPR>(red, ln, dst, [&](int n, int k) { return n == 0 ? dbq[k] : dbs[k]; });
}

// Calls f(T{}, LPR) for the problem's storage type and lanes per row.
template <typename F>
void with_layout(const Problem& p, int lpr, F&& f) {
    auto with_type = [&](auto tag) {
        switch (lpr) {
            case 4: f(tag, std::integral_constant<int, 4>{}); break;
            case 8: f(tag, std::integral_constant<int, 8>{}); break;
            case 16: f(tag, std::integral_constant<int, 16>{}); break;
            default: break;
        }
    };
    switch (p.dtype) {
        case DType::F32: with_type(float{}); break;
        case DType::BF16: with_type(__nv_bfloat16{}); break;
        case DType::F16: with_type(__half{}); break;
    }
}

dim3 grid_of(const Problem& p, unsigned gx) { return dim3(gx, static_cast<unsigned>(p.B), 1); }

}  // namespace

bool enabled(Kernel k) {
    // PONET_MIX_VECTOR: unset, the kernels that measured faster in this layout (tests/gpu/round33.sh, per-kernel
    // times at 2K: all but qsum, whose lane-per-channel twin keeps more rows in flight where it builds segment
    // tables; the launcher adds qsum where narrow fixed segments leave it only Q); `all` or 1; 0, none; else a
    // comma list of the kernels to run in this layout (qsum, scores, fuse, rows, keys, qs). Read once per process.
    static const unsigned mask = [] {
        const char* v = std::getenv("PONET_MIX_VECTOR");
        if (!v) v = "scores,fuse,rows,keys,qs";
        if (std::string(v) == "all" || std::string(v) == "1") return ~0u;
        unsigned m = 0;
        static const char* names[] = {"qsum", "scores", "fuse", "rows", "keys", "qs"};
        std::string list = std::string(",") + v + ",";
        for (unsigned i = 0; i < 6; ++i)
            if (list.find(std::string(",") + names[i] + ",") != std::string::npos) m |= 1u << i;
        return m;
    }();
    return (mask >> static_cast<unsigned>(k)) & 1u;
}

bool built_in_choice() {
    static const bool unset = std::getenv("PONET_MIX_VECTOR") == nullptr;
    return unset;
}

int vector_lanes(const Problem& p, int rows_per_warp) {
    if (p.D != 32 && p.D != 64 && p.D != 128) return 0;
    const int lpr = static_cast<int>(p.D / 8);
    if (rows_per_warp % (32 / lpr) != 0) return 0;
    const int64_t ld = p.ld ? p.ld : p.D, ldg = p.ldg ? p.ldg : p.D;
    if (ld % 8 != 0 || ldg % 8 != 0) return 0;
    return lpr;
}

bool heads_fit(const Problem& p) {
    if (p.H <= 0 || p.D % p.H != 0) return false;
    const int64_t d = p.D / p.H;
    if (d % 8 != 0) return false;
    const int64_t lanes = d / 8;
    return (lanes & (lanes - 1)) == 0;
}

bool aligned(std::initializer_list<const void*> ptrs) {
    for (const void* q : ptrs)
        if (q && reinterpret_cast<uintptr_t>(q) % 16 != 0) return false;
    return true;
}

void qsum_segmax(const Problem& p, int lpr, int rpw, unsigned gx, const void* q, const void* s, float* pq,
                 float* cnt, float* segmax, cudaStream_t stream) {
    with_layout(p, lpr, [&](auto tag, auto lanes) {
        using T = decltype(tag);
        launch(qsum_segmax_kernel<T, decltype(lanes)::value>, grid_of(p, gx), 32 * kWarps, 0, stream, p, rpw,
               static_cast<const T*>(q), static_cast<const T*>(s), pq, cnt, segmax);
    });
}

void scores(const Problem& p, int lpr, int rpw, unsigned gx, const void* k, const float* pq, int64_t pq_parts,
            const float* cnt, float* g, float* zbuf, float* pm, float* pl, float* pa, void* keys,
            cudaStream_t stream) {
    with_layout(p, lpr, [&](auto tag, auto lanes) {
        using T = decltype(tag);
        launch(scores_kernel<T, decltype(lanes)::value>, grid_of(p, gx), 32 * kWarps, 0, stream, p, rpw,
               static_cast<const T*>(k), pq, pq_parts, cnt, g, zbuf, pm, pl, pa, static_cast<T*>(keys));
    });
}

void fuse(const Problem& p, int lpr, int rpw, unsigned gx, const void* o, const void* l, const void* s,
          const float* pm, const float* pl, const float* pa, int64_t ps_parts, const float* mh, const float* lh,
          float* gp, float* segmax, void* y, int8_t* win, float* alpha, uint32_t* ties, void* outs,
          cudaStream_t stream) {
    with_layout(p, lpr, [&](auto tag, auto lanes) {
        using T = decltype(tag);
        launch(fuse_kernel<T, decltype(lanes)::value>, grid_of(p, gx), 32 * kWarps, 0, stream, p, rpw,
               static_cast<const T*>(o), static_cast<const T*>(l), static_cast<const T*>(s), pm, pl, pa, ps_parts, mh,
               lh, gp, segmax, static_cast<T*>(y), win, alpha, ties, static_cast<T*>(outs));
    });
}

void rows(const Problem& p, int lpr, int rpw, unsigned gx, const void* o, const void* s, const void* dy,
          const float* gp, const float* segmax, const int8_t* win, const uint32_t* eqbits, void* dout, void* dl,
          void* ds, float* dgp, float* gsum, float* ties, cudaStream_t stream) {
    with_layout(p, lpr, [&](auto tag, auto lanes) {
        using T = decltype(tag);
        constexpr int lpr_v = decltype(lanes)::value;
        auto kernel = p.seg_width == 0                 ? rows_kernel<T, lpr_v, kTables>
                      : (32 / lpr_v) % p.seg_width == 0 ? rows_kernel<T, lpr_v, kStepRuns>
                                                        : rows_kernel<T, lpr_v, kLoadRuns>;
        launch(kernel, grid_of(p, gx), 32 * kWarps, 0, stream, p, rpw, static_cast<const T*>(o),
               static_cast<const T*>(s), static_cast<const T*>(dy), gp, segmax, win, eqbits, static_cast<T*>(dout),
               static_cast<T*>(dl), static_cast<T*>(ds), dgp, gsum, ties);
    });
}

void keys(const Problem& p, int lpr, int rpw, unsigned gx, const void* k, const float* g, const float* dgp,
          const float* alpha, const float* dalpha, const float* C, const float* gp, void* dk, float* dg,
          cudaStream_t stream) {
    with_layout(p, lpr, [&](auto tag, auto lanes) {
        using T = decltype(tag);
        launch(keys_kernel<T, decltype(lanes)::value>, grid_of(p, gx), 32 * kWarps, 0, stream, p, rpw,
               static_cast<const T*>(k), g, dgp, alpha, dalpha, C, gp, static_cast<T*>(dk), dg);
    });
}

void qs(const Problem& p, int lpr, int rpw, unsigned gx, const void* s, const float* dg, const float* cnt,
        const float* segmax, const float* gsum, const float* ties, const uint32_t* eqbits, void* dq, void* ds,
        cudaStream_t stream) {
    with_layout(p, lpr, [&](auto tag, auto lanes) {
        using T = decltype(tag);
        launch(qs_kernel<T, decltype(lanes)::value>, grid_of(p, gx), 32 * kWarps, 0, stream, p, rpw,
               static_cast<const T*>(s), dg, cnt, segmax, gsum, ties, eqbits, static_cast<T*>(dq), static_cast<T*>(ds));
    });
}

}  // namespace ponet::cuda_kernels::vec
