// From a run configuration's data section to what the trainer consumes: train/dev/test example sets, the
// tokenizer and the label list. Recipes are fetched on demand, files go through the importers, ListOps and
// Pathfinder are generated from the run's seed, and missing dev/test splits are cut from the training data
// (grouped, stratified, seeded), so the same configuration always yields the same examples.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/data/batching.h"
#include "core/data/classification.h"
#include "core/data/pretraining.h"
#include "core/data/recipes.h"
#include "core/model/model_config.h"
#include "core/text/tokenizer.h"
#include "core/train/run_config.h"

namespace ponet {

class RunDirectory;

struct TaskData {
    TaskKind task = TaskKind::Finetune;
    // Null for ListOps, whose 15 symbols are a fixed table (lra.h) rather than a tokenizer.
    std::shared_ptr<const Tokenizer> tokenizer;
    SpecialTokens specials;
    int64_t vocab_size = 0;
    LabelMap labels;  // classification and LRA; empty for pre-training
    std::shared_ptr<const std::vector<Example>> train, dev, test;
    CollateOptions collate;
    std::string lra_kind;  // "listops", "pathfinder", "bytes", "pixels"; empty outside LRA
    std::string summary;   // one line per split for the log
};

struct TaskDataHooks {
    std::function<void(const std::string&)> log;
    std::function<void(const FetchProgress&)> fetch_progress;
    // A saved tokenizer folder that wins over data.tokenizer (a resumed run uses its own tokenizer/).
    std::string tokenizer_dir;
};

// Throws InvalidInput for a configuration the data cannot satisfy (no labels for fine-tuning, a file that
// does not exist, an unknown generator option ...), ponet::Error when a recipe cannot be fetched.
TaskData prepare_task_data(const RunConfig& config, const TaskDataHooks& hooks = {});

// Writes tokenizer/ (when there is one) and labels.json (when there are labels) into the run directory.
void save_task_artifacts(const TaskData& data, const RunDirectory& dir);

// The tokenizer named by data.tokenizer ("byte", a vocab.txt, a SentencePiece .model, a tokenizer folder);
// empty: the model folder's own vocab.txt, else the `bert-vocab` recipe. Exposed for `ponet predict`.
std::shared_ptr<const Tokenizer> resolve_tokenizer(const RunConfig& config, const TaskDataHooks& hooks);

// How LRA rows are batched (PONET-SPEC §4.1): id 0 masked as padding (§7 #18), and every row padded to the model's
// full length, as the reference pipeline pads to a power of two. Its MEAN pooling divides by all L positions and FNet
// mixes the padding in, so a row padded only to its batch's longest would give logits that depend on its batch.
void use_lra_batching(CollateOptions& collate, int64_t max_length);

// FNet mixes the padding in (its Fourier transform runs over every position), so an FNet model's rows are padded to
// `max_length` as LRA rows are, whatever the task: padded only to their batch's longest, a row's output would depend
// on the rows batched with it. Other mixers mask the padding out and keep the collation as it is.
void use_model_batching(CollateOptions& collate, const ModelConfig& model, int64_t max_length);

// Whether padding every one of `examples` to `max_length` costs little: they average at least 3/4 of it, so one fixed
// shape adds at most a third to the work. On CUDA the trainer then pads its training batches to it, so that every
// step replays the recorded CUDA graph (train.cuda_graphs) instead of running as an ordinary step whenever a batch's
// longest row is shorter; the mixers mask the padding out (FNet and LRA rows are padded to it anyway).
bool fixed_length_pays(const std::vector<Example>& examples, int64_t max_length);

// The LRA byte tokenizer (id = byte + 1).
std::shared_ptr<const Tokenizer> make_byte_tokenizer();

// Examples of documents for classification with an existing label map: pairs as `[CLS] A [SEP] B [SEP]`,
// single texts as long documents with sentence segment ids (§3.2.2), bytes/pixels for LRA.
std::vector<Example> classification_examples(const std::vector<Document>& docs, const Tokenizer* tokenizer,
                                             const LabelMap& labels, int64_t max_length,
                                             const std::string& lra_kind);

}  // namespace ponet
