// Launchers of the fused PoNet mixing kernels on CUDA. Plain pointers and sizes only (no LibTorch types), so
// the .cu file compiles with nvcc alone; ponet_mixing_fused.cpp allocates the buffers and calls these on the
// current stream. Every buffer is contiguous; [B, L, D] tensors are row-major with D innermost.
#pragma once
#include <cstddef>
#include <cstdint>

typedef struct CUstream_st* cudaStream_t;

namespace ponet::cuda_kernels {

enum class DType { F32, BF16, F16 };

struct Problem {
    int64_t B = 0, L = 0, D = 0, H = 1;
    int64_t S = 1;  // segment-id capacity: every id is below S
    DType dtype = DType::F32;
    bool clsgsepg = false;
    // seg[b, i] == i / seg_width for every row and S · seg_width >= L: fixed segments of seg_width consecutive
    // tokens (1: every token its own segment; 0: any layout). Where seg_width divides the rows a vector-layout step
    // holds, every segment lies within one step of one warp, and those kernels skip the segment tables (no
    // segment-maximum atomics, no segment gradient sums): fuse takes each maximum from its segment's rows by
    // shuffles and writes `segmax` itself, the backward sums each segment's gradient the same way and writes dS
    // with the other row gradients.
    int64_t seg_width = 0;
    const uint8_t* keep = nullptr;     // [B, L], 1 = real token
    const uint8_t* special = nullptr;  // [B, L] or null (only read with clsgsepg)
    const int64_t* seg = nullptr;      // [B, L]
    // Packed projections (one GEMM for all five): the forward reads q, k, o, s, l as rows `ld` elements apart
    // (0: D) and adds `bias` ([5·D] fp32 in the order q, k, o, s, l; null: none) in fp32 as it loads them; the
    // backward writes dq, dk, do, ds, dl as rows `ldg` elements apart (0: D) and, when `dbias` is given, writes
    // the five bias gradients (column sums, [5·D]) into it (zeroing it first).
    int64_t ld = 0, ldg = 0;
    const float* bias = nullptr;
    float* dbias = nullptr;
};

// State the forward leaves for the backward (all fp32 except win).
struct Saved {
    float* alpha = nullptr;   // [B, H, L]  GA weights
    float* g = nullptr;       // [B, D]     masked mean of Q
    float* gp = nullptr;      // [B, D]     g'
    float* cnt = nullptr;     // [B]        real tokens per row
    float* segmax = nullptr;  // [B, S, D]  segment maxima of S̃ (with seg_width: the first ⌈L / seg_width⌉ only)
    int8_t* win = nullptr;    // [B, L, D]  LMP winner: 0 left, 1 self, 2 right
    // [B, L, tie_words(p)]: bit c%32 of word c/32 says S̃[b, i, c] equals its segment's maximum. When given, the
    // forward writes it and the backward reads it instead of S, so S need not be kept for the backward.
    uint32_t* ties = nullptr;
    // When given, the forward also writes K and O as the mixing saw them (bias added, rounded to `dtype`) as
    // contiguous [B, L, D] rows, for the backward to read instead of the packed input (which then need not be kept).
    void* keys = nullptr;
    void* outs = nullptr;
};

// Words per row of the tie bits, or 0 where this problem's channel slices do not start on a multiple of 32
// (then the backward reads S itself).
int64_t tie_words(const Problem& p);

// Scratch floats the forward and backward need (the caller allocates them on the device).
size_t forward_workspace_floats(const Problem& p);
size_t backward_workspace_floats(const Problem& p);

// Largest hidden size the kernels take (registers hold D/32 channels per lane).
constexpr int64_t kMaxHidden = 1024;

// y: [B, L, D] in `dtype`. Returns a CUDA error string or nullptr.
const char* forward(const Problem& p, const void* q, const void* k, const void* o, const void* s, const void* l,
                    void* y, const Saved& st, float* workspace, cudaStream_t stream);
// The backward reads k, o (and s) as contiguous rows without a bias (st.keys / st.outs of a packed forward); `s`
// may be null when st.ties is given, and must be when the forward was packed.

// dy: [B, L, D] in `dtype` (the upstream gradient of y); dalpha: [B, H, L] fp32 or null. Writes every gradient.
// `workspace`: backward_workspace_floats(p) floats of scratch, zeroed here as far as they are used.
const char* backward(const Problem& p, const void* k, const void* o, const void* s, const Saved& st, const void* dy,
                     const float* dalpha, void* dq, void* dk, void* dout, void* ds, void* dl, float* workspace,
                     cudaStream_t stream);

}  // namespace ponet::cuda_kernels
