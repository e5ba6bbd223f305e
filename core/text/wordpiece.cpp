#include "core/text/wordpiece.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/io/atomic_file.h"
#include "core/text/unicode.h"
#include "core/util/error.h"

namespace ponet {

namespace u = unicode;

// Per-call buffers, reused across the words of one text so the hot loop does not allocate per character.
struct WordPieceTokenizer::Scratch {
    std::u32string text;          // the decoded input
    std::u32string word;          // one whitespace-delimited word, cleaned
    std::u32string folded;        // the word lower-cased and accent-stripped
    std::string utf8;             // one punctuation-delimited piece, re-encoded for the vocabulary lookups
    std::vector<size_t> offsets;  // byte offset of each code point of `utf8`, plus its end
    struct Piece {
        int64_t id;
        size_t begin, end;  // bytes of `utf8`
    };
    std::vector<Piece> pieces;
};

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> vocab, bool lowercase)
    : vocab_(std::move(vocab)), lowercase_(lowercase) {
    if (vocab_.empty()) throw InvalidInput("the WordPiece vocabulary is empty");
    initial_.reserve(vocab_.size());
    continuation_.reserve(vocab_.size() / 4);
    // Later duplicates win, as in Hugging Face's load_vocab (a dict filled line by line).
    for (size_t i = 0; i < vocab_.size(); ++i) {
        const std::string_view token = vocab_[i];
        initial_[token] = static_cast<int64_t>(i);
        if (token.size() > 2 && token.compare(0, 2, "##") == 0)
            continuation_[token.substr(2)] = static_cast<int64_t>(i);
        max_piece_bytes_ = std::max(max_piece_bytes_, token.size());
    }
    auto find = [&](const char* t) { return token_to_id(t); };
    special_.pad = find("[PAD]");
    special_.unk = find("[UNK]");
    special_.cls = find("[CLS]");
    special_.sep = find("[SEP]");
    special_.mask = find("[MASK]");
    if (special_.unk < 0) throw InvalidInput("the WordPiece vocabulary has no [UNK] token");
    for (const char* t : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
        const int64_t id = find(t);
        if (id < 0) continue;
        std::u32string s;
        for (const char* c = t; *c; ++c) s.push_back(static_cast<char32_t>(*c));
        special_texts_.emplace_back(std::move(s), id);
    }
}

std::unique_ptr<WordPieceTokenizer> WordPieceTokenizer::from_file(const std::string& vocab_path,
                                                                  bool lowercase) {
    std::string bytes;
    try {
        bytes = read_file(vocab_path, uint64_t{1} << 30);
    } catch (const Error& e) {
        throw InvalidInput(std::string("cannot read the WordPiece vocabulary: ") + e.what());
    }
    std::vector<std::string> vocab;
    size_t start = 0;
    for (size_t i = 0; i < bytes.size(); ++i) {
        if (bytes[i] != '\n' && bytes[i] != '\r') continue;
        vocab.emplace_back(bytes, start, i - start);
        if (bytes[i] == '\r' && i + 1 < bytes.size() && bytes[i + 1] == '\n') ++i;
        start = i + 1;
    }
    if (start < bytes.size()) vocab.emplace_back(bytes, start, bytes.size() - start);
    try {
        return std::make_unique<WordPieceTokenizer>(std::move(vocab), lowercase);
    } catch (const InvalidInput& e) {
        throw InvalidInput(vocab_path + ": " + e.what());
    }
}

int64_t WordPieceTokenizer::token_to_id(std::string_view token) const {
    const auto it = initial_.find(token);
    return it == initial_.end() ? -1 : it->second;
}

// Greedy longest-match-first over the code points of one piece; a piece with any unmatched remainder, or
// longer than kMaxWordChars, is one [UNK] as a whole (BERT's WordpieceTokenizer).
template <class Emit>
void WordPieceTokenizer::wordpiece(Scratch& s, size_t begin, size_t end, Emit&& emit) const {
    const size_t n = end - begin;
    if (n == 0) return;
    if (n > kMaxWordChars) {
        emit(special_.unk, std::string_view(vocab_[static_cast<size_t>(special_.unk)]));
        return;
    }
    s.utf8.clear();
    s.offsets.clear();
    for (size_t i = begin; i < end; ++i) {
        s.offsets.push_back(s.utf8.size());
        u::append_utf8(s.folded[i], s.utf8);
    }
    s.offsets.push_back(s.utf8.size());
    s.pieces.clear();
    size_t start = 0;
    while (start < n) {
        const auto& map = start == 0 ? initial_ : continuation_;
        size_t stop = n;
        // Substrings longer than the longest vocabulary entry cannot match; skipping them changes nothing.
        while (stop > start && s.offsets[stop] - s.offsets[start] > max_piece_bytes_) --stop;
        int64_t id = -1;
        for (; stop > start; --stop) {
            const auto it = map.find(
                std::string_view(s.utf8).substr(s.offsets[start], s.offsets[stop] - s.offsets[start]));
            if (it != map.end()) {
                id = it->second;
                break;
            }
        }
        if (id < 0) {
            emit(special_.unk, std::string_view(vocab_[static_cast<size_t>(special_.unk)]));
            return;
        }
        s.pieces.push_back({id, s.offsets[start], s.offsets[stop]});
        start = stop;
    }
    for (const auto& p : s.pieces) emit(p.id, std::string_view(vocab_[static_cast<size_t>(p.id)]));
}

