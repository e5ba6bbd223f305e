// The C++ interface between the core and libponet_spm.so, the module that holds SentencePiece.
// Debian's SentencePiece carries its own protobuf, which crashes a process that also links LibTorch's
// protobuf (TOOLCHAIN.md §5.1), so no target that links torch may include a SentencePiece header. The core
// dlopen()s the module (RTLD_LOCAL|RTLD_DEEPBIND) and calls it only through this table. std::string and
// std::vector may cross the boundary because both sides share one libstdc++.
#pragma once
#include <string>
#include <utility>
#include <vector>

extern "C" {

// Bump when the table changes; the core refuses a module of another version.
#define PONET_SPM_API_VERSION 1

struct PonetSpmApi {
    int version;
    // Trains a model on the lines of `corpus_path` with SentencePiece's trainer flags (name, value) and
    // stores the serialized model in *model. Returns false with the reason in *error.
    bool (*train)(const std::string& corpus_path,
                  const std::vector<std::pair<std::string, std::string>>& flags, std::string* model,
                  std::string* error);
    // A processor for a serialized model, or nullptr with the reason in *error.
    void* (*load)(const std::string& model, std::string* error);
    void (*destroy)(void* processor);
    // `text` must be valid UTF-8 (the core sanitizes it first).
    void (*encode_ids)(void* processor, const std::string& text, std::vector<int>* ids);
    void (*encode_pieces)(void* processor, const std::string& text, std::vector<std::string>* pieces);
    // Returns false when an id is out of range.
    bool (*decode_ids)(void* processor, const std::vector<int>& ids, std::string* text);
    int (*piece_size)(void* processor);
    std::string (*id_to_piece)(void* processor, int id);
    int (*piece_to_id)(void* processor, const std::string& piece);  // the unk id when absent
    int (*unk_id)(void* processor);
};

// The module's one exported symbol.
const PonetSpmApi* ponet_spm_api();
typedef const PonetSpmApi* (*ponet_spm_api_fn)();
}
