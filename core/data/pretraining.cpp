// SSO instance creation (PONET-SPEC §2.3) and MLM masking (§2.5). Decisions: docs/DATA-PIPELINE.md.
#include "core/data/pretraining.h"

#include <algorithm>
#include <limits>
#include <sstream>
#include <utility>

#include "core/data/sentences.h"
#include "core/util/error.h"

namespace ponet {

double uniform01(std::mt19937_64& rng) {
    return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

int64_t uniform_int(std::mt19937_64& rng, int64_t lo, int64_t hi) {
    if (hi < lo)
        throw InvalidInput("uniform_int: empty range [" + std::to_string(lo) + ", " + std::to_string(hi) +
                           "]");
    const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
    if (span == 0) return static_cast<int64_t>(rng());  // the whole 64-bit range
    // Rejection keeps every value equally likely (a plain modulo favours the small ones).
    const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % span;
    uint64_t r;
    do r = rng();
    while (r >= limit);
    return static_cast<int64_t>(static_cast<uint64_t>(lo) + r % span);
}

std::string rng_state(const std::mt19937_64& rng) {
    std::ostringstream os;
    os << rng;
    return os.str();
}

void set_rng_state(std::mt19937_64& rng, const std::string& state) {
    std::istringstream is(state);
    std::mt19937_64 r;
    is >> r;
    if (is.fail())
        throw InvalidInput("not a saved random generator state (" + std::to_string(state.size()) + " bytes)");
    rng = r;
}

RowUnit row_unit_from_string(const std::string& s) {
    if (s == "document") return RowUnit::Document;
    if (s == "line") return RowUnit::Line;
    if (s == "paragraph") return RowUnit::Paragraph;
    if (s == "sentence") return RowUnit::Sentence;
    throw InvalidInput("unknown row unit '" + s + "'; expected document, line, paragraph or sentence");
}

std::vector<std::vector<int64_t>> tokenize_rows(const std::vector<Document>& docs, const Tokenizer& tokenizer,
                                                RowUnit unit) {
    std::vector<std::vector<int64_t>> rows;
    for (const auto& d : docs) {
        std::vector<std::string> pieces;
        switch (unit) {
            case RowUnit::Document:
                pieces = {d.text};
                break;
            case RowUnit::Line:
                pieces = split_lines(d.text);
                break;
            case RowUnit::Paragraph:
                pieces = split_paragraphs(d.text);
                break;
            case RowUnit::Sentence:
                pieces = split_sentences(d.text);
                break;
        }
        for (const auto& p : pieces) rows.push_back(tokenizer.encode(p));
    }
    return rows;
}

// ---------------------------------------------------------------------------------------------------------------
// SsoPairBuilder

namespace {

// A token sequence with the per-token sentence number (row index within its chunk), trimmed in place from
// either end without copying.
struct Span {
    std::vector<int64_t> ids, sent;
    size_t b = 0, e = 0;
    size_t size() const { return e - b; }
};

void append_rows(const std::vector<std::vector<int64_t>>& block, const std::vector<size_t>& chunk,
                 size_t from, size_t to, Span& s) {
    for (size_t j = from; j < to; ++j) {
        const auto& row = block[chunk[j]];
        s.ids.insert(s.ids.end(), row.begin(), row.end());
        s.sent.insert(s.sent.end(), row.size(), static_cast<int64_t>(j));
    }
    s.b = 0;
    s.e = s.ids.size();
}

}  // namespace

SsoPairBuilder::SsoPairBuilder(SpecialTokens specials, SsoOptions options)
    : specials_(specials), options_(options), rng_(options.seed) {
    if (specials_.cls < 0 || specials_.sep < 0)
        throw InvalidInput("SSO pairs need [CLS] and [SEP] tokens; this tokenizer has none");
    if (options_.max_seq_length < 5)
        throw InvalidInput("max_seq_length must be at least 5 ([CLS] a [SEP] b [SEP]), got " +
                           std::to_string(options_.max_seq_length));
    if (options_.short_seq_prob < 0 || options_.short_seq_prob > 1)
        throw InvalidInput("short_seq_prob must be in [0, 1]");
    if (options_.dupe_factor < 1) throw InvalidInput("dupe_factor must be at least 1");
    if (options_.block_rows < 1) throw InvalidInput("block_rows must be at least 1");
}

std::vector<Example> SsoPairBuilder::build(const std::vector<std::vector<int64_t>>& rows) {
    std::vector<Example> out;
    const auto B = static_cast<size_t>(options_.block_rows);
    for (size_t b = 0; b < rows.size(); b += B) {
        const std::vector<std::vector<int64_t>> block(
            rows.begin() + static_cast<std::ptrdiff_t>(b),
            rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), b + B)));
        build_block(block, options_.dupe_factor, out);
    }
    return out;
}

