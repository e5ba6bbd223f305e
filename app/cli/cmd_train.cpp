// `ponet pretrain|finetune|lra|resume|eval|predict|runs|export`: training runs and what is done with them.
#include <signal.h>
#include <unistd.h>

#include <sys/stat.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.h"
#include "distributed_launch.h"
#include "core/data/importers.h"
#include "core/data/xdg.h"
#include "core/io/atomic_file.h"
#include "core/io/model_io.h"
#include "core/train/run_directory.h"
#include "core/train/run_notes.h"
#include "core/train/trainer.h"
#include "core/util/error.h"
#include "core/util/fs_util.h"

namespace ponet::cli {

namespace {

// The run the SIGINT handler stops. A lock-free atomic store is async-signal-safe.
RunControl* g_control = nullptr;

extern "C" void on_sigint(int) {
    if (g_control) g_control->stop.store(true);
    // A second Ctrl-C ends the process at once, for a user who does not want to wait for the checkpoint.
    ::signal(SIGINT, SIG_DFL);
}

class SigintScope {
  public:
    explicit SigintScope(RunControl& c) {
        g_control = &c;
        struct sigaction sa {};
        sa.sa_handler = on_sigint;
        sigemptyset(&sa.sa_mask);
        ::sigaction(SIGINT, &sa, &old_);
    }
    ~SigintScope() {
        ::sigaction(SIGINT, &old_, nullptr);
        g_control = nullptr;
    }

  private:
    struct sigaction old_ {};
};

std::string format_duration(double s) {
    if (!std::isfinite(s) || s < 0) return "--:--";
    const int64_t t = static_cast<int64_t>(s + 0.5);
    char buf[32];
    if (t >= 3600)
        std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(t / 3600),
                      static_cast<long long>(t / 60 % 60), static_cast<long long>(t % 60));
    else
        std::snprintf(buf, sizeof buf, "%02lld:%02lld", static_cast<long long>(t / 60),
                      static_cast<long long>(t % 60));
    return buf;
}

std::string fmt(double v, int precision = 4) {
    if (!std::isfinite(v)) return "-";
    std::ostringstream s;
    s << std::setprecision(precision) << v;
    return s.str();
}

// The CLI's observer: a progress line rewritten in place on a terminal, plain lines otherwise. The workers other
// than rank 0 of a data-parallel run print only their warnings, errors and failure, marked with their rank.
class ConsoleObserver : public TrainObserver {
  public:
    explicit ConsoleObserver(int rank = 0) : tty_(::isatty(STDOUT_FILENO) == 1 && rank == 0), rank_(rank) {}

    void on_step(const StepMetrics& m) override {
        std::ostringstream s;
        s << "step " << m.step << "/" << m.max_steps << " loss " << fmt(m.loss);
        if (std::isfinite(m.mlm_loss))
            s << " mlm " << fmt(m.mlm_loss) << " (acc " << fmt(m.mlm_accuracy, 3) << ") sso "
              << fmt(m.sso_loss) << " (acc " << fmt(m.sso_accuracy, 3) << ")";
        if (std::isfinite(m.accuracy)) s << " acc " << fmt(m.accuracy, 3);
        s << " lr " << fmt(m.learning_rate, 3) << " |g| " << fmt(m.grad_norm, 3) << " " << std::fixed
          << std::setprecision(0) << m.tokens_per_second << " tok/s " << std::setprecision(1)
          << m.examples_per_second << " ex/s mem " << (m.memory_bytes >> 20) << " MiB batch "
          << m.effective_batch << " eta " << format_duration(m.eta_seconds);
        if (!m.rank_tokens_per_second.empty()) {
            s << " ranks";
            for (double t : m.rank_tokens_per_second) s << " " << std::setprecision(0) << t;
            s << " tok/s";
        }
        if (tty_) {
            const int width = 24;
            const int filled = m.max_steps > 0 ? static_cast<int>(width * m.step / m.max_steps) : 0;
            std::cout << "\r[" << std::string(static_cast<size_t>(filled), '#')
                      << std::string(static_cast<size_t>(width - filled), '.') << "] " << s.str() << "\033[K"
                      << std::flush;
            open_line_ = true;
        } else {
            std::cout << s.str() << "\n" << std::flush;
        }
    }
    void on_eval(const EvalMetrics& m) override {
        end_line();
        std::cout << "eval " << m.split << " @ step " << m.step << ":";
        for (const auto& [k, v] : m.values)
            if (k != "examples") std::cout << " " << k << " " << fmt(v);
        if (m.is_best) std::cout << " (best)";
        std::cout << "\n" << std::flush;
    }
    void on_checkpoint(const CheckpointEvent& e) override {
        end_line();
        std::cout << "checkpoint " << e.path << (e.is_best ? " (best)" : "") << "\n" << std::flush;
    }
    void on_log(const std::string& level, const std::string& message) override {
        if (rank_ != 0) {
            if (level != "info") std::cerr << "[rank " << rank_ << "] " << level << ": " << message << "\n" << std::flush;
            return;
        }
        end_line();
        (level == "info" ? std::cout : std::cerr) << (level == "info" ? "" : level + ": ") << message << "\n"
                                                  << std::flush;
    }
    void on_finished(const RunOutcome& o) override {
        if (rank_ != 0) return;  // its failure was logged as an error already
        end_line();
        std::cout << "run " << o.status << " after " << o.steps << " steps";
        if (std::isfinite(o.best_metric))
            std::cout << "; best " << o.best_metric_name << " " << fmt(o.best_metric);
        std::cout << "\nrun directory: " << o.run_dir << "\n" << std::flush;
    }

