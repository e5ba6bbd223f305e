// The trainer: one loop for every task, its evaluation, and the run directory bookkeeping around it.
#include "core/train/trainer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <tuple>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/io/model_io.h"
#include "core/text/byte_tokenizer.h"
#include "core/train/checkpoint.h"
#include "core/train/distributed.h"
#include "core/train/metrics.h"
#include "core/train/optimizer.h"
#include "core/train/run_directory.h"
#include "core/train/schedule.h"
#include "core/train/step_graph.h"
#include "core/util/error.h"
#include "core/util/fs_util.h"
#include "core/util/paths.h"
#include "core/util/torch_compat.h"

namespace ponet {

using json = nlohmann::json;

namespace {

bool is_dir(const std::string& p) { return is_directory_at(p); }
bool is_file(const std::string& p) { return is_regular_file_at(p); }

// NaN, not null, is what the observer structs use for "does not apply"; JSON has no NaN.
json num(double v) {
    return std::isfinite(v) ? json(v) : json(nullptr);
}

int64_t resident_bytes() {
    std::ifstream f("/proc/self/statm");
    int64_t size = 0, resident = 0;
    if (!(f >> size >> resident)) return 0;
    return resident * static_cast<int64_t>(::sysconf(_SC_PAGESIZE));
}

std::string architecture_for(TaskKind t) {
    switch (t) {
        case TaskKind::Pretrain:
            return "PoNetForPreTraining";
        case TaskKind::Finetune:
            return "PoNetForSequenceClassification";
        case TaskKind::Lra:
            return "PoNetForLraClassification";
    }
    return "PoNetForPreTraining";
}

bool lower_is_better(const RunConfig& c, const std::string& metric) {
    switch (c.train.early_stopping.mode) {
        case MetricMode::Max:
            return false;
        case MetricMode::Min:
            return true;
        case MetricMode::Auto:
            break;
    }
    return metric.find("loss") != std::string::npos;
}

bool is_out_of_memory(const std::exception& e) {
    return std::string(e.what()).find("out of memory") != std::string::npos;
}

// The batch's model inputs completed and checked on the host (defaults, segment ids, id ranges), so that the
// forward needs no range check on the device (ForwardOptions::validate_inputs off: a host synchronisation less in
// every step).
ModelInputs host_inputs(const Batch& b, const ModelConfig& mc) {
    return complete_inputs(mc, b.to_model_inputs(), /*validate=*/true);
}

// `async`: through pinned host memory, so that the copy does not wait for the GPU's queued work (a plain copy
// from pageable memory does).
ModelInputs to_device(ModelInputs in, const torch::Device& d, bool async = false) {
    auto mv = [&](torch::Tensor& t) {
        if (!t.defined()) return;
        t = async && d.is_cuda() ? t.pin_memory().to(d, t.scalar_type(), /*non_blocking=*/true) : t.to(d);
    };
    mv(in.input_ids), mv(in.attention_mask), mv(in.token_type_ids), mv(in.segment_ids), mv(in.labels),
        mv(in.sso_labels);
    return in;
}

at::ScalarType autocast_dtype(Precision p) {
    return p == Precision::Bf16 ? at::kBFloat16 : at::kHalf;
}

// Observer that also keeps the run directory's metrics.jsonl and log.txt, whatever the caller observes.
class Recorder {
  public:
    // `dir` is null on the ranks other than 0 of a data-parallel run: they write nothing and report only logs.
    Recorder(const RunDirectory* dir, TrainObserver& outer) : dir_(dir), outer_(outer) {}

    void log(const std::string& level, const std::string& message) {
        try {
            if (dir_) dir_->append_log(iso_time_utc(std::time(nullptr)) + " " + level + " " + message);
        } catch (const std::exception&) {  // a full disk must not hide the message itself
        }
        outer_.on_log(level, message);
    }
    void step(const StepMetrics& m) {
        if (!dir_) return;
        json j{{"event", "step"},
               {"step", m.step},
               {"max_steps", m.max_steps},
               {"epoch", m.epoch},
               {"loss", num(m.loss)},
               {"mlm_loss", num(m.mlm_loss)},
               {"mlm_accuracy", num(m.mlm_accuracy)},
               {"sso_loss", num(m.sso_loss)},
               {"sso_accuracy", num(m.sso_accuracy)},
               {"accuracy", num(m.accuracy)},
               {"lr", m.learning_rate},
               {"grad_norm", num(m.grad_norm)},
               {"tokens_per_second", m.tokens_per_second},
               {"examples_per_second", m.examples_per_second},
               {"memory_bytes", m.memory_bytes},
               {"peak_memory_bytes", m.peak_memory_bytes},
               {"eta_seconds", num(m.eta_seconds)},
               {"effective_batch", m.effective_batch},
               {"elapsed_seconds", m.elapsed_seconds}};
        if (m.world_size > 1 || !m.rank_tokens_per_second.empty()) {
            j["world_size"] = m.world_size;
            j["rank_tokens_per_second"] = m.rank_tokens_per_second;
        }
        dir_->append_metrics(j.dump());
        outer_.on_step(m);
    }
    void eval(const EvalMetrics& m) {
        if (!dir_) return;
        json values = json::object();
        for (const auto& [k, v] : m.values) values[k] = num(v);
        json per_class = json::array();
        for (const auto& c : m.per_class)
            per_class.push_back({{"label", c.label},
                                 {"precision", c.precision},
                                 {"recall", c.recall},
                                 {"f1", c.f1},
                                 {"support", c.support}});
        dir_->append_metrics(json{
            {"event", "eval"},
            {"step", m.step},
            {"split", m.split},
            {"values", values},
            {"per_class", per_class},
            {"confusion", m.confusion},
            {"is_best",
             m.is_best}}.dump());
        outer_.on_eval(m);
    }
    void checkpoint(const CheckpointEvent& e) {
        if (!dir_) return;
        dir_->append_metrics(
            json{{"event", "checkpoint"}, {"step", e.step}, {"path", e.path}, {"is_best", e.is_best}}.dump());
        outer_.on_checkpoint(e);
    }
    TrainObserver& outer() { return outer_; }

  private:
    const RunDirectory* dir_;
    TrainObserver& outer_;
};

// Sums of one logging interval.
struct Interval {
    RunningMean loss, mlm_loss, sso_loss;
    int64_t mlm_correct = 0, mlm_counted = 0, sso_correct = 0, sso_counted = 0, cls_correct = 0,
            cls_counted = 0;
    double grad_norm = 0;
    int64_t examples = 0, tokens = 0;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
};

// Correct predictions of a classification batch (a 0-dim tensor on its device; the count of predictions is
// labels.size(0)): argmax for single-label, all labels right for multi-label.
torch::Tensor class_hits_tensor(const torch::Tensor& logits, const torch::Tensor& labels) {
    if (labels.dim() == 2) {
        auto pred = logits.detach().gt(0).to(torch::kFloat);
        return pred.eq(labels.gt(0.5).to(torch::kFloat)).all(1).sum();
    }
    return logits.detach().argmax(-1).eq(labels).sum();
}

std::pair<int64_t, int64_t> class_hits(const torch::Tensor& logits, const torch::Tensor& labels) {
    return {class_hits_tensor(logits, labels).item<int64_t>(), labels.size(0)};
}

// Correct and counted masked-token predictions, as 0-dim tensors on their device.
std::pair<torch::Tensor, torch::Tensor> mlm_hits_tensors(const torch::Tensor& logits, const torch::Tensor& labels) {
    auto keep = labels.ne(-100);
    return {logits.detach().argmax(-1).eq(labels).logical_and(keep).sum(), keep.sum()};
}

std::pair<int64_t, int64_t> mlm_hits(const torch::Tensor& logits, const torch::Tensor& labels) {
    const auto [correct, counted] = mlm_hits_tensors(logits, labels);
    return {correct.item<int64_t>(), counted.item<int64_t>()};
}

// A training step's numbers kept on the device (train.metrics_sync = log): sums since the last read and the first
// step whose loss or gradient norm was not finite. read() is the one host synchronisation, made once per log,
// evaluation or checkpoint instead of several times in every step. Every update is made in place on one tensor, so
// that a step recorded as a CUDA graph adds to the same sums on each replay.
class DeviceTally {
  public:
    enum Slot {
        Loss, MlmLoss, SsoLoss, ClsCorrect, MlmCorrect, MlmCounted, SsoCorrect, Norm,  // sums (Norm: the last)
        BadLoss, BadNorm,  // the first step with a non-finite value
        kSlots
    };
    static constexpr double kNone = std::numeric_limits<double>::infinity();  // no bad step

