// Training a SentencePiece tokenizer on a corpus the user names (a text file, a folder of documents, JSONL,
// CSV/TSV: anything the importers read) and keeping it, with a name, in the application's tokenizers folder,
// where the GUI lists it and a run's data.tokenizer can point at it. Used by `ponet tokenize --train-spm` (with
// --name) and the Model page. Torch-free.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/data/importers.h"
#include "core/text/sentencepiece_tokenizer.h"

namespace ponet {

// <data dir>/tokenizers
std::string tokenizers_dir();

struct TokenizerTrainingSpec {
    std::string corpus;                      // a file or folder
    ImportFormat format = ImportFormat::Auto;
    ImportOptions import;                    // fields and columns of JSONL/CSV corpora
    SentencePieceTrainOptions spm;
    std::string name;                        // the folder's name: letters, digits, '.', '_' and '-'
    std::string output_root;                 // empty: tokenizers_dir()
};

struct TokenizerTrainingProgress {
    enum class Phase { ReadingCorpus, Training, Saving } phase = Phase::ReadingCorpus;
    int64_t documents = 0;  // read so far
    int64_t bytes = 0;      // of text written to the training corpus so far
};

// What a trained tokenizer's folder holds besides spm.model and tokenizer.json (trained.json).
struct SavedTokenizer {
    std::string name, directory;
    std::string model_type;  // unigram | bpe
    int64_t vocab_size = 0;
    std::string corpus;      // what it was trained on
    int64_t documents = 0, lines = 0, bytes = 0;
    std::string created_at;  // ISO 8601, UTC
    std::string model_path() const { return directory + "/spm.model"; }
};

// Throws ponet::InvalidInput saying what is wrong with a tokenizer name.
void validate_tokenizer_name(const std::string& name);

// Reads the corpus, trains, and saves <root>/<name>/{spm.model, tokenizer.json, trained.json} atomically (a
// cancelled or failed training leaves nothing behind). Throws ponet::InvalidInput for a bad name, a name
// already taken, a corpus without text (or of images), or a vocabulary larger than the corpus supports (the
// message names the largest size it allows); ponet::TrainingCancelled when `cancel` becomes true, within a fraction of
// a second even during SentencePiece's own training (which then runs in a child process).
SavedTokenizer train_tokenizer(const TokenizerTrainingSpec& spec,
                               const std::function<void(const TokenizerTrainingProgress&)>& progress = {},
                               const std::atomic<bool>* cancel = nullptr);

// The trained tokenizers under `root` (empty: tokenizers_dir()), by name; folders without a readable
// trained.json and spm.model are left out.
std::vector<SavedTokenizer> list_saved_tokenizers(const std::string& root = {});

}  // namespace ponet
