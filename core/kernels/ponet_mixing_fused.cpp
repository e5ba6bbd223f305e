// Fused PoNet mixing: the autograd function, the CPU implementation and the glue to the CUDA kernels.
//
// One task per (batch row b, head h) owns the channels [h·d, (h+1)·d) of row b: GA needs a whole head, and SMP,
// LMP and the fusion are channel-wise, so a task never touches another task's outputs. Forward: one pass over Q
// (masked mean), one over K (scores, softmax, g′), one over S (segment maxima), one over O and L (window maxima,
// fusion). Backward: one pass over dY, O and S (dO, dL, g′'s gradient, segment sums and tie counts), one over K
// (dK, the query-mean gradient), one writing dQ and dS.
#include "core/kernels/ponet_mixing_fused.h"

#include <algorithm>
#include <cmath>
#include <limits>
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
};

struct ForwardState {
    torch::Tensor y, alpha, g, gp, cnt, segmax, win;
    torch::Tensor ties;  // CUDA only: S̃'s ties with its segment maximum as bits, kept instead of S (see cuda header)
};

struct Grads {
    torch::Tensor dq, dk, dout, ds, dl;
};

// ---------------------------------------------------------------------------------------------------------------
// CPU

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

inline void fill_row(float* __restrict__ dst, float v, int64_t n) {
    for (int64_t c = 0; c < n; ++c) dst[c] = v;
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

// Scratch rows of one task: d floats each.
struct Scratch {
    std::vector<float> buf;
    int64_t d = 0;
    explicit Scratch(int64_t d_, int rows) : buf(static_cast<size_t>(d_ * rows)), d(d_) {}
    float* row(int i) { return buf.data() + i * d; }
};

template <typename T>
void cpu_forward_typed(const Prepared& p, ForwardState& st) {
    const int64_t L = p.L, D = p.D, H = p.H, d = p.d, S = p.S;
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
    int8_t* win = st.win.data_ptr<int8_t>();
    const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(d));
    constexpr float kInf = std::numeric_limits<float>::infinity();

    parallel_ranges_if(p, p.B * H, [&](int64_t begin, int64_t end) {
        Scratch sc(d, 2);
        float* acc = sc.row(0);
        float* x = sc.row(1);
        for (int64_t task = begin; task < end; ++task) {
            const int64_t b = task / H, h = task % H, c0 = h * d;
            const int64_t row0 = b * L;
            const uint8_t* kb = keep + row0;
            const int64_t* sb = seg + row0;
            for (int64_t i = 0; i < L; ++i)
                if (sb[i] < 0 || sb[i] >= S)
                    throw InvalidInput("segment id " + std::to_string(sb[i]) + " outside [0, " + std::to_string(S) +
                                       ") in batch row " + std::to_string(b));
            auto at_row = [&](const T* base, int64_t i) { return base + (row0 + i) * D + c0; };

            // GA stage 1: masked mean of the head's queries.
            float n = 0;
            fill_row(acc, 0.0f, d);
            for (int64_t i = 0; i < L; ++i) {
                if (!kb[i]) continue;
                n += 1;
                load_row(at_row(Q, i), x, d);
                for (int64_t c = 0; c < d; ++c) acc[c] += x[c];
            }
            if (h == 0) cnt[b] = n;
            const float denom = std::max(n, 1.0f);
            float* g = gq + b * D + c0;
            for (int64_t c = 0; c < d; ++c) g[c] = acc[c] / denom;

            // GA stage 2: scores, softmax, weighted sum of the keys.
            float* a = alpha + (b * H + h) * L;
            float zmax = -kInf;
            for (int64_t i = 0; i < L; ++i) {
                load_row(at_row(K, i), x, d);
                const float z = dot(g, x, d) * inv_sqrt_d + (kb[i] ? 0.0f : kSentinel);
                a[i] = z;
                zmax = std::max(zmax, z);
            }
            float sum = 0;
            for (int64_t i = 0; i < L; ++i) {
                a[i] = std::exp(a[i] - zmax);
                sum += a[i];
            }
            const float inv_sum = 1.0f / sum;
            fill_row(acc, 0.0f, d);
            for (int64_t i = 0; i < L; ++i) {
                a[i] *= inv_sum;
                const float w = a[i];
                load_row(at_row(K, i), x, d);
                for (int64_t c = 0; c < d; ++c) acc[c] += w * x[c];
            }
            float* gpb = gp + b * D + c0;
            for (int64_t c = 0; c < d; ++c) gpb[c] = acc[c];
        }
    });

    // Phase B, one task per (batch row, channel chunk): SMP, LMP and the fusion are channel-wise, so chunks narrower
    // than a head keep every core busy even for one long sequence.
    const int64_t cw = std::min<int64_t>(D, 16), chunks = (D + cw - 1) / cw;
    parallel_ranges_if(p, p.B * chunks, [&](int64_t begin, int64_t end) {
        // Rows: 0 x, 1-3 the LMP window (rotating), 4 sentinel row, 5 -inf row, 6 y.
        Scratch sc(cw, 7);
        float* x = sc.row(0);
        float* yrow = sc.row(6);
        fill_row(sc.row(4), kSentinel, cw);
        fill_row(sc.row(5), -kInf, cw);
        const float* sent_row = sc.row(4);
        const float* ninf_row = sc.row(5);
        for (int64_t task = begin; task < end; ++task) {
            const int64_t b = task / chunks, c0 = (task % chunks) * cw, d = std::min(cw, D - c0);
            const int64_t row0 = b * L;
            const uint8_t* kb = keep + row0;
            const int64_t* sb = seg + row0;
            const uint8_t* pb = spec ? spec + row0 : nullptr;
            auto at_row = [&](const T* base, int64_t i) { return base + (row0 + i) * D + c0; };
            const float* gpb = gp + b * D + c0;

            // SMP: maxima of S̃ per segment (only this head's channels of the [S, D] table).
            float* sm = segmax + b * S * D + c0;
            for (int64_t sidx = 0; sidx < S; ++sidx) fill_row(sm + sidx * D, -kInf, d);
            for (int64_t i = 0; i < L; ++i) {
                float* __restrict__ m = sm + sb[i] * D;
                if (kb[i]) {
                    load_row(at_row(Sv, i), x, d);
                    for (int64_t c = 0; c < d; ++c) m[c] = std::max(m[c], x[c]);
                } else {
                    for (int64_t c = 0; c < d; ++c) m[c] = std::max(m[c], kSentinel);
                }
            }

            // LMP (window 3, leftmost winner on ties) and the fusion, on a rotating window of float rows.
            auto open = [&](int64_t j) { return kb[j] && !(pb && pb[j]); };
            float* win_rows[3] = {sc.row(1), sc.row(2), sc.row(3)};
            auto load_l = [&](int64_t j, float* dst) -> const float* {
                if (j < 0 || j >= L) return ninf_row;
                if (!open(j)) return sent_row;
                load_row(at_row(Lv, j), dst, d);
                return dst;
            };
            const float* lprev = ninf_row;
            const float* lcur = load_l(0, win_rows[1]);
            int slot = 2;
            for (int64_t i = 0; i < L; ++i) {
                const float* lnext = load_l(i + 1, win_rows[slot]);
                const float* __restrict__ vl = lprev;
                const float* __restrict__ vs = lcur;
                const float* __restrict__ vr = lnext;
                int8_t* __restrict__ wi = win + (row0 + i) * D + c0;
                const float* __restrict__ m = sm + sb[i] * D;
                const bool real = kb[i] != 0, sp = pb && pb[i];
                if (!real) {
                    for (int64_t c = 0; c < d; ++c) {
                        const float best0 = vs[c] > vl[c] ? vs[c] : vl[c];
                        wi[c] = static_cast<int8_t>(vr[c] > best0 ? 2 : (vs[c] > vl[c] ? 1 : 0));
                        yrow[c] = 0.0f;
                    }
                } else {
                    load_row(at_row(O, i), x, d);
                    const float mscale = sp ? 0.0f : 1.0f;  // specials: Ŝ = L̂ = 0
                    for (int64_t c = 0; c < d; ++c) {
                        const bool self_wins = vs[c] > vl[c];
                        const float best0 = self_wins ? vs[c] : vl[c];
                        const bool right_wins = vr[c] > best0;
                        const float best = right_wins ? vr[c] : best0;
                        wi[c] = static_cast<int8_t>(right_wins ? 2 : (self_wins ? 1 : 0));
                        yrow[c] = (gpb[c] + mscale * m[c]) * x[c] + mscale * best;
                    }
                }
                store_row(yrow, Y + (row0 + i) * D + c0, d);
                // Rotate the window: the slot that held `prev` receives the next load.
                lprev = lcur;
                lcur = lnext;
                for (int r = 0; r < 3; ++r)
                    if (win_rows[r] != lprev && win_rows[r] != lcur) slot = r;
            }
        }
    });
}