// One whitespace-delimited word: lower-case and strip accents, then split around punctuation.
template <class Emit>
void WordPieceTokenizer::split_word(Scratch& s, Emit&& emit) const {
    if (s.word.empty()) return;
    s.folded.clear();
    if (lowercase_) {
        for (char32_t c : s.word) u::append_lower(c, s.folded);
        u::strip_accents(s.folded);
    } else {
        s.folded = s.word;
    }
    size_t piece_start = 0;
    for (size_t i = 0; i < s.folded.size(); ++i) {
        if (!u::is_bert_punctuation(s.folded[i])) continue;
        wordpiece(s, piece_start, i, emit);
        wordpiece(s, i, i + 1, emit);
        piece_start = i + 1;
    }
    wordpiece(s, piece_start, s.folded.size(), emit);
    s.word.clear();
}

// Hugging Face's order of work: special tokens written in the text are kept whole (the added-tokens trie of
// PreTrainedTokenizer.tokenize), then BasicTokenizer cleans, splits out CJK ideographs and splits on
// whitespace; each word goes to split_word. Lower-casing is per code point in both places in Hugging Face,
// so Greek final sigma never applies and neither does it here.
template <class Emit>
void WordPieceTokenizer::run(const std::string& text, EncodeStats* stats, Emit&& emit) const {
    Scratch s;
    const size_t replaced = u::decode_utf8(text, s.text);
    if (stats) stats->replaced_bytes += static_cast<int64_t>(replaced);
    const std::u32string& t = s.text;
    for (size_t i = 0; i < t.size(); ++i) {
        const char32_t c = t[i];
        if (c == U'[') {
            bool matched = false;
            for (const auto& [literal, id] : special_texts_) {
                if (t.compare(i, literal.size(), literal) != 0) continue;
                split_word(s, emit);
                emit(id, std::string_view(vocab_[static_cast<size_t>(id)]));
                i += literal.size() - 1;
                matched = true;
                break;
            }
            if (matched) continue;
        }
        if (c == 0 || c == u::kReplacementChar) continue;
        const uint8_t f = u::char_flags(c);
        if (f & u::kControl) continue;
        if (f & (u::kWhitespace | u::kPythonSpace)) {
            split_word(s, emit);
        } else if (u::is_cjk_ideograph(c)) {
            split_word(s, emit);
            s.word.push_back(c);
            split_word(s, emit);
        } else {
            s.word.push_back(c);
        }
    }
    split_word(s, emit);
}

std::vector<std::string> WordPieceTokenizer::tokenize(const std::string& text, EncodeStats* stats) const {
    std::vector<std::string> out;
    run(text, stats, [&](int64_t, std::string_view token) { out.emplace_back(token); });
    return out;
}

std::vector<int64_t> WordPieceTokenizer::encode(const std::string& text, EncodeStats* stats) const {
    std::vector<int64_t> out;
    out.reserve(text.size() / 4 + 1);
    run(text, stats, [&](int64_t id, std::string_view) { out.push_back(id); });
    return out;
}

std::string WordPieceTokenizer::id_to_token(int64_t id) const {
    if (id < 0 || id >= vocab_size())
        throw InvalidInput("token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                           std::to_string(vocab_size() - 1) + ")");
    return vocab_[static_cast<size_t>(id)];
}

std::string WordPieceTokenizer::decode(const std::vector<int64_t>& ids) const {
    // Literally Hugging Face's " ".join(tokens).replace(" ##", "").strip(), so decoded text compares equal.
    std::string joined;
    for (int64_t id : ids) {
        if (id == special_.pad) continue;
        if (!joined.empty()) joined.push_back(' ');
        joined += id_to_token(id);
    }
    std::string out;
    out.reserve(joined.size());
    for (size_t i = 0; i < joined.size(); ++i) {
        if (joined.compare(i, 3, " ##") == 0) {
            i += 2;
            continue;
        }
        out.push_back(joined[i]);
    }
    const size_t first = out.find_first_not_of(" \t\n\r\f\v");
    if (first == std::string::npos) return {};
    return out.substr(first, out.find_last_not_of(" \t\n\r\f\v") - first + 1);
}

void WordPieceTokenizer::save(const std::string& dir) const {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error("cannot create " + dir + ": " + ec.message());
    std::string text;
    for (const auto& t : vocab_) text.append(t).push_back('\n');
    write_file_atomic((std::filesystem::path(dir) / "vocab.txt").string(), text);
    const nlohmann::json meta = {{"kind", kind()}, {"vocab", "vocab.txt"}, {"lowercase", lowercase_}};
    write_file_atomic((std::filesystem::path(dir) / "tokenizer.json").string(), meta.dump(2) + "\n");
}

}  // namespace ponet