    explicit DeviceTally(const torch::Device& device) {
        const auto opts = torch::TensorOptions(torch::kDouble).device(device);
        start_ = torch::cat({torch::zeros({BadLoss}, opts), torch::full({kSlots - BadLoss}, kNone, opts)});
        values_ = start_.clone();
    }
    void add(Slot s, const torch::Tensor& v) { values_.select(0, s).add_(v.detach().to(torch::kDouble).reshape({})); }
    void set(Slot s, const torch::Tensor& v) { values_.select(0, s).copy_(v.detach().reshape({})); }
    // Keeps the smallest step (a 0-dim double tensor on the device) at which v was not finite.
    void mark_nonfinite(Slot s, const torch::Tensor& v, const torch::Tensor& step) {
        torch::Tensor slot = values_.select(0, s);
        slot.copy_(torch::where(torch::isfinite(v.detach()).all(), slot, torch::minimum(slot, step)));
    }
    bool empty() const { return steps == 0; }
    // Every slot at once (unwritten sums read 0, unwritten bad-step slots kNone), then starts over.
    std::array<double, kSlots> read() {
        std::array<double, kSlots> out{};
        const torch::Tensor host = values_.to(torch::kCPU).contiguous();
        const double* v = host.data_ptr<double>();
        for (int i = 0; i < kSlots; ++i) out[static_cast<size_t>(i)] = v[i];
        values_.copy_(start_);
        return out;
    }
    int64_t steps = 0, micro_batches = 0;  // counted on the host since the last read

  private:
    torch::Tensor start_, values_;  // [kSlots] double
};

// train.cuda_graphs: the training step recorded once as a CUDA graph (StepGraph) and replayed for every later
// batch of the recorded shape. A batch is copied into the recorded step's own input tensors first; after a replay
// the parameters' gradients are the graph's again (an ordinary step in between gives them new tensors).
class RecordedStep {
    // Pointers to the batch's tensors, in one order (const for const inputs).
    template <typename Inputs>
    static auto input_tensors(Inputs& in) {
        return std::array{&in.input_ids, &in.attention_mask, &in.token_type_ids, &in.segment_ids, &in.labels,
                          &in.sso_labels};
    }

  public:
    bool recorded() const { return graph_.captured(); }
    const ModelInputs& inputs() const { return inputs_; }

    // Whether `in` (completed on the host) can replay the recorded step: the same tensors with the same shapes and
    // types, the same fixed-segment promise, and segment ids within the bound it was recorded with.
    bool fits(const ModelInputs& in) const {
        const auto theirs = input_tensors(in), ours = input_tensors(inputs_);
        for (size_t i = 0; i < theirs.size(); ++i) {
            const torch::Tensor &a = *theirs[i], &b = *ours[i];
            if (a.defined() != b.defined()) return false;
            if (a.defined() && (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type())) return false;
        }
        return in.segment_width == inputs_.segment_width && in.num_segments >= 0 &&
               in.num_segments <= inputs_.num_segments;
    }

    // Records `body` (which reads inputs()) for batches like `first`; nothing runs until replay(). Derived segment
    // counts vary between batches, so the bound recorded is the next power of two from 8 (fixed segments keep their
    // exact count). Throws GraphCaptureError when the capture fails.
    void record(const ModelInputs& first, const torch::Device& device, const std::vector<torch::Tensor>& params,
                const std::function<void()>& body) {
        inputs_ = first;
        for (torch::Tensor* t : input_tensors(inputs_))
            if (t->defined()) *t = t->to(device);
        if (first.segment_width == 0) {
            int64_t bound = 8;
            while (bound < first.num_segments) bound *= 2;
            inputs_.num_segments = bound;
        }
        params_ = params;
        graph_.capture(body);
        grads_.clear();
        for (const auto& p : params_) grads_.push_back(p.grad());
    }

    // The recorded step on `in` (fits() must hold): the batch copied in through pinned memory, the graph replayed,
    // the gradients made the graph's.
    void replay(const ModelInputs& in) {
        const auto from = input_tensors(in);
        const auto to = input_tensors(inputs_);
        for (size_t i = 0; i < from.size(); ++i)
            if (from[i]->defined()) to[i]->copy_(from[i]->pin_memory(), /*non_blocking=*/true);
        graph_.replay();
        for (size_t i = 0; i < params_.size(); ++i) params_[i].mutable_grad() = grads_[i];
    }

