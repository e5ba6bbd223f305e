// Teach mode: a toy sequence of twelve tokens stepped through one PoNet mixing layer (PONET-SPEC §1.4) in plain
// C++ loops, keeping every intermediate as numbers a class can follow. Torch-free; a test checks it against the
// reference path (ponet_mix_reference).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ponet {

struct TeachLayer {
    int64_t length = 0;  // tokens
    int64_t hidden = 0;  // features (one head: head size = hidden)
    int64_t segments = 0;
    uint64_t seed = 0;
    std::vector<std::string> tokens;  // [length]
    std::vector<int32_t> segment_of;  // [length]
    std::vector<uint8_t> special;     // [length] 1 at [CLS]/[SEP]

    // Inputs and the five projections of the mixer, each [length][hidden] (row-major).
    std::vector<float> x;        // the layer's input (toy embeddings, one decimal)
    std::vector<float> w_q, w_k, w_o, w_s, w_l;  // [hidden][hidden] weights (y = x·Wᵀ), one decimal, no bias
    std::vector<float> q, k, o, s, l;

    // GA stage 1: g = mean of the queries. [hidden]
    std::vector<float> g;
    // GA stage 2: scores z_j = g·k_j / √hidden, α = softmax(z), g′ = Σ_j α_j k_j.
    std::vector<float> scores, alpha;  // [length]
    std::vector<float> g_prime;        // [hidden]

    // SMP: the maximum of s over each segment and the token it came from. [segments][hidden]
    std::vector<float> segment_max;
    std::vector<int64_t> segment_winner;
    std::vector<float> s_hat;  // [length][hidden] the segment max broadcast to the segment's tokens (0 at specials)

    // LMP: the maximum over the window (i-1, i, i+1); specials are excluded from windows and get 0.
    std::vector<float> l_hat;       // [length][hidden]
    std::vector<int64_t> l_winner;  // [length][hidden] position that won

    // Fusion: y = (g′ + Ŝ) ⊙ O + L̂, and its three parts.
    std::vector<float> global_part, segment_part, local_part, y;  // [length][hidden]

    float at(const std::vector<float>& m, int64_t row, int64_t col) const {
        return m[static_cast<size_t>(row * hidden + col)];
    }
};

// The toy: "[CLS] cats purr . dogs bark loudly . birds sing . [SEP]" — four features, one head, clsgsepg on,
// segments [CLS] = 0, one per sentence, [SEP] last. `seed` picks the toy embeddings and weights.
TeachLayer teach_layer(uint64_t seed = 7);

// The intermediates as readable text (the CLI's `ponet inspect --teach`).
std::string describe(const TeachLayer& t);
// One row per token: x, Q, K, alpha, S, S^, L, L^ (with the winning positions), O and y, for a spreadsheet.
std::string to_csv(const TeachLayer& t);

}  // namespace ponet
