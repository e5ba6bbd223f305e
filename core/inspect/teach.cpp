// Teach mode: PoNet mixing written out step by step (PONET-SPEC §1.4), one head, small numbers.
#include "core/inspect/teach.h"

#include <cmath>
#include <iomanip>
#include <random>
#include <sstream>

namespace ponet {
namespace {

constexpr float kSentinel = -10000.0f;  // what the reference writes into excluded rows before max-pooling

// Values in [-1, 1] with one decimal, so a class can redo the arithmetic.
float toy_value(std::mt19937_64& rng) {
    const int64_t v = static_cast<int64_t>(rng() % 21) - 10;
    return static_cast<float>(v) / 10.0f;
}

std::vector<float> project(const std::vector<float>& x, const std::vector<float>& w, int64_t n, int64_t h) {
    std::vector<float> y(static_cast<size_t>(n * h), 0.0f);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t o = 0; o < h; ++o) {
            float acc = 0;
            for (int64_t c = 0; c < h; ++c) acc += x[static_cast<size_t>(i * h + c)] * w[static_cast<size_t>(o * h + c)];
            y[static_cast<size_t>(i * h + o)] = acc;
        }
    return y;
}

}  // namespace

TeachLayer teach_layer(uint64_t seed) {
    TeachLayer t;
    t.seed = seed;
    t.tokens = {"[CLS]", "cats", "purr", ".", "dogs", "bark", "loudly", ".", "birds", "sing", ".", "[SEP]"};
    t.segment_of = {0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4};
    t.special = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    t.length = static_cast<int64_t>(t.tokens.size());
    t.hidden = 4;
    t.segments = 5;
    const int64_t n = t.length, h = t.hidden;
    std::mt19937_64 rng(seed);
    auto fill = [&](std::vector<float>& v, size_t count) {
        v.resize(count);
        for (float& e : v) e = toy_value(rng);
    };
    fill(t.x, static_cast<size_t>(n * h));
    for (auto* w : {&t.w_q, &t.w_k, &t.w_o, &t.w_s, &t.w_l}) fill(*w, static_cast<size_t>(h * h));
    t.q = project(t.x, t.w_q, n, h);
    t.k = project(t.x, t.w_k, n, h);
    t.o = project(t.x, t.w_o, n, h);
    t.s = project(t.x, t.w_s, n, h);
    t.l = project(t.x, t.w_l, n, h);
    auto idx = [h](int64_t i, int64_t c) { return static_cast<size_t>(i * h + c); };

    // GA stage 1 and 2.
    t.g.assign(static_cast<size_t>(h), 0.0f);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t c = 0; c < h; ++c) t.g[static_cast<size_t>(c)] += t.q[idx(i, c)] / static_cast<float>(n);
    t.scores.assign(static_cast<size_t>(n), 0.0f);
    float top = -INFINITY;
    for (int64_t j = 0; j < n; ++j) {
        float z = 0;
        for (int64_t c = 0; c < h; ++c) z += t.g[static_cast<size_t>(c)] * t.k[idx(j, c)];
        z /= std::sqrt(static_cast<float>(h));
        t.scores[static_cast<size_t>(j)] = z;
        top = std::max(top, z);
    }
    t.alpha.assign(static_cast<size_t>(n), 0.0f);
    float total = 0;
    for (int64_t j = 0; j < n; ++j) total += (t.alpha[static_cast<size_t>(j)] = std::exp(t.scores[static_cast<size_t>(j)] - top));
    for (float& a : t.alpha) a /= total;
    t.g_prime.assign(static_cast<size_t>(h), 0.0f);
    for (int64_t j = 0; j < n; ++j)
        for (int64_t c = 0; c < h; ++c) t.g_prime[static_cast<size_t>(c)] += t.alpha[static_cast<size_t>(j)] * t.k[idx(j, c)];

    // SMP: max over each segment (lowest position on ties), broadcast back; zero at the special tokens.
    t.segment_max.assign(static_cast<size_t>(t.segments * h), -INFINITY);
    t.segment_winner.assign(static_cast<size_t>(t.segments * h), -1);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t c = 0; c < h; ++c) {
            const size_t sc = static_cast<size_t>(t.segment_of[static_cast<size_t>(i)] * h + c);
            if (t.s[idx(i, c)] > t.segment_max[sc]) {
                t.segment_max[sc] = t.s[idx(i, c)];
                t.segment_winner[sc] = i;
            }
        }
    t.s_hat.assign(static_cast<size_t>(n * h), 0.0f);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t c = 0; c < h; ++c)
            if (!t.special[static_cast<size_t>(i)])
                t.s_hat[idx(i, c)] = t.segment_max[static_cast<size_t>(t.segment_of[static_cast<size_t>(i)] * h + c)];

    // LMP: window (i-1, i, i+1) over L̃, where the specials hold the sentinel; zero at the specials.
    auto l_tilde = [&](int64_t i, int64_t c) { return t.special[static_cast<size_t>(i)] ? kSentinel : t.l[idx(i, c)]; };
    t.l_hat.assign(static_cast<size_t>(n * h), 0.0f);
    t.l_winner.assign(static_cast<size_t>(n * h), -1);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t c = 0; c < h; ++c) {
            int64_t best = -1;
            for (int64_t j = std::max<int64_t>(0, i - 1); j <= std::min<int64_t>(n - 1, i + 1); ++j)
                if (best < 0 || l_tilde(j, c) > l_tilde(best, c)) best = j;
            t.l_winner[idx(i, c)] = best;
            t.l_hat[idx(i, c)] = t.special[static_cast<size_t>(i)] ? 0.0f : l_tilde(best, c);
        }

    // Fusion.
    t.global_part.resize(static_cast<size_t>(n * h));
    t.segment_part.resize(static_cast<size_t>(n * h));
    t.local_part.resize(static_cast<size_t>(n * h));
    t.y.resize(static_cast<size_t>(n * h));
    for (int64_t i = 0; i < n; ++i)
        for (int64_t c = 0; c < h; ++c) {
            const size_t e = idx(i, c);
            t.global_part[e] = t.g_prime[static_cast<size_t>(c)] * t.o[e];
            t.segment_part[e] = t.s_hat[e] * t.o[e];
            t.local_part[e] = t.l_hat[e];
            t.y[e] = (t.g_prime[static_cast<size_t>(c)] + t.s_hat[e]) * t.o[e] + t.l_hat[e];
        }
    return t;
}

