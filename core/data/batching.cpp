// Collation, sampling, the data cursor and the prefetch thread.
#include "core/data/batching.h"

#include <algorithm>

#include "core/util/error.h"

namespace ponet {

ModelInputs Batch::to_model_inputs() const {
    ModelInputs in;
    in.input_ids = input_ids;
    in.attention_mask = attention_mask;
    in.token_type_ids = token_type_ids;
    in.segment_ids = segment_ids;
    in.labels = labels;
    in.sso_labels = sso_labels;
    return in;
}

// ---------------------------------------------------------------------------------------------------------------
// Collation

Batch collate(const std::vector<const Example*>& examples, const CollateOptions& options) {
    if (examples.empty()) throw InvalidInput("cannot collate an empty batch");
    const auto B = static_cast<int64_t>(examples.size());
    int64_t L = 0, with_segments = 0, with_label = 0, with_multi = 0, with_sso = 0;
    size_t classes = 0;
    for (const Example* e : examples) {
        const auto n = e->input_ids.size();
        auto check = [&](size_t m, const char* what) {
            if (m != 0 && m != n)
                throw InvalidInput("example " + e->id + ": " + what + " has " + std::to_string(m) +
                                   " entries for " + std::to_string(n) + " tokens");
        };
        check(e->token_type_ids.size(), "token_type_ids");
        check(e->segment_ids.size(), "segment_ids");
        check(e->special_tokens_mask.size(), "special_tokens_mask");
        L = std::max(L, static_cast<int64_t>(n));
        with_segments += !e->segment_ids.empty();
        with_label += e->label != -100;
        with_sso += e->sso_label != -100;
        if (!e->multi_hot.empty()) {
            if (with_multi > 0 && e->multi_hot.size() != classes)
                throw InvalidInput("example " + e->id + ": multi-hot labels of different sizes in one batch");
            classes = e->multi_hot.size();
            ++with_multi;
        }
    }
    // An empty example has no ids to disagree with; it goes with either kind.
    const bool explicit_segments = with_segments > 0;
    for (const Example* e : examples)
        if (explicit_segments && e->segment_ids.empty() && !e->input_ids.empty())
            throw InvalidInput("some examples of the batch carry explicit segment ids and others do not (" +
                               e->id + ")");
    for (int64_t count : {with_label, with_multi, with_sso})
        if (count != 0 && count != B)
            throw InvalidInput("some examples of the batch are labelled and others are not");
    if (with_label && with_multi) throw InvalidInput("single-label and multi-label examples in one batch");
    if (options.fixed_length > 0) {
        if (L > options.fixed_length)
            throw InvalidInput("an example has " + std::to_string(L) +
                               " tokens, more than the fixed length " + std::to_string(options.fixed_length));
        L = options.fixed_length;
    } else if (options.pad_to_multiple > 1) {
        L = (L + options.pad_to_multiple - 1) / options.pad_to_multiple * options.pad_to_multiple;
    }

    const auto lopt = torch::TensorOptions().dtype(torch::kLong);
    Batch b;
    b.input_ids = torch::full({B, L}, options.pad_id, lopt);
    b.attention_mask = torch::zeros({B, L}, lopt);
    b.token_type_ids = torch::zeros({B, L}, lopt);
    b.special_tokens_mask = torch::ones({B, L}, torch::TensorOptions().dtype(torch::kUInt8));
    if (explicit_segments) b.segment_ids = torch::empty({B, L}, lopt);
    int64_t* ids = b.input_ids.data_ptr<int64_t>();
    int64_t* mask = b.attention_mask.data_ptr<int64_t>();
    int64_t* types = b.token_type_ids.data_ptr<int64_t>();
    uint8_t* special = b.special_tokens_mask.data_ptr<uint8_t>();
    int64_t* segs = explicit_segments ? b.segment_ids.data_ptr<int64_t>() : nullptr;
    for (int64_t r = 0; r < B; ++r) {
        const Example& e = *examples[static_cast<size_t>(r)];
        b.ids.push_back(e.id);
        const auto n = static_cast<int64_t>(e.input_ids.size());
        const int64_t o = r * L;
        for (int64_t i = 0; i < n; ++i) {
            const auto si = static_cast<size_t>(i);
            ids[o + i] = e.input_ids[si];
            mask[o + i] = 1;
            types[o + i] = e.token_type_ids.empty() ? 0 : e.token_type_ids[si];
            special[o + i] = e.special_tokens_mask.empty() ? 0 : e.special_tokens_mask[si];
        }
        if (segs) {
            const int64_t pad_segment = n > 0 ? e.segment_ids.back() + 1 : 0;
            for (int64_t i = 0; i < L; ++i)
                segs[o + i] = i < n ? e.segment_ids[static_cast<size_t>(i)] : pad_segment;
        }
    }
    if (options.mask_pad_ids) b.attention_mask = b.input_ids.ne(options.pad_id).to(torch::kLong);
    b.tokens = b.attention_mask.sum().item<int64_t>();

    if (with_sso) {
        b.sso_labels = torch::empty({B}, lopt);
        auto* p = b.sso_labels.data_ptr<int64_t>();
        for (int64_t r = 0; r < B; ++r) p[r] = examples[static_cast<size_t>(r)]->sso_label;
    }
    if (with_label) {
        b.labels = torch::empty({B}, lopt);
        auto* p = b.labels.data_ptr<int64_t>();
        for (int64_t r = 0; r < B; ++r) p[r] = examples[static_cast<size_t>(r)]->label;
    } else if (with_multi) {
        b.labels =
            torch::empty({B, static_cast<int64_t>(classes)}, torch::TensorOptions().dtype(torch::kFloat));
        auto* p = b.labels.data_ptr<float>();
        for (int64_t r = 0; r < B; ++r)
            std::copy(examples[static_cast<size_t>(r)]->multi_hot.begin(),
                      examples[static_cast<size_t>(r)]->multi_hot.end(),
                      p + r * static_cast<int64_t>(classes));
    }
    return b;
}

void apply_mlm(Batch& batch, MlmMasker& masker) {
    if (!batch.input_ids.defined()) return;
    batch.input_ids = batch.input_ids.contiguous();
    batch.special_tokens_mask = batch.special_tokens_mask.to(torch::kUInt8).contiguous();
    batch.labels = torch::empty_like(batch.input_ids);
    masker.mask(batch.input_ids.data_ptr<int64_t>(), batch.special_tokens_mask.data_ptr<uint8_t>(),
                batch.labels.data_ptr<int64_t>(), batch.input_ids.numel());
}

// ---------------------------------------------------------------------------------------------------------------
// Sampling

namespace {

// SplitMix64: spreads (seed, epoch) over the generator's seed space, so that neighbouring epochs and seeds
// give unrelated orders.
uint64_t mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

template <class T>
void shuffle(std::vector<T>& v, std::mt19937_64& rng) {
    for (size_t i = v.size(); i > 1; --i)
        std::swap(v[i - 1], v[static_cast<size_t>(uniform_int(rng, 0, static_cast<int64_t>(i) - 1))]);
}

}  // namespace

BatchSampler::BatchSampler(std::vector<int64_t> lengths, SamplerOptions options)
    : lengths_(std::move(lengths)), options_(options) {
    if (options_.batch_size < 1) throw InvalidInput("batch_size must be at least 1");
}

int64_t BatchSampler::batches_per_epoch() const {
    const auto n = static_cast<int64_t>(lengths_.size());
    return options_.drop_last ? n / options_.batch_size : (n + options_.batch_size - 1) / options_.batch_size;
}

std::vector<std::vector<size_t>> BatchSampler::epoch_batches(int64_t epoch) const {
    std::mt19937_64 rng(mix(options_.seed ^ mix(static_cast<uint64_t>(epoch))));
    std::vector<size_t> idx(lengths_.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    if (options_.shuffle) shuffle(idx, rng);
    const auto bs = static_cast<size_t>(options_.batch_size);
    if (options_.bucket_pool > 1) {
        const size_t pool = bs * static_cast<size_t>(options_.bucket_pool);
        for (size_t b = 0; b < idx.size(); b += pool) {
            const auto first = idx.begin() + static_cast<std::ptrdiff_t>(b);
            const auto last = idx.begin() + static_cast<std::ptrdiff_t>(std::min(idx.size(), b + pool));
            std::stable_sort(first, last, [this](size_t x, size_t y) { return lengths_[x] < lengths_[y]; });
        }
    }
    std::vector<std::vector<size_t>> batches;
    for (size_t b = 0; b < idx.size(); b += bs) {
        if (options_.drop_last && b + bs > idx.size()) break;
        batches.emplace_back(idx.begin() + static_cast<std::ptrdiff_t>(b),
                             idx.begin() + static_cast<std::ptrdiff_t>(std::min(idx.size(), b + bs)));
    }
    // Sorted pools would otherwise feed short batches first and long ones last in every pool.
    if (options_.shuffle) shuffle(batches, rng);
    return batches;
}

// ---------------------------------------------------------------------------------------------------------------
// Cursor and stream

nlohmann::json DataCursor::to_json() const {
    return {{"epoch", epoch}, {"position", position}, {"seed", seed}, {"rng_state", rng_state}};
}

DataCursor DataCursor::from_json(const nlohmann::json& j) {
    try {
        DataCursor c;
        c.epoch = j.at("epoch").get<int64_t>();
        c.position = j.at("position").get<int64_t>();
        c.seed = j.at("seed").get<uint64_t>();
        c.rng_state = j.value("rng_state", std::string());
        if (c.epoch < 0 || c.position < 0) throw InvalidInput("negative epoch or position");
        return c;
    } catch (const nlohmann::json::exception& e) {
        throw InvalidInput(std::string("not a data cursor: ") + e.what());
    }
}

BatchStream::BatchStream(std::shared_ptr<const std::vector<Example>> examples, SamplerOptions sampler,
                         CollateOptions collate, std::shared_ptr<MlmMasker> masker, int64_t max_epochs)
    : examples_(std::move(examples)),
      sampler_(
          [&] {
              if (!examples_) throw InvalidInput("a batch stream needs examples");
              std::vector<int64_t> lengths;
              lengths.reserve(examples_->size());
              for (const auto& e : *examples_) lengths.push_back(static_cast<int64_t>(e.input_ids.size()));
              return lengths;
          }(),
          sampler),
      collate_(collate),
      masker_(std::move(masker)),
      max_epochs_(max_epochs) {}

std::optional<Batch> BatchStream::next() {
    const int64_t per_epoch = sampler_.batches_per_epoch();
    if (per_epoch == 0) return std::nullopt;
    if (position_ >= per_epoch) {
        ++epoch_;
        position_ = 0;
    }
    if (max_epochs_ > 0 && epoch_ >= max_epochs_) return std::nullopt;
    if (cached_epoch_ != epoch_) {
        order_ = sampler_.epoch_batches(epoch_);
        cached_epoch_ = epoch_;
    }
    std::vector<const Example*> picked;
    for (size_t i : order_[static_cast<size_t>(position_)]) picked.push_back(&(*examples_)[i]);
    ++position_;
    Batch b = collate(picked, collate_);
    if (masker_) apply_mlm(b, *masker_);
    return b;
}

DataCursor BatchStream::cursor() const {
    DataCursor c;
    c.epoch = epoch_;
    c.position = position_;
    c.seed = sampler_.options().seed;
    if (masker_) c.rng_state = masker_->state();
    return c;
}

void BatchStream::restore(const DataCursor& c) {
    if (c.seed != sampler_.options().seed)
        throw InvalidInput("the data cursor belongs to a stream with seed " + std::to_string(c.seed) +
                           ", not " + std::to_string(sampler_.options().seed));
    if (c.position > sampler_.batches_per_epoch())
        throw InvalidInput("the data cursor points at batch " + std::to_string(c.position) +
                           " of an epoch of " + std::to_string(sampler_.batches_per_epoch()) +
                           " (was the dataset changed?)");
    if (masker_) {
        if (c.rng_state.empty())
            throw InvalidInput("the data cursor has no masking state for this MLM stream");
        masker_->set_state(c.rng_state);
    }
    epoch_ = c.epoch;
    position_ = c.position;
}

// ---------------------------------------------------------------------------------------------------------------
// Prefetcher

Prefetcher::Prefetcher(std::function<std::optional<LoadedBatch>()> produce, size_t capacity)
    : produce_(std::move(produce)), capacity_(std::max<size_t>(1, capacity)) {
    thread_ = std::thread([this] { run(); });
}

Prefetcher::~Prefetcher() {
    stop();
}

void Prefetcher::run() {
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [this] { return stopping_ || queue_.size() < capacity_; });
            if (stopping_) return;
        }
        std::optional<LoadedBatch> item;
        try {
            item = produce_();
        } catch (...) {
            std::lock_guard<std::mutex> lock(mu_);
            error_ = std::current_exception();
            done_ = true;
            cv_.notify_all();
            return;
        }
        std::lock_guard<std::mutex> lock(mu_);
        if (!item) {
            done_ = true;
            cv_.notify_all();
            return;
        }
        queue_.push_back(std::move(*item));
        cv_.notify_all();
    }
}

std::optional<LoadedBatch> Prefetcher::next() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !queue_.empty() || done_ || stopping_; });
    if (!queue_.empty()) {
        LoadedBatch item = std::move(queue_.front());
        queue_.pop_front();
        cv_.notify_all();
        return item;
    }
    if (error_) {
        auto e = error_;
        error_ = nullptr;
        std::rethrow_exception(e);
    }
    return std::nullopt;
}

void Prefetcher::stop() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
        queue_.clear();
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::unique_ptr<Prefetcher> prefetch(std::shared_ptr<BatchStream> stream, size_t capacity) {
    return std::make_unique<Prefetcher>(
        [stream]() -> std::optional<LoadedBatch> {
            auto b = stream->next();
            if (!b) return std::nullopt;
            return LoadedBatch{std::move(*b), stream->cursor()};
        },
        capacity);
}

}  // namespace ponet