  private:
    void end_line() {
        if (open_line_) std::cout << "\n";
        open_line_ = false;
    }
    bool tty_;
    int rank_;
    bool open_line_ = false;
};

int exit_code(const RunOutcome& o) {
    if (o.status == "finished") return 0;
    if (o.status == "stopped") return 130;
    return 1;
}

bool path_exists(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0;
}

std::vector<OptionSpec> run_options_spec() {
    return {OptionSpec::value("config", "FILE", "Run configuration (JSON: task, data, model, train)"),
            OptionSpec::value("preset", "NAME",
                              "Start from resources/presets/NAME.json (tiny, small, base, lra-*)"),
            OptionSpec::value("set", "KEY=VALUE", "Override one option, e.g. train.lr=3e-5")
                .repeatable(),
            OptionSpec::value("run-dir", "DIR", "Where the run is written; default <data dir>/runs/<name>")};
}

std::vector<OptionSpec> with_distributed(std::vector<OptionSpec> options) {
    for (auto& o : distributed_options_spec()) options.push_back(std::move(o));
    return options;
}

int run_task(TaskKind task, const ParsedArgs& a) {
    if (!a.positionals.empty()) throw UsageError{"unexpected argument '" + a.positionals.front() + "'"};
    RunConfig c;
    if (a.has("preset")) c = load_preset(a.get("preset"));
    if (a.has("config")) {
        if (a.has("preset"))
            c.merge_json_text(read_file(a.get("config")), a.get("config"));
        else
            c = RunConfig::load(a.get("config"));
    }
    c.task = task;
    for (const auto& s : a.all("set")) apply_override(c, s);
    c.validate_runnable();
    if (c.name.empty()) c.name = default_run_name(task, std::time(nullptr));
    const std::string run_dir = a.has("run-dir") ? a.get("run-dir") : runs_dir() + "/" + c.name;
    // Every worker gets the same run directory and name, whatever its clock says.
    if (auto code = launch_workers_if_requested(to_string(task), a, {"run-dir"},
                                                {"--run-dir=" + run_dir, "--set=name=" + c.name}))
        return *code;
    const std::optional<WorldSpec> world = worker_world(a);
    ConsoleObserver obs(world ? world->rank : 0);
    RunControl control;
    SigintScope sigint(control);
    Trainer trainer;
    trainer.set_world(world);
    return exit_code(trainer.run(c, run_dir, obs, control));
}

CommandSpec task_command(TaskKind task, const std::string& summary) {
    CommandSpec s;
    s.name = to_string(task);
    s.summary = summary;
    s.description = summary +
                    ". The configuration is the preset, then the --config file, then each --set in order. "
                    "Ctrl-C saves a checkpoint and exits with 130; `ponet resume DIR` continues. With "
                    "--nproc-per-node the run is data-parallel over c10d (NCCL on GPUs, Gloo on CPUs): one "
                    "worker process per device, train.batch_size is the global batch split across them, only "
                    "rank 0 writes the run directory; a worker that fails or hangs stops the others within "
                    "--dist-timeout. Workers started by an external launcher read RANK, WORLD_SIZE, LOCAL_RANK, "
                    "MASTER_ADDR and MASTER_PORT from the environment (docs/DISTRIBUTED.md).";
    s.options = with_distributed(run_options_spec());
    s.run = [task](const ParsedArgs& a) { return run_task(task, a); };
    return s;
}

// Documents to classify: files as one document each (.txt, .md), .jsonl as one per line; folders recursively.
void collect_documents(const std::string& path, std::vector<Document>& out) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) throw InvalidInput("'" + path + "' does not exist");
    auto has_ext = [&](const std::string& p, const char* e) {
        const std::string ext(e);
        return p.size() > ext.size() && p.compare(p.size() - ext.size(), ext.size(), ext) == 0;
    };
    if (S_ISDIR(st.st_mode)) {
        std::vector<std::string> entries;
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(path, ec))
            entries.push_back(e.path().string());
        std::sort(entries.begin(), entries.end());
        for (const auto& e : entries) {
            struct stat es {};
            if (::stat(e.c_str(), &es) != 0) continue;
            if (S_ISDIR(es.st_mode) || has_ext(e, ".txt") || has_ext(e, ".md") || has_ext(e, ".jsonl"))
                collect_documents(e, out);
        }
        return;
    }
    if (has_ext(path, ".jsonl")) {
        ImportResult r = import_documents(path, ImportFormat::Jsonl);
        for (auto& d : r.documents) out.push_back(std::move(d));
        return;
    }
    Document d;
    d.id = path;
    d.source = path;
    d.text = repair_utf8(read_file(path, 64 << 20));
    out.push_back(std::move(d));
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return q + "\"";
}

