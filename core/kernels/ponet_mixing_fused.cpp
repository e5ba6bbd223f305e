// Fused PoNet mixing: the autograd function, the CPU implementation and the glue to the CUDA kernels.
//
// CPU: a few passes that each stream whole token rows (the layout and the passes are described at "CPU" below).
// CUDA: the kernels in core/kernels/cuda/.
#include "core/kernels/ponet_mixing_fused.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#include "core/util/error.h"
#include "core/util/parallel.h"

#if defined(PONET_WITH_CUDA)
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "core/kernels/cuda/ponet_mixing_cuda.h"
#endif

namespace ponet {

namespace {

constexpr float kSentinel = static_cast<float>(kPoolingSentinel);

// Tensors one call works on; every [B, L, D] tensor contiguous, masks as bytes.
struct Prepared {
    torch::Tensor q, k, o, s, l;
    torch::Tensor keep, special;  // uint8 [B, L]; special undefined without clsgsepg
    torch::Tensor seg;            // int64 [B, L]
    int64_t B = 0, L = 0, D = 0, H = 1, d = 1, S = 1;
    bool clsgsepg = false;
    int64_t seg_width = 0;  // segment id = position / seg_width (PoNetMixingInputs::segment_width; 0: any)
};

struct ForwardState {
    torch::Tensor y, alpha, g, gp, cnt, segmax;
    torch::Tensor win;   // a byte per element: the LMP winner; on the CPU also the tie bit (kTieBit)
    torch::Tensor ties;  // CUDA only: S̃'s ties with its segment maximum as bits, kept instead of S (see cuda header)
    torch::Tensor keys, outs;  // packed CUDA forward only: K and O with their biases, contiguous, for the backward
};

struct Grads {
    torch::Tensor dq, dk, dout, ds, dl;
};

// ---------------------------------------------------------------------------------------------------------------
// CPU
//
// Every pass streams whole [D] rows: the work is cut into blocks of kRowsPerBlock consecutive tokens of one batch
// row, and each thread takes a contiguous range of blocks. (Tasks that each own a slice of channels over a whole
// sequence would read 64 bytes every 3 KB: a new page and a cache miss per row.) What needs a whole sequence — GA's sums and softmax, the segment maxima, the segment gradient sums — is
// gathered as per-block partials and merged in block order, so results do not depend on the thread count.
//
// Forward:  F1 Q (masked sum) and S (segment maxima, per block)   → merge: g, segment maxima
//           F2 K (scores, online softmax, weighted key sums)      → merge: g′, softmax max and sum per head
//           F3 O, L, S → Y and one flags byte per element (LMP winner, tie with the segment maximum), α
// Backward: B1 dY, O, flags → dO, dL (+ g′'s gradient, segment gradient sums and tie counts, per block) → merge
//           B2 K → the GA weights' gradients;  B3 K → dK, dS (+ the query mean's gradient);  B4 → dQ
// S is not needed by the backward (the tie flags stand in for it).

constexpr int64_t kRowsPerBlock = 64;
constexpr int8_t kWinMask = 3;  // flags bits 0-1: the LMP winner (0 left, 1 self, 2 right)
constexpr int8_t kTieBit = 4;   // flags bit 2: S̃ equals its segment's maximum (tied tokens share the gradient)

// Threads only pay off for real sizes; a tiny call (tests, toy models) runs its tasks in order.
template <typename F>
void parallel_ranges_if(const Prepared& p, int64_t n, const F& fn) {
    if (p.B * p.L * p.D < (int64_t(1) << 16))
        fn(int64_t{0}, n);
    else
        parallel_ranges(n, fn);
}

// Row helpers written so that GCC vectorizes them (restrict-qualified, branch-free bodies).
template <typename T>
inline void load_row(const T* __restrict__ src, float* __restrict__ dst, int64_t n) {
    for (int64_t c = 0; c < n; ++c) dst[c] = static_cast<float>(src[c]);
}

template <typename T>
inline void store_row(const float* __restrict__ src, T* __restrict__ dst, int64_t n) {
    for (int64_t c = 0; c < n; ++c) dst[c] = static_cast<T>(src[c]);
}

// bf16 by its bits, the same rounding as c10::BFloat16 (round to nearest even, NaN → 0x7FC0), but vectorizable.
inline void load_row(const c10::BFloat16* __restrict__ src, float* __restrict__ dst, int64_t n) {
    for (int64_t c = 0; c < n; ++c) {
        const uint32_t u = static_cast<uint32_t>(src[c].x) << 16;
        std::memcpy(dst + c, &u, sizeof u);
    }
}

inline void store_row(const float* __restrict__ src, c10::BFloat16* __restrict__ dst, int64_t n) {
    for (int64_t c = 0; c < n; ++c) {
        uint32_t u;
        std::memcpy(&u, src + c, sizeof u);
        const uint16_t rounded = static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
        dst[c].x = src[c] != src[c] ? uint16_t(0x7FC0) : rounded;
    }
}

inline void fill_row(float* __restrict__ dst, float v, int64_t n) {
    for (int64_t c = 0; c < n; ++c) dst[c] = v;
}

template <typename T>
inline void store_zero_row(T* __restrict__ dst, int64_t n) {
    for (int64_t c = 0; c < n; ++c) dst[c] = T(0.0f);
}

// A row as floats: fp32 rows are read in place, other dtypes are converted into `buf`.
template <typename T>
inline const float* as_float(const T* src, float* buf, int64_t n) {
    if constexpr (std::is_same_v<T, float>) {
        (void)buf;
        (void)n;
        return src;
    } else {
        load_row(src, buf, n);
        return buf;
    }
}

// Where a row's results go: straight into an fp32 output, else into `buf` (then store_out converts).
template <typename T>
inline float* out_row(T* dst, float* buf) {
    if constexpr (std::is_same_v<T, float>) {
        (void)buf;
        return dst;
    } else {
        return buf;
    }
}

template <typename T>
inline void store_out(const float* buf, T* dst, int64_t n) {
    if constexpr (!std::is_same_v<T, float>) store_row(buf, dst, n);
}

// Dot product with eight independent partial sums (a plain `+=` chain neither vectorizes nor pipelines).
inline float dot(const float* __restrict__ a, const float* __restrict__ b, int64_t n) {
    float p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t c = 0;
    for (; c + 8 <= n; c += 8)
        for (int j = 0; j < 8; ++j) p[j] += a[c + j] * b[c + j];
    float s = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
    for (; c < n; ++c) s += a[c] * b[c];
    return s;
}

// Float scratch rows of one thread.
struct Scratch {
    std::vector<float> buf;
    int64_t n = 0;
    Scratch(int64_t n_, int rows) : buf(static_cast<size_t>(n_ * rows)), n(n_) {}
    float* row(int i) { return buf.data() + i * n; }
};

// The row blocks and, per block, the segments its rows touch ("slots"): a block's partial segment results live in
// its slots, so the partials take (touched segments per block) rows, not S rows per block.
struct Blocks {
    int64_t per_row = 1;              // blocks per batch row
    std::vector<int64_t> slot_of;     // [B·L] the slot of each token's segment in the token's block
    std::vector<int64_t> slot_seg;    // segment id of each slot
    std::vector<int64_t> first_slot;  // [B·per_row + 1] each block's first slot