  private:
    StepGraph graph_;
    ModelInputs inputs_;
    std::vector<torch::Tensor> params_, grads_;
};

double ratio(int64_t a, int64_t b) {
    return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : NAN;
}

// Data-parallel ranks prepare their data independently (tokenisation, generation); they must agree on it, or
// their gradients would belong to different examples. A 64-bit FNV-1a over the training examples and the
// vocabulary size, compared with rank 0's.
void check_same_data(Communicator& comm, const TaskData& data) {
    uint64_t h = 1469598103934665603ULL;
    auto mixin = [&](int64_t v) {
        for (int i = 0; i < 8; ++i) {
            h ^= static_cast<uint64_t>(v >> (8 * i)) & 0xFF;
            h *= 1099511628211ULL;
        }
    };
    mixin(data.vocab_size);
    const int64_t n = data.train ? static_cast<int64_t>(data.train->size()) : 0;
    if (data.train)
        for (const Example& e : *data.train) {
            mixin(static_cast<int64_t>(e.input_ids.size()));
            for (int64_t id : e.input_ids) mixin(id);
            mixin(e.label);
            mixin(e.sso_label);
        }
    const std::vector<int64_t> mine{n, data.vocab_size, static_cast<int64_t>(h)};
    const std::vector<int64_t> root = comm.broadcast_from_root(mine);
    const double differs = comm.sum({root == mine ? 0.0 : 1.0})[0];
    if (differs > 0)
        throw InvalidInput(std::to_string(static_cast<int>(differs)) + " of " + std::to_string(comm.size()) +
                           " workers prepared other training data than rank 0 (this rank: " + std::to_string(n) +
                           " examples, vocabulary " + std::to_string(data.vocab_size) + "; rank 0: " +
                           std::to_string(root[0]) + " and " + std::to_string(root[1]) +
                           "). Every worker must see the same data files, tokenizer and dataset version");
}

// Stops the loop from inside with a status and message; the caller decides about a checkpoint.
struct RunStop {
    std::string status, message;
    bool save_checkpoint = false;
};

}  // namespace

torch::Device resolve_train_device(const std::string& requested) {
    if (requested.empty() || requested == "auto")
        return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
    torch::Device d(requested);
    if (d.is_cuda() && !torch::cuda::is_available())
        throw InvalidInput("train.device = " + requested + " but this LibTorch sees no CUDA device");
    if (d.is_cuda() && d.has_index() && d.index() >= static_cast<int>(torch::cuda::device_count()))
        throw InvalidInput("train.device = " + requested + " but there are only " +
                           std::to_string(torch::cuda::device_count()) + " CUDA devices");
    return d;
}

std::string resolve_checkpoint_dir(const std::string& path, const std::string& which) {
    if (is_file(path + "/trainer_state.json") || is_model_dir(path)) return path;
    if (!is_dir(path + "/checkpoints"))
        throw InvalidInput("'" + path + "' is neither a run, a checkpoint nor a model directory");
    if (which == "best" || which.empty()) {
        if (auto s = best_checkpoint_step(path)) return path + "/checkpoints/" + checkpoint_dir_name(*s);
    } else if (which != "last") {
        const auto step = checkpoint_step_from_name(which);
        if (!step) throw InvalidInput("checkpoint '" + which + "': expected best, last or step-N");
        const std::string dir = path + "/checkpoints/" + which;
        const CheckpointInfo info = check_checkpoint(dir);
        if (!info.valid) throw InvalidInput("checkpoint " + dir + " is not usable: " + info.problem);
        return dir;
    }
    const auto latest = latest_valid_checkpoint(path);
    if (!latest) throw InvalidInput("run '" + path + "' has no valid checkpoint");
    return latest->path;
}

std::shared_ptr<PoNetTaskModelImpl> build_task_model(const RunConfig& c, const TaskData& data,
                                                     std::string* note) {
    std::string source;
    bool fresh = false;
    if (!c.model.dir.empty()) {
        source = c.model.dir;
    } else if (!c.model.init_checkpoint.empty()) {
        source = resolve_checkpoint_dir(c.model.init_checkpoint, "best");
    } else {
        const std::string res = resources_dir();
        source = res + "/models/" + c.model.preset;
        fresh = true;
    }
    ModelConfig mc = ModelConfig::load(source + "/config.json");
    const std::string old_arch = mc.architecture();
    mc.architectures = {architecture_for(c.task)};
    if (fresh) {
        if (c.model.hidden_size > 0) mc.hidden_size = c.model.hidden_size;
        if (c.model.num_layers > 0) mc.num_hidden_layers = c.model.num_layers;
        if (c.model.num_heads > 0) mc.num_attention_heads = c.model.num_heads;
        if (c.model.intermediate_size > 0) mc.intermediate_size = c.model.intermediate_size;
        mc.vocab_size = c.model.vocab_size > 0 ? c.model.vocab_size : data.vocab_size;
        mc.max_position_embeddings = std::max(mc.max_position_embeddings, c.model.max_length);
        const SpecialTokens& s = data.specials;
        if (s.pad >= 0) mc.pad_token_id = s.pad;
        if (s.unk >= 0) mc.unk_token_id = s.unk;
        if (s.cls >= 0) mc.cls_token_id = s.cls;
        if (s.sep >= 0) mc.sep_token_id = s.sep;
        if (s.mask >= 0) mc.mask_token_id = s.mask;
    } else {
        // Shape settings (from a preset, say) are allowed when they agree with the loaded weights.
        const std::tuple<const char*, int64_t, int64_t> shape[] = {
            {"model.hidden_size", c.model.hidden_size, mc.hidden_size},
            {"model.num_layers", c.model.num_layers, mc.num_hidden_layers},
            {"model.num_heads", c.model.num_heads, mc.num_attention_heads},
            {"model.intermediate_size", c.model.intermediate_size, mc.intermediate_size},
            {"model.vocab_size", c.model.vocab_size, mc.vocab_size}};
        for (const auto& [key, wanted, loaded] : shape)
            if (wanted > 0 && wanted != loaded)
                throw InvalidInput(std::string(key) + " = " + std::to_string(wanted) + " differs from the " +
                                   std::to_string(loaded) + " of the weights at " + source +
                                   "; set it to 0 (keep the loaded shape)");
        if (data.vocab_size > mc.vocab_size)
            throw InvalidInput("the tokenizer has " + std::to_string(data.vocab_size) +
                               " ids but the model at " + source + " only " + std::to_string(mc.vocab_size));
        if (c.model.max_length > mc.max_position_embeddings)
            throw InvalidInput("model.max_length " + std::to_string(c.model.max_length) + " exceeds the " +
                               std::to_string(mc.max_position_embeddings) + " positions of the model at " +
                               source);
    }
    if (c.model.mixer != "auto") mc.mixer = mixer_kind_from_string(c.model.mixer);
    if (c.model.segment_strategy != "auto")
        mc.segment_strategy = segment_strategy_from_string(c.model.segment_strategy);
    if (c.model.segment_num > 0) mc.segment_num = c.model.segment_num;
    if (c.model.dropout >= 0) mc.hidden_dropout_prob = mc.attention_probs_dropout_prob = c.model.dropout;
    if (c.task != TaskKind::Pretrain) {
        mc.id2label = data.labels.names();
        mc.problem_type =
            data.labels.multi_label() ? "multi_label_classification" : "single_label_classification";
    }
    mc.trained_length = c.model.max_length;
    mc.lra_input = c.task != TaskKind::Lra ? ""
                   : data.lra_kind == "pathfinder" ? "pixels"  // what the inference side calls Pathfinder images
                                                   : data.lra_kind;
    mc.validate();
    if (fresh) {
        if (note)
            *note = "a fresh " + c.model.preset + " model (" + std::to_string(mc.num_hidden_layers) +
                    " layers, hidden " + std::to_string(mc.hidden_size) + ", vocabulary " +
                    std::to_string(mc.vocab_size) + ")";
        return build_model(mc, true);
    }
    LoadOptions lo;
    lo.allow_missing_heads = true;
    LoadedModel lm = load_model_dir(source, torch::kCPU, lo, &mc);
    if (note) {
        *note = "weights from " + source + " (" + old_arch + ")";
        if (!lm.report.initialised.empty())
            *note += "; fresh heads: " + std::to_string(lm.report.initialised.size()) + " tensors";
    }
    return lm.model;
}

EvalMetrics evaluate_examples(PoNetTaskModelImpl& model, const std::vector<Example>& examples,
                              const TaskData& data, const EvalSettings& s, const torch::Device& device) {
    EvalMetrics m;
    model.eval();
    torch::NoGradGuard no_grad;
    SamplerOptions so;
    so.batch_size = s.batch_size;
    so.shuffle = false;
    so.bucket_pool = 0;
    std::shared_ptr<MlmMasker> masker;
    const bool pretrain = data.task == TaskKind::Pretrain;
    if (pretrain) {
        MlmOptions mo;
        mo.probability = s.mlm_probability;
        masker = std::make_shared<MlmMasker>(data.specials, data.vocab_size, s.mask_seed, mo);
    }
    auto shared = std::make_shared<const std::vector<Example>>(examples);
    BatchStream stream(shared, so, data.collate, masker, 1);
    RunningMean loss, mlm_loss, sso_loss;
    int64_t mlm_c = 0, mlm_n = 0, sso_c = 0, sso_n = 0;
    std::vector<int64_t> pred, gold;
    std::vector<std::vector<uint8_t>> mpred, mgold;
    const bool multi = data.labels.multi_label();
    const bool amp = device.is_cuda() && s.precision != Precision::Fp32;
    int64_t batches = 0;
    while (auto b = stream.next()) {
        if (s.max_batches > 0 && batches >= s.max_batches) break;
        ++batches;
        ModelInputs in = to_device(host_inputs(*b, model.config()), device);
        ModelOutput out;
        {
            CudaAutocastGuard autocast(amp, autocast_dtype(s.precision));
            ForwardOptions fo;
            fo.impl = s.mixer_impl;
            fo.validate_inputs = false;  // checked on the host by to_device
            out = model.forward(in, fo);
        }
        const double n = static_cast<double>(b->size());
        if (pretrain) {
            const auto [mc, mn] = mlm_hits(out.prediction_logits, in.labels);
            mlm_c += mc, mlm_n += mn;
            const auto [sc, sn] = class_hits(out.seq_relationship_logits, in.sso_labels);
            sso_c += sc, sso_n += sn;
            if (mn > 0) mlm_loss.add(out.mlm_loss.item<double>(), static_cast<double>(mn));
            sso_loss.add(out.sso_loss.item<double>(), n);
            continue;
        }
        if (out.loss.defined()) loss.add(out.loss.item<double>(), n);
        auto logits = out.logits.to(torch::kCPU, torch::kFloat);
        auto labels = in.labels.to(torch::kCPU);
        if (multi) {
            auto p = logits.gt(0).to(torch::kUInt8).contiguous();
            auto g = labels.gt(0.5).to(torch::kUInt8).contiguous();
            for (int64_t i = 0; i < p.size(0); ++i) {
                mpred.emplace_back(p[i].data_ptr<uint8_t>(), p[i].data_ptr<uint8_t>() + p.size(1));
                mgold.emplace_back(g[i].data_ptr<uint8_t>(), g[i].data_ptr<uint8_t>() + g.size(1));
            }
        } else {
            auto p = logits.argmax(-1).contiguous();
            pred.insert(pred.end(), p.data_ptr<int64_t>(), p.data_ptr<int64_t>() + p.numel());
            auto g = labels.contiguous();
            gold.insert(gold.end(), g.data_ptr<int64_t>(), g.data_ptr<int64_t>() + g.numel());
        }
    }
    m.values["examples"] = static_cast<double>(pretrain ? sso_n : (multi ? mgold.size() : gold.size()));
    if (pretrain) {
        m.values["mlm_loss"] = mlm_loss.mean();
        m.values["sso_loss"] = sso_loss.mean();
        m.values["loss"] = mlm_loss.mean() + sso_loss.mean();
        m.values["mlm_accuracy"] = ratio(mlm_c, mlm_n);
        m.values["sso_accuracy"] = ratio(sso_c, sso_n);
        return m;
    }
    if (loss.weight() > 0) m.values["loss"] = loss.mean();
    const auto& names = data.labels.names();
    if (multi) {
        if (mgold.empty()) return m;
        const MultiLabelReport r = multi_label_report(mpred, mgold, data.labels.size());
        m.values["accuracy"] = r.exact_match;
        m.values["hamming_accuracy"] = r.hamming_accuracy;
        m.values["macro_f1"] = r.macro_f1;
        m.values["micro_f1"] = r.micro_f1;
        for (size_t i = 0; i < r.per_label.size(); ++i)
            m.per_class.push_back({names[i], r.per_label[i].precision, r.per_label[i].recall,
                                   r.per_label[i].f1, r.per_label[i].support});
        return m;
    }
    if (gold.empty()) return m;
    const ClassificationReport r = classification_report(pred, gold, data.labels.size());
    m.values["accuracy"] = r.accuracy;
    m.values["macro_f1"] = r.macro_f1;
    m.values["micro_f1"] = r.micro_f1;
    if (data.labels.size() == 2) m.values["f1"] = binary_f1(pred, gold, 1);
    for (size_t i = 0; i < r.per_class.size(); ++i)
        m.per_class.push_back({i < names.size() ? names[i] : std::to_string(i), r.per_class[i].precision,
                               r.per_class[i].recall, r.per_class[i].f1, r.per_class[i].support});
    m.confusion = r.confusion;
    return m;
}

RunOutcome Trainer::run(const RunConfig& config, const std::string& run_dir, TrainObserver& observer,
                        RunControl& control) {
    return execute(config, run_dir, false, observer, control);
}

RunOutcome Trainer::resume(const std::string& run_dir, TrainObserver& observer, RunControl& control) {
    RunConfig config;
    try {
        config = RunDirectory::open(run_dir).load_config();
    } catch (const std::exception& e) {
        RunOutcome o{"failed", std::string("cannot resume: ") + e.what(), 0, {}, NAN, run_dir};
        observer.on_finished(o);
        return o;
    }
    return execute(config, run_dir, true, observer, control);
}

RunOutcome Trainer::execute(RunConfig c, const std::string& run_dir, bool resuming, TrainObserver& observer,
                            RunControl& control) {
    RunOutcome outcome;
    outcome.run_dir = run_dir;
    // Data-parallel: only rank 0 writes the run directory; `comm` is set once the device is known.
    const bool dist = world_.has_value();
    const int rank = dist ? world_->rank : 0;
    const int world = dist ? world_->world_size : 1;
    const bool primary = rank == 0;
    std::unique_ptr<Communicator> comm;
    std::unique_ptr<RunDirectory> dir;
    try {
        if (primary)
            dir = std::make_unique<RunDirectory>(resuming ? RunDirectory::open(run_dir)
                                                          : RunDirectory::create(run_dir));
    } catch (const std::exception& e) {
        outcome.status = "failed";
        outcome.message = e.what();
        observer.on_finished(outcome);
        return outcome;
    }
    Recorder rec(dir.get(), observer);
    RunStatus status;
    status.task = to_string(c.task);
    TrainerState st;
    int64_t current_batch = 0, current_length = 0;  // for the out-of-memory message
    auto finish = [&](const std::string& state, const std::string& message) {
        outcome.status = state;
        outcome.message = message;
        outcome.steps = st.step;
        outcome.best_metric_name = st.best_metric_name;
        outcome.best_metric = st.best_metric ? *st.best_metric : NAN;
        status.state = run_state_from_string(state);
        status.step = st.step;
        status.best_metric_name = st.best_metric_name;
        status.best_metric = st.best_metric;
        status.best_step = st.best_step;
        status.message = message;
        try {
            if (dir) dir->write_status(status);
        } catch (const std::exception& e) {
            rec.log("error", std::string("could not write status.json: ") + e.what());
        }
        rec.log(state == "failed" ? "error" : "info",
                "run " + state + (message.empty() ? "" : ": " + message));
        observer.on_finished(outcome);
        return outcome;
    };

    try {
        c.validate_runnable();
        torch::Device device = resolve_train_device(c.train.device);
        if (dist && device.is_cuda() && (c.train.device == "auto" || c.train.device == "cuda" ||
                                         c.train.device.empty()))
            device = resolve_train_device("cuda:" + std::to_string(world_->local_rank));
        Precision precision = c.train.precision;
        if (!device.is_cuda() && precision != Precision::Fp32) {
            rec.log("warning", "train.precision = " + to_string(precision) +
                                   " needs CUDA; this run computes in fp32 on the CPU");
            precision = Precision::Fp32;
        }
        const bool amp = precision != Precision::Fp32;
        const bool scaled = precision == Precision::Fp16;

        if (c.name.empty() && dir) c.name = dir->name();
        status.max_steps = c.train.max_steps;
        // The configuration before the first status: a run folder with a status always holds the configuration it
        // runs with, also when the process is killed while the data are still being prepared.
        if (!resuming && dir) dir->save_config(c);
        if (dir) dir->write_status(status);
        rec.log("info", std::string(resuming ? "resuming" : "starting") + " " + to_string(c.task) +
                            " run in " + run_dir + " on " + device.str() +
                            (dist ? " as rank " + std::to_string(rank) + " of " + std::to_string(world) : ""));
        if (dist) {
            comm = Communicator::connect(*world_, device);
            rec.log("info", "data-parallel: " + std::to_string(world) + " workers through c10d " +
                                comm->backend() + ", global batch " + std::to_string(c.train.batch_size) +
                                " split across them");
        }

        TaskDataHooks hooks;
        hooks.log = [&](const std::string& m) { rec.log("info", m); };
        int64_t last_reported = -1;
        hooks.fetch_progress = [&](const FetchProgress& p) {
            const int64_t mb = p.bytes >> 20;
            if (mb == last_reported) return;
            last_reported = mb;
            rec.log("info", p.stage + " " + std::to_string(mb) + " MiB" +
                                (p.total > 0 ? " of " + std::to_string(p.total >> 20) + " MiB" : ""));
        };
        if (resuming && is_dir(run_dir + "/tokenizer")) hooks.tokenizer_dir = run_dir + "/tokenizer";
        TaskData data = [&] {
            if (!comm) return prepare_task_data(c, hooks);
            // The first worker of each machine prepares (and fetches) the data first, the others then find it
            // in the cache instead of downloading it at the same time.
            std::optional<TaskData> d;
            if (world_->local_rank == 0) d = prepare_task_data(c, hooks);
            comm->sum({0.0});
            if (!d) d = prepare_task_data(c, hooks);
            return std::move(*d);
        }();
        rec.log("info", data.summary);
        if (comm) check_same_data(*comm, data);
        if (!resuming && dir) save_task_artifacts(data, *dir);

        torch::manual_seed(static_cast<uint64_t>(c.train.seed));
        std::string note;
        std::shared_ptr<PoNetTaskModelImpl> model = build_task_model(c, data, &note);
        use_model_batching(data.collate, model->config(), c.model.max_length);
        model->to(device);
        if (comm) comm->broadcast_module(*model);
        model->base().set_gradient_checkpointing(c.train.grad_checkpointing, amp, autocast_dtype(precision));
        if (c.train.grad_checkpointing)
            rec.log("info", "gradient checkpointing: each encoder layer keeps only its input and is recomputed "
                            "during backward");
        rec.log("info", "model: " + note);
        auto optimizer = build_adamw(*model, c.train);
        std::vector<torch::Tensor> params;
        for (auto& [name, p] : named_trainable_parameters(*model)) params.push_back(p);
        std::unique_ptr<GradientReducer> reducer;
        if (comm) {
            reducer = std::make_unique<GradientReducer>(params, *comm);
            rec.log("info", "gradients are all-reduced in " + std::to_string(reducer->bucket_count()) +
                                " buckets of up to 25 MB while backward runs (after backward on the first step)");
        }

        SamplerOptions so;
        so.batch_size = c.train.batch_size;
        so.seed = static_cast<uint64_t>(c.train.seed);
        std::shared_ptr<MlmMasker> masker;
        if (c.task == TaskKind::Pretrain) {
            MlmOptions mo;
            mo.probability = c.data.mlm_probability;
            masker = std::make_shared<MlmMasker>(data.specials, data.vocab_size,
                                                 static_cast<uint64_t>(c.train.seed) + 1, mo);
        }
        CollateOptions train_collate = data.collate;
        // Where the recorded step may be used at all (the full list of conditions follows with train.cuda_graphs).
        const bool graphs_may_record = device.is_cuda() && c.train.cuda_graphs != "off" && !comm && !scaled &&
                                       c.train.grad_accum == 1 && !c.train.grad_checkpointing;
        if (graphs_may_record && train_collate.fixed_length == 0 &&
            c.train.batch_size * c.model.max_length <= kGraphAutoTokens &&
            data.train && fixed_length_pays(*data.train, c.model.max_length)) {
            train_collate.fixed_length = c.model.max_length;
            rec.log("info", "training batches are padded to model.max_length (" + std::to_string(c.model.max_length) +
                                " tokens; the examples average at least 3/4 of it), so that every step can replay "
                                "the recorded CUDA graph (train.cuda_graphs)");
        }
        auto stream = std::make_shared<BatchStream>(data.train, so, train_collate, masker, 0);
        const int64_t accum = c.train.grad_accum;
        const int64_t steps_per_epoch =
            std::max<int64_t>(1, (stream->batches_per_epoch() + accum - 1) / accum);
        const int64_t total = c.train.max_steps > 0 ? c.train.max_steps : c.train.epochs * steps_per_epoch;
        status.max_steps = total;
        const LrSchedule schedule = LrSchedule::from_config(c.train, total);
        const std::string metric = main_metric(c);
        const bool minimise = lower_is_better(c, metric);
        st.best_metric_name = metric;
        st.scaler.enabled = scaled;

        if (resuming) {
            std::vector<CheckpointInfo> skipped;
            std::optional<CheckpointInfo> latest;
            if (primary) {
                latest = latest_valid_checkpoint(run_dir, &skipped);
                for (const auto& s : skipped)
                    rec.log("warning", "skipping broken checkpoint " + s.path + ": " + s.problem);
            }
            if (comm) {
                // Every rank continues from rank 0's choice; it must see the same run directory.
                const int64_t step = comm->broadcast_from_root({latest ? latest->step : -1})[0];
                if (!primary && step >= 0) {
                    CheckpointInfo info = check_checkpoint(run_dir + "/checkpoints/" + checkpoint_dir_name(step));
                    if (!info.valid)
                        throw InvalidInput("rank " + std::to_string(rank) + " cannot use checkpoint " + info.path +
                                           " that rank 0 resumes from (" + info.problem +
                                           "); on several machines the run directory must be on a shared file "
                                           "system");
                    latest = info;
                }
            }
            if (!latest) throw InvalidInput("run '" + run_dir + "' has no valid checkpoint to resume from");
            st = load_checkpoint(latest->path, *model, optimizer.get());
            st.scaler.enabled = scaled;
            if (!st.data_cursor.empty()) stream->restore(DataCursor::from_json(st.data_cursor));
            if (st.torch_cpu_rng.defined()) restore_cpu_rng_state(st.torch_cpu_rng);
            rec.log("info", "resumed from " + latest->path + " at step " + std::to_string(st.step));
        }
        DataCursor cursor = stream->cursor();
        auto prefetcher = prefetch(stream, static_cast<size_t>(c.data.prefetch));

        EvalSettings es;
        es.batch_size = c.train.batch_size;
        es.max_batches = c.train.eval_batches;
        es.mask_seed = static_cast<uint64_t>(c.train.seed) + 2;
        es.mlm_probability = c.data.mlm_probability;
        es.precision = precision;
        es.mixer_impl = mixer_impl_from_string(c.train.mixer_impl);
        ForwardOptions train_forward;
        train_forward.impl = es.mixer_impl;
        train_forward.validate_inputs = false;  // checked on the host by to_device

        int64_t last_checkpoint = -1;
        auto save = [&](bool best) {
            if (!primary) {  // rank 0 alone writes checkpoints; the others keep the same bookkeeping
                last_checkpoint = st.step;
                return;
            }
            st.data_cursor = cursor.to_json();
            st.epoch = cursor.epoch;
            st.torch_cpu_rng = capture_cpu_rng_state();
            st.scheduler_step = st.step;
            std::string path;
            try {
                path = write_checkpoint(run_dir, *model, optimizer.get(), st);
            } catch (const Error& e) {
                // A full disk or a lost mount: say what survives, so that the user knows what to resume from.
                const auto latest = latest_valid_checkpoint(run_dir);
                throw Error("could not save the checkpoint of step " + std::to_string(st.step) + ": " + e.what() +
                            (latest ? "; the newest complete checkpoint is still " + latest->path
                                    : "; there is no complete checkpoint yet") +
                            ". Free some space, then `ponet resume " + run_dir + "` continues from it");
            }
            last_checkpoint = st.step;
            if (best) set_best_checkpoint(run_dir, st.step);
            prune_checkpoints(run_dir, c.train.keep_last);
            status.step = st.step;
            status.best_metric = st.best_metric;
            status.best_metric_name = st.best_metric_name;
            status.best_step = st.best_step;
            dir->write_status(status);
            rec.checkpoint({st.step, path, best});
        };

        auto session_start = std::chrono::steady_clock::now();
        const double elapsed_before = st.elapsed_seconds;
        const int64_t first_step = st.step;
        auto elapsed = [&] {
            return elapsed_before +
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - session_start).count();
        };
        Interval iv;
        double scale = st.scaler.scale;

        auto run_eval = [&]() -> std::optional<RunStop> {
            if (!data.dev || data.dev->empty()) return std::nullopt;
            EvalMetrics em = evaluate_examples(*model, *data.dev, data, es, device);
            model->train();
            em.step = st.step;
            em.split = "dev";
            const auto it = em.values.find(metric);
            if (it == em.values.end() || !std::isfinite(it->second)) {
                rec.eval(em);
                return std::nullopt;
            }
            const double v = it->second;
            const bool better = !st.best_metric || (minimise ? v < *st.best_metric : v > *st.best_metric);
            em.is_best = better;
            rec.eval(em);
            if (better) {
                st.best_metric = v;
                st.best_step = st.step;
                st.patience_counter = 0;
                save(true);
            } else {
                ++st.patience_counter;
            }
            const int64_t patience = c.train.early_stopping.patience;
            if (patience > 0 && st.patience_counter >= patience)
                return RunStop{"finished",
                               "early stopping: no better " + metric + " in " + std::to_string(patience) +
                                   " evaluations (best at step " + std::to_string(st.best_step) + ")",
                               true};
            return std::nullopt;
        };

        model->train();
        std::optional<RunStop> stop;
        bool agreed_stop = false;  // data-parallel: some rank was asked to stop (all stop at the same step)

        // train.metrics_sync: read each step's loss, accuracy and gradient norm at once, or keep them on the
        // device until the next log, evaluation or checkpoint (DeviceTally), so that a CUDA step never waits.
        const std::string sync_mode = c.train.metrics_sync.empty() ? "auto" : c.train.metrics_sync;
        bool defer = sync_mode == "log" || (sync_mode == "auto" && device.is_cuda());
        if (defer && (scaled || comm)) {
            if (sync_mode == "log")
                rec.log("info", std::string("train.metrics_sync = log: ") +
                                    (comm ? "a data-parallel run agrees on every step's numbers"
                                          : "fp16 loss scaling decides every step whether to skip it") +
                                    ", so this run reads them every step");
            defer = false;
        }
        if (defer)
            rec.log("info", "each step's loss, accuracy and gradient norm stay on the device (" + device.str() +
                                ") until the next log, evaluation or checkpoint (train.metrics_sync)");
        DeviceTally tally(device);
        // Adds the tally to the interval's numbers. False, with `stop` set, when a loss or gradient norm since the
        // last read was not finite: the weights are then spoilt and nothing after that step is saved.
        auto flush_tally = [&]() -> bool {
            if (tally.empty()) return true;
            const auto steps = static_cast<double>(tally.steps), micro = static_cast<double>(tally.micro_batches);
            tally.steps = tally.micro_batches = 0;
            const auto v = tally.read();
            const double bad_loss = v[DeviceTally::BadLoss], bad_norm = v[DeviceTally::BadNorm];
            if (bad_loss != DeviceTally::kNone || bad_norm != DeviceTally::kNone) {
                const bool loss_first = bad_loss <= bad_norm;
                const auto latest = latest_valid_checkpoint(run_dir);
                stop = RunStop{"failed",
                               std::string(loss_first ? "the loss" : "the gradient norm") +
                                   " became NaN or infinite at step " +
                                   std::to_string(static_cast<int64_t>(loss_first ? bad_loss : bad_norm)) +
                                   " (seen at step " + std::to_string(st.step) +
                                   ", where train.metrics_sync reads the steps' numbers back); nothing from that "
                                   "state was saved" +
                                   (latest ? "; the newest checkpoint is " + latest->path
                                           : std::string("; there is no checkpoint yet")) +
                                   ". Try a lower train.lr or train.clip_norm = 1",
                               false};
                return false;
            }
            iv.loss.add(v[DeviceTally::Loss] / static_cast<double>(accum) / steps, steps);
            if (c.task == TaskKind::Pretrain) {
                iv.mlm_loss.add(v[DeviceTally::MlmLoss] / micro, micro);
                iv.sso_loss.add(v[DeviceTally::SsoLoss] / micro, micro);
                iv.mlm_correct += static_cast<int64_t>(v[DeviceTally::MlmCorrect]);
                iv.mlm_counted += static_cast<int64_t>(v[DeviceTally::MlmCounted]);
                iv.sso_correct += static_cast<int64_t>(v[DeviceTally::SsoCorrect]);
            } else {
                iv.cls_correct += static_cast<int64_t>(v[DeviceTally::ClsCorrect]);
            }
            iv.grad_norm = v[DeviceTally::Norm];
            return true;
        };
        // The step being run, on the device, for the tally's first non-finite step (also inside a recorded step).
        const torch::Tensor step_mark = torch::zeros({}, torch::TensorOptions(torch::kDouble).device(device));
        // The deferred numbers of one micro-batch, added on the device.
        auto tally_batch = [&](const ModelOutput& out, const ModelInputs& in, const torch::Tensor& loss) {
            tally.add(DeviceTally::Loss, loss);  // divided by accum in double at the read
            if (c.task == TaskKind::Pretrain) {
                tally.add(DeviceTally::MlmLoss, out.mlm_loss);
                tally.add(DeviceTally::SsoLoss, out.sso_loss);
                const auto [mc, mn] = mlm_hits_tensors(out.prediction_logits, in.labels);
                tally.add(DeviceTally::MlmCorrect, mc);
                tally.add(DeviceTally::MlmCounted, mn);
                tally.add(DeviceTally::SsoCorrect, class_hits_tensor(out.seq_relationship_logits, in.sso_labels));
            } else {
                tally.add(DeviceTally::ClsCorrect, class_hits_tensor(out.logits, in.labels));
            }
        };
        // The gradient clipping with its norm kept on the device.
        auto clip_deferred = [&] {
            const torch::Tensor total = clip_grad_norm_tensor(params, c.train.clip_norm);
            if (total.defined()) {
                tally.set(DeviceTally::Norm, total);
                tally.mark_nonfinite(DeviceTally::BadNorm, total, step_mark);
            }
        };

        // train.cuda_graphs: where nothing in the step needs the host, the step is recorded once as a CUDA graph
        // (after a few ordinary ones, when two batches in a row have the same shape) and replayed from then on.
        const std::string graphs_mode = c.train.cuda_graphs.empty() ? "auto" : c.train.cuda_graphs;
        const std::string no_graphs = [&]() -> std::string {
            if (graphs_mode == "off") return "off";
            if (!device.is_cuda())
                return graphs_mode == "on" ? "this run is on " + device.str() + ", and graphs need a CUDA device"
                                           : "off";
            if (!cuda_graphs_built()) return "this build cannot record CUDA graphs (it needs LibTorch 2.1 or newer)";
            if (graph_capture_failed()) return "an earlier CUDA graph capture failed in this process";
            if (comm) return "a data-parallel run agrees with the other workers in every step";
            if (!defer) return "the step's numbers are read back every step (train.metrics_sync, fp16 loss scaling)";
            if (accum > 1) return "gradient accumulation (train.grad_accum > 1)";
            if (c.train.grad_checkpointing) return "gradient checkpointing replays each layer's random numbers";
            if (hooks_.after_forward) return "a test hook sees every loss";
            if (model->config().mixer == MixerKind::PoNet && es.mixer_impl == MixerImpl::Reference)
                return "the reference PoNet mixing (train.mixer_impl) reads segment counts back to the host";
            return {};
        }();
        if (no_graphs != "off" && !no_graphs.empty())
            rec.log(graphs_mode == "on" ? "warning" : "info",
                    "train.cuda_graphs = " + graphs_mode + ", but training steps run one by one, not as graph "
                    "replays: " + no_graphs);
        RecordedStep recorded;
        std::optional<CaptureStreamScope> capture_stream;  // every step on the recording stream
        if (no_graphs.empty()) capture_stream.emplace(device);
        std::vector<int64_t> last_shape;
        int64_t replays = 0, ordinary_after_recording = 0;
        bool recording_off = false;
        // The recorded step: what an ordinary deferred step does on the device, read from the recording's inputs.
        auto recorded_body = [&] {
            const ModelInputs& in = recorded.inputs();
            ModelOutput out;
            {
                CudaAutocastGuard autocast(amp, autocast_dtype(precision));
                out = model->forward(in, train_forward);
            }
            const torch::Tensor loss = out.loss.to(torch::kFloat);
            tally.mark_nonfinite(DeviceTally::BadLoss, loss, step_mark);
            model->base().backward(loss);
            tally_batch(out, in, loss);
            clip_deferred();
        };
        int64_t rank_tokens = 0;   // data-parallel: this rank's own tokens in the logging interval
        while (st.step < total && !stop) {
            if (comm ? agreed_stop : control.stop.load()) {
                stop = RunStop{"stopped", "stopped at step " + std::to_string(st.step), true};
                break;
            }
            if (control.pause.load() && !control.stop.load()) {
                // A paused worker would stall the others into their timeout, so pause is single-process only.
                if (!comm) {
                    // Held between steps; the wait counts neither in the run's time nor in its throughput.
                    const auto paused_at = std::chrono::steady_clock::now();
                    rec.log("info", "paused at step " + std::to_string(st.step));
                    observer.on_pause_changed(true, st.step);
                    while (control.pause.load() && !control.stop.load())
                        std::this_thread::sleep_for(std::chrono::milliseconds(20));
                    const auto held = std::chrono::steady_clock::now() - paused_at;
                    session_start += held;
                    iv.start += held;
                    observer.on_pause_changed(false, st.step);
                    if (!control.stop.load()) rec.log("info", "resumed at step " + std::to_string(st.step));
                }
            }
            if (!comm && control.stop.load()) continue;

            const int64_t step = st.step + 1;
            // The interval's counts before this step (a replayed step adds to them too, before the loop below).
            int64_t* const counters[] = {&iv.mlm_correct, &iv.mlm_counted, &iv.sso_correct, &iv.sso_counted,
                                         &iv.cls_correct, &iv.cls_counted, &iv.examples,    &iv.tokens};
            int64_t counted_before[8];
            for (int i = 0; i < 8; ++i) counted_before[i] = *counters[i];
            if (defer) step_mark.fill_(static_cast<double>(step));
            // With graphs possible the step's one batch is fetched here: it replays the recorded step (recorded now
            // when the moment has come) or goes through the micro-batch loop below as an ordinary step.
            std::optional<LoadedBatch> fetched;
            std::optional<ModelInputs> prepared;  // its inputs, completed on the host
            bool replayed = false;
            if (no_graphs.empty()) {
                fetched = prefetcher->next();
                if (!fetched) throw Error("the training data ended unexpectedly");
                const Batch& b = fetched->batch;
                ModelInputs in = host_inputs(b, model->config());
                const std::vector<int64_t> shape(b.input_ids.sizes().begin(), b.input_ids.sizes().end());
                const bool small = graphs_mode == "on" || b.input_ids.numel() <= kGraphAutoTokens;
                if (!recorded.recorded() && !recording_off && small && shape == last_shape &&
                    step > first_step + 3) {
                    current_batch = b.size();
                    current_length = b.input_ids.size(1);
                    optimizer->zero_grad();  // the gradients are born in the graph's memory pool
                    try {
                        recorded.record(in, device, params, recorded_body);
                        rec.log("info", "step " + std::to_string(step) + ": the training step (batch of " +
                                            std::to_string(b.size()) + " x " + std::to_string(shape[1]) +
                                            " tokens) is recorded as a CUDA graph and replayed from now on; "
                                            "batches of another shape run as ordinary steps (train.cuda_graphs)");
                    } catch (const GraphCaptureError& e) {
                        // Nothing of this step ran: the weights are step st.step's, and are saved before stopping
                        // (unless a step since the last read spoilt them).
                        if (!flush_tally()) break;
                        save(false);
                        stop = RunStop{"failed",
                                       "recording the training step as a CUDA graph failed at step " +
                                           std::to_string(step) + ": " + e.what() + ". Step " +
                                           std::to_string(st.step) +
                                           " was saved; restart the program (CUDA's random generator may be "
                                           "left unusable in this one) and resume the run with "
                                           "train.cuda_graphs = off",
                                       false};
                        break;
                    } catch (const Error& e) {
                        // Refused before anything was recorded (another capture in this process failed meanwhile).
                        recording_off = true;
                        rec.log("warning", std::string("training steps run one by one from now on: ") + e.what());
                    }
                }
                last_shape = shape;
                if (recorded.recorded() && recorded.fits(in)) {
                    recorded.replay(in);
                    replayed = true;
                    ++replays;
                    cursor = fetched->cursor;
                    iv.examples += b.size();
                    iv.tokens += b.tokens;
                    if (c.task == TaskKind::Pretrain)
                        iv.sso_counted += in.sso_labels.size(0);
                    else
                        iv.cls_counted += in.labels.size(0);
                    ++tally.micro_batches;
                    ++tally.steps;
                    fetched.reset();
                } else {
                    if (recorded.recorded()) ++ordinary_after_recording;
                    prepared = std::move(in);
                }
            }
            if (!replayed) optimizer->zero_grad();
            double step_loss = 0;
            // Data-parallel sums of this step over its micro-batches, reduced across the ranks after backward.
            double mlm_part = 0, sso_part = 0;
            bool local_nonfinite = false;
            for (int64_t micro = 0; micro < (replayed ? 0 : accum); ++micro) {
                std::optional<LoadedBatch> lb = fetched ? std::move(fetched) : prefetcher->next();
                fetched.reset();
                if (!lb) throw Error("the training data ended unexpectedly");
                std::optional<Batch> shard;
                if (comm) shard = shard_batch(lb->batch, rank, world);
                const Batch& b = comm ? *shard : lb->batch;
                current_batch = b.size();
                current_length = b.input_ids.size(1);
                if (comm) {
                    cursor = lb->cursor;
                    rank_tokens += b.tokens;
                    if (local_nonfinite || b.size() == 0) continue;  // nothing to compute on this rank
                }
                ModelInputs in = to_device(prepared ? std::move(*prepared) : host_inputs(b, model->config()), device,
                                           defer);
                prepared.reset();
                ModelOutput out;
                {
                    CudaAutocastGuard autocast(amp, autocast_dtype(precision));
                    out = model->forward(in, train_forward);
                }
                torch::Tensor loss = out.loss.to(torch::kFloat);
                if (comm) {
                    // Each rank's loss is weighted by its share of the global batch (of the masked tokens for
                    // MLM) and the gradients are summed: exactly the gradient of the global batch's mean loss.
                    const Batch& g = lb->batch;
                    const double rows = static_cast<double>(b.size()) / static_cast<double>(g.size());
                    if (c.task == TaskKind::Pretrain) {
                        const double masked = g.labels.ne(-100).sum().item<double>();
                        const double mine = b.labels.ne(-100).sum().item<double>();
                        torch::Tensor sso = out.sso_loss.to(torch::kFloat) * rows;
                        loss = mine > 0 ? out.mlm_loss.to(torch::kFloat) * (mine / masked) + sso : sso;
                        mlm_part += mine > 0 ? out.mlm_loss.item<double>() * (mine / masked) : 0.0;
                        sso_part += sso.item<double>();
                    } else {
                        loss = loss * rows;
                    }
                }
                if (hooks_.after_forward) hooks_.after_forward(step, loss);
                // Deferred: the loss is checked at the next read (flush_tally) instead of here.
                if (defer) tally.mark_nonfinite(DeviceTally::BadLoss, loss, step_mark);
                const double lv = defer ? 0.0 : loss.item<double>();
                if (comm && !std::isfinite(lv)) {
                    local_nonfinite = true;  // every rank learns it from the step's reduction below
                    continue;
                }
                if (!std::isfinite(lv)) {
                    const auto latest = latest_valid_checkpoint(run_dir);
                    stop = RunStop{
                        "failed",
                        "the loss became " + std::string(std::isnan(lv) ? "NaN" : "infinite") + " at step " +
                            std::to_string(step) + " (batch of " + std::to_string(current_batch) + " x " +
                            std::to_string(current_length) + " tokens); nothing from that state was saved" +
                            (latest ? "; the newest checkpoint is " + latest->path
                                    : "; there is no checkpoint yet") +
                            ". Try a lower train.lr or train.clip_norm = 1",
                        false};
                    break;
                }
                torch::Tensor scaled_loss = loss / static_cast<double>(accum);
                if (scaled) scaled_loss = scaled_loss * scale;
                if (reducer) reducer->before_backward(micro == accum - 1);
                model->base().backward(scaled_loss);  // = backward(), plus recomputation when checkpointing
                cursor = lb->cursor;
                if (defer) {
                    tally_batch(out, in, loss);
                    ++tally.micro_batches;
                } else {
                    step_loss += lv / static_cast<double>(accum);
                }
                iv.examples += b.size();
                iv.tokens += b.tokens;
                if (c.task == TaskKind::Pretrain) {
                    if (!defer) {
                        if (!comm) {
                            iv.mlm_loss.add(out.mlm_loss.item<double>());
                            iv.sso_loss.add(out.sso_loss.item<double>());
                        }
                        const auto [mc, mn] = mlm_hits(out.prediction_logits, in.labels);
                        iv.mlm_correct += mc, iv.mlm_counted += mn;
                        iv.sso_correct += class_hits(out.seq_relationship_logits, in.sso_labels).first;
                    }
                    iv.sso_counted += in.sso_labels.size(0);
                } else {
                    if (!defer) iv.cls_correct += class_hits(out.logits, in.labels).first;
                    iv.cls_counted += in.labels.size(0);
                }
            }
            if (stop) break;
            if (comm) {
                reducer->finish_step();
                // One small reduction per step: failures, stop requests and the step's metrics, so every rank
                // takes the same decisions and rank 0 reports the world's numbers.
                std::vector<double> mine{local_nonfinite ? 1.0 : 0.0, control.stop.load() ? 1.0 : 0.0, step_loss,
                                         mlm_part, sso_part};
                for (int i = 0; i < 8; ++i) mine.push_back(static_cast<double>(*counters[i] - counted_before[i]));
                const std::vector<double> v = comm->sum(mine);
                if (v[0] > 0) {
                    const auto latest = primary ? latest_valid_checkpoint(run_dir) : std::nullopt;
                    stop = RunStop{"failed",
                                   "the loss became NaN or infinite at step " + std::to_string(step) + " on " +
                                       std::to_string(static_cast<int>(v[0])) + " of " + std::to_string(world) +
                                       " workers; nothing from that state was saved" +
                                       (latest ? "; the newest checkpoint is " + latest->path
                                               : std::string("; there is no checkpoint yet")) +
                                       ". Try a lower train.lr or train.clip_norm = 1",
                                   false};
                    break;
                }
                agreed_stop = v[1] > 0;
                step_loss = v[2];
                if (c.task == TaskKind::Pretrain) {
                    iv.mlm_loss.add(v[3] / static_cast<double>(accum), static_cast<double>(accum));
                    iv.sso_loss.add(v[4] / static_cast<double>(accum), static_cast<double>(accum));
                }
                // This step's counts were this rank's; the interval keeps the world's.
                for (int i = 0; i < 8; ++i) *counters[i] = counted_before[i] + static_cast<int64_t>(v[5 + i]);
            }

            bool skip_step = false;
            if (scaled) {
                // Dynamic loss scaling as torch.cuda.amp.GradScaler: unscale, skip a step with inf/NaN
                // gradients and halve the scale; double it after 2,000 good steps.
                for (auto& p : params)
                    if (p.grad().defined()) p.grad().div_(scale);
            }
            double norm = 0;
            if (replayed) {
                // Clipped inside the recorded step.
            } else if (defer) {
                clip_deferred();
                ++tally.steps;
            } else {
                norm = clip_grad_norm(params, c.train.clip_norm);
            }
            if (!std::isfinite(norm)) {
                if (!scaled) {
                    stop = RunStop{"failed",
                                   "the gradient norm became " +
                                       std::string(std::isnan(norm) ? "NaN" : "infinite") + " at step " +
                                       std::to_string(step) +
                                       "; nothing from that state was saved. Try a lower train.lr",
                                   false};
                    break;
                }
                skip_step = true;
                scale *= 0.5;
                st.scaler.growth_tracker = 0;
            } else if (scaled && ++st.scaler.growth_tracker >= 2000) {
                scale *= 2.0;
                st.scaler.growth_tracker = 0;
            }
            st.scaler.scale = scale;
            apply_schedule(*optimizer, schedule, st.step);
            if (!skip_step) adamw_step(*optimizer);
            st.step = step;
            st.examples_seen += iv.examples - counted_before[6];  // this step's examples (iv holds the interval's)
            if (!defer) {
                iv.loss.add(step_loss);
                iv.grad_norm = norm;
            }
            st.elapsed_seconds = elapsed();

            const bool log_now = step % c.train.log_every == 0 || step == total;
            const bool eval_now =
                c.train.eval_every > 0 ? step % c.train.eval_every == 0 : step % steps_per_epoch == 0;
            const bool checkpoint_now = c.train.checkpoint_every > 0 && step % c.train.checkpoint_every == 0;
            if (defer && (log_now || eval_now || checkpoint_now) && !flush_tally()) break;  // log_now: last step too

            if (log_now) {
                StepMetrics m;
                m.step = step;
                m.max_steps = total;
                m.epoch =
                    static_cast<double>(cursor.epoch) +
                    static_cast<double>(cursor.position) / static_cast<double>(stream->batches_per_epoch());
                m.loss = iv.loss.mean();
                if (c.task == TaskKind::Pretrain) {
                    m.mlm_loss = iv.mlm_loss.mean();
                    m.sso_loss = iv.sso_loss.mean();
                    m.mlm_accuracy = ratio(iv.mlm_correct, iv.mlm_counted);
                    m.sso_accuracy = ratio(iv.sso_correct, iv.sso_counted);
                } else {
                    m.accuracy = ratio(iv.cls_correct, iv.cls_counted);
                }
                m.learning_rate = schedule.lr(step - 1);
                m.grad_norm = iv.grad_norm;
                const double secs =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - iv.start).count();
                m.tokens_per_second = secs > 0 ? static_cast<double>(iv.tokens) / secs : 0;
                m.examples_per_second = secs > 0 ? static_cast<double>(iv.examples) / secs : 0;
                m.memory_bytes = device.is_cuda()
                                     ? cuda_memory_allocated(device.index() < 0 ? 0 : device.index())
                                     : resident_bytes();
                m.peak_memory_bytes = m.memory_bytes;
                if (device.is_cuda()) {
                    const int idx = device.index() < 0 ? 0 : device.index();
                    m.peak_memory_bytes = std::max(m.memory_bytes, cuda_peak_memory_allocated(idx));
                    cuda_reset_peak_memory(idx);  // the next report's peak is its own interval's
                }
                const double session = elapsed() - elapsed_before;
                m.eta_seconds = step > first_step ? session / static_cast<double>(step - first_step) *
                                                        static_cast<double>(total - step)
                                                  : NAN;
                m.effective_batch = c.train.batch_size * accum;
                m.elapsed_seconds = elapsed();
                if (comm) {
                    std::vector<double> mine(static_cast<size_t>(world), 0.0);
                    mine[static_cast<size_t>(rank)] = secs > 0 ? static_cast<double>(rank_tokens) / secs : 0;
                    m.rank_tokens_per_second = comm->sum(mine);
                    m.world_size = world;
                    rank_tokens = 0;
                }
                st.tokens_seen += iv.tokens;
                rec.step(m);
                iv = Interval();
            }

            if (eval_now || step == total) {
                // Rank 0 evaluates and decides (best checkpoint, early stopping); the others wait for its word.
                if (primary) stop = run_eval();
                if (comm && comm->broadcast_from_root({stop ? 1 : 0})[0] != 0 && !primary)
                    stop = RunStop{"finished", "early stopping (decided by rank 0)", true};
            }
            if (!stop && checkpoint_now && last_checkpoint != step) save(false);
        }
        prefetcher->stop();
        capture_stream.reset();  // what follows runs on the caller's stream again
        if (recorded.recorded())
            rec.log("info", std::to_string(replays) + " steps ran as CUDA graph replays" +
                                (ordinary_after_recording > 0
                                     ? ", " + std::to_string(ordinary_after_recording) +
                                           " after the recording as ordinary steps (batches of another shape)"
                                     : std::string()));
        // A stop between two reads: the steps since the last one are checked before the checkpoint below.
        if (defer && !(stop && stop->status == "failed")) flush_tally();

