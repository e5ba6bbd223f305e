#include "core/text/byte_tokenizer.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/io/atomic_file.h"
#include "core/util/error.h"

namespace ponet {

namespace {

void check_id(int64_t id, int64_t vocab_size) {
    if (id < 0 || id >= vocab_size)
        throw InvalidInput("token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                           std::to_string(vocab_size - 1) + ")");
}

void save_meta(const std::string& dir, const nlohmann::json& meta) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error("cannot create " + dir + ": " + ec.message());
    write_file_atomic((std::filesystem::path(dir) / "tokenizer.json").string(), meta.dump(2) + "\n");
}

}  // namespace

std::vector<std::string> ByteTokenizer::tokenize(const std::string& text, EncodeStats*) const {
    std::vector<std::string> out;
    out.reserve(text.size());
    for (unsigned char b : text) out.push_back(id_to_token(b + 1));
    return out;
}

std::vector<int64_t> ByteTokenizer::encode(const std::string& text, EncodeStats*) const {
    std::vector<int64_t> out(text.size());
    for (size_t i = 0; i < text.size(); ++i) out[i] = static_cast<unsigned char>(text[i]) + 1;
    return out;
}

std::string ByteTokenizer::decode(const std::vector<int64_t>& ids) const {
    std::string out;
    out.reserve(ids.size());
    for (int64_t id : ids) {
        check_id(id, kVocabSize);
        if (id != 0) out.push_back(static_cast<char>(id - 1));
    }
    return out;
}

std::string ByteTokenizer::id_to_token(int64_t id) const {
    check_id(id, kVocabSize);
    if (id == 0) return "[PAD]";
    const int64_t b = id - 1;
    if (b > 32 && b < 127) return std::string(1, static_cast<char>(b));
    static const char* hex = "0123456789ABCDEF";
    return std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">";
}

void ByteTokenizer::save(const std::string& dir) const {
    save_meta(dir, {{"kind", kind()}, {"vocab_size", kVocabSize}, {"pad", 0}});
}

const char* to_string(PixelIds ids) {
    return ids == PixelIds::Raw ? "raw" : "shifted";
}

std::vector<int64_t> PixelTokenizer::encode_pixels(const uint8_t* pixels, size_t count) const {
    const int64_t shift = ids_ == PixelIds::Shifted ? 1 : 0;
    std::vector<int64_t> out(count);
    for (size_t i = 0; i < count; ++i) out[i] = pixels[i] + shift;
    return out;
}

std::vector<int64_t> PixelTokenizer::encode(const std::string& pixels, EncodeStats*) const {
    return encode_pixels(reinterpret_cast<const uint8_t*>(pixels.data()), pixels.size());
}

std::vector<std::string> PixelTokenizer::tokenize(const std::string& pixels, EncodeStats*) const {
    std::vector<std::string> out;
    out.reserve(pixels.size());
    for (unsigned char p : pixels) out.push_back(std::to_string(p));
    return out;
}

std::string PixelTokenizer::decode(const std::vector<int64_t>& ids) const {
    std::string out;
    out.reserve(ids.size());
    for (int64_t id : ids) {
        check_id(id, vocab_size());
        if (ids_ == PixelIds::Raw)
            out.push_back(static_cast<char>(id));
        else if (id != 0)
            out.push_back(static_cast<char>(id - 1));
    }
    return out;
}

std::string PixelTokenizer::id_to_token(int64_t id) const {
    check_id(id, vocab_size());
    if (ids_ == PixelIds::Raw) return std::to_string(id);
    return id == 0 ? "[PAD]" : std::to_string(id - 1);
}

void PixelTokenizer::save(const std::string& dir) const {
    save_meta(dir, {{"kind", kind()}, {"ids", to_string(ids_)}, {"vocab_size", vocab_size()}, {"pad", 0}});
}

}  // namespace ponet
