// Fused PoNet mixing on CUDA (PONET-SPEC §1.4), forward and backward, fp32/bf16/fp16 storage, fp32 arithmetic.
//
// Work layout shared by the row kernels: a block of 4 warps covers a run of consecutive token rows of one batch row
// b; each warp walks its own rows in order, and lane `t` owns the channels t, t+32, ... (NK of them) in registers.
// Walking rows in order is what makes the sequence-wise parts cheap: the window-3 max keeps the previous, current
// and next row in registers, and the segment max / segment gradient sums flush one atomic per run of equal segment
// ids (sentences are runs) instead of one per token.
//
// Forward passes over the [B, L, D] data: Q and S (query sum, segment maxima), K (scores and an online softmax
// that leaves per-warp partial sums), O and L (window maxima, fusion, α normalisation). Backward: dY, O, S
// (dO, dL, g′'s gradient, segment sums and tie counts), K (dK, the query-mean gradient), S (dQ, dS). With narrow
// fixed segments (Problem::seg_width, vector layout only, see segment_runs; a segment per token is width 1) the
// first forward pass reads Q alone, the fusion pass writes each segment's maximum, and the backward's row pass
// writes dS (the last pass then writes dQ only).
#include "core/kernels/cuda/ponet_mixing_cuda.h"
#include "core/kernels/cuda/launch.cuh"
#include "core/kernels/cuda/ponet_mixing_device.cuh"
#include "core/kernels/cuda/ponet_mixing_vec.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <type_traits>

