// load_tokenizer: the one place that knows how each tokenizer is stored in a run's tokenizer/ folder.
#include "core/text/tokenizer.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/io/atomic_file.h"
#include "core/text/byte_tokenizer.h"
#include "core/text/sentencepiece_tokenizer.h"
#include "core/text/wordpiece.h"
#include "core/util/error.h"
#include "core/util/json_limits.h"

namespace ponet {
namespace fs = std::filesystem;

namespace {

// A file named in tokenizer.json, kept inside the tokenizer folder.
std::string member(const fs::path& dir, const nlohmann::json& meta, const char* key, const char* fallback) {
    const std::string name = meta.value(key, std::string(fallback));
    if (name.empty() || fs::path(name).has_parent_path())
        throw InvalidInput((dir / "tokenizer.json").string() + ": \"" + key +
                           "\" must be a file name in the folder");
    return (dir / name).string();
}

std::unique_ptr<Tokenizer> from_meta(const fs::path& dir) {
    const fs::path file = dir / "tokenizer.json";
    nlohmann::json meta;
    try {
        const std::string text = read_file(file.string(), 1 << 20);
        check_json_depth(text, file.string());
        meta = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw InvalidInput(file.string() + ": not valid JSON (" + e.what() + ")");
    } catch (const Error& e) {
        throw InvalidInput(e.what());
    }
    // Hugging Face model folders carry their own tokenizer.json (with a "model" object) next to vocab.txt:
    // not ours, so the caller looks at the other files.
    if (meta.is_object() && !meta.contains("kind") && meta.contains("model") && meta["model"].is_object())
        return nullptr;
    if (!meta.is_object() || !meta.contains("kind") || !meta["kind"].is_string())
        throw InvalidInput(file.string() + ": no \"kind\"");
    const std::string kind = meta["kind"].get<std::string>();
    try {
        if (kind == "wordpiece")
            return WordPieceTokenizer::from_file(member(dir, meta, "vocab", "vocab.txt"),
                                                 meta.value("lowercase", true));
        if (kind == "sentencepiece")
            return SentencePieceTokenizer::from_file(member(dir, meta, "model", "spm.model"));
        if (kind == "bytes") return std::make_unique<ByteTokenizer>();
        if (kind == "pixels") {
            const std::string ids = meta.value("ids", std::string("raw"));
            if (ids != "raw" && ids != "shifted")
                throw InvalidInput(file.string() + ": \"ids\" must be \"raw\" or \"shifted\", not \"" + ids +
                                   "\"");
            return std::make_unique<PixelTokenizer>(ids == "raw" ? PixelIds::Raw : PixelIds::Shifted);
        }
    } catch (const nlohmann::json::exception& e) {
        throw InvalidInput(file.string() + ": " + e.what());
    }
    throw InvalidInput(file.string() + ": unknown tokenizer kind \"" + kind +
                       "\" (wordpiece, sentencepiece, bytes or pixels)");
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir) {
    std::error_code ec;
    const fs::path d(dir);
    if (fs::is_regular_file(d, ec)) {  // a model or vocabulary file given directly
        if (d.extension() == ".model") return SentencePieceTokenizer::from_file(dir);
        if (d.filename() == "tokenizer.json")
            return load_tokenizer(d.has_parent_path() ? d.parent_path().string() : ".");
        return WordPieceTokenizer::from_file(dir);
    }
    if (!fs::is_directory(d, ec)) throw InvalidInput("tokenizer folder '" + dir + "' does not exist");
    if (fs::is_regular_file(d / "tokenizer.json", ec))
        if (auto t = from_meta(d)) return t;
    if (fs::is_regular_file(d / "spm.model", ec))
        return SentencePieceTokenizer::from_file((d / "spm.model").string());
    if (fs::is_regular_file(d / "vocab.txt", ec))
        return WordPieceTokenizer::from_file((d / "vocab.txt").string());
    throw InvalidInput("'" + dir + "' holds no tokenizer (tokenizer.json, spm.model or vocab.txt)");
}

}  // namespace ponet