int64_t int_arg(const ParsedArgs& a, const std::string& name, int64_t fallback) {
    if (!a.has(name)) return fallback;
    try {
        size_t used = 0;
        const int64_t v = std::stoll(a.get(name), &used);
        if (used == a.get(name).size()) return v;
    } catch (const std::exception&) {
    }
    throw UsageError{"--" + name + " must be an integer"};
}

int run_predict(const ParsedArgs& a) {
    if (a.positionals.size() < 2)
        throw UsageError{"usage: ponet predict MODEL_DIR|RUN_DIR FILE_OR_FOLDER... [--csv OUT]"};
    const int64_t top_k = int_arg(a, "top-k", 3);
    if (top_k < 1) throw UsageError{"--top-k must be at least 1"};
    const torch::Device device = resolve_train_device(a.get("device", "auto"));
    InferenceModel im = load_inference_model(a.positionals[0], a.get("checkpoint", "best"), device);
    if (im.data.task == TaskKind::Pretrain)
        throw InvalidInput(im.checkpoint + " is a pre-training model; predict needs a classifier");
    if (im.data.lra_kind == "listops" || im.data.lra_kind == "pixels")
        throw InvalidInput("predict reads text documents; this model was trained on " + im.data.lra_kind);
    std::vector<Document> docs;
    for (size_t i = 1; i < a.positionals.size(); ++i) collect_documents(a.positionals[i], docs);
    for (auto& d : docs) d.labels.clear();  // a label in a JSONL file is not an input
    const auto& names = im.data.labels.names();
    const int64_t k = std::min<int64_t>(top_k, static_cast<int64_t>(names.size()));
    std::ostringstream csv;
    csv << "id,label,confidence";
    for (int64_t i = 1; i <= k; ++i) csv << ",top" << i << ",p" << i;
    csv << "\n";
    torch::NoGradGuard no_grad;
    for (const auto& d : docs) {
        const auto ex = classification_examples({d}, im.data.tokenizer.get(), im.data.labels, im.max_length,
                                                im.data.lra_kind);
        Batch b = collate({&ex.front()}, im.data.collate);
        ModelInputs in = b.to_model_inputs();
        in.labels = torch::Tensor();
        for (auto* t : {&in.input_ids, &in.attention_mask, &in.token_type_ids, &in.segment_ids})
            if (t->defined()) *t = t->to(device);
        auto logits = im.model->forward(in).logits.to(torch::kCPU, torch::kFloat)[0];
        auto probs = im.data.labels.multi_label() ? torch::sigmoid(logits) : torch::softmax(logits, 0);
        auto top = probs.topk(k);
        auto values = std::get<0>(top), idx = std::get<1>(top);
        const std::string label = names[static_cast<size_t>(idx[0].item<int64_t>())];
        const double conf = values[0].item<double>();
        csv << csv_field(d.id) << "," << csv_field(label) << "," << conf;
        std::cout << d.id << "\t" << label << "\t" << std::fixed << std::setprecision(3) << conf;
        for (int64_t i = 0; i < k; ++i) {
            const std::string n = names[static_cast<size_t>(idx[i].item<int64_t>())];
            csv << "," << csv_field(n) << "," << values[i].item<double>();
            if (i > 0) std::cout << "\t" << n << " " << values[i].item<double>();
        }
        csv << "\n";
        std::cout << std::defaultfloat << "\n";
    }
    if (a.has("csv")) {
        write_file_atomic(a.get("csv"), csv.str());
        std::cerr << "wrote " << docs.size() << " predictions to " << a.get("csv") << "\n";
    }
    return 0;
}