    int64_t count() const { return static_cast<int64_t>(first_slot.size()) - 1; }
    int64_t slots() const { return static_cast<int64_t>(slot_seg.size()); }
    // The slots of batch row b's blocks: [first, last).
    int64_t row_first(int64_t b) const { return first_slot[static_cast<size_t>(b * per_row)]; }
    int64_t row_last(int64_t b) const { return first_slot[static_cast<size_t>((b + 1) * per_row)]; }
};

// One pass over the ids (also the range check the reference does by scanning).
Blocks make_blocks(const Prepared& p) {
    Blocks bl;
    const int64_t B = p.B, L = p.L, S = p.S;
    bl.per_row = (L + kRowsPerBlock - 1) / kRowsPerBlock;
    bl.slot_of.resize(static_cast<size_t>(B * L));
    bl.first_slot.resize(static_cast<size_t>(B * bl.per_row + 1));
    std::vector<int64_t> stamp(static_cast<size_t>(S), -1), local(static_cast<size_t>(S));
    const int64_t* seg = p.seg.data_ptr<int64_t>();
    for (int64_t blk = 0; blk < B * bl.per_row; ++blk) {
        const int64_t b = blk / bl.per_row, i0 = (blk % bl.per_row) * kRowsPerBlock;
        const int64_t i1 = std::min(L, i0 + kRowsPerBlock);
        bl.first_slot[static_cast<size_t>(blk)] = bl.slots();
        for (int64_t i = i0; i < i1; ++i) {
            const int64_t id = seg[b * L + i];
            if (id < 0 || id >= S)
                throw InvalidInput("segment id " + std::to_string(id) + " outside [0, " + std::to_string(S) +
                                   ") in batch row " + std::to_string(b));
            if (stamp[static_cast<size_t>(id)] != blk) {
                stamp[static_cast<size_t>(id)] = blk;
                local[static_cast<size_t>(id)] = bl.slots();
                bl.slot_seg.push_back(id);
            }
            bl.slot_of[static_cast<size_t>(b * L + i)] = local[static_cast<size_t>(id)];
        }
    }
    bl.first_slot.back() = bl.slots();
    return bl;
}

// The merges touch (blocks + segments + slots) rows of D floats; below a few million elements starting the threads
// costs more than the merge itself.
template <typename F>
void parallel_merge(const Prepared& p, const Blocks& bl, int64_t n, const F& fn) {
    const int64_t work = (bl.count() + p.B * p.S + bl.slots()) * p.D;
    if (work < (int64_t(1) << 22))
        fn(int64_t{0}, n);
    else
        parallel_ranges(n, fn);
}

// Merge tasks: one per (batch row, channel chunk); the merged tables are small, so narrow chunks cost little.
constexpr int64_t kMergeChunk = 64;


// The per-row loops of the fusion passes, as functions of plain values and restrict pointers: inside the pass
// lambdas, D is read through the closure and an int8_t store may alias it, which keeps GCC from vectorizing.
// Values are loaded up front and selects are written so that they vectorize (a select between loads GCC cannot
// prove safe to read, or nested integer ternaries, stays scalar and branchy).

// Forward, a real token: LMP (window 3, leftmost winner on ties), the fusion, and the flags byte.
inline void fuse_row(const float* __restrict__ vl, const float* __restrict__ vs, const float* __restrict__ vr,
                     const float* __restrict__ s, const float* __restrict__ m, const float* __restrict__ gpb,
                     const float* __restrict__ o, float* __restrict__ y, int8_t* __restrict__ fl, float mscale,
                     int64_t n) {
    for (int64_t c = 0; c < n; ++c) {
        const float left = vl[c], self = vs[c], right = vr[c], mc = m[c];
        const bool self_wins = self > left;
        const float best0 = self_wins ? self : left;
        const bool right_wins = right > best0;
        const float best = right_wins ? right : best0;
        const int w = (int(right_wins) << 1) | (int(self_wins) & (int(right_wins) ^ 1));
        fl[c] = static_cast<int8_t>(w | (int(s[c] == mc) << 2));
        y[c] = (gpb[c] + mscale * mc) * o[c] + mscale * best;
    }
}

// Forward, padding: S̃ is the sentinel, which may tie with (and then share) its segment's maximum.
inline void pad_flags_row(const float* __restrict__ m, int8_t* __restrict__ fl, int64_t n) {
    for (int64_t c = 0; c < n; ++c) fl[c] = static_cast<int8_t>(int(m[c] == kSentinel) << 2);
}

inline void count_ties_row(const int8_t* __restrict__ fs, float* __restrict__ tc, int64_t n) {
    for (int64_t c = 0; c < n; ++c) tc[c] += static_cast<float>((fs[c] >> 2) & 1);
}

// Backward, a real token: dO, dL (the gradients of the windows this token won), g′'s gradient, the segment's
// gradient sum and tie count.
inline void unfuse_row(const int8_t* __restrict__ fl, const int8_t* __restrict__ fs, const int8_t* __restrict__ fr,
                       const float* __restrict__ gl, const float* __restrict__ gy, const float* __restrict__ gr,
                       const float* __restrict__ o, const float* __restrict__ gpb, const float* __restrict__ m,
                       float* __restrict__ dgp, float* __restrict__ gs, float* __restrict__ tc,
                       float* __restrict__ out_o, float* __restrict__ out_l, float mscale, int64_t n) {
    for (int64_t c = 0; c < n; ++c) {
        const float g_left = gl[c], g_self = gy[c], g_right = gr[c];
        const int f = fs[c];
        const float prod = g_self * o[c];
        dgp[c] += prod;
        gs[c] += mscale * prod;
        tc[c] += static_cast<float>((f >> 2) & 1);
        out_o[c] = g_self * (gpb[c] + mscale * m[c]);
        const float lsum = ((fl[c] & kWinMask) == 2 ? g_left : 0.0f) + ((f & kWinMask) == 1 ? g_self : 0.0f) +
                           ((fr[c] & kWinMask) == 0 ? g_right : 0.0f);
        out_l[c] = mscale * lsum;
    }
}

// Backward, dS of a real token: tied maxima share their segment's summed gradient.
inline void share_row(const int8_t* __restrict__ fs, const float* __restrict__ gs, const float* __restrict__ tc,
                      float* __restrict__ out, int64_t n) {
    for (int64_t c = 0; c < n; ++c) {
        // The share masked by bits (a float select on a byte flag does not vectorize).
        const float share = gs[c] / tc[c];
        uint32_t bits;
        std::memcpy(&bits, &share, sizeof bits);
        bits &= 0u - static_cast<uint32_t>((fs[c] >> 2) & 1);
        std::memcpy(out + c, &bits, sizeof bits);
    }
}

template <typename T>
void cpu_forward_typed(const Prepared& p, const Blocks& bl, ForwardState& st) {
    const int64_t B = p.B, L = p.L, D = p.D, H = p.H, d = p.d, S = p.S;
    const int64_t nblk = bl.per_row, nb = bl.count();
    const T* Q = p.q.data_ptr<T>();
    const T* K = p.k.data_ptr<T>();
    const T* O = p.o.data_ptr<T>();
    const T* Sv = p.s.data_ptr<T>();
    const T* Lv = p.l.data_ptr<T>();
    const uint8_t* keep = p.keep.data_ptr<uint8_t>();
    const uint8_t* spec = p.clsgsepg ? p.special.data_ptr<uint8_t>() : nullptr;
    const int64_t* seg = p.seg.data_ptr<int64_t>();
    T* Y = st.y.data_ptr<T>();
    float* alpha = st.alpha.data_ptr<float>();
    float* gq = st.g.data_ptr<float>();
    float* gp = st.gp.data_ptr<float>();
    float* cnt = st.cnt.data_ptr<float>();
    float* segmax = st.segmax.data_ptr<float>();
    int8_t* flags = st.win.data_ptr<int8_t>();
    const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(d));
    constexpr float kInf = std::numeric_limits<float>::infinity();
    auto block_rows = [&](int64_t blk, int64_t& b, int64_t& i0, int64_t& i1) {
        b = blk / nblk;
        i0 = (blk % nblk) * kRowsPerBlock;
        i1 = std::min(L, i0 + kRowsPerBlock);
    };

