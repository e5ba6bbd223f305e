// The training loop shared by pre-training, fine-tuning and LRA runs: batch → model → loss → backward →
// clip → AdamW step, with evaluation, best tracking, early stopping, checkpoints and exact resume. It owns
// every tensor of the run on the calling thread and reports only through TrainObserver value structs.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/model/ponet_model.h"
#include "core/train/launcher.h"
#include "core/train/observer.h"
#include "core/train/run_config.h"
#include "core/train/task_data.h"

namespace ponet {

// Test seams. after_forward sees the loss of every training micro-batch with the 1-based optimizer step it
// belongs to, and may replace it (the NaN test poisons one).
struct TrainerHooks {
    std::function<void(int64_t step, torch::Tensor& loss)> after_forward;
};

class Trainer {
  public:
    void set_hooks(TrainerHooks hooks) { hooks_ = std::move(hooks); }
    // Makes the next runs one worker of a data-parallel world (c10d): train.batch_size stays the global
    // batch, each rank computes its rows of it, gradients are all-reduced, and only rank 0 writes the run
    // directory (the others' metrics reduced into its). Without it a run is a plain single process.
    void set_world(std::optional<WorldSpec> world) { world_ = std::move(world); }

    // Trains `config` into run_dir (created; an existing run there is overwritten step by step). Never
    // throws: every failure becomes a RunOutcome with status "failed" and a message, also written to
    // status.json.
    RunOutcome run(const RunConfig& config, const std::string& run_dir, TrainObserver& observer,
                   RunControl& control);
    // Continues a run from its newest valid checkpoint with the configuration saved in the run directory.
    RunOutcome resume(const std::string& run_dir, TrainObserver& observer, RunControl& control);

  private:
    RunOutcome execute(RunConfig config, const std::string& run_dir, bool resuming, TrainObserver& observer,
                       RunControl& control);
    TrainerHooks hooks_;
    std::optional<WorldSpec> world_;
};

// "auto" → the first CUDA device if there is one, else the CPU. Throws InvalidInput for an unusable device.
torch::Device resolve_train_device(const std::string& requested);

// The task model of a run: fresh from model.preset (shape overrides, the data's vocabulary and specials), or
// from model.dir / model.init_checkpoint with the head the task needs (a missing head starts fresh). Seeds
// nothing: the caller sets the generator first. `note` receives what was loaded, for the log.
std::shared_ptr<PoNetTaskModelImpl> build_task_model(const RunConfig& config, const TaskData& data,
                                                     std::string* note = nullptr);

// A checkpoint folder from a checkpoint, model or run directory: a run's `best`, `last` (its newest valid
// checkpoint) or `step-N`. Throws InvalidInput when there is none.
std::string resolve_checkpoint_dir(const std::string& path, const std::string& which = "best");

struct EvalSettings {
    int64_t batch_size = 32;
    int64_t max_batches = 0;  // 0: every example
    uint64_t mask_seed = 1;   // MLM masks of pre-training evaluation: fixed, so evaluations compare
    double mlm_probability = 0.15;
    Precision precision = Precision::Fp32;
    MixerImpl mixer_impl = MixerImpl::Auto;
};

// One full pass over `examples` in eval mode, no gradients: loss and accuracy, macro/micro F1, per-class
// precision/recall and the confusion matrix for classification; MLM/SSO losses and accuracies for
// pre-training. Leaves the model in eval mode.
EvalMetrics evaluate_examples(PoNetTaskModelImpl& model, const std::vector<Example>& examples,
                              const TaskData& data, const EvalSettings& settings,
                              const torch::Device& device);

// A trained model ready for `ponet eval` and `ponet predict`: from a run directory (its best checkpoint, or
// `which`) with the run's tokenizer and labels, or from a model directory with its vocab.txt.
struct InferenceModel {
    std::shared_ptr<PoNetTaskModelImpl> model;
    TaskData data;  // tokenizer, specials, labels, collate, lra_kind; no examples
    std::string checkpoint;
    int64_t max_length = 512;
};
InferenceModel load_inference_model(const std::string& path, const std::string& which,
                                    const torch::Device& device);

}  // namespace ponet
