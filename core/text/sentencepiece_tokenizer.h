// SentencePiece models (unigram or BPE): training on a corpus, encoding and decoding. SentencePiece itself
// lives in libponet_spm.so, loaded on first use (core/spm/spm_api.h says why); when the module cannot be
// loaded every entry point throws ponet::Error("SentencePiece is unavailable: <reason>").
#pragma once
#include <atomic>
#include <memory>
#include <string>

#include "core/text/tokenizer.h"
#include "core/util/error.h"

struct PonetSpmApi;

namespace ponet {

// A tokenizer training the user cancelled; nothing of it was kept.
class TrainingCancelled : public Error {
  public:
    using Error::Error;
};

struct SentencePieceTrainOptions {
    int64_t vocab_size = 8000;
    std::string model_type = "unigram";  // "unigram" or "bpe"
    double character_coverage = 0.9995;  // 1.0 for small alphabets; below 1 rare characters become [UNK]
    int64_t max_sentences = 2000000;     // lines sampled from a larger corpus (memory bound)
    int threads = 2;
    bool verbose = false;  // SentencePiece's progress log on stderr
};

class SentencePieceTokenizer final : public Tokenizer {
  public:
    ~SentencePieceTokenizer() override;
    SentencePieceTokenizer(const SentencePieceTokenizer&) = delete;
    SentencePieceTokenizer& operator=(const SentencePieceTokenizer&) = delete;

    // A serialized model (the bytes of an spm.model). Throws ponet::InvalidInput when it is not one.
    static std::unique_ptr<SentencePieceTokenizer> from_model(std::string model_bytes);
    static std::unique_ptr<SentencePieceTokenizer> from_file(const std::string& model_path);
    // Trains on the non-empty lines of `corpus_path`. The model has our special tokens at fixed ids:
    // [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, each a single piece ([CLS] [SEP] [MASK] are user-defined
    // symbols, so written in the text they stay whole, as with BERT). Throws ponet::InvalidInput when the
    // options or the corpus do not allow training (SentencePiece's reason included; a vocabulary larger than
    // the corpus supports names the largest size it allows). With `cancel`, the trainer runs in a forked
    // child process (SentencePiece has no way to stop), which is killed when *cancel becomes true:
    // ponet::TrainingCancelled is thrown within a fraction of a second.
    static std::unique_ptr<SentencePieceTokenizer> train(const std::string& corpus_path,
                                                         const SentencePieceTrainOptions& options,
                                                         const std::atomic<bool>* cancel = nullptr);

    std::string kind() const override { return "sentencepiece"; }
    // Pieces as SentencePiece writes them ("▁" marks a word start). Invalid UTF-8 is replaced first.
    std::vector<std::string> tokenize(const std::string& text, EncodeStats* stats = nullptr) const override;
    std::vector<int64_t> encode(const std::string& text, EncodeStats* stats = nullptr) const override;
    // Throws ponet::InvalidInput for an id outside the vocabulary.
    std::string decode(const std::vector<int64_t>& ids) const override;
    std::string id_to_token(int64_t id) const override;
    int64_t vocab_size() const override { return vocab_size_; }
    SpecialTokens special_tokens() const override { return special_; }
    // Writes spm.model and tokenizer.json.
    void save(const std::string& dir) const override;

    const std::string& model_bytes() const { return model_; }

  private:
    SentencePieceTokenizer(const PonetSpmApi* api, void* processor, std::string model);

    const PonetSpmApi* api_;
    void* processor_;
    std::string model_;
    int64_t vocab_size_ = 0;
    SpecialTokens special_;
};

// Whether libponet_spm.so can be loaded; if not, *reason says why (the text after "SentencePiece is
// unavailable: "). Loads the module on first call.
bool sentencepiece_available(std::string* reason = nullptr);

}  // namespace ponet