    // F1: per block, the sum of the real queries and their count, and S̃'s maxima per touched segment.
    std::vector<float> part_q(static_cast<size_t>(nb * D)), part_n(static_cast<size_t>(nb));
    std::vector<float> part_max(static_cast<size_t>(bl.slots() * D));
    parallel_ranges_if(p, nb, [&](int64_t begin, int64_t end) {
        Scratch sc(D, 1);
        for (int64_t blk = begin; blk < end; ++blk) {
            int64_t b, i0, i1;
            block_rows(blk, b, i0, i1);
            float* __restrict__ acc = part_q.data() + blk * D;
            fill_row(acc, 0.0f, D);
            const int64_t s0 = bl.first_slot[static_cast<size_t>(blk)], s1 = bl.first_slot[static_cast<size_t>(blk + 1)];
            fill_row(part_max.data() + s0 * D, -kInf, (s1 - s0) * D);
            float n = 0;
            for (int64_t i = i0; i < i1; ++i) {
                const int64_t r = b * L + i;
                float* __restrict__ m = part_max.data() + bl.slot_of[static_cast<size_t>(r)] * D;
                if (!keep[r]) {
                    for (int64_t c = 0; c < D; ++c) m[c] = std::max(m[c], kSentinel);
                    continue;
                }
                n += 1;
                const float* __restrict__ q = as_float(Q + r * D, sc.row(0), D);
                for (int64_t c = 0; c < D; ++c) acc[c] += q[c];
                const float* __restrict__ s = as_float(Sv + r * D, sc.row(0), D);
                for (int64_t c = 0; c < D; ++c) m[c] = std::max(m[c], s[c]);
            }
            part_n[static_cast<size_t>(blk)] = n;
        }
    });

    // Merge: the query mean g and the segment maxima table [S, D] of every batch row.
    const int64_t cw = std::min(D, kMergeChunk), chunks = (D + cw - 1) / cw;
    parallel_merge(p, bl, B * chunks, [&](int64_t begin, int64_t end) {
        for (int64_t task = begin; task < end; ++task) {
            const int64_t b = task / chunks, c0 = (task % chunks) * cw, w = std::min(cw, D - c0);
            float n = 0;
            for (int64_t k = 0; k < nblk; ++k) n += part_n[static_cast<size_t>(b * nblk + k)];
            if (c0 == 0) cnt[b] = n;
            float* __restrict__ g = gq + b * D + c0;
            fill_row(g, 0.0f, w);
            for (int64_t k = 0; k < nblk; ++k) {
                const float* __restrict__ src = part_q.data() + (b * nblk + k) * D + c0;
                for (int64_t c = 0; c < w; ++c) g[c] += src[c];
            }
            const float denom = std::max(n, 1.0f);
            for (int64_t c = 0; c < w; ++c) g[c] /= denom;
            float* tab = segmax + b * S * D + c0;
            for (int64_t s = 0; s < S; ++s) fill_row(tab + s * D, -kInf, w);
            for (int64_t slot = bl.row_first(b); slot < bl.row_last(b); ++slot) {
                float* __restrict__ dst = tab + bl.slot_seg[static_cast<size_t>(slot)] * D;
                const float* __restrict__ src = part_max.data() + slot * D + c0;
                for (int64_t c = 0; c < w; ++c) dst[c] = std::max(dst[c], src[c]);
            }
        }
    });

    // F2: scores into α (unnormalised), and per block and head an online softmax: the running maximum, the sum of
    // exp(z − max) and the exp-weighted key sum.
    std::vector<float> part_zmax(static_cast<size_t>(nb * H)), part_sum(static_cast<size_t>(nb * H));
    std::vector<float> part_k(static_cast<size_t>(nb * D));
    parallel_ranges_if(p, nb, [&](int64_t begin, int64_t end) {
        Scratch sc(D, 1);
        for (int64_t blk = begin; blk < end; ++blk) {
            int64_t b, i0, i1;
            block_rows(blk, b, i0, i1);
            float* zmax = part_zmax.data() + blk * H;
            float* sum = part_sum.data() + blk * H;
            float* acc = part_k.data() + blk * D;
            fill_row(zmax, -kInf, H);
            fill_row(sum, 0.0f, H);
            fill_row(acc, 0.0f, D);
            const float* g = gq + b * D;
            for (int64_t i = i0; i < i1; ++i) {
                const int64_t r = b * L + i;
                const float* k = as_float(K + r * D, sc.row(0), D);
                const float bias = keep[r] ? 0.0f : kSentinel;
                for (int64_t h = 0; h < H; ++h) {
                    const float* __restrict__ kh = k + h * d;
                    float* __restrict__ ah = acc + h * d;
                    const float z = dot(g + h * d, kh, d) * inv_sqrt_d + bias;
                    alpha[(b * H + h) * L + i] = z;
                    if (z > zmax[h]) {  // rare after the first rows
                        const float scale = std::exp(zmax[h] - z);
                        sum[h] *= scale;
                        for (int64_t c = 0; c < d; ++c) ah[c] *= scale;
                        zmax[h] = z;
                    }
                    const float e = std::exp(z - zmax[h]);
                    sum[h] += e;
                    for (int64_t c = 0; c < d; ++c) ah[c] += e * kh[c];
                }
            }
        }
    });

    // Merge (small: blocks × heads): g′ and, per head, the softmax's maximum and 1 / sum for α.
    std::vector<float> zmax_all(static_cast<size_t>(B * H)), inv_sum_all(static_cast<size_t>(B * H));
    {
        std::vector<float> scale(static_cast<size_t>(nblk));
        for (int64_t b = 0; b < B; ++b)
            for (int64_t h = 0; h < H; ++h) {
                float zmax = -kInf;
                for (int64_t k = 0; k < nblk; ++k) zmax = std::max(zmax, part_zmax[static_cast<size_t>((b * nblk + k) * H + h)]);
                float sum = 0;
                for (int64_t k = 0; k < nblk; ++k) {
                    const size_t ix = static_cast<size_t>((b * nblk + k) * H + h);
                    scale[static_cast<size_t>(k)] = std::exp(part_zmax[ix] - zmax);
                    sum += part_sum[ix] * scale[static_cast<size_t>(k)];
                }
                const float inv_sum = 1.0f / sum;
                zmax_all[static_cast<size_t>(b * H + h)] = zmax;
                inv_sum_all[static_cast<size_t>(b * H + h)] = inv_sum;
                float* __restrict__ out = gp + b * D + h * d;
                fill_row(out, 0.0f, d);
                for (int64_t k = 0; k < nblk; ++k) {
                    const float* __restrict__ src = part_k.data() + (b * nblk + k) * D + h * d;
                    const float sk = scale[static_cast<size_t>(k)];
                    for (int64_t c = 0; c < d; ++c) out[c] += sk * src[c];
                }
                for (int64_t c = 0; c < d; ++c) out[c] *= inv_sum;
            }
    }