namespace ponet::cuda_kernels {

namespace {

using namespace mixing;  // NOLINT: the shared helpers of ponet_mixing_device.cuh

// A lane's bias values of one projection (0 without a bias).
template <int NK>
__device__ __forceinline__ void lane_bias(const Problem& p, Projection which, int64_t c0, int64_t ce, int lane,
                                          float (&out)[NK]) {
#pragma unroll
    for (int k = 0; k < NK; ++k) {
        const int64_t c = c0 + lane + 32 * k;
        out[k] = (p.bias && c < ce) ? p.bias[which * p.D + c] : 0.f;
    }
}

// Adds a lane's column sums of one projection's gradient to the bias gradient (when asked for).
template <int NK>
__device__ __forceinline__ void add_dbias(const Problem& p, Projection which, int64_t c0, int64_t ce, int lane,
                                          const float (&v)[NK]) {
    if (!p.dbias) return;
#pragma unroll
    for (int k = 0; k < NK; ++k) {
        const int64_t c = c0 + lane + 32 * k;
        if (c < ce) atomicAdd(p.dbias + which * p.D + c, v[k]);
    }
}

// Rows whose loads a warp issues together before using them: a walk one row at a time waits a full memory latency
// per row; a batch of U rows keeps U rows' loads in flight (U·NK values per tensor in registers).
template <int NK>
__host__ __device__ constexpr int batch_rows() { return NK <= 2 ? 4 : (NK <= 8 ? 2 : 1); }

// Blocks per multiprocessor the row kernels ask the compiler to fit, for up to 64 channels per slice (the LRA
// shapes): the register caps that follow (64 to 80 per thread) hold their state without spilling (checked with
// `nvcc -Xptxas -v`) and let 6–8 blocks share a multiprocessor instead of 5–6, more warps to hide memory latency.
// Wider slices keep more channels per lane and take what they need.
template <int NK, int Blocks>
__host__ __device__ constexpr int min_blocks() { return NK <= 2 ? Blocks : 1; }

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int off = 16; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

// Per-head dot products of one row when the head size is a multiple of 32: then the 32 lanes' channels
// c0 + lane + 32k fall into one head for each k (hk[k]), so a warp sum per k and a sum over the k of one head
// give every lane its head's total, without shared memory.
template <int NK>
__device__ __forceinline__ void head_sums(const float (&part)[NK], const int (&hk)[NK], float (&out)[NK]) {
    float w[NK];
#pragma unroll
    for (int k = 0; k < NK; ++k) w[k] = warp_sum(part[k]);
#pragma unroll
    for (int k = 0; k < NK; ++k) {
        float acc = 0.f;
#pragma unroll
        for (int j = 0; j < NK; ++j) acc += hk[j] == hk[k] ? w[j] : 0.f;
        out[k] = acc;
    }
}

// Per-head totals of one row's per-channel products `part`, for every lane's channels, plus a per-head base
// (base[h * base_stride], or 0 without `base`): warp shuffles when the head size is a multiple of 32 (`shfl`),
// otherwise 32 lanes' atomics on the warp's H shared-memory words `z`.
template <int NK>
__device__ __forceinline__ void row_head_totals(bool shfl, const float (&part)[NK], const int (&hk)[NK], float* z,
                                                int64_t H, int64_t d, int64_t c0, int64_t ce, int lane,
                                                const float* base, int64_t base_stride, float (&out)[NK]) {
    if (shfl) {
        head_sums<NK>(part, hk, out);
        if (base) {
#pragma unroll
            for (int k = 0; k < NK; ++k) out[k] += base[hk[k] * base_stride];
        }
        return;
    }
    for (int64_t h = lane; h < H; h += 32) z[h] = base ? base[h * base_stride] : 0.f;
    __syncwarp();
#pragma unroll
    for (int k = 0; k < NK; ++k) {
        const int64_t c = c0 + lane + 32 * k;
        if (c < ce) atomicAdd(z + c / d, part[k]);
    }
    __syncwarp();
#pragma unroll
    for (int k = 0; k < NK; ++k) {
        const int64_t c = c0 + lane + 32 * k;
        out[k] = c < ce ? z[c / d] : 0.f;
    }
    __syncwarp();
}

__global__ void fill_kernel(float* p, float v, int64_t n) {
    wait_for_prior_grids();
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x)
        p[i] = v;
}

// ---- forward ----------------------------------------------------------------------------------------------------

// Per warp, the sum of its real tokens' queries (GA stage 1, left as partials [B, P, D] that fwd_qmean adds in a
// fixed order, so the forward gives the same bits every run), the real tokens' count, and the segment maxima of
// S̃ (SMP; a maximum does not depend on the order). Without `segmax` (narrow fixed segments: the fusion pass takes
// each maximum from its segment's rows) S is not read.
template <typename T, int NK>
__global__ void __launch_bounds__(128, (min_blocks<NK, 8>()))
    fwd_qsum_segmax(Problem p, int rpw, int cw, const T* __restrict__ q, const T* __restrict__ s, float* pq,
                    float* cnt, float* segmax) {
    wait_for_prior_grids();
    const Rows r = warp_rows(p.L, rpw);
    const int lane = threadIdx.x % 32;
    const int64_t c0 = static_cast<int64_t>(blockIdx.z) * cw, ce = c0 + cw < p.D ? c0 + cw : p.D;
    const int64_t D = p.D;
    float acc[NK], cur[NK], bq[NK], bs[NK];
#pragma unroll
    for (int k = 0; k < NK; ++k) acc[k] = 0.f, cur[k] = -INFINITY;
    lane_bias<NK>(p, kProjQ, c0, ce, lane, bq);
    lane_bias<NK>(p, kProjS, c0, ce, lane, bs);
    int n = 0;
    int64_t cur_seg = -1;
    const bool tables = segmax != nullptr;
    constexpr int U = batch_rows<NK>();
    for (int64_t i0 = r.begin; i0 < r.end; i0 += U) {
        float qv[U][NK], sv[U][NK];
        bool kp[U];
        int64_t sd[U];
#pragma unroll
        for (int u = 0; u < U; ++u) {
            const int64_t i = i0 + u;
            kp[u] = false, sd[u] = 0;
            if (i >= r.end) continue;
            const int64_t t = r.b * p.L + i;
            kp[u] = p.keep[t] != 0;
            const T* qr = q + t * p.ld;
            const T* sr = s + t * p.ld;
            if (tables) sd[u] = clamp_seg(p.seg[t], p.S);
#pragma unroll
            for (int k = 0; k < NK; ++k) {
                const int64_t c = c0 + lane + 32 * k;
                qv[u][k] = c < ce ? to_f(qr[c]) + bq[k] : 0.f;
                sv[u][k] = tables && c < ce ? to_f(sr[c]) + bs[k] : 0.f;
            }
        }
#pragma unroll
        for (int u = 0; u < U; ++u) {
            if (i0 + u >= r.end) break;
            const bool keep = kp[u];
            const int64_t sid = sd[u];
            if (tables && sid != cur_seg) {
                if (cur_seg >= 0) {
#pragma unroll
                    for (int k = 0; k < NK; ++k) {
                        const int64_t c = c0 + lane + 32 * k;
                        if (c < ce) atomic_max_float(segmax + (r.b * p.S + cur_seg) * D + c, cur[k]);
                        cur[k] = -INFINITY;
                    }
                }
                cur_seg = sid;
            }
            n += keep;
#pragma unroll
            for (int k = 0; k < NK; ++k) {
                cur[k] = fmaxf(cur[k], keep ? sv[u][k] : kSentinel);
                if (keep) acc[k] += qv[u][k];
            }
        }
    }
    const int warp = threadIdx.x / 32;
    const int64_t part = (r.b * gridDim.x * int64_t(kWarps) + blockIdx.x * kWarps + warp) * D;
#pragma unroll
    for (int k = 0; k < NK; ++k) {
        const int64_t c = c0 + lane + 32 * k;
        if (c < ce) {
            if (tables && r.begin < r.end) atomic_max_float(segmax + (r.b * p.S + cur_seg) * D + c, cur[k]);
            pq[part + c] = acc[k];  // 0 for a warp without rows
        }
    }
    // Whole numbers: the float sum is exact in any order (below 2^24 tokens per row).
    if (lane == 0 && blockIdx.z == 0 && n > 0) atomicAdd(cnt + r.b, static_cast<float>(n));
}

// g = the masked mean of the queries: the warps' partial sums added in a fixed order (as fwd_combine does).
constexpr int kCombineGroups = 8;

__global__ void __launch_bounds__(32 * kCombineGroups) fwd_qmean(Problem p, int64_t P, const float* pq,
                                                                 const float* cnt, float* g) {
    wait_for_prior_grids();
    __shared__ float part[kCombineGroups][32];
    const int lane = threadIdx.x % 32, grp = threadIdx.x / 32;
    const int64_t b = blockIdx.y, D = p.D, c = blockIdx.x * int64_t(32) + lane;
    float acc = 0.f;
    if (c < D) {
        int64_t j = grp;
        // Four loads in flight per thread, not one dependent load after another.
        for (; j + 3 * kCombineGroups < P; j += 4 * kCombineGroups) {
            const float a0 = pq[(b * P + j) * D + c], a1 = pq[(b * P + j + kCombineGroups) * D + c];
            const float a2 = pq[(b * P + j + 2 * kCombineGroups) * D + c];
            const float a3 = pq[(b * P + j + 3 * kCombineGroups) * D + c];
            acc += ((a0 + a1) + (a2 + a3));
        }
        for (; j < P; j += kCombineGroups) acc += pq[(b * P + j) * D + c];
    }
    part[grp][lane] = acc;
    __syncthreads();
    if (grp != 0 || c >= D) return;
    float sum = 0.f;
    for (int q = 0; q < kCombineGroups; ++q) sum += part[q][lane];
    g[b * D + c] = sum / fmaxf(cnt[b], 1.f);
}

// GA stage 2, first half: scores z (written into the α buffer) and, per warp, an online softmax over its rows:
// running max m, sum l and Σ exp(z − m)·K, left as partials for the combine kernel.
template <typename T, int NK>
__global__ void __launch_bounds__(128) fwd_scores(Problem p, int rpw, int cw, const T* __restrict__ k_in,
                                                  const float* gmean, float* zbuf, float* pm,
                                                  float* pl, float* pa, T* __restrict__ keys) {
    wait_for_prior_grids();
    extern __shared__ float zsm[];  // [kWarps][H]
    const Rows r = warp_rows(p.L, rpw);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t c0 = static_cast<int64_t>(blockIdx.z) * cw, ce = c0 + cw < p.D ? c0 + cw : p.D;
    const int64_t D = p.D, H = p.H, d = D / H;
    const float inv_sqrt_d = rsqrtf(static_cast<float>(d));
    float* z = zsm + warp * H;
    float g[NK], m[NK], l[NK], a[NK], bk[NK];
#pragma unroll
    for (int k = 0; k < NK; ++k) {
        const int64_t c = c0 + lane + 32 * k;
        g[k] = c < ce ? gmean[r.b * D + c] : 0.f;
        m[k] = -INFINITY, l[k] = 0.f, a[k] = 0.f;
    }
    lane_bias<NK>(p, kProjK, c0, ce, lane, bk);
    // Where each lane's channels write their head's score: only a head's first channel writes (64-bit division
    // and remainder are slow on the GPU, so they are worked out once here rather than per row).
    int64_t zrow[NK];
#pragma unroll
    for (int k = 0; k < NK; ++k) {
        const int64_t c = c0 + lane + 32 * k;
        zrow[k] = (c < ce && c % d == 0) ? (r.b * H + c / d) * p.L : -1;
    }
    const bool shfl = d % 32 == 0;
    int hk[NK];
#pragma unroll
    for (int k = 0; k < NK; ++k) hk[k] = static_cast<int>((c0 + 32 * k) / d);
    constexpr int U = batch_rows<NK>();
    for (int64_t i0 = r.begin; i0 < r.end; i0 += U) {
        float kb[U][NK];
        float bias[U];
#pragma unroll
        for (int u = 0; u < U; ++u) {
            const int64_t i = i0 + u;
            bias[u] = 0.f;
            if (i >= r.end) continue;
            const int64_t t = r.b * p.L + i;
            const T* kr = k_in + t * p.ld;
            bias[u] = p.keep[t] ? 0.f : kSentinel;
#pragma unroll
            for (int k = 0; k < NK; ++k) {
                const int64_t c = c0 + lane + 32 * k;
                kb[u][k] = c < ce ? to_f(kr[c]) + bk[k] : 0.f;
                if (keys && c < ce) keys[t * D + c] = from_f<T>(kb[u][k]);
            }
        }
#pragma unroll
        for (int u = 0; u < U; ++u) {
            const int64_t i = i0 + u;
            if (i >= r.end) break;
            float part[NK], zk[NK];
#pragma unroll
            for (int k = 0; k < NK; ++k) part[k] = g[k] * kb[u][k];
            row_head_totals<NK>(shfl, part, hk, z, H, d, c0, ce, lane, nullptr, 0, zk);
#pragma unroll
            for (int k = 0; k < NK; ++k) {
                const int64_t c = c0 + lane + 32 * k;
                if (c < ce) {
                    const float zi = zk[k] * inv_sqrt_d + bias[u];
                    if (zrow[k] >= 0) zbuf[zrow[k] + i] = zi;
                    const float mn = fmaxf(m[k], zi);
                    const float scale = expf(m[k] - mn), e = expf(zi - mn);
                    a[k] = a[k] * scale + e * kb[u][k];
                    l[k] = l[k] * scale + e;
                    m[k] = mn;
                }
            }
        }
    }
    const int64_t P = static_cast<int64_t>(gridDim.x) * kWarps;
    const int64_t part = (r.b * P + blockIdx.x * kWarps + warp) * D;
#pragma unroll
    for (int k = 0; k < NK; ++k) {
        const int64_t c = c0 + lane + 32 * k;
        if (c < ce) pm[part + c] = m[k], pl[part + c] = l[k], pa[part + c] = a[k];
    }
}

// GA stage 2, second half: combine the partials into g′ = Σ α K, the softmax max and sum per head, and g.
// A block takes 32 channels of one batch row; its kCombineGroups warps each merge every kCombineGroups-th partial
// (online, as the scores kernel does), then the first warp merges the groups. (One thread per channel walking all
// partials was a chain of hundreds of dependent loads per thread in 32–64 threads per batch row.)

__global__ void __launch_bounds__(32 * kCombineGroups) fwd_combine(Problem p, int64_t P, const float* pm,
                                                                   const float* pl, const float* pa,
                                                                   float* gp, float* mh, float* lh) {
    wait_for_prior_grids();
    __shared__ float sm_m[kCombineGroups][32], sm_l[kCombineGroups][32], sm_a[kCombineGroups][32];
    const int lane = threadIdx.x % 32, grp = threadIdx.x / 32;
    const int64_t b = blockIdx.y, D = p.D, d = D / p.H;
    const int64_t c = blockIdx.x * int64_t(32) + lane;
    float M = -INFINITY, Ls = 0.f, A = 0.f;
    if (c < D) {
        int64_t j = grp;
        for (; j + kCombineGroups < P; j += 2 * kCombineGroups) {  // two partials' loads in flight
            const int64_t o0 = (b * P + j) * D + c, o1 = o0 + kCombineGroups * D;
            const float m0 = pm[o0], l0 = pl[o0], a0 = pa[o0], m1 = pm[o1], l1 = pl[o1], a1 = pa[o1];
            merge_softmax(M, Ls, A, m0, l0, a0);
            merge_softmax(M, Ls, A, m1, l1, a1);
        }
        for (; j < P; j += kCombineGroups) {
            const int64_t o = (b * P + j) * D + c;
            merge_softmax(M, Ls, A, pm[o], pl[o], pa[o]);
        }
    }
    sm_m[grp][lane] = M, sm_l[grp][lane] = Ls, sm_a[grp][lane] = A;
    __syncthreads();
    if (grp != 0 || c >= D) return;
    for (int q = 1; q < kCombineGroups; ++q) merge_softmax(M, Ls, A, sm_m[q][lane], sm_l[q][lane], sm_a[q][lane]);
    gp[b * D + c] = A / Ls;
    if (c % d == 0) mh[b * p.H + c / d] = M, lh[b * p.H + c / d] = Ls;
}

// Window-3 max of L̃ (leftmost winner on ties, as max_pool1d), the pooling fusion, and α = exp(z − max) / sum.
// Every per-row load (L, O, S, the segment id) is issued one row ahead, so a warp waits on memory once per row
// for the segment maxima (a small table in L2) rather than for each of its inputs in turn.
template <typename T, int NK>
__global__ void __launch_bounds__(128, (min_blocks<NK, 8>()))
    fwd_fuse(Problem p, int rpw, int cw, const T* __restrict__ o, const T* __restrict__ l,
             const T* __restrict__ s, const float* gp_in, const float* segmax, const float* mh,
             const float* lh, T* __restrict__ y, int8_t* __restrict__ win, float* alpha,
             uint32_t* __restrict__ ties, T* __restrict__ outs) {
    wait_for_prior_grids();
    const Rows r = warp_rows(p.L, rpw);
    if (r.begin >= r.end) return;
    const int lane = threadIdx.x % 32;
    const int64_t c0 = static_cast<int64_t>(blockIdx.z) * cw, ce = c0 + cw < p.D ? c0 + cw : p.D;
    const int64_t D = p.D, H = p.H, d = D / H, L = p.L;
    const uint8_t* keep = p.keep + r.b * L;
    const uint8_t* spec = (p.clsgsepg && p.special) ? p.special + r.b * L : nullptr;
    auto open = [&](int64_t j) { return keep[j] && !(spec && spec[j]); };
    float gp[NK], bo[NK], bs[NK], bl[NK];
    lane_bias<NK>(p, kProjO, c0, ce, lane, bo);
    lane_bias<NK>(p, kProjS, c0, ce, lane, bs);
    lane_bias<NK>(p, kProjL, c0, ce, lane, bl);
    // A head's first channel normalises its α (the row offset, max and sum of its head, worked out once).
    int64_t arow[NK];
    float amax[NK], asum[NK];
#pragma unroll
    for (int k = 0; k < NK; ++k) {
        const int64_t c = c0 + lane + 32 * k;
        const bool lead = c < ce && c % d == 0;
        const int64_t h = lead ? c / d : 0;
        arow[k] = lead ? (r.b * H + h) * L : -1;
        amax[k] = lead ? mh[r.b * H + h] : 0.f;
        asum[k] = lead ? lh[r.b * H + h] : 1.f;
        gp[k] = c < ce ? gp_in[r.b * D + c] : 0.f;
    }
    // One row's inputs: L̃ (the sentinel where the row is closed to the window), O and S with their biases, the
    // segment id. The loads do not wait for the mask: it only selects afterwards.
    struct RowIn {
        float lt[NK], ov[NK], sv[NK];
        int64_t sid;
    };
    auto load = [&](int64_t j, RowIn& in) {
        const int64_t t = r.b * L + j;
        const T* lr = l + t * p.ld;
        const T* orow = o + t * p.ld;
        const T* srow = s + t * p.ld;
#pragma unroll
        for (int k = 0; k < NK; ++k) {
            const int64_t c = c0 + lane + 32 * k;
            in.lt[k] = c < ce ? to_f(lr[c]) + bl[k] : kSentinel;
            in.ov[k] = c < ce ? to_f(orow[c]) + bo[k] : 0.f;
            in.sv[k] = c < ce ? to_f(srow[c]) + bs[k] : 0.f;
        }
        in.sid = clamp_seg(p.seg[t], p.S);
        if (!open(j)) {
#pragma unroll
            for (int k = 0; k < NK; ++k) in.lt[k] = kSentinel;
        }
    };
    RowIn prev, cur, next;
    if (r.begin > 0) load(r.begin - 1, prev);
    load(r.begin, cur);
    for (int64_t i = r.begin; i < r.end; ++i) {
        const bool has_left = i > 0, has_right = i + 1 < L;
        if (has_right) load(i + 1, next);
        const int64_t t = r.b * L + i;
        const bool real = keep[i] != 0, sp = spec && spec[i];
        const float* sm = segmax + (r.b * p.S + cur.sid) * D;
        bool eq[NK];
#pragma unroll
        for (int k = 0; k < NK; ++k) {
            const int64_t c = c0 + lane + 32 * k;
            eq[k] = false;
            if (c >= ce) continue;
            const float smc = sm[c];
            // The same fp32 value as the segment maxima were taken over, so a winner compares equal.
            if (ties) eq[k] = (real ? cur.sv[k] : kSentinel) == smc;
            float best;
            int8_t w;
            if (has_left) {
                best = prev.lt[k], w = 0;
                if (cur.lt[k] > best) best = cur.lt[k], w = 1;
            } else {
                best = cur.lt[k], w = 1;
            }
            if (has_right && next.lt[k] > best) best = next.lt[k], w = 2;
            win[t * D + c] = w;
            const float ov = cur.ov[k];
            if (outs) outs[t * D + c] = from_f<T>(ov);
            float out = 0.f;
            if (real) out = sp ? gp[k] * ov : (gp[k] + smc) * ov + best;
            y[t * D + c] = from_f<T>(out);
            if (arow[k] >= 0) {
                const int64_t ai = arow[k] + i;
                alpha[ai] = expf(alpha[ai] - amax[k]) / asum[k];
            }
        }
        if (ties) {
            const int64_t W = (D + 31) / 32;
#pragma unroll
            for (int k = 0; k < NK; ++k) {
                const unsigned bits = __ballot_sync(0xffffffffu, eq[k]);
                const int64_t cb = c0 + 32 * k;
                if (lane == 0 && cb < ce) ties[t * W + cb / 32] = bits;
            }
        }
        prev = cur;
        cur = next;
    }
}

// ---- backward ---------------------------------------------------------------------------------------------------

// dO, dL, the gradient of g′, and per segment the sum of Ŝ's gradient and the number of tied maxima.
template <typename T, int NK>
__global__ void __launch_bounds__(128, (min_blocks<NK, 7>()))
    bwd_rows(Problem p, int rpw, int cw, const T* __restrict__ o, const T* __restrict__ s,
             const T* __restrict__ dy, const float* gp_in, const float* segmax,
             const int8_t* __restrict__ win, const uint32_t* __restrict__ eqbits, T* __restrict__ dout,
             T* __restrict__ dl, float* dgp_out, float* gsum, float* ties) {
    wait_for_prior_grids();
    const Rows r = warp_rows(p.L, rpw);
    if (r.begin >= r.end) return;
    const int lane = threadIdx.x % 32;
    const int64_t c0 = static_cast<int64_t>(blockIdx.z) * cw, ce = c0 + cw < p.D ? c0 + cw : p.D;
    const int64_t D = p.D, L = p.L;
    const uint8_t* keep = p.keep + r.b * L;
    const uint8_t* spec = (p.clsgsepg && p.special) ? p.special + r.b * L : nullptr;
    auto open = [&](int64_t j) { return keep[j] && !(spec && spec[j]); };
    // Sliding window over the gradient reaching L̂ (zero at padding and specials) and the winner codes; the next
    // row's O, tie words and segment id are loaded with them (one row ahead, like the forward's fusion).
    float gprev[NK], gcur[NK], gnext[NK], ocur[NK], onext[NK];
    int8_t wprev[NK], wcur[NK], wnext[NK];
    uint32_t eqcur[NK], eqnext[NK];
    int64_t sidcur = 0, sidnext = 0;
    const int64_t W = (D + 31) / 32;
    auto load = [&](int64_t j, float* gout, int8_t* wout) {
        const bool op = open(j);
        const T* dr = dy + (r.b * L + j) * D;
        const int8_t* wr = win + (r.b * L + j) * D;
#pragma unroll
        for (int k = 0; k < NK; ++k) {
            const int64_t c = c0 + lane + 32 * k;
            const float g = c < ce ? to_f(dr[c]) : 0.f;
            gout[k] = op ? g : 0.f;
            wout[k] = c < ce ? wr[c] : int8_t(-1);
        }
    };
    auto load_row = [&](int64_t j, float* ov, uint32_t* eqw, int64_t& sid) {
        const int64_t t = r.b * L + j;
        const T* orow = o + t * D;
#pragma unroll
        for (int k = 0; k < NK; ++k) {
            const int64_t c = c0 + lane + 32 * k;
            ov[k] = c < ce ? to_f(orow[c]) : 0.f;
            eqw[k] = (eqbits && c0 + 32 * k < ce) ? eqbits[t * W + (c0 + 32 * k) / 32] : 0u;
        }
        sid = clamp_seg(p.seg[t], p.S);
    };
    float gp[NK], dgp[NK], gs[NK], tc[NK], dbo[NK], dbl[NK];
#pragma unroll
    for (int k = 0; k < NK; ++k) {
        const int64_t c = c0 + lane + 32 * k;
        gp[k] = c < ce ? gp_in[r.b * D + c] : 0.f;
        dgp[k] = gs[k] = tc[k] = dbo[k] = dbl[k] = 0.f;
        wprev[k] = -1;
        gprev[k] = 0.f;
    }
    if (r.begin > 0) load(r.begin - 1, gprev, wprev);
    load(r.begin, gcur, wcur);
    load_row(r.begin, ocur, eqcur, sidcur);
    int64_t cur_seg = -1;
    auto flush = [&]() {
#pragma unroll
        for (int k = 0; k < NK; ++k) {
            const int64_t c = c0 + lane + 32 * k;
            if (c < ce) {
                const int64_t at = (r.b * p.S + cur_seg) * D + c;
                if (gs[k] != 0.f) atomicAdd(gsum + at, gs[k]);
                if (tc[k] != 0.f) atomicAdd(ties + at, tc[k]);
            }
            gs[k] = tc[k] = 0.f;
        }
    };
    for (int64_t i = r.begin; i < r.end; ++i) {
        const bool has_right = i + 1 < L;
        if (has_right) load(i + 1, gnext, wnext);
        if (i + 1 < r.end) load_row(i + 1, onext, eqnext, sidnext);
        const int64_t t = r.b * L + i;
        const bool real = keep[i] != 0, sp = spec && spec[i], op = real && !sp;
        const int64_t sid = sidcur;
        if (sid != cur_seg) {
            if (cur_seg >= 0) flush();
            cur_seg = sid;
        }
        const float* sm = segmax + (r.b * p.S + sid) * D;
        const T* srow = s + t * D;
        const T* dyrow = dy + t * D;
#pragma unroll
        for (int k = 0; k < NK; ++k) {
            const int64_t c = c0 + lane + 32 * k;
            if (c >= ce) continue;
            const float m = sm[c];
            const bool tied = eqbits ? ((eqcur[k] >> lane) & 1u) != 0 : (real ? to_f(srow[c]) : kSentinel) == m;
            if (tied) tc[k] += 1.f;
            float d_o = 0.f, d_l = 0.f;
            if (real) {
                const float gy = to_f(dyrow[c]), ov = ocur[k];
                dgp[k] += gy * ov;
                d_o = gy * (gp[k] + (sp ? 0.f : m));
                if (!sp) gs[k] += gy * ov;
                if (op) {
                    if (i > 0 && wprev[k] == 2) d_l += gprev[k];
                    if (wcur[k] == 1) d_l += gy;
                    if (has_right && wnext[k] == 0) d_l += gnext[k];
                }
            }
            dout[t * p.ldg + c] = from_f<T>(d_o);
            dl[t * p.ldg + c] = from_f<T>(d_l);
            dbo[k] += d_o;
            dbl[k] += d_l;
        }
#pragma unroll
        for (int k = 0; k < NK; ++k) {
            gprev[k] = gcur[k], gcur[k] = gnext[k], wprev[k] = wcur[k], wcur[k] = wnext[k];
            ocur[k] = onext[k], eqcur[k] = eqnext[k];
        }
        sidcur = sidnext;
    }
    flush();
#pragma unroll
    for (int k = 0; k < NK; ++k) {
        const int64_t c = c0 + lane + 32 * k;
        if (c < ce) atomicAdd(dgp_out + r.b * D + c, dgp[k]);
    }
    add_dbias<NK>(p, kProjO, c0, ce, lane, dbo);
    add_dbias<NK>(p, kProjL, c0, ce, lane, dbl);
}

// C[b, h] = Σ_i α_i dα_i = <dg′, g′> + Σ_i α_i · (the α output's own gradient).
__global__ void bwd_softmax_dot(Problem p, const float* dgp, const float* gp, const float* alpha, const float* dalpha,
                                float* C) {
    wait_for_prior_grids();
    const int64_t bh = blockIdx.x, b = bh / p.H, h = bh % p.H, d = p.D / p.H;
    float v = 0.f;
    for (int64_t c = threadIdx.x; c < d; c += blockDim.x) v += dgp[b * p.D + h * d + c] * gp[b * p.D + h * d + c];
    if (dalpha)
        for (int64_t i = threadIdx.x; i < p.L; i += blockDim.x) v += alpha[bh * p.L + i] * dalpha[bh * p.L + i];
    __shared__ float red[32];
    for (int off = 16; off > 0; off /= 2) v += __shfl_down_sync(0xffffffffu, v, off);
    if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = v;
    __syncthreads();
    if (threadIdx.x < 32) {
        v = threadIdx.x < blockDim.x / 32 ? red[threadIdx.x] : 0.f;
        for (int off = 16; off > 0; off /= 2) v += __shfl_down_sync(0xffffffffu, v, off);
        if (threadIdx.x == 0) C[bh] = v;
    }
}

// GA backward over K: dα_i = <dg′, K_i> (+ α's own gradient), dz = α (dα − C), dK = α dg′ + dz g / √d,
// and the query mean's gradient Σ dz K / √d.
template <typename T, int NK>
__global__ void __launch_bounds__(128, (min_blocks<NK, 6>()))
    bwd_keys(Problem p, int rpw, int cw, const T* __restrict__ k_in, const float* g_in, const float* dgp_in,
             const float* alpha, const float* dalpha, const float* C, T* __restrict__ dk, float* dg_out) {
    wait_for_prior_grids();
    extern __shared__ float zsm[];
    const Rows r = warp_rows(p.L, rpw);
    if (r.begin >= r.end) return;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t c0 = static_cast<int64_t>(blockIdx.z) * cw, ce = c0 + cw < p.D ? c0 + cw : p.D;
    const int64_t D = p.D, H = p.H, d = D / H, L = p.L;
    const float inv_sqrt_d = rsqrtf(static_cast<float>(d));
    float* z = zsm + warp * H;
    float g[NK], dgp[NK], dg[NK], cc[NK], dbk[NK];
#pragma unroll
    for (int k = 0; k < NK; ++k) {
        const int64_t c = c0 + lane + 32 * k;
        g[k] = c < ce ? g_in[r.b * D + c] : 0.f;
        dgp[k] = c < ce ? dgp_in[r.b * D + c] : 0.f;
        cc[k] = c < ce ? C[r.b * H + c / d] : 0.f;
        dg[k] = dbk[k] = 0.f;
    }
    const bool shfl = d % 32 == 0;
    int hk[NK];
#pragma unroll
    for (int k = 0; k < NK; ++k) hk[k] = static_cast<int>((c0 + 32 * k) / d);
    int64_t arow[NK];  // each lane channel's row of α (its head's), worked out once: 64-bit division is slow
#pragma unroll
    for (int k = 0; k < NK; ++k) {
        const int64_t c = c0 + lane + 32 * k;
        arow[k] = c < ce ? (r.b * H + c / d) * L : 0;
    }
    constexpr int U = batch_rows<NK>();
    for (int64_t i0 = r.begin; i0 < r.end; i0 += U) {
        float kb[U][NK], ab[U][NK];
#pragma unroll
        for (int u = 0; u < U; ++u) {
            const int64_t i = i0 + u;
            if (i >= r.end) continue;
            const int64_t t = r.b * L + i;
            const T* kr = k_in + t * D;
#pragma unroll
            for (int k = 0; k < NK; ++k) {
                const int64_t c = c0 + lane + 32 * k;
                kb[u][k] = c < ce ? to_f(kr[c]) : 0.f;
                ab[u][k] = c < ce ? alpha[arow[k] + i] : 0.f;
            }
        }
#pragma unroll
        for (int u = 0; u < U; ++u) {
            const int64_t i = i0 + u;
            if (i >= r.end) break;
            const int64_t t = r.b * L + i;
            float part[NK], zk[NK];
#pragma unroll
            for (int k = 0; k < NK; ++k) part[k] = dgp[k] * kb[u][k];
            // The GA weights' own gradient dα (when the caller used them) is each head's base.
            row_head_totals<NK>(shfl, part, hk, z, H, d, c0, ce, lane, dalpha ? dalpha + r.b * H * L + i : nullptr,
                                L, zk);
#pragma unroll
            for (int k = 0; k < NK; ++k) {
                const int64_t c = c0 + lane + 32 * k;
                if (c >= ce) continue;
                const float dz = ab[u][k] * (zk[k] - cc[k]) * inv_sqrt_d;
                const float dkv = ab[u][k] * dgp[k] + dz * g[k];
                dk[t * p.ldg + c] = from_f<T>(dkv);
                dbk[k] += dkv;
                dg[k] += dz * kb[u][k];
            }
        }
    }
#pragma unroll
    for (int k = 0; k < NK; ++k) {
        const int64_t c = c0 + lane + 32 * k;
        if (c < ce) atomicAdd(dg_out + r.b * D + c, dg[k]);
    }
    add_dbias<NK>(p, kProjK, c0, ce, lane, dbk);
}

// dQ = the query mean's gradient / count on real tokens; dS = the segment's summed gradient shared by its ties.
// Chunks of U rows (2 for up to 64 channels per slice, else 1): the masks, segment ids and tie words (or S) of the
// chunk first, then its segments' shared gradients (and maxima, without tie words), then the stores.
template <typename T, int NK>
__global__ void __launch_bounds__(128, (min_blocks<NK, 8>()))
    bwd_qs(Problem p, int rpw, int cw, const T* __restrict__ s, const float* dg, const float* cnt,
           const float* segmax, const float* gsum, const float* ties, const uint32_t* __restrict__ eqbits,
           T* __restrict__ dq, T* __restrict__ ds) {
    wait_for_prior_grids();
    const Rows r = warp_rows(p.L, rpw);
    if (r.begin >= r.end) return;
    const int lane = threadIdx.x % 32;
    const int64_t c0 = static_cast<int64_t>(blockIdx.z) * cw;
    const int cn = static_cast<int>((c0 + cw < p.D ? c0 + cw : p.D) - c0);  // channels in this slice
    const int D = static_cast<int>(p.D), ldg = static_cast<int>(p.ldg), W = (D + 31) / 32;
    const int n = static_cast<int>(r.end - r.begin);
    const int64_t row0 = r.b * p.L + r.begin;
    const uint8_t* keep = p.keep + row0;
    const int64_t* seg = p.seg + row0;
    const int64_t xo = row0 * D + c0 + lane, go = row0 * ldg + c0 + lane, sbase = r.b * p.S * D + c0 + lane;
    const uint32_t* eqb = eqbits ? eqbits + row0 * W + c0 / 32 : nullptr;
    const float inv_n = 1.f / fmaxf(cnt[r.b], 1.f);
    float dq_v[NK], dbq[NK], dbs[NK];
#pragma unroll
    for (int k = 0; k < NK; ++k) {
        const int cl = lane + 32 * k;
        dq_v[k] = cl < cn ? dg[r.b * D + c0 + cl] * inv_n : 0.f;
        dbq[k] = dbs[k] = 0.f;
    }
    constexpr int U = NK <= 2 ? 2 : 1;
    for (int i0 = 0; i0 < n; i0 += U) {
        bool real[U], tie_bit[U][NK];
        int64_t at[U];
        float sv[U][NK], sg[U][NK];  // S (without tie words); the segment's gradient share where tied
#pragma unroll
        for (int u = 0; u < U; ++u) {
            const int i = i0 + u;
            real[u] = false, at[u] = sbase;
            if (i >= n) continue;
            real[u] = keep[i] != 0;
            at[u] = sbase + clamp_seg(seg[i], p.S) * D;
#pragma unroll
            for (int k = 0; k < NK; ++k) {
                const bool ok = lane + 32 * k < cn;
                const uint32_t w = (eqb && 32 * k < cn) ? eqb[i * W + k] : 0u;
                tie_bit[u][k] = ((w >> lane) & 1u) != 0;
                sv[u][k] = (!eqb && ok) ? to_f(s[xo + static_cast<int64_t>(i) * D + 32 * k]) : 0.f;
            }
        }
#pragma unroll
        for (int u = 0; u < U; ++u) {
#pragma unroll
            for (int k = 0; k < NK; ++k) {
                sg[u][k] = 0.f;
                if (i0 + u >= n || !real[u] || lane + 32 * k >= cn) continue;
                const bool tied = eqb ? tie_bit[u][k] : sv[u][k] == segmax[at[u] + 32 * k];
                if (tied) sg[u][k] = gsum[at[u] + 32 * k] / ties[at[u] + 32 * k];
            }
        }
#pragma unroll
        for (int u = 0; u < U; ++u) {
            const int i = i0 + u;
            if (i >= n) break;
            const int64_t gt = go + static_cast<int64_t>(i) * ldg;
#pragma unroll
            for (int k = 0; k < NK; ++k) {
                if (lane + 32 * k >= cn) continue;
                const float q = real[u] ? dq_v[k] : 0.f;
                dq[gt + 32 * k] = from_f<T>(q);
                ds[gt + 32 * k] = from_f<T>(sg[u][k]);
                dbq[k] += q;
                dbs[k] += sg[u][k];
            }
        }
    }
    add_dbias<NK>(p, kProjQ, c0, c0 + cn, lane, dbq);
    add_dbias<NK>(p, kProjS, c0, c0 + cn, lane, dbs);
}

// ---- host side --------------------------------------------------------------------------------------------------

// PONET_MIX_ROWS_PER_WARP=N, or 0 where unset (read once per process).
int forced_rows_per_warp() {
    static const int forced = [] {
        const char* v = std::getenv("PONET_MIX_ROWS_PER_WARP");
        const int n = v ? std::atoi(v) : 0;
        return n > 0 && n <= 1024 ? n : 0;
    }();
    return forced;
}

int64_t blocks_per_row(const Problem& p, int rpw) {
    return (p.L + int64_t(kWarps) * rpw - 1) / (int64_t(kWarps) * rpw);
}

// Rows per warp by the problem's size alone: short problems use fewer so that enough warps are in flight (a warp
// walks its rows one after another, each a memory latency). PONET_MIX_ROWS_PER_WARP=N forces N (for measuring; read
// once per process).
int size_rows_per_warp(const Problem& p) {
    if (forced_rows_per_warp() > 0) return forced_rows_per_warp();
    // From sweeps of whole training steps (docs/PERFORMANCE.md, tests/gpu/round19.sh and, after the register caps,
    // round27.sh): 8 rows per warp below 32K rows, 16 below 128K, 32 below 512K, 64 beyond; fewer rows per warp
    // lose more to the per-warp partials and the window's extra rows than they gain in parallelism.
    const int64_t rows = p.B * p.L;
    if (rows >= (int64_t(1) << 19)) return 64;
    if (rows >= (int64_t(1) << 17)) return 32;
    if (rows >= (int64_t(1) << 15)) return 16;
    return 8;
}

// The most blocks a batch row is given more rows per warp to fit in, and the most rows per warp it may take for that.
// PONET_MIX_ROW_BLOCKS=N sets the first (0: never; read once per process), for measuring.
constexpr int64_t kRowBlocks = vec::kMergeParts;
constexpr int kStretchRowsMax = 128;

// Rows per warp: size_rows_per_warp's, or, with narrow fixed segments and the vector layout's GA passes (which then
// merge up to vec::kMergeParts partials per row themselves), more where that brings a row's blocks down to
// kRowBlocks: no separate merge kernels, one wave of blocks. Measured in the Table 2 shape (tests/gpu/round68.sh):
// 2K (32 rows per warp) +3.4 %, 4K (64) +1.9 %, 8K (128) +1.6 % steps/s; 16K (256) unchanged in round67, so not
// taken.
int rows_per_warp(const Problem& p) {
    static const int64_t most_blocks = [] {
        const char* v = std::getenv("PONET_MIX_ROW_BLOCKS");
        return v ? std::max<int64_t>(std::atoi(v), 0) : kRowBlocks;
    }();
    const int rpw = size_rows_per_warp(p);
    if (forced_rows_per_warp() > 0 || most_blocks == 0 || p.seg_width <= 0 || p.seg_width > vec::kLoadRunsMax ||
        blocks_per_row(p, rpw) <= most_blocks || vec::vector_lanes(p, rpw) == 0 || !vec::heads_fit(p))
        return rpw;
    const int64_t per_block = (p.L + most_blocks - 1) / most_blocks;
    const int64_t need = ((per_block + kWarps - 1) / kWarps + 7) / 8 * 8;  // a multiple of every vector step's rows
    return need <= kStretchRowsMax ? static_cast<int>(need) : rpw;
}

int channels_per_lane(int64_t D) {
    const int64_t need = (D + 31) / 32;
    for (int nk : {1, 2, 4, 8, 12, 16, 24, 32})
        if (need <= nk) return nk;
    return -1;
}

struct FwdLayout {
    int64_t P;  // room for partials per batch row (partials_per_row)
    float *pq, *pm, *pl, *pa, *mh, *lh;
};

// The most partials per row any rows per warp of this problem gives (rows_per_warp only ever takes more rows than
// size_rows_per_warp), so that the workspace holds them whatever the launchers pick.
int64_t partials_per_row(const Problem& p) { return blocks_per_row(p, size_rows_per_warp(p)) * kWarps; }

int64_t forward_floats(const Problem& p) {
    return 4 * p.B * partials_per_row(p) * p.D + 2 * p.B * p.H;
}

FwdLayout forward_layout(const Problem& p, float* base) {
    FwdLayout f{};
    f.P = partials_per_row(p);
    f.pq = base;
    f.pm = f.pq + p.B * f.P * p.D;
    f.pl = f.pm + p.B * f.P * p.D;
    f.pa = f.pl + p.B * f.P * p.D;
    f.mh = f.pa + p.B * f.P * p.D;
    f.lh = f.mh + p.B * p.H;
    return f;
}

struct BwdLayout {
    float *dgp, *dg, *C, *gsum, *ties;
};

// The per-row sums (dg', dg, C) first, then the segment tables (which narrow fixed segments do not use), each
// table starting on 16 bytes.
int64_t backward_head_floats(const Problem& p) { return (2 * p.B * p.D + p.B * p.H + 3) / 4 * 4; }

int64_t backward_floats(const Problem& p) { return backward_head_floats(p) + 2 * p.B * p.S * p.D; }

BwdLayout backward_layout(const Problem& p, float* base) {
    BwdLayout w{};
    w.dgp = base;
    w.dg = w.dgp + p.B * p.D;
    w.C = w.dg + p.B * p.D;
    w.gsum = base + backward_head_floats(p);
    w.ties = w.gsum + p.B * p.S * p.D;
    return w;
}

// Channels per block slice (grid z): the whole hidden size up to 256, else the largest multiple of the head size
// up to 256 (GA's per-head dot products must stay inside one slice), so long hidden sizes keep few registers.
int64_t slice_channels(const Problem& p) {
    const int64_t d = p.D / p.H;
    if (p.D <= 256 || d > 256) return p.D;
    return (256 / d) * d;
}

// `lpr`: the vector layout's lanes per row (0: not used); with p.seg_width the fusion pass runs in it (forward()
// makes sure) and writes the segment maxima, so the segment pass gets no table.
template <typename T, int NK>
void launch_forward(const Problem& p, int lpr, const void* q, const void* k, const void* o, const void* s,
                    const void* l, void* y, const Saved& st, const FwdLayout& f, cudaStream_t stream) {
    const int rpw = rows_per_warp(p);
    const int cw = static_cast<int>(slice_channels(p));
    const dim3 grid(static_cast<unsigned>(blocks_per_row(p, rpw)), static_cast<unsigned>(p.B),
                    static_cast<unsigned>((p.D + cw - 1) / cw));
    const size_t smem = sizeof(float) * kWarps * p.H;
    const bool vga = lpr > 0 && vec::heads_fit(p);
    float* table = p.seg_width > 0 ? nullptr : st.segmax;
    using vec::Kernel, vec::enabled;
    // Partials per batch row: the vector kernels leave one per block, the lane-per-channel ones one per warp (f.P is
    // the buffers' room, for the fewest rows per warp).
    int64_t pq_parts = int64_t(grid.x) * kWarps, ps_parts = pq_parts;
    if (lpr > 0 && (enabled(Kernel::Qsum) || (p.seg_width > 0 && vec::built_in_choice()))) {
        vec::qsum_segmax(p, lpr, rpw, grid.x, q, s, f.pq, st.cnt, table, stream);
        pq_parts = grid.x;
    } else {
        launch(fwd_qsum_segmax<T, NK>, grid, 32 * kWarps, 0, stream, p, rpw, cw, static_cast<const T*>(q),
               static_cast<const T*>(s), f.pq, st.cnt, table);
    }
    // With few partials per row the vector scores and fusion passes merge them themselves (g and g′ with them);
    // otherwise fwd_qmean and fwd_combine do, once per row (ponet_mixing_vec.h).
    const dim3 cgrid(static_cast<unsigned>((p.D + 31) / 32), static_cast<unsigned>(p.B));
    const bool vscores = vga && enabled(Kernel::Scores), vfuse = lpr > 0 && enabled(Kernel::Fuse);
    const bool merge_q = vscores && pq_parts <= vec::kMergeParts;
    if (!merge_q) launch(fwd_qmean, cgrid, 32 * kCombineGroups, 0, stream, p, pq_parts, f.pq, st.cnt, st.g);
    if (vscores) {
        vec::scores(p, lpr, rpw, grid.x, k, merge_q ? f.pq : nullptr, pq_parts, st.cnt, st.g, st.alpha, f.pm, f.pl,
                    f.pa, st.keys, stream);
        ps_parts = grid.x;
    } else {
        launch(fwd_scores<T, NK>, grid, 32 * kWarps, smem, stream, p, rpw, cw, static_cast<const T*>(k), st.g, st.alpha,
               f.pm, f.pl, f.pa, static_cast<T*>(st.keys));
    }
    const bool merge_s = vfuse && ps_parts <= vec::kMergeParts;
    if (!merge_s)
        launch(fwd_combine, cgrid, 32 * kCombineGroups, 0, stream, p, ps_parts, f.pm, f.pl, f.pa, st.gp, f.mh, f.lh);
    if (vfuse) {
        vec::fuse(p, lpr, rpw, grid.x, o, l, s, merge_s ? f.pm : nullptr, f.pl, f.pa, ps_parts, f.mh, f.lh, st.gp,
                  st.segmax, y, st.win, st.alpha, st.ties, st.outs, stream);
        return;
    }
    launch(fwd_fuse<T, NK>, grid, 32 * kWarps, 0, stream, p, rpw, cw, static_cast<const T*>(o),
           static_cast<const T*>(l), static_cast<const T*>(s), st.gp, st.segmax, f.mh, f.lh, static_cast<T*>(y), st.win,
           st.alpha, st.ties, static_cast<T*>(st.outs));
}

// `lpr` as in launch_forward; with p.seg_width the rows and dQ/dS passes run in the vector layout (backward()
// makes sure) and the segment tables are not used.
template <typename T, int NK>
void launch_backward(const Problem& p, int lpr, const void* k, const void* o, const void* s, const Saved& st,
                     const void* dy, const float* dalpha, void* dq, void* dk, void* dout, void* ds, void* dl,
                     const BwdLayout& w, cudaStream_t stream) {
    const int rpw = rows_per_warp(p);
    const int cw = static_cast<int>(slice_channels(p));
    const dim3 grid(static_cast<unsigned>(blocks_per_row(p, rpw)), static_cast<unsigned>(p.B),
                    static_cast<unsigned>((p.D + cw - 1) / cw));
    const size_t smem = sizeof(float) * kWarps * p.H;
    const bool vga = lpr > 0 && vec::heads_fit(p);
    using vec::Kernel, vec::enabled;
    if (lpr > 0 && enabled(Kernel::Rows))
        vec::rows(p, lpr, rpw, grid.x, o, s, dy, st.gp, st.segmax, st.win, st.ties, dout, dl, ds, w.dgp, w.gsum,
                  w.ties, stream);
    else
        launch(bwd_rows<T, NK>, grid, 32 * kWarps, 0, stream, p, rpw, cw, static_cast<const T*>(o),
               static_cast<const T*>(s), static_cast<const T*>(dy), st.gp, st.segmax, st.win, st.ties,
               static_cast<T*>(dout), static_cast<T*>(dl), w.dgp, w.gsum, w.ties);
    // The vector key pass adds up C itself where the GA weights have no gradient of their own.
    const bool vkeys = vga && enabled(Kernel::Keys);
    if (!vkeys || dalpha)
        launch(bwd_softmax_dot, static_cast<unsigned>(p.B * p.H), 256, 0, stream, p, w.dgp, st.gp, st.alpha, dalpha,
               w.C);
    if (vkeys)
        vec::keys(p, lpr, rpw, grid.x, k, st.g, w.dgp, st.alpha, dalpha, dalpha ? w.C : nullptr, st.gp, dk, w.dg,
                  stream);
    else
        launch(bwd_keys<T, NK>, grid, 32 * kWarps, smem, stream, p, rpw, cw, static_cast<const T*>(k), st.g, w.dgp,
               st.alpha, dalpha, w.C, static_cast<T*>(dk), w.dg);
    if (lpr > 0 && enabled(Kernel::Qs))
        vec::qs(p, lpr, rpw, grid.x, s, w.dg, st.cnt, st.segmax, w.gsum, w.ties, st.ties, dq, ds, stream);
    else
        launch(bwd_qs<T, NK>, grid, 32 * kWarps, 0, stream, p, rpw, cw, static_cast<const T*>(s), w.dg, st.cnt,
               st.segmax, w.gsum, w.ties, st.ties, static_cast<T*>(dq), static_cast<T*>(ds));
}

template <typename F>
bool dispatch(const Problem& p, F&& f) {
    const int nk = channels_per_lane(slice_channels(p));
    auto with_type = [&](auto tag) {
        using T = decltype(tag);
        switch (nk) {
            case 1: f(T{}, std::integral_constant<int, 1>{}); return true;
            case 2: f(T{}, std::integral_constant<int, 2>{}); return true;
            case 4: f(T{}, std::integral_constant<int, 4>{}); return true;
            case 8: f(T{}, std::integral_constant<int, 8>{}); return true;
            case 12: f(T{}, std::integral_constant<int, 12>{}); return true;
            case 16: f(T{}, std::integral_constant<int, 16>{}); return true;
            case 24: f(T{}, std::integral_constant<int, 24>{}); return true;
            case 32: f(T{}, std::integral_constant<int, 32>{}); return true;
            default: return false;
        }
    };
    switch (p.dtype) {
        case DType::F32: return with_type(float{});
        case DType::BF16: return with_type(__nv_bfloat16{});
        case DType::F16: return with_type(__half{});
    }
    return false;
}

const char* last_error() {
    const cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? nullptr : cudaGetErrorString(e);
}

void fill(float* p, float v, int64_t n, cudaStream_t stream) {
    if (n <= 0) return;
    const int64_t blocks = std::min<int64_t>((n + 255) / 256, 4096);
    launch(fill_kernel, static_cast<unsigned>(blocks), 256, 0, stream, p, v, n);
}

}  // namespace