        if (stop && stop->status == "failed") return finish("failed", stop->message);
        if (last_checkpoint != st.step) save(false);
        if (stop && stop->status == "stopped") return finish("stopped", stop->message);

        // The test split is scored once, with the best weights, as the reference scripts do.
        if (primary && data.test && !data.test->empty()) {
            if (st.best_step >= 0 && st.best_step != st.step)
                load_checkpoint(run_dir + "/checkpoints/" + checkpoint_dir_name(st.best_step), *model,
                                nullptr);
            // All of it: train.eval_batches caps only the periodic dev evaluations (the LRA presets' 62 dev
            // batches would otherwise score 1,984 examples of a larger test split).
            EvalSettings whole = es;
            whole.max_batches = 0;
            EvalMetrics em = evaluate_examples(*model, *data.test, data, whole, device);
            em.step = st.best_step >= 0 ? st.best_step : st.step;
            em.split = "test";
            rec.eval(em);
        }
        return finish("finished", stop ? stop->message : "");
    } catch (const c10::Error& e) {
        if (is_out_of_memory(e))
            return finish("failed",
                          "out of memory at step " + std::to_string(st.step + 1) + " with a batch of " +
                              std::to_string(current_batch) + " sequences of " +
                              std::to_string(current_length) +
                              " tokens; try a smaller train.batch_size with train.grad_accum to keep "
                              "the effective batch, or a shorter model.max_length");
        return finish("failed", "LibTorch error at step " + std::to_string(st.step + 1) + ": " +
                                    first_line(e.what_without_backtrace()));
    } catch (const std::exception& e) {
        if (is_out_of_memory(e))
            return finish("failed", "out of memory with a batch of " + std::to_string(current_batch) + " x " +
                                        std::to_string(current_length) +
                                        " tokens; try a smaller train.batch_size with train.grad_accum, or a "
                                        "shorter model.max_length");
        return finish("failed", e.what());
    }
}

