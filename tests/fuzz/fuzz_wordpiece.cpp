// libFuzzer target: the BERT WordPiece tokenizer (core/text/wordpiece). An even first byte tokenizes the rest
// as text with a fixed vocabulary; an odd one reads the rest as a vocab.txt and tokenizes with it. Every id
// must lie inside the vocabulary and decode again; a bad vocabulary throws InvalidInput.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/text/wordpiece.h"
#include "core/util/error.h"
#include "fuzz_support.h"

namespace {

std::vector<std::string> fixed_vocabulary() {
    std::vector<std::string> v = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (char c = '!'; c <= '~'; ++c) v.push_back(std::string(1, c));
    for (char c = 'a'; c <= 'z'; ++c) v.push_back("##" + std::string(1, c));
    for (const char* w : {"the", "un", "##aff", "##able", "play", "##ing", "caf\xc3\xa9", "\xe4\xb8\xad",
                          "\xe6\x96\x87", "##\xc3\xa9", "\xf0\x9f\x99\x82", "##s", "token", "##izer"})
        v.push_back(w);
    return v;
}

void exercise(const ponet::WordPieceTokenizer& tok, const std::string& text) {
    ponet::EncodeStats stats;
    const auto ids = tok.encode(text, &stats);
    const auto tokens = tok.tokenize(text);
    FUZZ_CHECK(ids.size() == tokens.size());
    for (size_t i = 0; i < ids.size(); ++i) {
        FUZZ_CHECK(ids[i] >= 0 && ids[i] < tok.vocab_size());
        FUZZ_CHECK(tok.id_to_token(ids[i]) == tokens[i] || ids[i] == tok.special_tokens().unk);
    }
    FUZZ_CHECK(stats.replaced_bytes >= 0);
    (void)tok.decode(ids);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    if ((data[0] & 1) == 0) {
        static const ponet::WordPieceTokenizer uncased(fixed_vocabulary(), true);
        static const ponet::WordPieceTokenizer cased(fixed_vocabulary(), false);
        exercise((data[0] & 2) ? cased : uncased, rest);
        return 0;
    }
    const std::string path = fuzz::scratch_dir() + "/vocab.txt";
    fuzz::write_bytes(path, reinterpret_cast<const uint8_t*>(rest.data()), rest.size());
    std::unique_ptr<ponet::WordPieceTokenizer> tok;
    try {
        tok = ponet::WordPieceTokenizer::from_file(path, (data[0] & 2) == 0);
    } catch (const ponet::InvalidInput&) {
        return 0;
    }
    exercise(*tok, "Hello, world! Unaffable caf\xc3\xa9 [MASK] \xe4\xb8\xad\xe6\x96\x87 playing");
    exercise(*tok, rest.substr(0, 256));
    return 0;
}