int64_t tie_words(const Problem& p) {
    const int64_t cw = slice_channels(p);
    if (cw >= p.D || cw % 32 == 0) return (p.D + 31) / 32;
    return 0;
}

size_t forward_workspace_floats(const Problem& p) { return static_cast<size_t>(forward_floats(p)); }

size_t backward_workspace_floats(const Problem& p) { return static_cast<size_t>(backward_floats(p)); }

// Whether fixed segments may skip the segment tables: PONET_MIX_SEGMENT_RUNS=0 turns it off (for measuring the
// two against each other; read once per process), as PONET_MIX_PER_TOKEN=0 did when only a segment per token could
// (tests/gpu/round39.sh).
bool segment_runs_enabled() {
    static const bool on = [] {
        for (const char* name : {"PONET_MIX_SEGMENT_RUNS", "PONET_MIX_PER_TOKEN"}) {
            const char* v = std::getenv(name);
            if (v && std::string(v) == "0") return false;
        }
        return true;
    }();
    return on;
}

// p.seg_width where the vector kernels (lpr lanes per row) can take the fixed segments without tables, else 0:
// the segments cover every row, and their width divides the rows of a step (32 / lpr; the rows a warp walks start
// on a step, so that no segment crosses a step or a warp) or is at most vec::kLoadRunsMax.
int64_t segment_runs(const Problem& p, int lpr) {
    if (p.seg_width <= 0 || lpr <= 0 || !segment_runs_enabled()) return 0;
    const bool narrow = (32 / lpr) % p.seg_width == 0 || p.seg_width <= vec::kLoadRunsMax;
    return narrow && p.S * p.seg_width >= p.L ? p.seg_width : 0;
}