int run_eval(const ParsedArgs& a) {
    if (a.positionals.size() != 1) throw UsageError{"usage: ponet eval RUN_DIR|MODEL_DIR --data FILE"};
    const torch::Device device = resolve_train_device(a.get("device", "auto"));
    InferenceModel im = load_inference_model(a.positionals[0], a.get("checkpoint", "best"), device);
    if (im.data.task == TaskKind::Pretrain)
        throw InvalidInput("eval scores classifiers; this is a pre-training model");
    ImportOptions o;
    o.text_field = a.get("text-field", "text");
    o.label_field = a.get("label-field", "label");
    o.text_b_field = a.get("text-b-field");
    ImportResult r = import_documents(a.get("data"), ImportFormat::Auto, o);
    const auto ex = classification_examples(r.documents, im.data.tokenizer.get(), im.data.labels,
                                            im.max_length, im.data.lra_kind);
    EvalSettings es;
    es.batch_size = int_arg(a, "batch-size", 32);
    const EvalMetrics m = evaluate_examples(*im.model, ex, im.data, es, device);
    std::cout << "model: " << im.checkpoint << "\ndata: " << a.get("data") << " (" << ex.size()
              << " examples)\n";
    for (const auto& [k, v] : m.values) std::cout << k << "\t" << fmt(v) << "\n";
    std::cout << "\nlabel\tprecision\trecall\tf1\tsupport\n";
    for (const auto& c : m.per_class)
        std::cout << c.label << "\t" << fmt(c.precision) << "\t" << fmt(c.recall) << "\t" << fmt(c.f1) << "\t"
                  << c.support << "\n";
    return 0;
}

int run_resume(const ParsedArgs& a) {
    if (a.positionals.size() != 1) throw UsageError{"usage: ponet resume RUN_DIR"};
    const std::string& dir = a.positionals[0];
    // A wrong path is the user's mistake (exit 2), not a failed run.
    if (!is_directory_at(dir)) throw InvalidInput("'" + dir + "' is not a directory");
    if (!is_regular_file_at(dir + "/config.json"))
        throw InvalidInput("'" + dir + "' is not a run directory (no config.json)");
    if (auto code = launch_workers_if_requested("resume", a, {}, {})) return *code;
    const std::optional<WorldSpec> world = worker_world(a);
    ConsoleObserver obs(world ? world->rank : 0);
    RunControl control;
    SigintScope sigint(control);
    Trainer trainer;
    trainer.set_world(world);
    return exit_code(trainer.resume(a.positionals[0], obs, control));
}

int run_runs(const ParsedArgs& a) {
    const std::string dir = a.get("dir", runs_dir());
    const auto runs = list_runs(dir);
    if (runs.empty()) {
        std::cout << "no runs in " << dir << "\n";
        return 0;
    }
    std::cout << std::left << std::setw(32) << "NAME" << std::setw(10) << "TASK" << std::setw(10) << "STATUS"
              << std::setw(8) << "STEPS" << std::setw(24) << "BEST"
              << "TAGS\n";
    for (const auto& r : runs) {
        std::cout << std::setw(32) << r.name << std::setw(10) << r.task << std::setw(10) << to_string(r.state)
                  << std::setw(8) << r.steps
                  << std::setw(24) << (r.best_metric ? r.best_metric_name + " " + fmt(*r.best_metric) : "");
        // Tags are written in the run library; unreadable notes must not hide the run from the list.
        try {
            std::cout << join_tags(read_run_notes(r.path).tags);
        } catch (const Error&) {
            std::cout << "(notes.json unreadable)";
        }
        std::cout << "\n";
    }
    return 0;
}

