// One interface for every tokenizer: BERT WordPiece, SentencePiece, bytes (LRA text) and pixels (LRA images).
// Torch-free: tokenisation runs on data threads and in the GUI's import preview.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ponet {

struct SpecialTokens {
    int64_t pad = 0, unk = 100, cls = 101, sep = 102, mask = 103;  // BERT's; -1 = the vocabulary has none
};

struct EncodeStats {
    int64_t replaced_bytes = 0;  // invalid UTF-8 bytes replaced by U+FFFD
};

class Tokenizer {
public:
    virtual ~Tokenizer() = default;
    virtual std::string kind() const = 0;  // "wordpiece", "sentencepiece", "bytes", "pixels"
    // Tokens as strings, without special tokens.
    virtual std::vector<std::string> tokenize(const std::string& text, EncodeStats* stats = nullptr) const = 0;
    // Ids without special tokens.
    virtual std::vector<int64_t> encode(const std::string& text, EncodeStats* stats = nullptr) const = 0;
    virtual std::string decode(const std::vector<int64_t>& ids) const = 0;
    virtual std::string id_to_token(int64_t id) const = 0;
    virtual int64_t vocab_size() const = 0;
    virtual SpecialTokens special_tokens() const = 0;
    // Writes what is needed to load it again into `dir` (vocab.txt, spm.model, or tokenizer.json for bytes/pixels).
    virtual void save(const std::string& dir) const = 0;
};

// Loads a tokenizer saved by Tokenizer::save (a run's tokenizer/ folder), or a directory holding a BERT
// vocab.txt. Throws ponet::InvalidInput with the reason.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir);

}  // namespace ponet
