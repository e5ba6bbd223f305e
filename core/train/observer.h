// How a training run reports: small value structs through an observer (the CLI prints them, the GUI plots
// them), and a cooperative control token the loop polls every step. Torch-free: the GUI includes it.
#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ponet {

struct StepMetrics {
    int64_t step = 0;  // optimizer steps done
    int64_t max_steps = 0;
    double epoch = 0;  // fractional epoch
    double loss = 0;   // total loss of this step (MLM + SSO for pre-training)
    // Task-specific parts; NaN when they do not apply to the task.
    double mlm_loss = NAN, mlm_accuracy = NAN, sso_loss = NAN, sso_accuracy = NAN, accuracy = NAN;
    double learning_rate = 0, grad_norm = 0;
    double tokens_per_second = 0, examples_per_second = 0;
    int64_t memory_bytes = 0;  // CUDA allocator in use, or the process's resident set on CPU
    // CUDA: the allocator's high-water mark since the previous report (activations included, which memory_bytes,
    // read between steps, misses); on CPU the same as memory_bytes.
    int64_t peak_memory_bytes = 0;
    double eta_seconds = NAN;
    int64_t effective_batch = 0;  // batch size × accumulation steps (× world size)
    double elapsed_seconds = 0;
    // Data-parallel runs (reported by rank 0 for the whole world): tokens_per_second and examples_per_second
    // above are the world's; this holds each rank's own tokens per second, indexed by rank. Empty otherwise.
    int world_size = 1;
    std::vector<double> rank_tokens_per_second;
};

struct ClassScore {
    std::string label;
    double precision = 0, recall = 0, f1 = 0;
    int64_t support = 0;
};

struct EvalMetrics {
    int64_t step = 0;
    std::string split;                     // "dev", "test"
    std::map<std::string, double> values;  // "loss", "accuracy", "macro_f1", "micro_f1", "mlm_accuracy", ...
    std::vector<ClassScore> per_class;
    std::vector<std::vector<int64_t>> confusion;  // [gold][predicted]
    bool is_best = false;
};

struct CheckpointEvent {
    int64_t step = 0;
    std::string path;
    bool is_best = false;
};

struct RunOutcome {
    std::string status;   // "finished", "stopped", "failed"
    std::string message;  // why it failed or stopped, in words a user can act on
    int64_t steps = 0;
    std::string best_metric_name;
    double best_metric = NAN;
    std::string run_dir;
};

class TrainObserver {
  public:
    virtual ~TrainObserver() = default;
    virtual void on_step(const StepMetrics&) {}
    virtual void on_eval(const EvalMetrics&) {}
    virtual void on_checkpoint(const CheckpointEvent&) {}
    virtual void on_log(const std::string& /*level*/, const std::string& /*message*/) {}
    // The loop has stopped between steps for RunControl::pause (true), or goes on again (false); `step` is
    // the number of optimizer steps done.
    virtual void on_pause_changed(bool /*paused*/, int64_t /*step*/) {}
    virtual void on_finished(const RunOutcome&) {}
};

// Stop answers within one step (and saves a checkpoint); pause holds the loop between steps.
struct RunControl {
    std::atomic<bool> stop{false};
    std::atomic<bool> pause{false};
};

}  // namespace ponet