std::string describe(const TeachLayer& t) {
    std::ostringstream out;
    out << std::fixed << std::setprecision(3);
    auto vec = [&](const std::vector<float>& v) {
        out << "[";
        for (size_t i = 0; i < v.size(); ++i) out << (i ? ", " : "") << std::setw(7) << v[i];
        out << "]";
    };
    auto rows = [&](const char* title, const std::vector<float>& m) {
        out << title << "\n";
        for (int64_t i = 0; i < t.length; ++i) {
            out << "  " << std::left << std::setw(7) << t.tokens[static_cast<size_t>(i)] << std::right << " ";
            vec(std::vector<float>(m.begin() + i * t.hidden, m.begin() + (i + 1) * t.hidden));
            out << "\n";
        }
    };
    out << "Teach mode: one PoNet layer on " << t.length << " tokens, " << t.hidden << " features, one head (seed "
        << t.seed << ")\n";
    out << "segments:";
    for (int64_t i = 0; i < t.length; ++i) out << " " << t.tokens[static_cast<size_t>(i)] << "/" << t.segment_of[static_cast<size_t>(i)];
    out << "\n\n";
    rows("input x", t.x);
    rows("Q = x Wq", t.q);
    rows("K = x Wk", t.k);
    out << "\n1. GA stage 1, g = mean of Q: ";
    vec(t.g);
    out << "\n2. GA stage 2, score z_j = g.K_j / sqrt(" << t.hidden << "), alpha = softmax(z):\n";
    for (int64_t j = 0; j < t.length; ++j)
        out << "  " << std::left << std::setw(7) << t.tokens[static_cast<size_t>(j)] << std::right << " z = "
            << std::setw(7) << t.scores[static_cast<size_t>(j)] << "  alpha = " << t.alpha[static_cast<size_t>(j)] << "\n";
    out << "   g' = sum_j alpha_j K_j: ";
    vec(t.g_prime);
    out << "\n\n";
    rows("S = x Ws", t.s);
    out << "3. SMP, the max of S over each segment (winning token in brackets):\n";
    for (int64_t s = 0; s < t.segments; ++s) {
        out << "  segment " << s << ":";
        for (int64_t c = 0; c < t.hidden; ++c) {
            const size_t e = static_cast<size_t>(s * t.hidden + c);
            out << "  " << t.segment_max[e] << " (" << t.tokens[static_cast<size_t>(t.segment_winner[e])] << ")";
        }
        out << "\n";
    }
    out << "\n";
    rows("L = x Wl", t.l);
    out << "4. LMP, the max over (left, self, right); [CLS]/[SEP] are left out of windows and get 0:\n";
    rows("   L^", t.l_hat);
    out << "\n";
    rows("O = x Wo", t.o);
    rows("5. fusion y = (g' + S^) * O + L^", t.y);
    return out.str();
}

std::string to_csv(const TeachLayer& t) {
    std::ostringstream out;
    out.precision(6);
    const std::pair<const char*, const std::vector<float>*> blocks[] = {
        {"x", &t.x}, {"q", &t.q}, {"k", &t.k}, {"s", &t.s}, {"s_hat", &t.s_hat}, {"l", &t.l}, {"l_hat", &t.l_hat},
        {"o", &t.o}, {"y", &t.y}};
    out << "token_index,token,segment,special,ga_score,alpha";
    for (const auto& [name, m] : blocks) {
        (void)m;
        for (int64_t c = 0; c < t.hidden; ++c) out << "," << name << c;
    }
    for (int64_t c = 0; c < t.hidden; ++c) out << ",l_winner" << c;
    out << "\n";
    for (int64_t i = 0; i < t.length; ++i) {
        const auto u = static_cast<size_t>(i);
        out << i << "," << t.tokens[u] << "," << t.segment_of[u] << ","
            << int(t.special[u]) << "," << t.scores[u] << "," << t.alpha[u];
        for (const auto& [name, m] : blocks) {
            (void)name;
            for (int64_t c = 0; c < t.hidden; ++c) out << "," << t.at(*m, i, c);
        }
        for (int64_t c = 0; c < t.hidden; ++c) out << "," << t.l_winner[static_cast<size_t>(i * t.hidden + c)];
        out << "\n";
    }
    return out.str();
}

}  // namespace ponet