// The row strides made explicit (0 means D).
static Problem with_strides(Problem p) {
    if (p.ld == 0) p.ld = p.D;
    if (p.ldg == 0) p.ldg = p.D;
    return p;
}

const char* forward(const Problem& p_in, const void* q, const void* k, const void* o, const void* s, const void* l,
                    void* y, const Saved& st, float* workspace, cudaStream_t stream) {
    Problem p = with_strides(p_in);
    if (p.D > kMaxHidden || channels_per_lane(slice_channels(p)) < 0)
        return "hidden size too large for the fused kernels";
    // The vector layout (ponet_mixing_vec.h) where the hidden size, strides and pointers allow it; fixed segments
    // are taken as such only where the fusion pass runs in it.
    int lpr = vec::vector_lanes(p, rows_per_warp(p));
    if (!vec::aligned({q, k, o, s, l, y, st.keys, st.outs, st.win, st.segmax, st.alpha})) lpr = 0;
    p.seg_width = vec::enabled(vec::Kernel::Fuse) ? segment_runs(p, lpr) : 0;
    const FwdLayout f = forward_layout(p, workspace);
    cudaMemsetAsync(st.cnt, 0, sizeof(float) * p.B, stream);
    if (p.seg_width == 0) fill(st.segmax, -INFINITY, p.B * p.S * p.D, stream);
    dispatch(p, [&](auto tag, auto nk) {
        launch_forward<decltype(tag), decltype(nk)::value>(p, lpr, q, k, o, s, l, y, st, f, stream);
    });
    return last_error();
}