    // F3: α normalised; LMP (window 3, leftmost winner on ties) and the fusion; the flags for the backward.
    parallel_ranges_if(p, nb, [&](int64_t begin, int64_t end) {
        // Rows: 0-2 the LMP window (row j in j mod 3), 3 sentinel row, 4 -inf row, 5 o, 6 s, 7 y.
        Scratch sc(D, 8);
        fill_row(sc.row(3), kSentinel, D);
        fill_row(sc.row(4), -kInf, D);
        const float* sent_row = sc.row(3);
        const float* ninf_row = sc.row(4);
        for (int64_t blk = begin; blk < end; ++blk) {
            int64_t b, i0, i1;
            block_rows(blk, b, i0, i1);
            for (int64_t h = 0; h < H; ++h) {
                float* __restrict__ a = alpha + (b * H + h) * L;
                const float zmax = zmax_all[static_cast<size_t>(b * H + h)];
                const float inv_sum = inv_sum_all[static_cast<size_t>(b * H + h)];
                for (int64_t i = i0; i < i1; ++i) a[i] = std::exp(a[i] - zmax) * inv_sum;
            }
            const int64_t row0 = b * L;
            const uint8_t* kb = keep + row0;
            const uint8_t* pb = spec ? spec + row0 : nullptr;
            auto l_tilde = [&](int64_t j) -> const float* {
                if (j < 0 || j >= L) return ninf_row;
                if (!kb[j] || (pb && pb[j])) return sent_row;
                return as_float(Lv + (row0 + j) * D, sc.row(static_cast<int>((j + 3) % 3)), D);
            };
            const float* __restrict__ gpb = gp + b * D;
            const float* lprev = l_tilde(i0 - 1);
            const float* lcur = l_tilde(i0);
            for (int64_t i = i0; i < i1; ++i) {
                const float* lnext = l_tilde(i + 1);
                const int64_t r = row0 + i;
                const float* __restrict__ m = segmax + (b * S + seg[r]) * D;
                int8_t* __restrict__ fl = flags + r * D;
                if (!kb[i]) {
                    // Padding: Y = 0; S̃ is the sentinel, which may tie with (and then shares) its segment's maximum.
                    pad_flags_row(m, fl, D);
                    store_zero_row(Y + r * D, D);
                } else {
                    const float* __restrict__ vl = lprev;
                    const float* __restrict__ vs = lcur;
                    const float* __restrict__ vr = lnext;
                    const float* __restrict__ o = as_float(O + r * D, sc.row(5), D);
                    const float* __restrict__ s = as_float(Sv + r * D, sc.row(6), D);
                    float* __restrict__ y = out_row(Y + r * D, sc.row(7));
                    const float mscale = pb && pb[i] ? 0.0f : 1.0f;  // specials: Ŝ = L̂ = 0
                    fuse_row(vl, vs, vr, s, m, gpb, o, y, fl, mscale, D);
                    store_out(y, Y + r * D, D);
                }
                lprev = lcur;
                lcur = lnext;
            }
        }
    });
}

template <typename T>
void cpu_backward_typed(const Prepared& p, const Blocks& bl, const ForwardState& st, const torch::Tensor& dy,
                        const torch::Tensor& dalpha, Grads& gr) {
    const int64_t B = p.B, L = p.L, D = p.D, H = p.H, d = p.d, S = p.S;
    const int64_t nblk = bl.per_row, nb = bl.count();
    const T* K = p.k.data_ptr<T>();
    const T* O = p.o.data_ptr<T>();
    const uint8_t* keep = p.keep.data_ptr<uint8_t>();
    const uint8_t* spec = p.clsgsepg ? p.special.data_ptr<uint8_t>() : nullptr;
    const int64_t* seg = p.seg.data_ptr<int64_t>();
    const T* dY = dy.data_ptr<T>();
    const float* dA = dalpha.defined() ? dalpha.data_ptr<float>() : nullptr;
    const float* alpha = st.alpha.data_ptr<float>();
    const float* gq = st.g.data_ptr<float>();
    const float* gp = st.gp.data_ptr<float>();
    const float* cnt = st.cnt.data_ptr<float>();
    const float* segmax = st.segmax.data_ptr<float>();
    const int8_t* flags = st.win.data_ptr<int8_t>();
    T* dQ = gr.dq.data_ptr<T>();
    T* dK = gr.dk.data_ptr<T>();
    T* dO = gr.dout.data_ptr<T>();
    T* dS = gr.ds.data_ptr<T>();
    T* dL = gr.dl.data_ptr<T>();
    const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(d));
    auto block_rows = [&](int64_t blk, int64_t& b, int64_t& i0, int64_t& i1) {
        b = blk / nblk;
        i0 = (blk % nblk) * kRowsPerBlock;
        i1 = std::min(L, i0 + kRowsPerBlock);
    };

    // B1: dO, dL; per block g′'s gradient Σ dY ⊙ O, and per touched segment the gradient reaching Ŝ and the count
    // of tokens tied with the maximum.
    std::vector<float> part_dgp(static_cast<size_t>(nb * D));
    std::vector<float> part_gsum(static_cast<size_t>(bl.slots() * D)), part_ties(static_cast<size_t>(bl.slots() * D));
    std::vector<int8_t> no_flags(static_cast<size_t>(D), kWinMask);  // outside the sequence: never a winner
    parallel_ranges_if(p, nb, [&](int64_t begin, int64_t end) {
        // Rows: 0-2 the gradient reaching L̂ (row j in j mod 3), 3 zero row, 4 o, 5 dy of a special, 6 dO, 7 dL.
        Scratch sc(D, 8);
        fill_row(sc.row(3), 0.0f, D);
        const float* zero_row = sc.row(3);
        for (int64_t blk = begin; blk < end; ++blk) {
            int64_t b, i0, i1;
            block_rows(blk, b, i0, i1);
            const int64_t row0 = b * L;
            const uint8_t* kb = keep + row0;
            const uint8_t* pb = spec ? spec + row0 : nullptr;
            const float* __restrict__ gpb = gp + b * D;
            float* __restrict__ dgp = part_dgp.data() + blk * D;
            fill_row(dgp, 0.0f, D);
            const int64_t s0 = bl.first_slot[static_cast<size_t>(blk)], s1 = bl.first_slot[static_cast<size_t>(blk + 1)];
            fill_row(part_gsum.data() + s0 * D, 0.0f, (s1 - s0) * D);
            fill_row(part_ties.data() + s0 * D, 0.0f, (s1 - s0) * D);
            auto open = [&](int64_t j) { return kb[j] && !(pb && pb[j]); };
            // The gradient reaching L̂[j]: dY at open rows, zero at padding, specials and outside the sequence.
            auto l_grad = [&](int64_t j) -> const float* {
                if (j < 0 || j >= L || !open(j)) return zero_row;
                return as_float(dY + (row0 + j) * D, sc.row(static_cast<int>((j + 3) % 3)), D);
            };
            const float* gprev = l_grad(i0 - 1);
            const float* gcur = l_grad(i0);
            for (int64_t i = i0; i < i1; ++i) {
                const float* gnext = l_grad(i + 1);
                const int64_t r = row0 + i;
                const int8_t* __restrict__ fs = flags + r * D;
                const int64_t slot = bl.slot_of[static_cast<size_t>(r)];
                float* __restrict__ gs = part_gsum.data() + slot * D;
                float* __restrict__ tc = part_ties.data() + slot * D;
                if (!kb[i]) {
                    count_ties_row(fs, tc, D);
                    store_zero_row(dO + r * D, D);
                    store_zero_row(dL + r * D, D);
                } else {
                    const bool sp = pb && pb[i];
                    const float mscale = sp ? 0.0f : 1.0f;  // specials: no Ŝ or L̂ gradient
                    const float* __restrict__ gy = sp ? as_float(dY + r * D, sc.row(5), D) : gcur;
                    const float* __restrict__ o = as_float(O + r * D, sc.row(4), D);
                    const float* __restrict__ m = segmax + (b * S + seg[r]) * D;
                    const int8_t* __restrict__ fl = i > 0 ? flags + (r - 1) * D : no_flags.data();
                    const int8_t* __restrict__ fr = i + 1 < L ? flags + (r + 1) * D : no_flags.data();
                    const float* __restrict__ gl = gprev;
                    const float* __restrict__ gr_ = gnext;
                    float* __restrict__ out_o = out_row(dO + r * D, sc.row(6));
                    float* __restrict__ out_l = out_row(dL + r * D, sc.row(7));
                    unfuse_row(fl, fs, fr, gl, gy, gr_, o, gpb, m, dgp, gs, tc, out_o, out_l, mscale, D);
                    store_out(out_o, dO + r * D, D);
                    store_out(out_l, dL + r * D, D);
                }
                gprev = gcur;
                gcur = gnext;
            }
        }
    });

    // Merge: g′'s gradient per batch row, and per touched segment its summed gradient and tie count ([S, D] tables
    // whose untouched rows are neither written nor read, so they are left uninitialised).
    std::vector<float> dgp_all(static_cast<size_t>(B * D));
    std::unique_ptr<float[]> seg_gsum(new float[static_cast<size_t>(B * S * D)]);
    std::unique_ptr<float[]> seg_ties(new float[static_cast<size_t>(B * S * D)]);
    const int64_t cw = std::min(D, kMergeChunk), chunks = (D + cw - 1) / cw;
    parallel_merge(p, bl, B * chunks, [&](int64_t begin, int64_t end) {
        for (int64_t task = begin; task < end; ++task) {
            const int64_t b = task / chunks, c0 = (task % chunks) * cw, w = std::min(cw, D - c0);
            float* __restrict__ dgp = dgp_all.data() + b * D + c0;
            fill_row(dgp, 0.0f, w);
            for (int64_t k = 0; k < nblk; ++k) {
                const float* __restrict__ src = part_dgp.data() + (b * nblk + k) * D + c0;
                for (int64_t c = 0; c < w; ++c) dgp[c] += src[c];
            }
            const int64_t first = bl.row_first(b), last = bl.row_last(b);
            for (int64_t slot = first; slot < last; ++slot) {
                const int64_t at = (b * S + bl.slot_seg[static_cast<size_t>(slot)]) * D + c0;
                fill_row(seg_gsum.get() + at, 0.0f, w);
                fill_row(seg_ties.get() + at, 0.0f, w);
            }
            for (int64_t slot = first; slot < last; ++slot) {
                const int64_t at = (b * S + bl.slot_seg[static_cast<size_t>(slot)]) * D + c0;
                float* __restrict__ gs = seg_gsum.get() + at;
                float* __restrict__ tc = seg_ties.get() + at;
                const float* __restrict__ src_g = part_gsum.data() + slot * D + c0;
                const float* __restrict__ src_t = part_ties.data() + slot * D + c0;
                for (int64_t c = 0; c < w; ++c) {
                    gs[c] += src_g[c];
                    tc[c] += src_t[c];
                }
            }
        }
    });

