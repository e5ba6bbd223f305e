// Checkpoints of a run: checkpoints/step-<N>/{model.safetensors, config.json, optimizer.safetensors,
// trainer_state.json}, written into a temporary directory and renamed into place, so that a crash or a kill
// never leaves a half-written checkpoint under a step name. Plus the trainer state, retention and `best`.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/model/ponet_model.h"

namespace ponet {

struct LossScalerState {
    bool enabled = false;
    double scale = 65536.0;
    int64_t growth_tracker = 0;  // good steps since the last change of scale
};

// Everything besides weights and optimizer moments that an exact resume needs.
struct TrainerState {
    static constexpr int kVersion = 1;
    int version = kVersion;
    int64_t step = 0;                                       // optimizer steps done
    int64_t epoch = 0;                                      // epochs begun
    nlohmann::json data_cursor = nlohmann::json::object();  // opaque: the data pipeline's own resume point
    torch::Tensor torch_cpu_rng;                // uint8 state of the default CPU generator; undefined: none
    std::vector<torch::Tensor> torch_cuda_rng;  // one uint8 state per CUDA device, when used
    std::map<std::string, std::string> rng_states;  // named std::mt19937_64 states (mt19937_state())
    int64_t scheduler_step = 0;
    LossScalerState scaler;
    std::string best_metric_name;
    std::optional<double> best_metric;
    int64_t best_step = -1;
    int64_t patience_counter = 0;  // evaluations since the best one
    int64_t examples_seen = 0, tokens_seen = 0;
    double elapsed_seconds =
        0;  // training time before this checkpoint, for ETA and throughput after a resume

    // Generator states are stored as base64 of the state tensor's bytes, so the file stays one JSON document.
    std::string to_json_text() const;
    // Missing fields of an older version keep their defaults; a newer version throws InvalidInput.
    static TrainerState from_json_text(const std::string& text, const std::string& origin);
};

// The default CPU generator's state, and setting it back (the generator's mutex is held for both).
torch::Tensor capture_cpu_rng_state();
void restore_cpu_rng_state(const torch::Tensor& state);
// A std::mt19937_64 as its standard text form, and back (throws InvalidInput for bad text).
std::string mt19937_state(const std::mt19937_64& rng);
void restore_mt19937(std::mt19937_64& rng, const std::string& state);

// Writes checkpoints/step-<state.step> of `run_dir` (created if needed): the model as a Hugging Face model
// folder with the run's tokenizer files (so a checkpoint is also a model directory that reads text on its own), the
// optimizer state when `optimizer` is given (else an empty optimizer file), and trainer_state.json. The files go
// into checkpoints/.tmp-step-<N>-<pid>/ with atomic writes; the folder is then renamed to step-<N> (replacing an
// older one of the same step in one exchange) and the parent directory is fsynced. Returns the checkpoint's path.
std::string write_checkpoint(const std::string& run_dir, PoNetTaskModelImpl& model,
                             const torch::optim::AdamW* optimizer, const TrainerState& state);

struct CheckpointInfo {
    int64_t step = 0;
    std::string path;
    bool valid = false;
    std::string problem;  // why it is not valid
};

// Checks that the four files exist and parse (safetensors headers and extents, config.json,
// trainer_state.json with the same step as the folder name). Tensor data are not read.
CheckpointInfo check_checkpoint(const std::string& checkpoint_dir);

// Every step-<N> folder of the run, step ascending, each checked.
std::vector<CheckpointInfo> list_checkpoints(const std::string& run_dir);

// The newest valid checkpoint; newer broken ones are appended to `skipped` with their reason.
std::optional<CheckpointInfo> latest_valid_checkpoint(const std::string& run_dir,
                                                      std::vector<CheckpointInfo>* skipped = nullptr);

TrainerState read_trainer_state(const std::string& checkpoint_dir);

// Loads the checkpoint's weights into `model` and, when given, its moments into `optimizer`; returns its
// trainer state. Throws InvalidInput (naming the file) for anything that does not fit.
TrainerState load_checkpoint(const std::string& checkpoint_dir, PoNetTaskModelImpl& model,
                             torch::optim::AdamW* optimizer);

// Points run_dir/best at checkpoints/step-<N> (a relative symlink), replacing it atomically.
void set_best_checkpoint(const std::string& run_dir, int64_t step);
std::optional<int64_t> best_checkpoint_step(const std::string& run_dir);

// Keeps the newest `keep_last` checkpoints (all when 0) and the best one; removes the others, and temporary
// folders left by processes that no longer exist. Returns the removed paths.
std::vector<std::string> prune_checkpoints(const std::string& run_dir, int64_t keep_last);

}  // namespace ponet