template <typename T>
void cpu_backward_typed(const Prepared& p, const ForwardState& st, const torch::Tensor& dy,
                        const torch::Tensor& dalpha, Grads& gr) {
    const int64_t L = p.L, D = p.D, H = p.H, d = p.d, S = p.S;
    const T* K = p.k.data_ptr<T>();
    const T* O = p.o.data_ptr<T>();
    const T* Sv = p.s.data_ptr<T>();
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
    const int8_t* win = st.win.data_ptr<int8_t>();
    T* dQ = gr.dq.data_ptr<T>();
    T* dK = gr.dk.data_ptr<T>();
    T* dO = gr.dout.data_ptr<T>();
    T* dS = gr.ds.data_ptr<T>();
    T* dL = gr.dl.data_ptr<T>();
    const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(d));

    // g′'s gradient per channel, filled by phase A, read by phase B.
    std::vector<float> dgp_all(static_cast<size_t>(p.B * D));

    // Phase A, one task per (batch row, channel chunk): dO, dL, g′'s gradient, and dS from the per-segment
    // gradient sums and tie counts (all channel-wise).
    const int64_t cw = std::min<int64_t>(D, 16), chunks = (D + cw - 1) / cw;
    parallel_ranges_if(p, p.B * chunks, [&](int64_t begin, int64_t end) {
        // Rows: 0 o, 1 s, 2-4 the dL̂ window (rotating), 5 zero row, 6 out1, 7 out2, 8 dy.
        Scratch sc(cw, 9);
        std::vector<float> gsum(static_cast<size_t>(S * cw)), ties(static_cast<size_t>(S * cw));
        std::vector<int8_t> no_win(static_cast<size_t>(cw), int8_t(-1));
        float* orow = sc.row(0);
        float* srow = sc.row(1);
        float* zero_row = sc.row(5);
        float* out1 = sc.row(6);
        float* out2 = sc.row(7);
        float* dyrow = sc.row(8);
        fill_row(zero_row, 0.0f, cw);
        for (int64_t task = begin; task < end; ++task) {
            const int64_t b = task / chunks, c0 = (task % chunks) * cw, d = std::min(cw, D - c0);
            const int64_t row0 = b * L;
            const uint8_t* kb = keep + row0;
            const int64_t* sb = seg + row0;
            const uint8_t* pb = spec ? spec + row0 : nullptr;
            const float* gpb = gp + b * D + c0;
            const float* sm = segmax + b * S * D + c0;
            float* dgp = dgp_all.data() + b * D + c0;
            auto at_row = [&](const T* base, int64_t i) { return base + (row0 + i) * D + c0; };
            auto at_out = [&](T* base, int64_t i) { return base + (row0 + i) * D + c0; };
            auto open = [&](int64_t j) { return kb[j] && !(pb && pb[j]); };
            float* gwin[3] = {sc.row(2), sc.row(3), sc.row(4)};
            // The gradient reaching L̂[j]: dY at open rows, zero at padding, specials and outside the sequence.
            auto load_gl = [&](int64_t j, float* dst) -> const float* {
                if (j < 0 || j >= L || !open(j)) return zero_row;
                load_row(at_row(dY, j), dst, d);
                return dst;
            };
            auto win_row = [&](int64_t j) -> const int8_t* {
                return (j < 0 || j >= L) ? no_win.data() : win + (row0 + j) * D + c0;
            };

            fill_row(dgp, 0.0f, d);
            std::fill(gsum.begin(), gsum.end(), 0.0f);
            std::fill(ties.begin(), ties.end(), 0.0f);
            const float* gprev = zero_row;
            const float* gcur = load_gl(0, gwin[1]);
            int slot = 2;
            for (int64_t i = 0; i < L; ++i) {
                const float* gnext = load_gl(i + 1, gwin[slot]);
                const bool real = kb[i] != 0, sp = pb && pb[i];
                const float* __restrict__ m = sm + sb[i] * D;
                float* __restrict__ gs = gsum.data() + sb[i] * cw;
                float* __restrict__ tc = ties.data() + sb[i] * cw;
                if (!real) {
                    for (int64_t c = 0; c < d; ++c) tc[c] += kSentinel == m[c] ? 1.0f : 0.0f;
                    fill_row(out1, 0.0f, d);
                    store_row(out1, at_out(dO, i), d);
                    store_row(out1, at_out(dL, i), d);
                } else {
                    load_row(at_row(O, i), orow, d);
                    load_row(at_row(Sv, i), srow, d);
                    load_row(at_row(dY, i), dyrow, d);
                    const float mscale = sp ? 0.0f : 1.0f;  // specials: no Ŝ or L̂ gradient
                    const int8_t* __restrict__ wl = win_row(i - 1);
                    const int8_t* __restrict__ ws = win_row(i);
                    const int8_t* __restrict__ wr = win_row(i + 1);
                    const float* __restrict__ gl = gprev;
                    const float* __restrict__ gr_ = gnext;
                    const float* __restrict__ ov = orow;
                    const float* __restrict__ sv = srow;
                    const float* __restrict__ gy = dyrow;
                    for (int64_t c = 0; c < d; ++c) {
                        const float prod = gy[c] * ov[c];
                        dgp[c] += prod;
                        gs[c] += mscale * prod;
                        tc[c] += sv[c] == m[c] ? 1.0f : 0.0f;
                        out1[c] = gy[c] * (gpb[c] + mscale * m[c]);
                        const float lsum = (wl[c] == 2 ? gl[c] : 0.0f) + (ws[c] == 1 ? gy[c] : 0.0f) +
                                           (wr[c] == 0 ? gr_[c] : 0.0f);
                        out2[c] = mscale * lsum;
                    }
                    store_row(out1, at_out(dO, i), d);
                    store_row(out2, at_out(dL, i), d);
                }
                gprev = gcur;
                gcur = gnext;
                for (int r = 0; r < 3; ++r)
                    if (gwin[r] != gprev && gwin[r] != gcur) slot = r;
            }

            // dS: tied maxima share their segment's summed gradient (as scatter_reduce "amax" does).
            for (int64_t i = 0; i < L; ++i) {
                if (!kb[i]) {
                    fill_row(out2, 0.0f, d);
                    store_row(out2, at_out(dS, i), d);
                    continue;
                }
                load_row(at_row(Sv, i), srow, d);
                const float* __restrict__ m = sm + sb[i] * D;
                const float* __restrict__ gs = gsum.data() + sb[i] * cw;
                const float* __restrict__ tc = ties.data() + sb[i] * cw;
                const float* __restrict__ sv = srow;
                for (int64_t c = 0; c < d; ++c) out2[c] = sv[c] == m[c] ? gs[c] / tc[c] : 0.0f;
                store_row(out2, at_out(dS, i), d);
            }
        }
    });

    // Phase B, one task per (batch row, head): GA backward. dα_i = <dg′, K_i> (+ the α output's own gradient),
    // dz = α (dα − Σ α dα); then dK, and dQ from the query mean's gradient.
    parallel_ranges_if(p, p.B * H, [&](int64_t begin, int64_t end) {
        Scratch sc(d, 3);
        std::vector<float> da(static_cast<size_t>(L));
        float* dg = sc.row(0);
        float* krow = sc.row(1);
        float* out1 = sc.row(2);
        for (int64_t task = begin; task < end; ++task) {
            const int64_t b = task / H, h = task % H, c0 = h * d;
            const int64_t row0 = b * L;
            const uint8_t* kb = keep + row0;
            const float* g = gq + b * D + c0;
            const float* dgp = dgp_all.data() + b * D + c0;
            auto at_row = [&](const T* base, int64_t i) { return base + (row0 + i) * D + c0; };
            auto at_out = [&](T* base, int64_t i) { return base + (row0 + i) * D + c0; };
            const float* a = alpha + (b * H + h) * L;
            const float* dab = dA ? dA + (b * H + h) * L : nullptr;
            float c_sum = 0;
            for (int64_t i = 0; i < L; ++i) {
                load_row(at_row(K, i), krow, d);
                const float v = dot(dgp, krow, d) + (dab ? dab[i] : 0.0f);
                da[i] = v;
                c_sum += a[i] * v;
            }
            fill_row(dg, 0.0f, d);
            for (int64_t i = 0; i < L; ++i) {
                load_row(at_row(K, i), krow, d);
                const float ai = a[i], dz = ai * (da[i] - c_sum) * inv_sqrt_d;
                const float* __restrict__ kv = krow;
                for (int64_t c = 0; c < d; ++c) {
                    out1[c] = ai * dgp[c] + dz * g[c];
                    dg[c] += dz * kv[c];
                }
                store_row(out1, at_out(dK, i), d);
            }
            const float inv_n = 1.0f / std::max(cnt[b], 1.0f);
            for (int64_t c = 0; c < d; ++c) out1[c] = dg[c] * inv_n;
            for (int64_t c = 0; c < d; ++c) krow[c] = 0.0f;
            for (int64_t i = 0; i < L; ++i) store_row(kb[i] ? out1 : krow, at_out(dQ, i), d);
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
                 const torch::Tensor& seg, int64_t heads, bool clsgsepg, int64_t n_seg) {
    Prepared p;
    p.q = q.contiguous();
    p.k = k.contiguous();
    p.o = o.contiguous();
    p.s = s.contiguous();
    p.l = l.contiguous();
    p.keep = keep.to(torch::kUInt8).contiguous();
    p.clsgsepg = clsgsepg;
    if (clsgsepg) p.special = special.to(torch::kUInt8).contiguous();
    p.seg = seg.contiguous();
    p.B = q.size(0);
    p.L = q.size(1);
    p.D = q.size(2);
    p.H = heads;
    p.d = p.D / heads;
    p.S = n_seg;
    return p;
}

ForwardState allocate_forward(const Prepared& p) {
    auto f32 = p.q.options().dtype(torch::kFloat);
    ForwardState st;
    st.y = torch::empty_like(p.o);
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
        case torch::kFloat: cpu_forward_typed<float>(p, st); break;
        case torch::kBFloat16: cpu_forward_typed<c10::BFloat16>(p, st); break;
        case torch::kHalf: cpu_forward_typed<c10::Half>(p, st); break;
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
        case torch::kFloat: cpu_backward_typed<float>(p, st, dy, dalpha, gr); break;
        case torch::kBFloat16: cpu_backward_typed<c10::BFloat16>(p, st, dy, dalpha, gr); break;
        case torch::kHalf: cpu_backward_typed<c10::Half>(p, st, dy, dalpha, gr); break;
        default: throw InvalidInput("fused PoNet mixing takes fp32, bf16 or fp16 inputs");
    }
    return gr;
}

// ---------------------------------------------------------------------------------------------------------------
// Autograd

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class PoNetMixFunction : public torch::autograd::Function<PoNetMixFunction> {
  public:
    static variable_list forward(AutogradContext* ctx, const torch::Tensor& q, const torch::Tensor& k,
                                 const torch::Tensor& o, const torch::Tensor& s, const torch::Tensor& l,
                                 const torch::Tensor& keep, const torch::Tensor& special, const torch::Tensor& seg,
                                 int64_t heads, bool clsgsepg, int64_t n_seg) {
        Prepared p = prepare(q, k, o, s, l, keep, special, seg, heads, clsgsepg, n_seg);
        ForwardState st = run_forward(p);
        // With the tie bits (CUDA), S itself is not needed by the backward and is not kept.
        const bool tie_bits = st.ties.defined();
        ctx->save_for_backward({p.k, p.o, tie_bits ? st.ties : p.s, p.keep, p.clsgsepg ? p.special : special, p.seg,
                                st.alpha, st.g, st.gp, st.cnt, st.segmax, st.win});
        ctx->saved_data["tie_bits"] = tie_bits;
        ctx->saved_data["heads"] = heads;
        ctx->saved_data["clsgsepg"] = clsgsepg;
        ctx->saved_data["n_seg"] = n_seg;
        ctx->saved_data["dims"] = std::vector<int64_t>{p.B, p.L, p.D};
        return {st.y, st.alpha};
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const auto dims = ctx->saved_data["dims"].toIntVector();
        Prepared p;
        p.k = saved[0];
        p.o = saved[1];
        const bool tie_bits = ctx->saved_data["tie_bits"].toBool();
        p.s = tie_bits ? p.k : saved[2];  // with tie bits only S's shape and dtype are used (for dS)
        p.q = p.k;  // only its dtype, device and shape are read in the backward
        p.l = p.k;
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
        ForwardState st;
        st.alpha = saved[6];
        st.g = saved[7];
        st.gp = saved[8];
        st.cnt = saved[9];
        st.segmax = saved[10];
        st.win = saved[11];
        if (tie_bits) st.ties = saved[2];
        Grads gr = run_backward(p, st, grads[0], grads[1]);
        return {gr.dq,           gr.dk,           gr.dout,         gr.ds,           gr.dl,          torch::Tensor(),
                torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

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
    TORCH_CHECK(in.keep.sizes() == torch::IntArrayRef({B, L}) && in.keep.scalar_type() == torch::kBool,
                "PoNet mixing: keep must be bool [B, L]");
    TORCH_CHECK(in.segment_ids.sizes() == torch::IntArrayRef({B, L}) &&
                    in.segment_ids.scalar_type() == torch::kLong,
                "PoNet mixing: segment_ids must be int64 [B, L]");
    if (in.clsgsepg)
        TORCH_CHECK(in.special.defined() && in.special.sizes() == torch::IntArrayRef({B, L}),
                    "PoNet mixing: clsgsepg needs the special-token mask [B, L]");
    const int64_t n_seg = segment_capacity(in);
    // Autograd inputs must be defined tensors: without the trick an empty mask stands in (never read).
    const torch::Tensor special =
        in.clsgsepg ? in.special : torch::empty({0}, in.keep.options().dtype(torch::kUInt8));
    auto out = PoNetMixFunction::apply(in.q, in.k, in.o, in.s, in.l, in.keep, special, in.segment_ids, in.heads,
                                       in.clsgsepg, n_seg);
    return {out[0], out[1]};
}

}  // namespace ponet