const char* backward(const Problem& p_in, const void* k, const void* o, const void* s, const Saved& st,
                     const void* dy, const float* dalpha, void* dq, void* dk, void* dout, void* ds, void* dl,
                     float* workspace, cudaStream_t stream) {
    Problem p = with_strides(p_in);
    if (p.D > kMaxHidden || channels_per_lane(slice_channels(p)) < 0)
        return "hidden size too large for the fused kernels";
    const BwdLayout w = backward_layout(p, workspace);
    int lpr = vec::vector_lanes(p, rows_per_warp(p));
    if (!vec::aligned({k, o, s, dy, dq, dk, dout, ds, dl, st.win, st.segmax, w.gsum, w.ties})) lpr = 0;
    using vec::Kernel, vec::enabled;
    p.seg_width = enabled(Kernel::Rows) && enabled(Kernel::Qs) ? segment_runs(p, lpr) : 0;
    // The per-row sums, and the segment tables unless they go unused; the bias gradients the kernels add into.
    const int64_t scratch = p.seg_width > 0 ? backward_head_floats(p) : backward_floats(p);
    cudaMemsetAsync(workspace, 0, sizeof(float) * scratch, stream);
    if (p.dbias) cudaMemsetAsync(p.dbias, 0, sizeof(float) * kProjections * p.D, stream);
    dispatch(p, [&](auto tag, auto nk) {
        launch_backward<decltype(tag), decltype(nk)::value>(p, lpr, k, o, s, st, dy, dalpha, dq, dk, dout, ds, dl,
                                                            w, stream);
    });
    return last_error();
}

}  // namespace ponet::cuda_kernels
