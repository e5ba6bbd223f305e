// Pre-training examples (PONET-SPEC §2): SSO sentence-pair instances built statically from corpus rows, and
// dynamic MLM masking. Also the `Example` record every example builder produces and the portable seeded draws
// they share. Torch-free: batching.h turns examples into tensors.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/data/document.h"
#include "core/text/tokenizer.h"

namespace ponet {

// One training example before collation. Empty optional vectors mean "the default": token types 0, segment
// ids derived by the model from [CLS]/[SEP] (§1.5a), no special tokens.
struct Example {
    std::string id;
    std::vector<int64_t> input_ids;
    std::vector<int64_t> token_type_ids;
    std::vector<int64_t> segment_ids;          // explicit SMP ids (§1.5b); empty: derived
    std::vector<uint8_t> special_tokens_mask;  // 1 at [CLS]/[SEP]: never MLM-masked
    int64_t label = -100;                      // class index; -100: none
    std::vector<float> multi_hot;              // multi-label targets; empty for single-label tasks
    int64_t sso_label = -100;                  // 0 in order, 1 swapped, 2 random B; -100: none
    // Provenance of an SSO pair, for tests and the dataset browser: the chunk A comes from and the chunk B
    // comes from (equal unless sso_label == 2); -1 elsewhere.
    int64_t chunk = -1, b_chunk = -1;
};

// Draws from std::mt19937_64 defined bit for bit here: the std:: distributions differ between standard
// libraries, and a seed must give the same data on every machine.
double uniform01(std::mt19937_64& rng);                             // [0, 1), 53 bits
int64_t uniform_int(std::mt19937_64& rng, int64_t lo, int64_t hi);  // [lo, hi], unbiased
// The generator's full state as text (the standard's portable stream format), and back. Throws InvalidInput.
std::string rng_state(const std::mt19937_64& rng);
void set_rng_state(std::mt19937_64& rng, const std::string& state);

// How a document becomes pre-training rows (§2.1: a "sentence" is a dataset row).
enum class RowUnit { Document, Line, Paragraph, Sentence };
RowUnit row_unit_from_string(const std::string& s);  // "document", "line", "paragraph", "sentence"
// Token rows (ids without special tokens) of the documents, in order; empty rows are kept (the chunker skips
// them, as the reference does) so that row numbers stay those of the corpus.
std::vector<std::vector<int64_t>> tokenize_rows(const std::vector<Document>& docs, const Tokenizer& tokenizer,
                                                RowUnit unit);

struct SsoOptions {
    int64_t max_seq_length = 512;  // [CLS] A [SEP] B [SEP] fits in this
    double short_seq_prob = 0.1;  // drawn once per block-repetition (§7 #9: the reference's behaviour, kept)
    int64_t dupe_factor = 1;      // 5 for the training split, 1 for validation (§2.3)
    int64_t block_rows = 1000;    // the reference's map() batch: a block plays the role of a document
    uint64_t seed = 42;
};

// Sentence-structural-objective pairs exactly as §2.3, with §7 #7 fixed: a chunk of a single row yields no
// instance (the reference pairs the row with itself), and label 2 excludes the true index of the current
// chunk.
class SsoPairBuilder {
  public:
    // Throws InvalidInput when the tokenizer has no [CLS]/[SEP] or the options are out of range.
    SsoPairBuilder(SpecialTokens specials, SsoOptions options);

    // Instances of every block of `rows` (blocks of options.block_rows consecutive rows), dupe_factor times
    // per block, in order. Deterministic from the seed; a second call continues the same random stream.
    std::vector<Example> build(const std::vector<std::vector<int64_t>>& rows);
    // One block, `repetitions` times, appended to `out`.
    void build_block(const std::vector<std::vector<int64_t>>& block, int64_t repetitions,
                     std::vector<Example>& out);

    const SsoOptions& options() const { return options_; }

  private:
    SpecialTokens specials_;
    SsoOptions options_;
    std::mt19937_64 rng_;
    int64_t next_id_ = 0;
};

struct MlmOptions {
    double probability = 0.15;     // each candidate independently (Bernoulli, not an exact count)
    double mask_fraction = 0.8;    // of the selected: [MASK]
    double random_fraction = 0.5;  // of the rest: a random id from the whole vocabulary; the others stay
};

// Dynamic MLM masking (§2.5), drawn anew every time a batch is built.
class MlmMasker {
  public:
    // Throws InvalidInput when the vocabulary has no [MASK] or the probabilities are outside [0, 1].
    MlmMasker(SpecialTokens specials, int64_t vocab_size, uint64_t seed, MlmOptions options = {});

    // Masks `ids[0, n)` in place and writes the MLM labels (the original id where selected, -100 elsewhere).
    // Candidates are the positions with special[i] == 0 (the collator marks padding as special); ids equal to
    // [PAD], [CLS], [SEP] or [MASK] are never candidates either, whatever the mask says.
    // Returns the number of selected positions.
    int64_t mask(int64_t* ids, const uint8_t* special, int64_t* labels, int64_t n);

    std::string state() const { return rng_state(rng_); }
    void set_state(const std::string& s) { set_rng_state(rng_, s); }
    const MlmOptions& options() const { return options_; }

  private:
    SpecialTokens specials_;
    int64_t vocab_size_;
    MlmOptions options_;
    std::mt19937_64 rng_;
};

}  // namespace ponet