InferenceModel load_inference_model(const std::string& path, const std::string& which,
                                    const torch::Device& device) {
    InferenceModel im;
    im.checkpoint = resolve_checkpoint_dir(path, which);
    LoadedModel lm = load_model_dir(im.checkpoint, device);
    im.model = lm.model;
    const ModelConfig& mc = im.model->config();
    // The length the model was trained at, from its config where recorded (a copied checkpoint), or its run's.
    im.max_length = mc.trained_length > 0 ? mc.trained_length : mc.max_position_embeddings;
    // A run directory holds the tokenizer and the run config; a checkpoint's run is two levels up.
    std::string run;
    for (const std::string& cand : {path, im.checkpoint + "/../.."})
        if (is_file(cand + "/status.json") || is_dir(cand + "/checkpoints")) {
            run = cand;
            break;
        }
    TaskData& d = im.data;
    d.task = mc.architecture() == "PoNetForPreTraining"         ? TaskKind::Pretrain
             : mc.architecture() == "PoNetForLraClassification" ? TaskKind::Lra
                                                                : TaskKind::Finetune;
    d.labels = LabelMap(mc.id2label, mc.problem_type == "multi_label_classification");
    if (!run.empty()) {
        const RunConfig rc = RunDirectory::open(run).load_config();
        im.max_length = rc.model.max_length;
        if (is_dir(run + "/tokenizer")) d.tokenizer = load_tokenizer(run + "/tokenizer");
        if (d.task == TaskKind::Lra && !d.tokenizer)
            d.lra_kind = rc.data.dataset.rfind("listops", 0) == 0 ? "listops" : "pixels";
    } else if (is_file(im.checkpoint + "/tokenizer.json") || is_file(im.checkpoint + "/spm.model") ||
               is_file(im.checkpoint + "/vocab.txt")) {
        // An exported model, or a checkpoint with the tokenizer files its run wrote beside the weights.
        d.tokenizer = load_tokenizer(im.checkpoint);
    } else if (d.task == TaskKind::Lra) {
        // Without its run folder an LRA model says itself what it reads (models trained before it did cannot).
        if (mc.lra_input == "bytes")
            d.tokenizer = make_byte_tokenizer();
        else
            d.lra_kind = mc.lra_input;
    }
    if (d.tokenizer) {
        d.specials = d.tokenizer->special_tokens();
        d.vocab_size = d.tokenizer->vocab_size();
        if (d.tokenizer->kind() == "bytes") d.lra_kind = "bytes";
    }
    d.collate.pad_id = std::max<int64_t>(0, mc.pad_token_id);
    if (d.task == TaskKind::Lra) use_lra_batching(d.collate, im.max_length);
    use_model_batching(d.collate, mc, im.max_length);
    im.model->eval();
    return im;
}

}  // namespace ponet
