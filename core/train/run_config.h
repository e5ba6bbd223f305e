// The run configuration (task, data, model, train) and the declarative option table behind it. The table is
// the single source of every option's key, type, default, help text and valid range: the CLI's `--set
// key=value`, the JSON reader and writer, validation and the GUI's form are all driven by it, so they cannot
// drift. Torch-free, so the GUI can use it without LibTorch.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ponet {

enum class TaskKind { Pretrain, Finetune, Lra };
enum class ScheduleKind { Linear, Constant, Cosine, OneCycle };
enum class Precision { Fp32, Bf16, Fp16 };
// Auto: "min" for metrics whose name contains "loss", "max" otherwise.
enum class MetricMode { Auto, Max, Min };

std::string to_string(TaskKind t);
std::string to_string(ScheduleKind s);
std::string to_string(Precision p);
std::string to_string(MetricMode m);

struct DataConfig {
    std::string dataset;                  // recipe name or a file/folder with the training data
    std::string train, validation, test;  // explicit split files or folders
    std::string format;                   // auto | text | jsonl | csv | tsv | folder
    std::string text_field, text_b_field, label_field;
    std::string tokenizer;  // vocab.txt, SentencePiece model, tokenizer folder, "byte"; empty: the model's
    bool lowercase{};
    bool multi_label{};
    double validation_fraction{};  // held out of train when there is no validation split
    double mlm_probability{};
    double short_seq_prob{};
    int64_t dupe_factor{};
    int64_t max_examples{};  // 0: all
    int64_t prefetch{};      // batches prepared ahead
};

struct ModelSection {
    std::string preset;  // built-in shape in resources/models (ponet-tiny, ponet-base-uncased, lra-*)
    std::string dir;     // Hugging Face PoNet directory to start from
    std::string init_checkpoint;   // a run checkpoint (or run directory) to initialise the weights from
    std::string mixer;             // auto | ponet | fnet | attention
    std::string segment_strategy;  // auto | derived | fixed
    int64_t segment_num{};         // 0: the base configuration's
    int64_t max_length{};
    // Shape overrides of a freshly built model; 0 (or -1 for dropout) keeps the base configuration's value.
    int64_t hidden_size{}, num_layers{}, num_heads{}, intermediate_size{}, vocab_size{};
    double dropout{};
};

struct EarlyStopping {
    std::string metric;  // "auto": the task's main metric; also selects the best checkpoint
    int64_t patience{};  // evaluations without improvement before stopping; 0: never stop early
    MetricMode mode{};
};

struct OneCycleConfig {
    double div_factor{}, final_div_factor{}, base_momentum{}, max_momentum{};
    bool cycle_momentum{};
};

struct TrainConfig {
    int64_t batch_size{}, grad_accum{};
    double lr{}, weight_decay{}, adam_beta1{}, adam_beta2{}, adam_eps{};
    ScheduleKind schedule{};
    int64_t warmup_steps{}, max_steps{}, epochs{};
    double clip_norm{};      // 0: no clipping
    int64_t eval_every{};    // optimizer steps; 0: once per epoch
    int64_t eval_batches{};  // 0: the whole validation split
    EarlyStopping early_stopping;
    int64_t checkpoint_every{};  // 0: only at the end and on stop
    int64_t keep_last{};         // 0: keep every checkpoint
    Precision precision{};
    bool grad_checkpointing{};
    std::string mixer_impl;  // auto | fused | reference (PoNet mixing code path)
    std::string metrics_sync;  // auto | step | log: when the step's loss, accuracy and gradient norm reach the host
    std::string cuda_graphs;   // auto | on | off: training steps recorded once as a CUDA graph and replayed
    int64_t seed{};
    std::string device;  // auto | cpu | cuda | cuda:N
    int64_t log_every{};
    OneCycleConfig onecycle;
};

// Tokens per step (batch × length) up to which cuda_graphs "auto" records the step as a CUDA graph, in the trainer
// (train.cuda_graphs) and in `ponet bench`. Table 2's 8K and 16K cells (32 × 8,192 and 32 × 16,384) ran 3.5 % and
// 1.9 % faster as replays for both PoNet and FNet, with the same peak memory, and the eager 8K median varied with
// the host's load (tests/gpu/round52.sh and round53.sh, docs/PERFORMANCE.md); longer steps were not measured.
constexpr int64_t kGraphAutoTokens = 32 * 16384;

struct RunConfig {
    // Every field starts at its option's default from the table.
    RunConfig();

    TaskKind task{};
    std::string name;         // run name; empty: chosen when the run starts
    std::string description;  // free text (presets describe themselves here)
    DataConfig data;
    ModelSection model;
    TrainConfig train;

    // Range and consistency checks; throws ponet::InvalidInput with the key and the problem.
    void validate() const;
    // validate() plus what a run cannot start without (training data).
    void validate_runnable() const;

    // Overlays the JSON on the defaults. Unknown keys, wrong types and out-of-range values throw
    // ponet::InvalidInput naming the key ("config.json: unknown key 'train.learning_rate'; did you mean
    // 'train.lr'?"). Both nested objects and dotted keys ({"train.lr": 1e-4}) are accepted.
    static RunConfig from_json_text(const std::string& text, const std::string& origin = "run config");
    // Applies JSON on top of this configuration (only the keys present change).
    void merge_json_text(const std::string& text, const std::string& origin = "run config");
    // The complete, resolved configuration as nested JSON, every option included.
    std::string to_json_text() const;
    static RunConfig load(const std::string& path);
    void save(const std::string& path) const;  // atomic write
};

// The validation metric that picks the best checkpoint: train.early_stopping.metric, or by task when that is
// "auto".
std::string main_metric(const RunConfig& c);

enum class OptionType { String, Path, Choice, Int, Float, Bool };
std::string to_string(OptionType t);

// One row of the option table.
struct OptionInfo {
    std::string key;  // "train.lr": the JSON path and the --set name
    OptionType type = OptionType::String;
    std::string default_value;         // as it is written after --set
    std::string help;                  // one sentence for the GUI tooltip and `ponet help`
    std::vector<std::string> allowed;  // Choice only
    std::optional<double> min, max;    // Int and Float only, inclusive
};

// The table, in display order (sections task, data, model, train).
const std::vector<OptionInfo>& run_options();
const OptionInfo* find_option(const std::string& key);
// The closest known key to a mistyped one (empty when nothing is close).
std::string suggest_option(const std::string& unknown_key);

// The option's value as text (the form --set takes). Throws InvalidInput for an unknown key.
std::string get_option(const RunConfig& config, const std::string& key);
// Parses and range-checks `value` for the option and stores it. Throws InvalidInput.
void set_option(RunConfig& config, const std::string& key, const std::string& value);
// "train.lr=3e-5": the CLI's --set. Throws InvalidInput.
void apply_override(RunConfig& config, const std::string& assignment);

// Presets are JSON files in resources/presets/<name>.json, read over the defaults and validated.
std::vector<std::string> list_presets();
RunConfig load_preset(const std::string& name);

}  // namespace ponet
