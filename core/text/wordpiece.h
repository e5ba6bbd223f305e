// BERT's WordPiece tokenizer from a vocab.txt, matching the Hugging Face BertTokenizer id for id: the basic
// tokenizer (cleaning, CJK splitting, lower-casing and accent stripping, whitespace and punctuation splits)
// followed by greedy longest-match-first WordPiece with "##" continuations.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/text/tokenizer.h"

namespace ponet {

class WordPieceTokenizer final : public Tokenizer {
  public:
    // Words longer than this (in code points) become [UNK], as in BERT.
    static constexpr size_t kMaxWordChars = 100;

    // `vocab`: one token per id. `lowercase` = the uncased models (lower-case and strip accents); false keeps
    // case and accents, like BertTokenizer(do_lower_case=False). Throws ponet::InvalidInput when the
    // vocabulary is empty or has no [UNK].
    explicit WordPieceTokenizer(std::vector<std::string> vocab, bool lowercase = true);
    WordPieceTokenizer(const WordPieceTokenizer&) = delete;  // the lookup tables point into vocab_
    WordPieceTokenizer& operator=(const WordPieceTokenizer&) = delete;

    // Reads a vocab.txt (id = line number, lines split as Python's universal newlines do).
    static std::unique_ptr<WordPieceTokenizer> from_file(const std::string& vocab_path,
                                                         bool lowercase = true);

    std::string kind() const override { return "wordpiece"; }
    std::vector<std::string> tokenize(const std::string& text, EncodeStats* stats = nullptr) const override;
    std::vector<int64_t> encode(const std::string& text, EncodeStats* stats = nullptr) const override;
    // Hugging Face's convert_tokens_to_string: tokens joined by spaces, "##" continuations glued back.
    // Padding is left out. Throws ponet::InvalidInput for an id outside the vocabulary.
    std::string decode(const std::vector<int64_t>& ids) const override;
    std::string id_to_token(int64_t id) const override;
    int64_t vocab_size() const override { return static_cast<int64_t>(vocab_.size()); }
    SpecialTokens special_tokens() const override { return special_; }
    // Writes vocab.txt and tokenizer.json.
    void save(const std::string& dir) const override;

    // The id of `token` (a "##" prefix marks a continuation), or -1.
    int64_t token_to_id(std::string_view token) const;
    bool lowercase() const { return lowercase_; }

  private:
    struct Scratch;
    template <class Emit>
    void run(const std::string& text, EncodeStats* stats, Emit&& emit) const;
    template <class Emit>
    void split_word(Scratch& s, Emit&& emit) const;
    template <class Emit>
    void wordpiece(Scratch& s, size_t begin, size_t end, Emit&& emit) const;

    std::vector<std::string> vocab_;
    bool lowercase_;
    // Word-initial pieces and "##" continuations (stored without the "##") in separate maps, so that a
    // lookup never has to build "##" + substring. Keys view into vocab_.
    std::unordered_map<std::string_view, int64_t> initial_, continuation_;
    size_t max_piece_bytes_ = 0;
    SpecialTokens special_;
    std::vector<std::pair<std::u32string, int64_t>> special_texts_;  // special tokens kept whole in the input
};

}  // namespace ponet
