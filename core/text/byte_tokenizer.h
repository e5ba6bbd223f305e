// Byte and pixel vocabularies for the Long Range Arena tasks: text as raw UTF-8 bytes (no normalisation,
// every byte a token) and grayscale images as one token per pixel.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/text/tokenizer.h"

namespace ponet {

// Text as bytes: id = byte + 1, 0 = padding, 257 ids (the LRA byte-level text and retrieval tasks).
class ByteTokenizer final : public Tokenizer {
  public:
    static constexpr int64_t kVocabSize = 257;

    std::string kind() const override { return "bytes"; }
    // Printable ASCII as itself, every other byte as "<0xNN>".
    std::vector<std::string> tokenize(const std::string& text, EncodeStats* stats = nullptr) const override;
    std::vector<int64_t> encode(const std::string& text, EncodeStats* stats = nullptr) const override;
    // The original bytes; padding is dropped. Throws ponet::InvalidInput for an id outside 0..256.
    std::string decode(const std::vector<int64_t>& ids) const override;
    std::string id_to_token(int64_t id) const override;
    int64_t vocab_size() const override { return kVocabSize; }
    SpecialTokens special_tokens() const override { return {0, -1, -1, -1, -1}; }
    void save(const std::string& dir) const override;  // tokenizer.json
};

// How pixel values become ids (PONET-SPEC §7 #18).
enum class PixelIds {
    Raw,      // id = pixel (0..255), as the LRA reference: a black pixel is indistinguishable from padding
    Shifted,  // id = pixel + 1 (1..256), 0 only for padding: the fixed variant
};

// Grayscale images as pixel sequences (LRA Image and Pathfinder). Text input is taken as raw pixel bytes.
class PixelTokenizer final : public Tokenizer {
  public:
    explicit PixelTokenizer(PixelIds ids = PixelIds::Raw) : ids_(ids) {}

    std::vector<int64_t> encode_pixels(const uint8_t* pixels, size_t count) const;
    PixelIds ids() const { return ids_; }

    std::string kind() const override { return "pixels"; }
    // Pixel values as decimal strings ("0".."255").
    std::vector<std::string> tokenize(const std::string& pixels, EncodeStats* stats = nullptr) const override;
    std::vector<int64_t> encode(const std::string& pixels, EncodeStats* stats = nullptr) const override;
    // The pixel bytes; with Shifted ids padding is dropped (with Raw ids it cannot be told from black).
    std::string decode(const std::vector<int64_t>& ids) const override;
    std::string id_to_token(int64_t id) const override;
    int64_t vocab_size() const override { return ids_ == PixelIds::Raw ? 256 : 257; }
    SpecialTokens special_tokens() const override { return {0, -1, -1, -1, -1}; }
    void save(const std::string& dir) const override;  // tokenizer.json

  private:
    PixelIds ids_;
};

const char* to_string(PixelIds ids);  // "raw", "shifted"

}  // namespace ponet