void SsoPairBuilder::build_block(const std::vector<std::vector<int64_t>>& block, int64_t repetitions,
                                 std::vector<Example>& out) {
    const int64_t max_num_tokens = options_.max_seq_length - 3;
    for (int64_t rep = 0; rep < repetitions; ++rep) {
        int64_t target = max_num_tokens;
        if (uniform01(rng_) < options_.short_seq_prob) target = uniform_int(rng_, 2, max_num_tokens);

        // The reference walks the block twice with the same target; both passes give the same chunks, so one
        // pass serves as the pool for label 2 and as the instance source.
        std::vector<std::vector<size_t>> chunks;
        std::vector<size_t> current;
        int64_t length = 0;
        for (size_t i = 0; i < block.size(); ++i) {
            if (block[i].empty()) continue;
            current.push_back(i);
            length += static_cast<int64_t>(block[i].size());
            if (length >= target || i + 1 == block.size()) {
                chunks.push_back(std::move(current));
                current.clear();
                length = 0;
            }
        }
        // Rows after the last non-empty one are empty: close what is left rather than dropping it.
        if (!current.empty()) chunks.push_back(std::move(current));

        for (size_t k = 0; k < chunks.size(); ++k) {
            const auto& chunk = chunks[k];
            // §7 #7 fixed: one row cannot be split into A and B; the reference pairs it with itself and gives
            // that identical pair labels 0 and 1 alike. Skipping it draws nothing, and k stays the chunk's
            // true index.
            if (chunk.size() < 2) continue;
            const auto a_end =
                static_cast<size_t>(uniform_int(rng_, 1, static_cast<int64_t>(chunk.size()) - 1));
            Span a, b;
            append_rows(block, chunk, 0, a_end, a);
            append_rows(block, chunk, a_end, chunk.size(), b);
            int64_t label = 0, b_chunk = static_cast<int64_t>(k);
            const double rho = uniform01(rng_);
            if (rho < 1.0 / 3.0) {
                label = 1;
                std::swap(a, b);
            } else if (rho < 2.0 / 3.0 && chunks.size() > 1) {
                label = 2;
                int64_t rid;
                do rid = uniform_int(rng_, 0, static_cast<int64_t>(chunks.size()) - 1);
                while (rid == static_cast<int64_t>(k));
                b = Span{};
                const auto& other = chunks[static_cast<size_t>(rid)];
                append_rows(block, other, 0, other.size(), b);
                b_chunk = rid;
            }
            // §2.3 step 4: trim the longer side (B on ties) at a random end, one token at a time.
            while (static_cast<int64_t>(a.size() + b.size()) > max_num_tokens) {
                Span& t = a.size() > b.size() ? a : b;
                if (uniform01(rng_) < 0.5)
                    ++t.b;
                else
                    --t.e;
            }

            Example ex;
            ex.id = "sso-" + std::to_string(next_id_++);
            const size_t total = a.size() + b.size() + 3;
            ex.input_ids.reserve(total);
            ex.token_type_ids.reserve(total);
            ex.segment_ids.reserve(total);
            ex.special_tokens_mask.reserve(total);
            auto push = [&ex](int64_t id, int64_t type, int64_t seg, uint8_t special) {
                ex.input_ids.push_back(id);
                ex.token_type_ids.push_back(type);
                ex.segment_ids.push_back(seg);
                ex.special_tokens_mask.push_back(special);
            };
            push(specials_.cls, 0, 0, 1);
            int64_t seg = 0;
            for (size_t i = a.b; i < a.e; ++i) push(a.ids[i], 0, seg = a.sent[i] - a.sent[a.b] + 1, 0);
            const int64_t first_sep = seg + 1;
            push(specials_.sep, 0, first_sep, 1);
            seg = first_sep;
            for (size_t i = b.b; i < b.e; ++i)
                push(b.ids[i], 1, seg = b.sent[i] - b.sent[b.b] + first_sep + 1, 0);
            push(specials_.sep, 1, seg + 1, 1);
            ex.sso_label = label;
            ex.chunk = static_cast<int64_t>(k);
            ex.b_chunk = b_chunk;
            out.push_back(std::move(ex));
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// MlmMasker

MlmMasker::MlmMasker(SpecialTokens specials, int64_t vocab_size, uint64_t seed, MlmOptions options)
    : specials_(specials), vocab_size_(vocab_size), options_(options), rng_(seed) {
    if (specials_.mask < 0) throw InvalidInput("MLM masking needs a [MASK] token; this tokenizer has none");
    if (vocab_size_ < 1) throw InvalidInput("MLM masking needs a vocabulary size");
    for (double p : {options_.probability, options_.mask_fraction, options_.random_fraction})
        if (!(p >= 0 && p <= 1)) throw InvalidInput("MLM probabilities must lie in [0, 1]");
}

int64_t MlmMasker::mask(int64_t* ids, const uint8_t* special, int64_t* labels, int64_t n) {
    int64_t selected = 0;
    for (int64_t i = 0; i < n; ++i) {
        labels[i] = -100;
        const int64_t id = ids[i];
        if ((special && special[i]) || id == specials_.pad || id == specials_.cls || id == specials_.sep ||
            id == specials_.mask)
            continue;
        if (uniform01(rng_) >= options_.probability) continue;
        labels[i] = id;
        ++selected;
        if (uniform01(rng_) < options_.mask_fraction)
            ids[i] = specials_.mask;
        else if (uniform01(rng_) < options_.random_fraction)
            ids[i] = uniform_int(rng_, 0, vocab_size_ - 1);
    }
    return selected;
}

}  // namespace ponet