    // B2: the GA weights' gradient dα_i = <dg′, K_i> (+ the α output's own gradient), per block Σ α dα per head.
    std::vector<float> da_all(static_cast<size_t>(B * H * L)), part_csum(static_cast<size_t>(nb * H));
    parallel_ranges_if(p, nb, [&](int64_t begin, int64_t end) {
        Scratch sc(D, 1);
        for (int64_t blk = begin; blk < end; ++blk) {
            int64_t b, i0, i1;
            block_rows(blk, b, i0, i1);
            float* csum = part_csum.data() + blk * H;
            fill_row(csum, 0.0f, H);
            const float* dgp = dgp_all.data() + b * D;
            for (int64_t i = i0; i < i1; ++i) {
                const float* k = as_float(K + (b * L + i) * D, sc.row(0), D);
                for (int64_t h = 0; h < H; ++h) {
                    const int64_t ai = (b * H + h) * L + i;
                    const float v = dot(dgp + h * d, k + h * d, d) + (dA ? dA[ai] : 0.0f);
                    da_all[static_cast<size_t>(ai)] = v;
                    csum[h] += alpha[ai] * v;
                }
            }
        }
    });
    std::vector<float> csum_all(static_cast<size_t>(B * H), 0.0f);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t k = 0; k < nblk; ++k)
            for (int64_t h = 0; h < H; ++h)
                csum_all[static_cast<size_t>(b * H + h)] += part_csum[static_cast<size_t>((b * nblk + k) * H + h)];

    // B3: dz = α (dα − Σ α dα) / √d; dK = α dg′ + dz g, the query mean's gradient Σ dz K (per block); and dS:
    // tied maxima share their segment's summed gradient (as scatter_reduce "amax" does), padding gets none.
    std::vector<float> part_dg(static_cast<size_t>(nb * D));
    parallel_ranges_if(p, nb, [&](int64_t begin, int64_t end) {
        // Rows: 0 k, 1 dK, 2 dS.
        Scratch sc(D, 3);
        for (int64_t blk = begin; blk < end; ++blk) {
            int64_t b, i0, i1;
            block_rows(blk, b, i0, i1);
            float* __restrict__ dg = part_dg.data() + blk * D;
            fill_row(dg, 0.0f, D);
            const float* __restrict__ g = gq + b * D;
            const float* __restrict__ dgp = dgp_all.data() + b * D;
            for (int64_t i = i0; i < i1; ++i) {
                const int64_t r = b * L + i;
                const float* __restrict__ k = as_float(K + r * D, sc.row(0), D);
                float* __restrict__ out_k = out_row(dK + r * D, sc.row(1));
                for (int64_t h = 0; h < H; ++h) {
                    const int64_t ai = (b * H + h) * L + i;
                    const float a = alpha[ai];
                    const float dz = a * (da_all[static_cast<size_t>(ai)] - csum_all[static_cast<size_t>(b * H + h)]) *
                                     inv_sqrt_d;
                    for (int64_t c = h * d; c < (h + 1) * d; ++c) {
                        out_k[c] = a * dgp[c] + dz * g[c];
                        dg[c] += dz * k[c];
                    }
                }
                store_out(out_k, dK + r * D, D);
                if (!keep[r]) {
                    store_zero_row(dS + r * D, D);
                    continue;
                }
                const int64_t at = (b * S + seg[r]) * D;
                const float* __restrict__ gs = seg_gsum.get() + at;
                const float* __restrict__ tc = seg_ties.get() + at;
                const int8_t* __restrict__ fs = flags + r * D;
                float* __restrict__ out_s = out_row(dS + r * D, sc.row(2));
                share_row(fs, gs, tc, out_s, D);
                store_out(out_s, dS + r * D, D);
            }
        }
    });

    // B4: dQ = the query mean's gradient / n at the real tokens, 0 at padding.
    std::vector<float> dq_all(static_cast<size_t>(B * D), 0.0f);
    for (int64_t b = 0; b < B; ++b) {
        float* __restrict__ out = dq_all.data() + b * D;
        for (int64_t k = 0; k < nblk; ++k) {
            const float* __restrict__ src = part_dg.data() + (b * nblk + k) * D;
            for (int64_t c = 0; c < D; ++c) out[c] += src[c];
        }
        const float inv_n = 1.0f / std::max(cnt[b], 1.0f);
        for (int64_t c = 0; c < D; ++c) out[c] *= inv_n;
    }
    std::vector<T> dq_rows(static_cast<size_t>(B * D));
    for (int64_t b = 0; b < B; ++b) store_row(dq_all.data() + b * D, dq_rows.data() + b * D, D);
    parallel_ranges_if(p, nb, [&](int64_t begin, int64_t end) {
        for (int64_t blk = begin; blk < end; ++blk) {
            int64_t b, i0, i1;
            block_rows(blk, b, i0, i1);
            const T* src = dq_rows.data() + b * D;
            for (int64_t i = i0; i < i1; ++i) {
                const int64_t r = b * L + i;
                if (keep[r])
                    std::memcpy(dQ + r * D, src, static_cast<size_t>(D) * sizeof(T));
                else
                    store_zero_row(dQ + r * D, D);
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------------------------
// Device-independent driver

// The caller's bound when given, else the ids are scanned (as the reference path does).
int64_t segment_capacity(const PoNetMixingInputs& in) {
    return in.num_segments > 0 ? in.num_segments : scan_segment_ids(in.segment_ids);
}

Prepared prepare(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& o, const torch::Tensor& s,
                 const torch::Tensor& l, const torch::Tensor& keep, const torch::Tensor& special,
                 const torch::Tensor& seg, int64_t heads, bool clsgsepg, int64_t n_seg, int64_t seg_width) {
    Prepared p;
    p.q = q.contiguous();
    p.k = k.contiguous();
    p.o = o.contiguous();
    p.s = s.contiguous();
    p.l = l.contiguous();
    // A bool mask is read as its bytes (0/1) without a conversion pass; other dtypes are converted.
    auto bytes = [](const torch::Tensor& m) {
        return m.scalar_type() == torch::kBool ? m.contiguous().view(torch::kUInt8) : m.to(torch::kUInt8).contiguous();
    };
    p.keep = bytes(keep);
    p.clsgsepg = clsgsepg;
    if (clsgsepg) p.special = bytes(special);
    p.seg = seg.contiguous();
    p.B = q.size(0);
    p.L = q.size(1);
    p.D = q.size(2);
    p.H = heads;
    p.d = p.D / heads;
    p.S = n_seg;
    p.seg_width = seg_width;  // the CUDA kernels take it only for narrow segments (segment_runs)
    return p;
}

ForwardState allocate_forward(const Prepared& p) {
    auto f32 = p.q.options().dtype(torch::kFloat);
    ForwardState st;
    st.y = torch::empty({p.B, p.L, p.D}, p.o.options());
    st.alpha = torch::empty({p.B, p.H, p.L}, f32);
    st.g = torch::empty({p.B, p.D}, f32);
    st.gp = torch::empty({p.B, p.D}, f32);
    st.cnt = torch::empty({p.B}, f32);
    st.segmax = torch::empty({p.B, p.S, p.D}, f32);
    st.win = torch::empty({p.B, p.L, p.D}, p.q.options().dtype(torch::kChar));
    return st;
}

#if defined(PONET_WITH_CUDA)
cuda_kernels::Problem cuda_problem(const Prepared& p) {
    cuda_kernels::Problem pr;
    pr.B = p.B;
    pr.L = p.L;
    pr.D = p.D;
    pr.H = p.H;
    pr.S = p.S;
    switch (p.q.scalar_type()) {
        case torch::kBFloat16: pr.dtype = cuda_kernels::DType::BF16; break;
        case torch::kHalf: pr.dtype = cuda_kernels::DType::F16; break;
        default: pr.dtype = cuda_kernels::DType::F32; break;
    }
    pr.clsgsepg = p.clsgsepg;
    pr.seg_width = p.seg_width;
    pr.keep = p.keep.data_ptr<uint8_t>();
    pr.special = p.clsgsepg ? p.special.data_ptr<uint8_t>() : nullptr;
    pr.seg = p.seg.data_ptr<int64_t>();
    return pr;
}

cuda_kernels::Saved cuda_saved(const ForwardState& st) {
    cuda_kernels::Saved sv;
    sv.alpha = st.alpha.data_ptr<float>();
    sv.g = st.g.data_ptr<float>();
    sv.gp = st.gp.data_ptr<float>();
    sv.cnt = st.cnt.data_ptr<float>();
    sv.segmax = st.segmax.data_ptr<float>();
    sv.win = st.win.data_ptr<int8_t>();
    sv.ties = st.ties.defined() ? reinterpret_cast<uint32_t*>(st.ties.data_ptr<int32_t>()) : nullptr;
    return sv;
}

void check_cuda(const char* err, const char* what) {
    if (err) throw Error(std::string("fused PoNet mixing (") + what + ") failed on the GPU: " + err);
}
#endif

ForwardState run_forward(const Prepared& p) {
    ForwardState st = allocate_forward(p);
    if (p.B * p.L == 0) {
        st.y.zero_();
        st.alpha.zero_();
        st.g.zero_();
        st.gp.zero_();
        st.cnt.zero_();
        st.segmax.fill_(-std::numeric_limits<float>::infinity());
        st.win.zero_();
        return st;
    }
    if (p.q.is_cuda()) {
#if defined(PONET_WITH_CUDA)
        const c10::cuda::CUDAGuard guard(p.q.device());
        const auto pr = cuda_problem(p);
        if (const int64_t words = cuda_kernels::tie_words(pr); words > 0)
            st.ties = torch::empty({p.B, p.L, words}, p.q.options().dtype(torch::kInt));
        auto work = torch::empty({static_cast<int64_t>(cuda_kernels::forward_workspace_floats(pr))},
                                 p.q.options().dtype(torch::kFloat));
        check_cuda(cuda_kernels::forward(pr, p.q.data_ptr(), p.k.data_ptr(), p.o.data_ptr(), p.s.data_ptr(),
                                         p.l.data_ptr(), st.y.data_ptr(), cuda_saved(st), work.data_ptr<float>(),
                                         c10::cuda::getCurrentCUDAStream().stream()),
                   "forward");
        return st;
#else
        throw InvalidInput("this build has no fused CUDA kernels");
#endif
    }
    switch (p.q.scalar_type()) {
        case torch::kFloat: cpu_forward_typed<float>(p, make_blocks(p), st); break;
        case torch::kBFloat16: cpu_forward_typed<c10::BFloat16>(p, make_blocks(p), st); break;
        case torch::kHalf: cpu_forward_typed<c10::Half>(p, make_blocks(p), st); break;
        default: throw InvalidInput("fused PoNet mixing takes fp32, bf16 or fp16 inputs");
    }
    return st;
}

Grads run_backward(const Prepared& p, const ForwardState& st, const torch::Tensor& dy_in,
                   const torch::Tensor& dalpha_in) {
    Grads gr;
    gr.dq = torch::empty_like(p.q);
    gr.dk = torch::empty_like(p.k);
    gr.dout = torch::empty_like(p.o);
    gr.ds = torch::empty_like(p.s);
    gr.dl = torch::empty_like(p.l);
    const torch::Tensor dy = dy_in.defined() ? dy_in.to(p.o.scalar_type()).contiguous() : torch::zeros_like(p.o);
    const torch::Tensor dalpha = dalpha_in.defined() ? dalpha_in.to(torch::kFloat).contiguous() : torch::Tensor();
    if (p.B * p.L == 0) {
        for (auto* t : {&gr.dq, &gr.dk, &gr.dout, &gr.ds, &gr.dl}) t->zero_();
        return gr;
    }
    if (p.q.is_cuda()) {
#if defined(PONET_WITH_CUDA)
        const c10::cuda::CUDAGuard guard(p.q.device());
        const auto pr = cuda_problem(p);
        auto work = torch::empty({static_cast<int64_t>(cuda_kernels::backward_workspace_floats(pr))},
                                 p.q.options().dtype(torch::kFloat));
        check_cuda(cuda_kernels::backward(pr, p.k.data_ptr(), p.o.data_ptr(),
                                          st.ties.defined() ? nullptr : p.s.data_ptr(), cuda_saved(st),
                                          dy.data_ptr(), dalpha.defined() ? dalpha.data_ptr<float>() : nullptr,
                                          gr.dq.data_ptr(), gr.dk.data_ptr(), gr.dout.data_ptr(), gr.ds.data_ptr(),
                                          gr.dl.data_ptr(), work.data_ptr<float>(),
                                          c10::cuda::getCurrentCUDAStream().stream()),
                   "backward");
        return gr;
#else
        throw InvalidInput("this build has no fused CUDA kernels");
#endif
    }
    switch (p.q.scalar_type()) {
        case torch::kFloat: cpu_backward_typed<float>(p, make_blocks(p), st, dy, dalpha, gr); break;
        case torch::kBFloat16: cpu_backward_typed<c10::BFloat16>(p, make_blocks(p), st, dy, dalpha, gr); break;
        case torch::kHalf: cpu_backward_typed<c10::Half>(p, make_blocks(p), st, dy, dalpha, gr); break;
        default: throw InvalidInput("fused PoNet mixing takes fp32, bf16 or fp16 inputs");
    }
    return gr;
}

// Packed projections ([B, L, 5·D], column blocks q, k, o, s, l, without their biases).
constexpr int64_t kPacked = 5;

#if defined(PONET_WITH_CUDA)
// The address of column block i of a packed [B, L, 5·D] tensor.
void* block_ptr(const torch::Tensor& packed, int64_t i, int64_t D) {
    return static_cast<char*>(packed.data_ptr()) + i * D * static_cast<int64_t>(packed.element_size());
}

// `for_backward`: also write K and O (with their biases) for the backward; without it (inference) they are not made.
ForwardState run_forward_packed_cuda(const Prepared& p, const torch::Tensor& packed, const torch::Tensor& bias,
                                     bool for_backward) {
    ForwardState st = allocate_forward(p);
    const c10::cuda::CUDAGuard guard(packed.device());
    auto pr = cuda_problem(p);
    pr.ld = kPacked * p.D;
    pr.bias = bias.numel() > 0 ? bias.data_ptr<float>() : nullptr;
    st.ties = torch::empty({p.B, p.L, cuda_kernels::tie_words(pr)}, packed.options().dtype(torch::kInt));
    auto sv = cuda_saved(st);
    if (for_backward) {
        st.keys = torch::empty({p.B, p.L, p.D}, packed.options());
        st.outs = torch::empty({p.B, p.L, p.D}, packed.options());
        sv.keys = st.keys.data_ptr();
        sv.outs = st.outs.data_ptr();
    }
    auto work = torch::empty({static_cast<int64_t>(cuda_kernels::forward_workspace_floats(pr))},
                             packed.options().dtype(torch::kFloat));
    check_cuda(cuda_kernels::forward(pr, block_ptr(packed, 0, p.D), block_ptr(packed, 1, p.D),
                                     block_ptr(packed, 2, p.D), block_ptr(packed, 3, p.D), block_ptr(packed, 4, p.D),
                                     st.y.data_ptr(), sv, work.data_ptr<float>(),
                                     c10::cuda::getCurrentCUDAStream().stream()),
               "packed forward");
    return st;
}

// dP [B, L, 5·D] and the bias gradient [5·D] (fp32) of a packed forward.
std::pair<torch::Tensor, torch::Tensor> run_backward_packed_cuda(const Prepared& p, const ForwardState& st,
                                                                 const torch::Tensor& dy_in,
                                                                 const torch::Tensor& dalpha_in) {
    const c10::cuda::CUDAGuard guard(st.keys.device());
    auto dP = torch::empty({p.B, p.L, kPacked * p.D}, st.keys.options());
    const torch::Tensor dy =
        dy_in.defined() ? dy_in.to(st.keys.scalar_type()).contiguous() : torch::zeros_like(st.keys);
    const torch::Tensor dalpha = dalpha_in.defined() ? dalpha_in.to(torch::kFloat).contiguous() : torch::Tensor();
    auto pr = cuda_problem(p);
    pr.ldg = kPacked * p.D;
    // Its own tensor (zeroed by the backward): a view into the scratch would keep all of it alive as the biases'
    // gradient until they are cleared.
    auto db = torch::empty({kPacked * p.D}, st.keys.options().dtype(torch::kFloat));
    pr.dbias = db.data_ptr<float>();
    auto work = torch::empty({static_cast<int64_t>(cuda_kernels::backward_workspace_floats(pr))},
                             st.keys.options().dtype(torch::kFloat));
    check_cuda(cuda_kernels::backward(pr, st.keys.data_ptr(), st.outs.data_ptr(), nullptr, cuda_saved(st),
                                      dy.data_ptr(), dalpha.defined() ? dalpha.data_ptr<float>() : nullptr,
                                      block_ptr(dP, 0, p.D), block_ptr(dP, 1, p.D), block_ptr(dP, 2, p.D),
                                      block_ptr(dP, 3, p.D), block_ptr(dP, 4, p.D), work.data_ptr<float>(),
                                      c10::cuda::getCurrentCUDAStream().stream()),
               "packed backward");
    return {dP, db};
}
#endif

// ---------------------------------------------------------------------------------------------------------------
// Autograd

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// What both autograd functions keep for the backward: K and O as the backward reads them, `third` (S, the tie bits
// or nothing), the masks and segment ids, the forward's state, and the call's sizes and options.
void save_state(AutogradContext* ctx, const torch::Tensor& k, const torch::Tensor& o, const torch::Tensor& third,
                const Prepared& p, const torch::Tensor& special_in, const ForwardState& st) {
    ctx->save_for_backward({k, o, third, p.keep, p.clsgsepg ? p.special : special_in, p.seg, st.alpha, st.g, st.gp,
                            st.cnt, st.segmax, st.win});
    ctx->saved_data["heads"] = p.H;
    ctx->saved_data["clsgsepg"] = p.clsgsepg;
    ctx->saved_data["n_seg"] = p.S;
    ctx->saved_data["seg_width"] = p.seg_width;
    ctx->saved_data["dims"] = std::vector<int64_t>{p.B, p.L, p.D};
    // An output nobody used (usually the GA weights) reaches the backward as an undefined gradient rather than a
    // tensor of zeros that would be filled, converted and read through (the backward treats undefined as zero).
    ctx->set_materialize_grads(false);
}

// The backward's view of what save_state kept: q, s and l stand in as K (only their dtype, device and shape are
// read); `third` is returned as saved.
Prepared restore_state(AutogradContext* ctx, ForwardState& st, torch::Tensor& third) {
    const auto saved = ctx->get_saved_variables();
    const auto dims = ctx->saved_data["dims"].toIntVector();
    Prepared p;
    p.k = saved[0];
    p.o = saved[1];
    p.q = p.s = p.l = p.k;
    third = saved[2];
    p.keep = saved[3];
    p.special = saved[4];
    p.seg = saved[5];
    p.B = dims[0];
    p.L = dims[1];
    p.D = dims[2];
    p.H = ctx->saved_data["heads"].toInt();
    p.d = p.D / p.H;
    p.clsgsepg = ctx->saved_data["clsgsepg"].toBool();
    p.S = ctx->saved_data["n_seg"].toInt();
    p.seg_width = ctx->saved_data["seg_width"].toInt();
    st.alpha = saved[6];
    st.g = saved[7];
    st.gp = saved[8];
    st.cnt = saved[9];
    st.segmax = saved[10];
    st.win = saved[11];
    return p;
}

class PoNetMixFunction : public torch::autograd::Function<PoNetMixFunction> {
  public:
    static variable_list forward(AutogradContext* ctx, const torch::Tensor& q, const torch::Tensor& k,
                                 const torch::Tensor& o, const torch::Tensor& s, const torch::Tensor& l,
                                 const torch::Tensor& keep, const torch::Tensor& special, const torch::Tensor& seg,
                                 int64_t heads, bool clsgsepg, int64_t n_seg, int64_t seg_width) {
        Prepared p = prepare(q, k, o, s, l, keep, special, seg, heads, clsgsepg, n_seg, seg_width);
        ForwardState st = run_forward(p);
        // With the tie bits (CUDA), S itself is not needed by the backward and is not kept; nor on the CPU, whose
        // flags bytes carry the ties.
        const bool tie_bits = st.ties.defined();
        const torch::Tensor s_or_ties = tie_bits ? st.ties : (p.q.is_cuda() ? p.s : torch::Tensor());
        save_state(ctx, p.k, p.o, s_or_ties, p, special, st);
        ctx->saved_data["tie_bits"] = tie_bits;
        return {st.y, st.alpha};
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        ForwardState st;
        torch::Tensor third;
        Prepared p = restore_state(ctx, st, third);
        // The third tensor is S where the CUDA kernels read it; with tie bits (CUDA) or on the CPU (flags bytes)
        // only S's shape and dtype are used (for dS), which are K's.
        if (ctx->saved_data["tie_bits"].toBool())
            st.ties = third;
        else if (third.defined())
            p.s = third;
        Grads gr = run_backward(p, st, grads[0], grads[1]);
        return {gr.dq,           gr.dk,           gr.dout,         gr.ds,           gr.dl,          torch::Tensor(),
                torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

// The same mixing on packed projections (one [B, L, 5·D] tensor from one matrix product, biases added here).
// CUDA reads the column blocks in place and writes the gradient as one packed tensor and the bias gradient as
// column sums in the same passes; the CPU unpacks and runs the kernels above.
class PoNetPackedMixFunction : public torch::autograd::Function<PoNetPackedMixFunction> {
  public:
    static variable_list forward(AutogradContext* ctx, const torch::Tensor& packed, const torch::Tensor& bias,
                                 const torch::Tensor& keep, const torch::Tensor& special, const torch::Tensor& seg,
                                 int64_t heads, bool clsgsepg, int64_t n_seg, int64_t seg_width) {
        Prepared p;
        ForwardState st;
        torch::Tensor k_saved, o_saved;
        if (packed.is_cuda()) {
#if defined(PONET_WITH_CUDA)
            const torch::Tensor pc = packed.contiguous();
            p = prepare(pc, pc, pc, pc, pc, keep, special, seg, heads, clsgsepg, n_seg, seg_width);
            p.D = pc.size(2) / kPacked;
            p.d = p.D / heads;
            if (p.B * p.L == 0) {
                st = run_forward(p);
                k_saved = o_saved = st.y;
            } else {
                const bool for_backward = packed.requires_grad() || bias.requires_grad();
                st = run_forward_packed_cuda(p, pc, bias, for_backward);
                k_saved = st.keys;
                o_saved = st.outs;
            }
#else
            throw InvalidInput("this build has no fused CUDA kernels");
#endif
        } else {
            // The CPU kernels take the five projections as separate rows: the sums with the biases (in fp32) are
            // rounded to the dtype first. (The CUDA kernels keep them in fp32, so in bf16/fp16 the two devices
            // differ at rounding level, ties in the segment maxima included.)
            PoNetPackedMixingInputs pk;
            pk.qkosl = packed;
            pk.bias = bias;
            const auto u = unpack_projections(pk);
            const auto dt = packed.scalar_type();
            p = prepare(u.q.to(dt), u.k.to(dt), u.o.to(dt), u.s.to(dt), u.l.to(dt), keep, special, seg, heads,
                        clsgsepg, n_seg, seg_width);
            st = run_forward(p);
            k_saved = p.k;
            o_saved = p.o;
        }
        save_state(ctx, k_saved, o_saved, st.ties, p, special, st);
        ctx->saved_data["has_bias"] = bias.numel() > 0;
        return {st.y, st.alpha};
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        ForwardState st;
        torch::Tensor ties;
        Prepared p = restore_state(ctx, st, ties);
        const bool has_bias = ctx->saved_data["has_bias"].toBool();
        torch::Tensor dP, db;
        if (p.k.is_cuda() && p.B * p.L > 0) {
#if defined(PONET_WITH_CUDA)
            st.ties = ties;
            st.keys = p.k;
            st.outs = p.o;
            std::tie(dP, db) = run_backward_packed_cuda(p, st, grads[0], grads[1]);
#endif
        } else {
            Grads gr = run_backward(p, st, grads[0], grads[1]);
            dP = torch::cat({gr.dq, gr.dk, gr.dout, gr.ds, gr.dl}, 2);
            if (has_bias) db = dP.to(torch::kFloat).sum(std::vector<int64_t>{0, 1});
        }
        return {dP, has_bias ? db : torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(),
                torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

// The masks and segment ids of a fused call against the projections' [B, L].
void check_masks(const torch::Tensor& keep, const torch::Tensor& special, const torch::Tensor& segment_ids,
                 bool clsgsepg, int64_t B, int64_t L) {
    TORCH_CHECK(keep.sizes() == torch::IntArrayRef({B, L}) && keep.scalar_type() == torch::kBool,
                "PoNet mixing: keep must be bool [B, L]");
    TORCH_CHECK(segment_ids.sizes() == torch::IntArrayRef({B, L}) && segment_ids.scalar_type() == torch::kLong,
                "PoNet mixing: segment_ids must be int64 [B, L]");
    if (clsgsepg)
        TORCH_CHECK(special.defined() && special.sizes() == torch::IntArrayRef({B, L}),
                    "PoNet mixing: clsgsepg needs the special-token mask [B, L]");
}

}  // namespace

bool fused_mixing_built_for(const torch::Device& device) {
    if (device.is_cpu()) return true;
#if defined(PONET_WITH_CUDA)
    if (device.is_cuda()) return true;
#endif
    return false;
}

bool fused_mixing_supported(const PoNetMixingInputs& in, std::string* why) {
    auto no = [&](const std::string& reason) {
        if (why) *why = reason;
        return false;
    };
    if (!in.q.defined() || in.q.dim() != 3) return no("q must be [B, L, D]");
    const auto dev = in.q.device();
    if (!fused_mixing_built_for(dev)) return no("no fused kernels for " + dev.str() + " in this build");
    const auto dt = in.q.scalar_type();
    if (dt != torch::kFloat && dt != torch::kBFloat16 && dt != torch::kHalf)
        return no(std::string("dtype ") + c10::toString(dt) + " (fused takes fp32, bf16, fp16)");
    for (const torch::Tensor* t : {&in.k, &in.o, &in.s, &in.l}) {
        if (!t->defined() || t->sizes() != in.q.sizes()) return no("projections of different shapes");
        if (t->scalar_type() != dt) return no("projections of different dtypes");
        if (t->device() != dev) return no("projections on different devices");
    }
    if (in.heads <= 0 || in.q.size(2) % in.heads != 0) return no("D is not a multiple of the head count");
#if defined(PONET_WITH_CUDA)
    if (dev.is_cuda() && in.q.size(2) > cuda_kernels::kMaxHidden)
        return no("hidden size above " + std::to_string(cuda_kernels::kMaxHidden) + " on CUDA");
#endif
    if (why) why->clear();
    return true;
}

PoNetMixingOutput ponet_mix_fused(const PoNetMixingInputs& in) {
    std::string why;
    if (!fused_mixing_supported(in, &why)) throw InvalidInput("the fused PoNet mixing cannot take these inputs: " + why);
    const auto B = in.q.size(0), L = in.q.size(1);
    check_masks(in.keep, in.special, in.segment_ids, in.clsgsepg, B, L);
    const int64_t n_seg = segment_capacity(in);
    // Autograd inputs must be defined tensors: without the trick an empty mask stands in (never read).
    const torch::Tensor special =
        in.clsgsepg ? in.special : torch::empty({0}, in.keep.options().dtype(torch::kUInt8));
    auto out = PoNetMixFunction::apply(in.q, in.k, in.o, in.s, in.l, in.keep, special, in.segment_ids, in.heads,
                                       in.clsgsepg, n_seg, in.segment_width);
    return {out[0], out[1]};
}

bool packed_projections_enabled() {
    static const bool enabled = [] {
        const char* v = std::getenv("PONET_PACKED_PROJECTIONS");
        return !(v && (std::strcmp(v, "0") == 0 || std::strcmp(v, "off") == 0 || std::strcmp(v, "false") == 0));
    }();
    return enabled;
}

bool packed_mixing_supported(const torch::Device& device, torch::ScalarType dtype, int64_t hidden, int64_t heads,
                             std::string* why) {
    auto no = [&](const std::string& reason) {
        if (why) *why = reason;
        return false;
    };
    if (!fused_mixing_built_for(device)) return no("no fused kernels for " + device.str() + " in this build");
    if (dtype != torch::kFloat && dtype != torch::kBFloat16 && dtype != torch::kHalf)
        return no(std::string("dtype ") + c10::toString(dtype) + " (fused takes fp32, bf16, fp16)");
    if (heads <= 0 || hidden <= 0 || hidden % heads != 0) return no("D is not a multiple of the head count");
#if defined(PONET_WITH_CUDA)
    if (device.is_cuda()) {
        if (hidden > cuda_kernels::kMaxHidden)
            return no("hidden size above " + std::to_string(cuda_kernels::kMaxHidden) + " on CUDA");
        // The packed backward reads S̃'s ties from the forward's bits instead of S (which it does not keep).
        cuda_kernels::Problem pr;
        pr.D = hidden;
        pr.H = heads;
        if (cuda_kernels::tie_words(pr) <= 0) return no("channel slices that do not start on a multiple of 32");
    }
#endif
    if (why) why->clear();
    return true;
}

PoNetMixingOutput ponet_mix_packed_fused(const PoNetPackedMixingInputs& in) {
    TORCH_CHECK(in.qkosl.defined() && in.qkosl.dim() == 3 && in.qkosl.size(2) % kPacked == 0,
                "packed PoNet mixing: the projections must be [B, L, 5·D]");
    const auto B = in.qkosl.size(0), L = in.qkosl.size(1), D = in.qkosl.size(2) / kPacked;
    std::string why;
    if (!packed_mixing_supported(in.qkosl.device(), in.qkosl.scalar_type(), D, in.heads, &why))
        throw InvalidInput("the fused PoNet mixing cannot take these inputs: " + why);
    if (in.bias.defined())
        TORCH_CHECK(in.bias.dim() == 1 && in.bias.size(0) == kPacked * D && in.bias.scalar_type() == torch::kFloat &&
                        in.bias.device() == in.qkosl.device(),
                    "packed PoNet mixing: the bias must be fp32 [5·D] on the projections' device");
    // Autograd inputs must be defined tensors: no bias travels as an empty one.
    const torch::Tensor bias = in.bias.defined()
                                   ? in.bias.contiguous()
                                   : torch::empty({0}, in.qkosl.options().dtype(torch::kFloat));
    check_masks(in.keep, in.special, in.segment_ids, in.clsgsepg, B, L);
    const int64_t n_seg = in.num_segments > 0 ? in.num_segments : scan_segment_ids(in.segment_ids);
    const torch::Tensor special =
        in.clsgsepg ? in.special : torch::empty({0}, in.keep.options().dtype(torch::kUInt8));
    auto out = PoNetPackedMixFunction::apply(in.qkosl, bias, in.keep, special, in.segment_ids, in.heads,
                                             in.clsgsepg, n_seg, in.segment_width);
    return {out[0], out[1]};
}

}  // namespace ponet