int run_export(const ParsedArgs& a) {
    if (a.positionals.size() != 1)
        throw UsageError{"usage: ponet export RUN_DIR --to DIR [--checkpoint best|last|step-N]"};
    const std::string run = a.positionals[0], to = a.get("to");
    const std::string ckpt = resolve_checkpoint_dir(run, a.get("checkpoint", "best"));
    if (path_exists(to + "/model.safetensors") && !a.has("force"))
        throw InvalidInput(to + " already holds a model; pass --force to replace it");
    LoadedModel lm = load_model_dir(ckpt);
    save_model_dir(*lm.model, to);
    if (path_exists(run + "/tokenizer")) load_tokenizer(run + "/tokenizer")->save(to);
    std::cout << "exported " << ckpt << " to " << to << "\n";
    return 0;
}

}  // namespace

std::vector<CommandSpec> train_commands() {
    std::vector<CommandSpec> out;
    out.push_back(task_command(TaskKind::Pretrain, "Pre-train a PoNet model (MLM + SSO)"));
    out.push_back(task_command(TaskKind::Finetune,
                               "Fine-tune a classifier (single/multi-label, pairs, long documents)"));
    out.push_back(
        task_command(TaskKind::Lra, "Train a Long Range Arena task (listops, pathfinder, bytes, pixels)"));

    CommandSpec resume;
    resume.name = "resume";
    resume.summary = "continue a stopped run from its newest valid checkpoint";
    resume.positionals = "RUN_DIR";
    resume.description =
        "Continues exactly where the run's newest valid checkpoint left off (on the CPU the "
        "weights are bit-identical to a run that never stopped). Data-parallel runs resume with the "
        "same or another number of workers (--nproc-per-node): the data position does not depend on it.";
    resume.options = distributed_options_spec();
    resume.run = run_resume;
    out.push_back(resume);

    CommandSpec eval;
    eval.name = "eval";
    eval.summary = "score a trained classifier on a labelled file or folder";
    eval.positionals = "RUN_DIR|MODEL_DIR";
    eval.options = {
        OptionSpec::required_value("data", "PATH", "Labelled data (JSONL, CSV/TSV, folder per class)"),
        OptionSpec::value("checkpoint", "WHICH", "best, last or step-N of a run", "best"),
        OptionSpec::value("text-field", "NAME", "Text field or column", "text"),
        OptionSpec::value("text-b-field", "NAME", "Second-sentence field of pair tasks"),
        OptionSpec::value("label-field", "NAME", "Label field or column", "label"),
        OptionSpec::value("batch-size", "N", "Examples per forward pass", "32"),
        OptionSpec::value("device", "DEV", "auto, cpu, cuda or cuda:N", "auto")};
    eval.run = run_eval;
    out.push_back(eval);

    CommandSpec predict;
    predict.name = "predict";
    predict.summary = "classify documents: label, confidence and the top-k labels of each";
    predict.positionals = "MODEL_DIR|RUN_DIR FILE_OR_FOLDER...";
    predict.description =
        "Files are one document each (.txt, .md), .jsonl files one per line (field 'text'); "
        "folders are read recursively.";
    predict.options = {OptionSpec::value("csv", "OUT", "Also write the predictions as CSV"),
                       OptionSpec::value("top-k", "K", "Labels listed per document", "3"),
                       OptionSpec::value("checkpoint", "WHICH", "best, last or step-N of a run", "best"),
                       OptionSpec::value("device", "DEV", "auto, cpu, cuda or cuda:N", "auto")};
    predict.run = run_predict;
    out.push_back(predict);

    CommandSpec runs;
    runs.name = "runs";
    runs.summary = "list training runs with their status and best metric";
    runs.options = {OptionSpec::value("dir", "DIR", "Folder of runs; default <data dir>/runs")};
    runs.run = run_runs;
    out.push_back(runs);

    CommandSpec exp;
    exp.name = "export";
    exp.summary = "write a run's checkpoint as a Hugging Face model directory";
    exp.positionals = "RUN_DIR";
    exp.options = {
        OptionSpec::required_value("to", "DIR", "Output folder (config.json, model.safetensors, tokenizer)"),
        OptionSpec::value("checkpoint", "WHICH", "best, last or step-N", "best"),
        OptionSpec::flag("force", "Replace a model already in --to")};
    exp.run = run_export;
    out.push_back(exp);
    return out;
}

}  // namespace ponet::cli
