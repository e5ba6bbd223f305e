#include "core/train/run_config.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "core/io/atomic_file.h"
#include "core/util/error.h"
#include "core/util/json_limits.h"
#include "core/util/paths.h"

namespace ponet {

namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;
namespace fs = std::filesystem;

// Written into every saved configuration so that a later format change can migrate old run directories.
constexpr int kRunConfigVersion = 1;

struct Binding {
    OptionInfo info;
    std::function<json(const RunConfig&)> get;
    std::function<void(RunConfig&, const json&)> set;  // the value is already type- and range-checked
};

std::string format_number(double v) {
    // Whole numbers as integers ("10", not the shortest round-trip form "1e+01").
    if (std::floor(v) == v && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
    std::ostringstream os;
    os.precision(17);
    os << v;
    // Shortest text that reads back to the same double: try fewer digits first.
    for (int p = 1; p <= 17; ++p) {
        std::ostringstream t;
        t.precision(p);
        t << v;
        if (std::strtod(t.str().c_str(), nullptr) == v) return t.str();
    }
    return os.str();
}

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
    return out;
}

std::string range_text(const OptionInfo& o) {
    if (o.min && o.max) return "between " + format_number(*o.min) + " and " + format_number(*o.max);
    if (o.min) return "at least " + format_number(*o.min);
    if (o.max) return "at most " + format_number(*o.max);
    return "";
}

[[noreturn]] void bad_value(const std::string& origin, const OptionInfo& o, const std::string& problem) {
    throw InvalidInput(origin + ": " + o.key + " " + problem);
}

// The JSON value normalised to the option's type (integral floats become integers), range-checked.
json checked_value(const OptionInfo& o, const json& v, const std::string& origin) {
    auto in_range = [&](double x) {
        if ((o.min && x < *o.min) || (o.max && x > *o.max))
            bad_value(origin, o, "must be " + range_text(o) + ", got " + format_number(x));
    };
    switch (o.type) {
        case OptionType::Int: {
            int64_t n = 0;
            if (v.is_number_integer()) {
                n = v.get<int64_t>();
            } else if (v.is_number_float() && std::isfinite(v.get<double>()) &&
                       std::floor(v.get<double>()) == v.get<double>() && std::fabs(v.get<double>()) < 9e18) {
                n = static_cast<int64_t>(v.get<double>());
            } else {
                bad_value(origin, o, "expects an integer, got " + v.dump());
            }
            in_range(static_cast<double>(n));
            return n;
        }
        case OptionType::Float: {
            if (!v.is_number()) bad_value(origin, o, "expects a number, got " + v.dump());
            const double x = v.get<double>();
            if (!std::isfinite(x)) bad_value(origin, o, "must be finite");
            in_range(x);
            return x;
        }
        case OptionType::Bool:
            if (!v.is_boolean()) bad_value(origin, o, "expects true or false, got " + v.dump());
            return v;
        case OptionType::Choice: {
            if (!v.is_string())
                bad_value(origin, o, "expects one of " + join(o.allowed) + ", got " + v.dump());
            const auto s = v.get<std::string>();
            if (std::find(o.allowed.begin(), o.allowed.end(), s) == o.allowed.end())
                bad_value(origin, o, "must be one of " + join(o.allowed) + ", got '" + s + "'");
            return v;
        }
        case OptionType::String:
        case OptionType::Path:
            if (!v.is_string()) bad_value(origin, o, "expects a string, got " + v.dump());
            return v;
    }
    return v;
}

// Text as typed after --set, turned into the JSON value of the option's type.
json parse_text(const OptionInfo& o, const std::string& text, const std::string& origin) {
    switch (o.type) {
        case OptionType::Int:
        case OptionType::Float: {
            errno = 0;
            char* end = nullptr;
            if (o.type == OptionType::Int) {
                const long long n = std::strtoll(text.c_str(), &end, 10);
                if (!text.empty() && *end == '\0' && errno == 0)
                    return checked_value(o, json(int64_t(n)), origin);
            }
            errno = 0;
            const double x = std::strtod(text.c_str(), &end);
            if (text.empty() || *end != '\0' || errno == ERANGE)
                bad_value(origin, o,
                          std::string("expects ") + (o.type == OptionType::Int ? "an integer" : "a number") +
                              ", got '" + text + "'");
            return checked_value(o, json(x), origin);
        }
        case OptionType::Bool: {
            std::string t = text;
            std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
            if (t == "true" || t == "1" || t == "yes" || t == "on") return true;
            if (t == "false" || t == "0" || t == "no" || t == "off") return false;
            bad_value(origin, o, "expects true or false, got '" + text + "'");
        }
        default:
            return checked_value(o, json(text), origin);
    }
}

template <class T>
constexpr bool type_matches(OptionType t) {
    if constexpr (std::is_same_v<T, double>) return t == OptionType::Float;
    if constexpr (std::is_same_v<T, int64_t>) return t == OptionType::Int;
    if constexpr (std::is_same_v<T, bool>) return t == OptionType::Bool;
    if constexpr (std::is_same_v<T, std::string>)
        return t == OptionType::String || t == OptionType::Path || t == OptionType::Choice;
    if constexpr (std::is_enum_v<T>) return t == OptionType::Choice;
    return false;
}

// Binds a row of the table to the RunConfig field that `ref` returns. Enum fields map to the row's allowed
// values by position, so the enum's order must follow the `allowed` list.
template <class F>
Binding bind(OptionInfo info, F ref) {
    using T = std::remove_reference_t<decltype(ref(std::declval<RunConfig&>()))>;
    if (!type_matches<T>(info.type)) throw std::logic_error("option table: field type of " + info.key);
    Binding b;
    const auto allowed = info.allowed;
    b.info = std::move(info);
    b.get = [ref, allowed](const RunConfig& c) -> json {
        const T& v = ref(const_cast<RunConfig&>(c));
        if constexpr (std::is_enum_v<T>)
            return allowed.at(static_cast<size_t>(v));
        else
            return v;
    };
    b.set = [ref, allowed](RunConfig& c, const json& v) {
        if constexpr (std::is_enum_v<T>) {
            const auto it = std::find(allowed.begin(), allowed.end(), v.get<std::string>());
            ref(c) = static_cast<T>(it - allowed.begin());
        } else {
            ref(c) = v.get<T>();
        }
    };
    return b;
}

OptionInfo text_opt(std::string key, std::string def, std::string help,
                    OptionType type = OptionType::String) {
    return {std::move(key), type, std::move(def), std::move(help), {}, std::nullopt, std::nullopt};
}
OptionInfo choice_opt(std::string key, std::string def, std::vector<std::string> allowed, std::string help) {
    return {std::move(key),     OptionType::Choice, std::move(def), std::move(help),
            std::move(allowed), std::nullopt,       std::nullopt};
}
OptionInfo int_opt(std::string key, std::string def, std::optional<double> min, std::optional<double> max,
                   std::string help) {
    return {std::move(key), OptionType::Int, std::move(def), std::move(help), {}, min, max};
}
OptionInfo float_opt(std::string key, std::string def, std::optional<double> min, std::optional<double> max,
                     std::string help) {
    return {std::move(key), OptionType::Float, std::move(def), std::move(help), {}, min, max};
}
OptionInfo bool_opt(std::string key, std::string def, std::string help) {
    return {std::move(key), OptionType::Bool, std::move(def), std::move(help), {},
            std::nullopt,   std::nullopt};
}

constexpr double kMaxCount = 1e12;

#define PONET_FIELD(member)      \
    [](RunConfig & c) -> auto& { \
        return c.member;         \
    }

const std::vector<Binding>& bindings() {
    static const std::vector<Binding> table = [] {
        const auto P = OptionType::Path;
        std::vector<Binding> t;
        // --- run
        t.push_back(
            bind(choice_opt("task", "finetune", {"pretrain", "finetune", "lra"},
                            "What the run trains: MLM+SSO pre-training, classification fine-tuning or an "
                            "LRA task"),
                 PONET_FIELD(task)));
        t.push_back(
            bind(text_opt("name", "", "Run name (the folder under runs/); empty: <task>-<date>-<time>"),
                 PONET_FIELD(name)));
        t.push_back(bind(text_opt("description", "", "Free text shown with the run and in the preset list"),
                         PONET_FIELD(description)));
        // --- data
        t.push_back(
            bind(text_opt("data.dataset", "",
                          "A dataset recipe name (`ponet data list`) or a file or folder with the data"),
                 PONET_FIELD(data.dataset)));
        t.push_back(
            bind(text_opt("data.train", "", "Training split file or folder (overrides the dataset's)", P),
                 PONET_FIELD(data.train)));
        t.push_back(bind(text_opt("data.validation", "", "Validation split file or folder", P),
                         PONET_FIELD(data.validation)));
        t.push_back(bind(text_opt("data.test", "", "Test split file or folder, evaluated after training", P),
                         PONET_FIELD(data.test)));
        t.push_back(bind(choice_opt("data.format", "auto", {"auto", "text", "jsonl", "csv", "tsv", "folder"},
                                    "File format of the splits; auto: from the extension or folder layout"),
                         PONET_FIELD(data.format)));
        t.push_back(bind(text_opt("data.text_field", "text", "JSONL/CSV field holding the text"),
                         PONET_FIELD(data.text_field)));
        t.push_back(
            bind(text_opt("data.text_b_field", "", "Field of the second sentence of pair tasks; empty: none"),
                 PONET_FIELD(data.text_b_field)));
        t.push_back(bind(text_opt("data.label_field", "label", "JSONL/CSV field holding the label(s)"),
                         PONET_FIELD(data.label_field)));
        t.push_back(bind(
            text_opt("data.tokenizer", "",
                     "vocab.txt, SentencePiece model, tokenizer folder or 'byte'; empty: the model's", P),
            PONET_FIELD(data.tokenizer)));
        t.push_back(
            bind(bool_opt("data.lowercase", "true", "Lower-case text before WordPiece (uncased models)"),
                 PONET_FIELD(data.lowercase)));
        t.push_back(bind(bool_opt("data.multi_label", "false", "Each document may carry several labels"),
                         PONET_FIELD(data.multi_label)));
        t.push_back(bind(float_opt("data.validation_fraction", "0.1", 0.0, 0.5,
                                   "Share of the training data held out when there is no validation split"),
                         PONET_FIELD(data.validation_fraction)));
        t.push_back(bind(float_opt("data.mlm_probability", "0.15", 0.0, 1.0,
                                   "Share of tokens selected for masked-language-model prediction"),
                         PONET_FIELD(data.mlm_probability)));
        t.push_back(bind(float_opt("data.short_seq_prob", "0.1", 0.0, 1.0,
                                   "Probability of a shorter target length for pre-training pairs"),
                         PONET_FIELD(data.short_seq_prob)));
        t.push_back(bind(int_opt("data.dupe_factor", "5", 1.0, 100.0,
                                 "Times the pre-training corpus is turned into pairs, each with new choices"),
                         PONET_FIELD(data.dupe_factor)));
        t.push_back(
            bind(int_opt("data.max_examples", "0", 0.0, kMaxCount, "Use at most this many examples; 0: all"),
                 PONET_FIELD(data.max_examples)));
        t.push_back(
            bind(int_opt("data.prefetch", "4", 1.0, 256.0, "Batches prepared ahead on the data thread"),
                 PONET_FIELD(data.prefetch)));
        // --- model
        t.push_back(bind(text_opt("model.preset", "ponet-base-uncased",
                                  "Built-in model shape for a fresh model (used when neither model.dir nor "
                                  "model.init_checkpoint is set)"),
                         PONET_FIELD(model.preset)));
        t.push_back(bind(
            text_opt("model.dir", "", "Hugging Face PoNet folder whose config and weights start the run", P),
            PONET_FIELD(model.dir)));
        t.push_back(
            bind(text_opt("model.init_checkpoint", "",
                          "Checkpoint folder (or run folder) whose weights start the run; heads missing "
                          "from it are initialised fresh",
                          P),
                 PONET_FIELD(model.init_checkpoint)));
        t.push_back(bind(choice_opt("model.mixer", "auto", {"auto", "ponet", "fnet", "attention"},
                                    "Token mixer; auto: the base configuration's"),
                         PONET_FIELD(model.mixer)));
        t.push_back(bind(choice_opt("model.segment_strategy", "auto", {"auto", "derived", "fixed"},
                                    "Where segment max-pooling segments come from: [CLS]/[SEP] (derived) or "
                                    "fixed-size chunks (LRA); auto: the base configuration's"),
                         PONET_FIELD(model.segment_strategy)));
        t.push_back(
            bind(int_opt("model.segment_num", "0", 0.0, 1048576.0,
                         "Segments per sequence with the fixed strategy; 0: the base configuration's"),
                 PONET_FIELD(model.segment_num)));
        t.push_back(bind(int_opt("model.max_length", "512", 8.0, 1048576.0,
                                 "Tokens per example including special tokens; longer inputs are truncated"),
                         PONET_FIELD(model.max_length)));
        t.push_back(bind(
            int_opt("model.hidden_size", "0", 0.0, 65536.0, "Hidden width of a fresh model; 0: preset's"),
            PONET_FIELD(model.hidden_size)));
        t.push_back(bind(
            int_opt("model.num_layers", "0", 0.0, 1024.0, "Encoder layers of a fresh model; 0: preset's"),
            PONET_FIELD(model.num_layers)));
        t.push_back(bind(int_opt("model.num_heads", "0", 0.0, 1024.0, "Heads of a fresh model; 0: preset's"),
                         PONET_FIELD(model.num_heads)));
        t.push_back(bind(int_opt("model.intermediate_size", "0", 0.0, 1048576.0,
                                 "Feed-forward width of a fresh model; 0: preset's"),
                         PONET_FIELD(model.intermediate_size)));
        t.push_back(bind(int_opt("model.vocab_size", "0", 0.0, 16777216.0,
                                 "Vocabulary of a fresh model; 0: the tokenizer's"),
                         PONET_FIELD(model.vocab_size)));
        t.push_back(bind(float_opt("model.dropout", "-1", -1.0, 0.99,
                                   "Hidden and attention dropout; -1: the base configuration's"),
                         PONET_FIELD(model.dropout)));
        // --- train
        t.push_back(bind(int_opt("train.batch_size", "32", 1.0, 1048576.0, "Examples per forward pass"),
                         PONET_FIELD(train.batch_size)));
        t.push_back(
            bind(int_opt("train.grad_accum", "1", 1.0, 65536.0,
                         "Batches accumulated per optimizer step (effective batch = batch_size x this)"),
                 PONET_FIELD(train.grad_accum)));
        t.push_back(
            bind(float_opt("train.lr", "5e-5", 0.0, 10.0, "Peak learning rate"), PONET_FIELD(train.lr)));
        t.push_back(bind(float_opt("train.weight_decay", "0", 0.0, 10.0,
                                   "AdamW decoupled weight decay (never on biases and LayerNorm weights)"),
                         PONET_FIELD(train.weight_decay)));
        t.push_back(bind(float_opt("train.adam_beta1", "0.9", 0.0, 1.0, "AdamW beta1 (cycled by onecycle)"),
                         PONET_FIELD(train.adam_beta1)));
        t.push_back(bind(float_opt("train.adam_beta2", "0.999", 0.0, 1.0, "AdamW beta2"),
                         PONET_FIELD(train.adam_beta2)));
        t.push_back(bind(float_opt("train.adam_eps", "1e-8", 0.0, 1.0, "AdamW epsilon"),
                         PONET_FIELD(train.adam_eps)));
        t.push_back(
            bind(choice_opt("train.schedule", "linear", {"linear", "constant", "cosine", "onecycle"},
                            "Learning-rate schedule: warm-up then linear decay to 0, constant, cosine "
                            "decay to 0, or PyTorch's OneCycleLR (LRA)"),
                 PONET_FIELD(train.schedule)));
        t.push_back(bind(int_opt("train.warmup_steps", "0", 0.0, kMaxCount,
                                 "Optimizer steps of linear warm-up (onecycle: steps to the peak)"),
                         PONET_FIELD(train.warmup_steps)));
        t.push_back(bind(int_opt("train.max_steps", "0", 0.0, kMaxCount,
                                 "Optimizer steps to train; 0: train.epochs decides"),
                         PONET_FIELD(train.max_steps)));
        t.push_back(
            bind(int_opt("train.epochs", "3", 0.0, 1e6, "Passes over the training data (if max_steps is 0)"),
                 PONET_FIELD(train.epochs)));
        t.push_back(
            bind(float_opt("train.clip_norm", "1", 0.0, 1e6, "Global gradient-norm clip; 0: no clipping"),
                 PONET_FIELD(train.clip_norm)));
        t.push_back(bind(int_opt("train.eval_every", "0", 0.0, kMaxCount,
                                 "Evaluate every this many optimizer steps; 0: after every epoch"),
                         PONET_FIELD(train.eval_every)));
        t.push_back(bind(int_opt("train.eval_batches", "0", 0.0, kMaxCount,
                                 "Validation batches per evaluation; 0: the whole validation split (the test "
                                 "split is always scored whole)"),
                         PONET_FIELD(train.eval_batches)));
        t.push_back(
            bind(text_opt("train.early_stopping.metric", "auto",
                          "Validation metric that picks the best checkpoint and drives early stopping; "
                          "auto: accuracy (classification) or mlm_loss (pre-training)"),
                 PONET_FIELD(train.early_stopping.metric)));
        t.push_back(bind(int_opt("train.early_stopping.patience", "0", 0.0, 1e6,
                                 "Evaluations without improvement before the run stops; 0: never stop early"),
                         PONET_FIELD(train.early_stopping.patience)));
        t.push_back(
            bind(choice_opt("train.early_stopping.mode", "auto", {"auto", "max", "min"},
                            "Whether larger or smaller is better; auto: min for losses, max otherwise"),
                 PONET_FIELD(train.early_stopping.mode)));
        t.push_back(
            bind(int_opt("train.checkpoint_every", "1000", 0.0, kMaxCount,
                         "Save a checkpoint every this many optimizer steps; 0: only at the end and on stop"),
                 PONET_FIELD(train.checkpoint_every)));
        t.push_back(
            bind(int_opt("train.keep_last", "3", 0.0, 1e6, "Checkpoints kept besides the best; 0: keep all"),
                 PONET_FIELD(train.keep_last)));
        t.push_back(
            bind(choice_opt("train.precision", "fp32", {"fp32", "bf16", "fp16"},
                            "Arithmetic: fp32, bf16 autocast, or fp16 autocast with a loss scaler (CUDA)"),
                 PONET_FIELD(train.precision)));
        t.push_back(bind(choice_opt("train.mixer_impl", "auto", {"auto", "fused", "reference"},
                                    "PoNet mixing code: auto (fused where available), fused, or the reference path"),
                         PONET_FIELD(train.mixer_impl)));
        t.push_back(bind(choice_opt("train.metrics_sync", "auto", {"auto", "step", "log"},
                                    "When the loss, accuracy and gradient norm are read back: every step, or "
                                    "kept on the device until the next log, evaluation or checkpoint (no "
                                    "host synchronisation inside a step; a NaN is then reported at that point, "
                                    "with the step it appeared). auto: log on one CUDA device without fp16 loss "
                                    "scaling, step elsewhere"),
                         PONET_FIELD(train.metrics_sync)));
        t.push_back(bind(choice_opt("train.cuda_graphs", "auto", {"auto", "on", "off"},
                                    "Record the training step once as a CUDA graph and replay it, so that a small "
                                    "model's step is not held up by the host launching its kernels one by one. "
                                    "Needs one CUDA device, train.metrics_sync = log, no gradient accumulation or "
                                    "checkpointing and the fused mixing; batches of another shape run as ordinary "
                                    "steps. auto: where batch x length is at most " +
                                        std::to_string(kGraphAutoTokens) + " tokens; on: at any length"),
                         PONET_FIELD(train.cuda_graphs)));
        t.push_back(bind(bool_opt("train.grad_checkpointing", "false",
                                  "Recompute layer activations in the backward pass to save memory"),
                         PONET_FIELD(train.grad_checkpointing)));
        t.push_back(bind(int_opt("train.seed", "42", 0.0, 9.2e18, "Seed of every random choice of the run"),
                         PONET_FIELD(train.seed)));
        t.push_back(
            bind(text_opt("train.device", "auto", "auto, cpu, cuda or cuda:N; auto: the first GPU if any"),
                 PONET_FIELD(train.device)));
        t.push_back(
            bind(int_opt("train.log_every", "10", 1.0, kMaxCount, "Report training metrics every N steps"),
                 PONET_FIELD(train.log_every)));
        t.push_back(bind(float_opt("train.onecycle.div_factor", "25", 1.0, 1e12,
                                   "onecycle: the start learning rate is lr / div_factor"),
                         PONET_FIELD(train.onecycle.div_factor)));
        t.push_back(bind(float_opt("train.onecycle.final_div_factor", "1e4", 1.0, 1e12,
                                   "onecycle: the final learning rate is start lr / final_div_factor"),
                         PONET_FIELD(train.onecycle.final_div_factor)));
        t.push_back(bind(bool_opt("train.onecycle.cycle_momentum", "true",
                                  "onecycle: cycle AdamW beta1 inversely to the learning rate"),
                         PONET_FIELD(train.onecycle.cycle_momentum)));
        t.push_back(bind(float_opt("train.onecycle.base_momentum", "0.85", 0.0, 1.0,
                                   "onecycle: beta1 at the learning-rate peak"),
                         PONET_FIELD(train.onecycle.base_momentum)));
        t.push_back(bind(float_opt("train.onecycle.max_momentum", "0.95", 0.0, 1.0,
                                   "onecycle: beta1 at the start and the end"),
                         PONET_FIELD(train.onecycle.max_momentum)));
        return t;
    }();
    return table;
}

#undef PONET_FIELD

const Binding* find_binding(const std::string& key) {
    for (const auto& b : bindings())
        if (b.info.key == key) return &b;
    return nullptr;
}

size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

std::string leaf(const std::string& key) {
    const auto dot = key.rfind('.');
    return dot == std::string::npos ? key : key.substr(dot + 1);
}

std::string unknown_key_message(const std::string& origin, const std::string& key) {
    std::string msg = origin + ": unknown key '" + key + "'";
    const auto s = suggest_option(key);
    if (!s.empty()) msg += "; did you mean '" + s + "'?";
    return msg;
}

bool is_section(const std::string& key) {
    for (const auto& b : bindings())
        if (b.info.key.compare(0, key.size() + 1, key + ".") == 0) return true;
    return false;
}

// Walks nested objects down to the leaves; a leaf's key is the dotted path to it.
void apply_object(RunConfig& config, const json& obj, const std::string& prefix, const std::string& origin) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
        if (key == "version") {
            if (!it.value().is_number_integer() || it.value().get<int64_t>() > kRunConfigVersion)
                throw InvalidInput(origin + ": configuration version " + it.value().dump() +
                                   " is newer than this program reads (" + std::to_string(kRunConfigVersion) +
                                   ")");
            continue;
        }
        const Binding* b = find_binding(key);
        if (!b) {
            // Recurse into unknown objects too, so a misspelt section is reported with its full key
            // ("trian.lr"), which is what the suggestion can match.
            if (it.value().is_object() && (is_section(key) || !it.value().empty())) {
                apply_object(config, it.value(), key, origin);
                continue;
            }
            if (is_section(key)) throw InvalidInput(origin + ": '" + key + "' must be an object of options");
            throw InvalidInput(unknown_key_message(origin, key));
        }
        if (it.value().is_null()) throw InvalidInput(origin + ": " + key + " has no value (null)");
        b->set(config, checked_value(b->info, it.value(), origin));
    }
}

