// What GA, SMP and LMP did with one document, per layer, as plain arrays (no tensors), so the GUI thread and
// the CLI can read them. Torch-free: the explorer widgets include this header; the computation lives in
// inspect.cpp.
//
// Branch shares (docs/EDUCATORS.md): a PoNet layer fuses, for token i and feature vector length D,
//     y_i = g′ ⊙ O_i  +  Ŝ_i ⊙ O_i  +  L̂_i          (global + segment + local part)
// and the share of branch b at token i is ‖part_b‖₂ / (‖global‖₂ + ‖segment‖₂ + ‖local‖₂) — each part's L2
// norm over the D features, divided by the sum of the three norms, so the three shares are in [0, 1] and add
// up to 1 (exactly 1/3 each when every part is zero). With `clsgsepg` the segment and local parts are zero at
// [CLS]/[SEP], so those tokens are all global.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/model/model_config.h"

namespace ponet {

enum class Branch { Global = 0, Segment = 1, Local = 2 };
// Where a token's local max (LMP, window 3) came from: the left neighbour, the token itself, the right one.
enum class LmpSource { Left = 0, Self = 1, Right = 2 };

struct WeightedToken {
    int64_t token = 0;
    float weight = 0;
};

struct SourceCount {
    int64_t token = 0;     // the source token
    int32_t features = 0;  // how many of the D features it supplied
};

struct Inspection {
    // Provenance.
    std::string model_path;  // what the user chose (model or run directory)
    std::string checkpoint;  // the checkpoint folder actually loaded
    std::string document;    // a name for the document (file name, "pasted text" ...)
    std::string note;        // e.g. "truncated to 512 tokens (the model's limit)"; empty otherwise

    int64_t layers = 0, heads = 0, hidden = 0, length = 0, segments = 0;

    // Tokens.
    std::vector<std::string> tokens;        // [length] the tokenizer's pieces ([CLS], ##ing ...)
    std::vector<int64_t> token_ids;         // [length]
    std::vector<int32_t> segment_of;        // [length] the SMP segment id of each token
    std::vector<uint8_t> special;           // [length] 1 at [CLS]/[SEP]
    std::vector<int64_t> segment_first;     // [segments] first token of each segment id; -1 when unused

    // GA: the one-query softmax α of GA stage 2. [layers][heads][length]; each (layer, head) row sums to 1.
    std::vector<float> ga;
    // SMP: for each token, how many of the D features it won in its segment's max. [layers][length]
    std::vector<int32_t> smp_wins;
    // SMP: the winning token of every (segment, feature). [layers][segments][hidden]; -1 for unused segments.
    std::vector<int64_t> smp_source;
    // LMP: features whose local max came from the left / self / right. [layers][length][3]
    std::vector<int32_t> lmp_counts;
    // Branch shares (see the file comment). [layers][length][3] in Branch order.
    std::vector<float> shares;

    float ga_at(int64_t layer, int64_t head, int64_t token) const {
        return ga[static_cast<size_t>((layer * heads + head) * length + token)];
    }
    // Mean over heads.
    float ga_mean(int64_t layer, int64_t token) const;
    int32_t smp_wins_at(int64_t layer, int64_t token) const {
        return smp_wins[static_cast<size_t>(layer * length + token)];
    }
    int32_t lmp_count(int64_t layer, int64_t token, LmpSource s) const {
        return lmp_counts[static_cast<size_t>((layer * length + token) * 3 + static_cast<int>(s))];
    }
    // The source that won most features (ties: self, then left).
    LmpSource lmp_majority(int64_t layer, int64_t token) const;
    float share(int64_t layer, int64_t token, Branch b) const {
        return shares[static_cast<size_t>((layer * length + token) * 3 + static_cast<int>(b))];
    }

    // The k tokens with the highest GA weight in `layer` (head < 0: mean over heads), heaviest first.
    std::vector<WeightedToken> top_tokens(int64_t layer, int64_t head, int64_t k) const;
    // Where the SMP value of `token` came from in `layer`: the tokens of its segment that won its features,
    // most features first.
    std::vector<SourceCount> smp_sources(int64_t layer, int64_t token) const;
    // Tokens whose text contains `needle` (case-insensitive for ASCII; WordPiece "##" ignored), ascending.
    std::vector<int64_t> find(const std::string& needle) const;

    // The full result as JSON (see docs/EDUCATORS.md for the fields).
    std::string to_json() const;
    // One view's numbers as CSV: "tokens", "ga", "smp", "lmp", "shares" (layer < 0: every layer). Throws
    // InvalidInput for an unknown view.
    std::string to_csv(const std::string& view, int64_t layer = -1) const;
};

struct InspectOptions {
    std::string checkpoint = "best";  // for run directories: best, last or step-N
    int64_t max_tokens = 0;           // 0: the model's limit
    std::string device = "cpu";
    std::function<void(double fraction, const std::string& stage)> progress;
    const std::atomic<bool>* cancel = nullptr;
};

// Thrown when InspectOptions::cancel was set; the result is discarded.
struct InspectionCancelled {};

// Loads the model (a model directory with vocab.txt, a run directory or one of its checkpoints), tokenises
// `text` as a long document — `[CLS] sentence₁ … sentenceₙ [SEP]`, each sentence its own SMP segment as in
// fine-tuning on long documents — runs one forward pass with the inspection hook and reduces the traces.
// Throws InvalidInput (not a PoNet model, no tokenizer, empty text ...), Error, or InspectionCancelled.
Inspection inspect_document(const std::string& model_path, const std::string& text, const std::string& document_name,
                            const InspectOptions& options = {});

// A model directory (config.json, model.safetensors, vocab.txt) with N(0, `std`) weights for `config` and the
// WordPiece vocabulary `vocab` (one token per line; config's special ids must point into it): for
// demonstrations, the explorer's tests and its benchmark, where no trained model is at hand.
void write_random_model(const std::string& dir, const ModelConfig& config, const std::vector<std::string>& vocab,
                        uint64_t seed, double std = 0.5);

// A run's checkpoints for scrubbing: (step, folder), step ascending, valid ones only. Empty for a folder that
// is not a run directory.
std::vector<std::pair<int64_t, std::string>> run_checkpoints(const std::string& run_dir);

}  // namespace ponet
