// The fused PoNet mixing's row kernels in the vector layout (ponet_mixing_vec_kernels.cu): for hidden sizes of 32,
// 64 or 128 channels, `LPR` = D / 8 lanes share a token row, each lane holding 8 consecutive channels (one 16-byte
// load of a bf16/fp16 row slice), so a warp reads 32 / LPR whole rows per instruction instead of one row in 2-byte
// pieces. The window-3 maximum takes its neighbours from the adjacent lane groups by shuffles. Same buffers, grid
// and arithmetic as the lane-per-channel kernels of ponet_mixing_kernels.cu (sums over rows in another order, so
// not the same bits; partials per block, not per warp), which they replace kernel by kernel where `vector_lanes`
// allows (the launchers there decide).
#pragma once
#include <cstdint>
#include <initializer_list>

#include "core/kernels/cuda/ponet_mixing_cuda.h"

namespace ponet::cuda_kernels::vec {

// Lanes per row for this problem (4, 8 or 16), or 0 where the vector layout does not apply: another hidden size,
// rows per warp not a multiple of the rows per step, row strides not a multiple of 8 elements.
int vector_lanes(const Problem& p, int rows_per_warp);
// The kernels, and whether each runs in this layout where it applies: by default those measured faster in it;
// PONET_MIX_VECTOR in the environment (`all` or 1; 0: none; a comma list such as `fuse,keys`: those) picks otherwise,
// for measuring one layout against the other.
enum class Kernel { Qsum, Scores, Fuse, Rows, Keys, Qs };
bool enabled(Kernel k);
// Whether PONET_MIX_VECTOR is unset (the built-in choice, which also runs the query pass in this layout where a
// segment per token, or narrow fixed segments, leave it only Q to read: measured faster there, slower with segment
// tables).
bool built_in_choice();
// Whether the GA kernels (scores, keys) can also run in it: each head's channels fill whole lanes, a power of two
// of them (head size 8, 16, 32, 64 or 128).
bool heads_fit(const Problem& p);
// Whether every pointer is aligned for the 16-byte accesses.
bool aligned(std::initializer_list<const void*> ptrs);

// The kernels' launchers; `grid` and the partial buffers are the lane-per-channel launchers' own. qsum_segmax and
// scores leave one partial per block (gx per batch row) where their twins leave one per warp. Where a row has at
// most kMergeParts partials, scores takes the query mean from the query pass's `pq_parts` partials itself (no
// fwd_qmean; it writes g) and fuse merges the scores pass's `ps_parts` softmax partials itself (no fwd_combine; it
// writes g′); given no `pq` / `pm`, they read g, and g′ with mh and lh, as those kernels left them. keys adds up
// C = <dg′, g′> per head itself when given no C (bwd_softmax_dot is needed only for the GA weights' own gradient).
// Every block of a row repeats the merge, so it pays only with few partials: at 512 and 1,024 tokens (16 per row in
// the Table 2 shape) it saved about 1 % of a training step, at 8,192 and 16,384 (64 per row) it cost 1.5–2.5 %
// (tests/gpu/round49.sh).
constexpr int64_t kMergeParts = 16;
// Fixed segments (Problem::seg_width) whose width divides the rows of a step are taken without the segment tables by
// shuffles; other widths up to this one by reading each segment's rows again (fuse: S; rows: dY, O and the tie
// bits); wider ones keep the tables. Measured in the Table 2 shape (tests/gpu/round60.sh, round62.sh): reading gained
// 5.0 % at width 3, 0.9 % at 5 and 0.6 % at 6, and lost 1.2 % at 7 and 1.7 % at 8.
constexpr int64_t kLoadRunsMax = 6;
void qsum_segmax(const Problem& p, int lpr, int rpw, unsigned gx, const void* q, const void* s, float* pq,
                 float* cnt, float* segmax, cudaStream_t stream);
void scores(const Problem& p, int lpr, int rpw, unsigned gx, const void* k, const float* pq, int64_t pq_parts,
            const float* cnt, float* g, float* zbuf, float* pm, float* pl, float* pa, void* keys,
            cudaStream_t stream);
// With p.seg_width (fixed segments within a step; the launchers decide): fuse writes `segmax` (qsum_segmax was
// given none), rows writes dS and its bias gradient (no segment tables; gsum and ties are not touched) and qs writes
// dQ only.
void fuse(const Problem& p, int lpr, int rpw, unsigned gx, const void* o, const void* l, const void* s,
          const float* pm, const float* pl, const float* pa, int64_t ps_parts, const float* mh, const float* lh,
          float* gp, float* segmax, void* y, int8_t* win, float* alpha, uint32_t* ties, void* outs,
          cudaStream_t stream);
void rows(const Problem& p, int lpr, int rpw, unsigned gx, const void* o, const void* s, const void* dy,
          const float* gp, const float* segmax, const int8_t* win, const uint32_t* eqbits, void* dout, void* dl,
          void* ds, float* dgp, float* gsum, float* ties, cudaStream_t stream);
void keys(const Problem& p, int lpr, int rpw, unsigned gx, const void* k, const float* g, const float* dgp,
          const float* alpha, const float* dalpha, const float* C, const float* gp, void* dk, float* dg,
          cudaStream_t stream);
void qs(const Problem& p, int lpr, int rpw, unsigned gx, const void* s, const float* dg, const float* cnt,
        const float* segmax, const float* gsum, const float* ties, const uint32_t* eqbits, void* dq, void* ds,
        cudaStream_t stream);

}  // namespace ponet::cuda_kernels::vec