bool valid_device(const std::string& d) {
    if (d == "auto" || d == "cpu" || d == "cuda") return true;
    if (d.rfind("cuda:", 0) != 0 || d.size() == 5) return false;
    return std::all_of(d.begin() + 5, d.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::vector<std::string> json_files_in(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    if (dir.empty() || !fs::is_directory(dir, ec)) return out;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.path().extension() == ".json") out.push_back(e.path().stem().string());
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> builtin_models() {
    std::vector<std::string> out;
    std::error_code ec;
    const std::string dir = resources_dir().empty() ? "" : resources_dir() + "/models";
    if (dir.empty() || !fs::is_directory(dir, ec)) return out;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (fs::is_regular_file(e.path() / "config.json", ec)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

std::string main_metric(const RunConfig& c) {
    if (c.train.early_stopping.metric != "auto") return c.train.early_stopping.metric;
    return c.task == TaskKind::Pretrain ? "mlm_loss" : "accuracy";
}

std::string to_string(TaskKind t) {
    return find_binding("task")->info.allowed.at(static_cast<size_t>(t));
}
std::string to_string(ScheduleKind s) {
    return find_binding("train.schedule")->info.allowed.at(static_cast<size_t>(s));
}
std::string to_string(Precision p) {
    return find_binding("train.precision")->info.allowed.at(static_cast<size_t>(p));
}
std::string to_string(MetricMode m) {
    return find_binding("train.early_stopping.mode")->info.allowed.at(static_cast<size_t>(m));
}

std::string to_string(OptionType t) {
    switch (t) {
        case OptionType::String:
            return "string";
        case OptionType::Path:
            return "path";
        case OptionType::Choice:
            return "choice";
        case OptionType::Int:
            return "integer";
        case OptionType::Float:
            return "number";
        case OptionType::Bool:
            return "boolean";
    }
    return "?";
}

RunConfig::RunConfig() {
    for (const auto& b : bindings()) b.set(*this, parse_text(b.info, b.info.default_value, "default"));
}

const std::vector<OptionInfo>& run_options() {
    static const std::vector<OptionInfo> infos = [] {
        std::vector<OptionInfo> v;
        for (const auto& b : bindings()) v.push_back(b.info);
        return v;
    }();
    return infos;
}

const OptionInfo* find_option(const std::string& key) {
    const Binding* b = find_binding(key);
    return b ? &b->info : nullptr;
}

std::string suggest_option(const std::string& unknown_key) {
    // Hugging Face TrainingArguments names people carry over from Python scripts.
    static const std::map<std::string, std::string> aliases = {
        {"learning_rate", "train.lr"},
        {"num_train_epochs", "train.epochs"},
        {"per_device_train_batch_size", "train.batch_size"},
        {"gradient_accumulation_steps", "train.grad_accum"},
        {"max_grad_norm", "train.clip_norm"},
        {"adam_epsilon", "train.adam_eps"},
        {"lr_scheduler_type", "train.schedule"},
        {"eval_steps", "train.eval_every"},
        {"save_steps", "train.checkpoint_every"},
        {"save_total_limit", "train.keep_last"},
        {"logging_steps", "train.log_every"},
        {"gradient_checkpointing", "train.grad_checkpointing"},
        {"max_seq_length", "model.max_length"},
        {"model_name_or_path", "model.dir"},
    };
    const auto alias = aliases.find(leaf(unknown_key));
    if (alias != aliases.end()) return alias->second;
    // The edit distance costs length × key length for each of the ~70 keys: a megabyte-long key in a hostile
    // file would take minutes, and no typo is that long (fuzz_run_config ran at 100 inputs per second).
    if (unknown_key.size() > 200) return {};
    std::string best;
    size_t best_d = SIZE_MAX;
    for (const auto& b : bindings()) {
        size_t d = edit_distance(unknown_key, b.info.key);
        // A right leaf under the wrong section ("model.lr") is a near miss too.
        if (leaf(unknown_key) == leaf(b.info.key)) d = std::min<size_t>(d, 1);
        if (d < best_d) best_d = d, best = b.info.key;
    }
    const size_t tolerance = std::max<size_t>(2, unknown_key.size() / 3);
    return best_d <= tolerance ? best : std::string();
}

std::string get_option(const RunConfig& config, const std::string& key) {
    const Binding* b = find_binding(key);
    if (!b) throw InvalidInput(unknown_key_message("get", key));
    const json v = b->get(config);
    if (v.is_string()) return v.get<std::string>();
    if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
    if (v.is_number_float()) return format_number(v.get<double>());
    return v.dump();
}

void set_option(RunConfig& config, const std::string& key, const std::string& value) {
    const Binding* b = find_binding(key);
    if (!b) throw InvalidInput(unknown_key_message("--set", key));
    b->set(config, parse_text(b->info, value, "--set"));
}

void apply_override(RunConfig& config, const std::string& assignment) {
    const auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0)
        throw InvalidInput("--set " + assignment + ": expected key=value, e.g. train.lr=3e-5");
    set_option(config, assignment.substr(0, eq), assignment.substr(eq + 1));
}

RunConfig RunConfig::from_json_text(const std::string& text, const std::string& origin) {
    RunConfig c;
    c.merge_json_text(text, origin);
    return c;
}

void RunConfig::merge_json_text(const std::string& text, const std::string& origin) {
    check_json_depth(text, origin);
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {  // parse_error, and out_of_range for a number such as 1e400
        throw InvalidInput(origin + ": not valid JSON (" + e.what() + ")");
    }
    if (!j.is_object()) throw InvalidInput(origin + ": a run configuration is a JSON object");
    // Apply to a copy so that a failure leaves this configuration unchanged.
    RunConfig next = *this;
    apply_object(next, j, "", origin);
    *this = std::move(next);
}

std::string RunConfig::to_json_text() const {
    ordered_json out = ordered_json::object();
    out["version"] = kRunConfigVersion;
    for (const auto& b : bindings()) {
        ordered_json* node = &out;
        std::string key = b.info.key;
        for (auto dot = key.find('.'); dot != std::string::npos; dot = key.find('.')) {
            node = &(*node)[key.substr(0, dot)];
            key = key.substr(dot + 1);
        }
        (*node)[key] = ordered_json::parse(b.get(*this).dump());
    }
    return out.dump(2) + "\n";
}

RunConfig RunConfig::load(const std::string& path) {
    return from_json_text(read_file(path, 16u << 20), path);
}

void RunConfig::save(const std::string& path) const {
    write_file_atomic(path, to_json_text());
}

void RunConfig::validate() const {
    const std::string origin = "run config";
    for (const auto& b : bindings()) checked_value(b.info, b.get(*this), origin);
    auto fail = [&](const std::string& msg) { throw InvalidInput(origin + ": " + msg); };

    // Model.
    const bool loads_weights = !model.dir.empty() || !model.init_checkpoint.empty();
    if (!loads_weights) {
        if (model.preset.empty()) fail("set one of model.preset, model.dir or model.init_checkpoint");
        const auto known = builtin_models();
        if (!known.empty() && std::find(known.begin(), known.end(), model.preset) == known.end())
            fail("model.preset '" + model.preset + "' is not a built-in model; built-in models are " +
                 join(known));
    }
    // With loaded weights, shape fields (a preset's, typically) must match the loaded model: the trainer checks
    // that once it has read the model's config.json.
    if (model.hidden_size > 0 && model.num_heads > 0 && model.hidden_size % model.num_heads != 0)
        fail("model.hidden_size (" + std::to_string(model.hidden_size) +
             ") must be a multiple of model.num_heads (" + std::to_string(model.num_heads) + ")");

    // Optimisation.
    if (train.adam_beta1 >= 1.0 || train.adam_beta2 >= 1.0)
        fail("train.adam_beta1 and train.adam_beta2 must be < 1");
    if (train.max_steps == 0 && train.epochs == 0) fail("set train.max_steps or train.epochs (both are 0)");
    if (train.max_steps > 0 && train.warmup_steps > train.max_steps)
        fail("train.warmup_steps (" + std::to_string(train.warmup_steps) + ") exceeds train.max_steps (" +
             std::to_string(train.max_steps) + ")");
    if (train.schedule == ScheduleKind::OneCycle) {
        // OneCycleLR's horizon is fixed up front, and its rising phase must be neither empty nor the whole
        // run.
        if (train.max_steps == 0) fail("train.schedule = onecycle needs train.max_steps (its horizon)");
        if (train.warmup_steps < 1 || train.warmup_steps >= train.max_steps)
            fail("train.schedule = onecycle needs 1 <= train.warmup_steps < train.max_steps");
        if (train.onecycle.cycle_momentum && train.onecycle.base_momentum > train.onecycle.max_momentum)
            fail("train.onecycle.base_momentum must not exceed train.onecycle.max_momentum");
        if (train.onecycle.max_momentum >= 1.0)
            fail("train.onecycle.max_momentum must be < 1 (it is AdamW's beta1)");
    }
    if (!valid_device(train.device))
        fail("train.device must be auto, cpu, cuda or cuda:N, got '" + train.device + "'");
    if (train.precision == Precision::Fp16 && train.device == "cpu")
        fail("train.precision = fp16 needs a CUDA device; use bf16 or fp32 on the CPU");
    if (train.early_stopping.metric.empty()) fail("train.early_stopping.metric must not be empty (use auto)");
}

void RunConfig::validate_runnable() const {
    validate();
    if (data.dataset.empty() && data.train.empty())
        throw InvalidInput("run config: no training data; set data.dataset or data.train");
}

std::vector<std::string> list_presets() {
    return json_files_in(resources_dir().empty() ? "" : resources_dir() + "/presets");
}

RunConfig load_preset(const std::string& name) {
    const std::string res = resources_dir();
    if (res.empty())
        throw Error("preset '" + name + "': no resources folder found (set PONET_RESOURCES_DIR)");
    const std::string path = res + "/presets/" + name + ".json";
    std::error_code ec;
    if (name.empty() || name.find('/') != std::string::npos || !fs::is_regular_file(path, ec))
        throw InvalidInput("no preset named '" + name + "'; presets are " + join(list_presets()));
    RunConfig c = RunConfig::load(path);
    c.validate();
    return c;
}

}  // namespace ponet
