// libFuzzer target: our SentencePiece wrapper (core/text/sentencepiece_tokenizer, which dlopen()s the
// libponet_spm.so module). An odd first byte loads the rest as a serialized model (what `--spm FILE` and a
// run's tokenizer/spm.model feed it); an even one encodes the rest as text with the seed model
// (FUZZ_SPM_MODEL). A bad model throws InvalidInput; ids stay inside the vocabulary and decode again.
#include <cstdint>
#include <memory>
#include <string>

#include "core/text/sentencepiece_tokenizer.h"
#include "core/util/error.h"
#include "fuzz_support.h"

namespace {

void exercise(const ponet::SentencePieceTokenizer& tok, const std::string& text) {
    const auto ids = tok.encode(text);
    for (const auto id : ids) FUZZ_CHECK(id >= 0 && id < tok.vocab_size());
    (void)tok.tokenize(text);
    try {
        (void)tok.decode(ids);
    } catch (const ponet::InvalidInput&) {
    }
    try {
        (void)tok.decode({-1, tok.vocab_size(), 1 << 30});  // ids from a damaged file
        FUZZ_CHECK(false && "out-of-range ids must be refused");
    } catch (const ponet::InvalidInput&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    if ((data[0] & 1) == 0) {
        static const auto seed = ponet::SentencePieceTokenizer::from_file(FUZZ_SPM_MODEL);
        exercise(*seed, rest);
        return 0;
    }
    std::unique_ptr<ponet::SentencePieceTokenizer> tok;
    try {
        tok = ponet::SentencePieceTokenizer::from_model(rest);
    } catch (const ponet::InvalidInput&) {
        return 0;
    }
    for (int64_t id = 0; id < std::min<int64_t>(tok->vocab_size(), 64); ++id) (void)tok->id_to_token(id);
    exercise(*tok, "Hello, world! caf\xc3\xa9 [MASK] \xe4\xb8\xad\xe6\x96\x87 \xff\xfe broken");
    return 0;
}
