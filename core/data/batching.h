// From examples to model batches (PONET-SPEC §2.4): padding and collation, length-bucketed deterministic
// sampling, a resumable data cursor, and a background prefetch thread with a bounded queue.
#pragma once
#include <torch/torch.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/data/pretraining.h"
#include "core/model/ponet_model.h"

namespace ponet {

struct Batch {
    torch::Tensor input_ids;       // [B, L] int64
    torch::Tensor attention_mask;  // [B, L] int64, 1 = real token
    torch::Tensor token_type_ids;  // [B, L] int64
    torch::Tensor segment_ids;     // [B, L] int64 when the examples carry explicit ids; undefined: derived
    torch::Tensor labels;          // MLM [B, L] (-100 ignored), class [B] int64, or multi-hot [B, C] float
    torch::Tensor sso_labels;      // [B] int64 (pre-training) or undefined
    torch::Tensor special_tokens_mask;  // [B, L] uint8, 1 at special tokens and padding
    int64_t tokens = 0;                 // real (unpadded) tokens in the batch
    std::vector<std::string> ids;       // example ids, for error messages and predictions

    int64_t size() const { return input_ids.defined() ? input_ids.size(0) : 0; }
    ModelInputs to_model_inputs() const;
};

struct CollateOptions {
    int64_t pad_id = 0;
    int64_t pad_to_multiple = 1;  // 8 for long documents (§3.2.2)
    int64_t fixed_length = 0;     // > 0: pad every batch to this length (GLUE 128, LRA power-of-two lengths)
    // LRA (§4.1): attention_mask = (input_ids != pad_id) everywhere, so pixel 0 counts as padding in the
    // parity mode (§7 #18). Off: the mask marks the examples' own tokens, whatever their id.
    bool mask_pad_ids = false;
};

// Pads to the longest example (or fixed_length): input_ids with pad_id, attention_mask 0, token types 0,
// special_tokens_mask 1, and segment ids with the row's last id + 1 (§2.4). Throws InvalidInput when only
// some examples carry explicit segment ids, when labels are mixed kinds, or an example exceeds fixed_length.
Batch collate(const std::vector<const Example*>& examples, const CollateOptions& options = {});

// Dynamic MLM masking of a collated batch (§2.5): replaces `labels` by the MLM labels.
void apply_mlm(Batch& batch, MlmMasker& masker);

struct SamplerOptions {
    int64_t batch_size = 32;
    bool shuffle = true;
    // Batches are cut from pools of batch_size * bucket_pool examples sorted by length, which keeps padding
    // low while the order stays random; 0 or 1 turns bucketing off.
    int64_t bucket_pool = 50;
    bool drop_last = false;
    uint64_t seed = 0;
};

// The batches of an epoch as example indices; a pure function of (seed, epoch), so any process can recompute
// the order of any epoch.
class BatchSampler {
  public:
    BatchSampler(std::vector<int64_t> lengths, SamplerOptions options);
    std::vector<std::vector<size_t>> epoch_batches(int64_t epoch) const;
    int64_t batches_per_epoch() const;
    const SamplerOptions& options() const { return options_; }

  private:
    std::vector<int64_t> lengths_;
    SamplerOptions options_;
};

// Where a data stream stands: the next batch is batch `position` of `epoch`; `rng_state` is the MLM masker's
// state at that point. Saved in a checkpoint's trainer_state.json so that a resumed run continues
// identically.
struct DataCursor {
    int64_t epoch = 0;
    int64_t position = 0;
    uint64_t seed = 0;      // the sampler's; a cursor of another stream is refused on restore
    std::string rng_state;  // empty when the stream masks nothing

    nlohmann::json to_json() const;
    static DataCursor from_json(const nlohmann::json& j);  // throws InvalidInput
};

// Examples → collated (and, for pre-training, masked) batches in the sampler's order, epoch after epoch.
class BatchStream {
  public:
    // `masker` may be null (no MLM). max_epochs <= 0: endless.
    BatchStream(std::shared_ptr<const std::vector<Example>> examples, SamplerOptions sampler,
                CollateOptions collate, std::shared_ptr<MlmMasker> masker = nullptr, int64_t max_epochs = 0);
    // The next batch, or nothing after the last epoch.
    std::optional<Batch> next();
    DataCursor cursor() const;
    // Continue from a saved cursor. Throws InvalidInput when it belongs to another seed or lies past the
    // data.
    void restore(const DataCursor& c);
    int64_t batches_per_epoch() const { return sampler_.batches_per_epoch(); }

  private:
    std::shared_ptr<const std::vector<Example>> examples_;
    BatchSampler sampler_;
    CollateOptions collate_;
    std::shared_ptr<MlmMasker> masker_;
    int64_t max_epochs_;
    int64_t epoch_ = 0, position_ = 0;
    int64_t cached_epoch_ = -1;
    std::vector<std::vector<size_t>> order_;
};

// A batch with the cursor that follows it: saving that cursor after consuming the batch resumes right after
// it, however far the prefetch thread has run ahead.
struct LoadedBatch {
    Batch batch;
    DataCursor cursor;
};

// Runs `produce` on a thread of its own and hands its results over a queue of at most `capacity` items.
// `produce` returns nothing at the end of the data. An exception thrown by `produce` reaches the consumer on
// the next() call that would have returned the next item.
class Prefetcher {
  public:
    Prefetcher(std::function<std::optional<LoadedBatch>()> produce, size_t capacity = 4);
    ~Prefetcher();  // stop() and join
    Prefetcher(const Prefetcher&) = delete;
    Prefetcher& operator=(const Prefetcher&) = delete;

    // Blocks until an item is ready; nothing at the end of the data or after stop().
    std::optional<LoadedBatch> next();
    // Asks the thread to finish after its current item and joins it; queued items are dropped. Idempotent.
    void stop();

  private:
    void run();
    std::function<std::optional<LoadedBatch>()> produce_;
    size_t capacity_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<LoadedBatch> queue_;
    bool done_ = false, stopping_ = false;
    std::exception_ptr error_;
    std::thread thread_;
};

// A prefetcher over a stream; the stream belongs to the thread until the prefetcher is stopped.
std::unique_ptr<Prefetcher> prefetch(std::shared_ptr<BatchStream> stream, size_t capacity = 4);

}  // namespace ponet
