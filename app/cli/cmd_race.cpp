// `ponet race`: the mixer race of the Race page from a terminal. The same core runner (core/train/race.h)
// trains the task once per mixer, writes each run to the runs folder tagged with the race, and prints the summary.
#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "core/data/xdg.h"
#include "core/io/atomic_file.h"
#include "core/train/race.h"
#include "core/util/error.h"

namespace ponet::cli {
namespace {

RunControl* g_race_control = nullptr;

extern "C" void on_race_sigint(int) {
    if (g_race_control) g_race_control->stop.store(true);
    ::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

// One line per run start, evaluation and end; on a terminal also a progress line rewritten in place.
class RaceConsole : public RaceObserver {
  public:
    explicit RaceConsole(std::vector<std::string> mixers)
        : mixers_(std::move(mixers)), tty_(::isatty(STDOUT_FILENO) == 1) {}

    void on_run_started(int i, const std::string& mixer, const std::string& dir) override {
        end_line();
        std::cout << "[" << i + 1 << "/" << mixers_.size() << "] " << mixer << " -> " << dir << "\n" << std::flush;
    }
    void on_step(int i, const StepMetrics& m) override {
        if (!tty_) return;
        std::cout << "\r  " << mixers_[static_cast<size_t>(i)] << " step " << m.step << "/" << m.max_steps
                  << " loss " << std::setprecision(4) << m.loss << " " << std::fixed << std::setprecision(0)
                  << m.tokens_per_second << " tok/s" << std::defaultfloat << "\033[K" << std::flush;
        open_ = true;
    }
    void on_eval(int i, const EvalMetrics& m, double seconds) override {
        end_line();
        std::cout << "  " << mixers_[static_cast<size_t>(i)] << " eval " << m.split << " @ step " << m.step << " ("
                  << std::fixed << std::setprecision(1) << seconds << " s):" << std::defaultfloat;
        for (const char* k : {"loss", "accuracy", "macro_f1", "mlm_accuracy"}) {
            const auto it = m.values.find(k);
            if (it != m.values.end()) std::cout << " " << k << " " << std::setprecision(4) << it->second;
        }
        std::cout << "\n" << std::flush;
    }
    void on_log(int i, const std::string& level, const std::string& message) override {
        if (level == "info") return;
        end_line();
        std::cerr << mixers_[static_cast<size_t>(i)] << ": " << level << ": " << message << "\n" << std::flush;
    }
    void on_run_finished(int, const RaceEntry& e) override {
        end_line();
        std::cout << "  " << e.mixer << " " << e.status << " after " << e.steps << " steps";
        if (!e.message.empty()) std::cout << " (" << e.message << ")";
        std::cout << "\n" << std::flush;
    }

  private:
    void end_line() {
        if (open_) std::cout << "\n";
        open_ = false;
    }
    std::vector<std::string> mixers_;
    bool tty_;
    bool open_ = false;
};

int64_t positive_int(const ParsedArgs& a, const std::string& name) {
    const std::string v = a.get(name);
    try {
        size_t used = 0;
        const long long n = std::stoll(v, &used);
        if (used == v.size() && n >= 1) return n;
    } catch (const std::exception&) {
    }
    throw UsageError{"--" + name + " must be a whole number of at least 1 (got '" + v + "')"};
}

int run_race_command(const ParsedArgs& a) {
    if (!a.positionals.empty()) throw UsageError{"unexpected argument '" + a.positionals.front() + "'"};
    RaceConfig race;
    race.base = load_preset(a.get("preset", "tiny-listops"));
    if (a.has("config")) race.base.merge_json_text(read_file(a.get("config")), a.get("config"));
    for (const auto& s : a.all("set")) apply_override(race.base, s);
    if (a.has("device")) set_option(race.base, "train.device", a.get("device"));
    if (a.has("steps")) apply_race_budget(race.base, positive_int(a, "steps"));
    race.mixers = parse_mixers(a.get("mixers", "ponet,fnet,attention"));
    race.runs_dir = a.get("runs-dir", runs_dir());
    race.name = a.get("name");

    RunControl control;
    g_race_control = &control;
    struct sigaction sa {}, old {};
    sa.sa_handler = on_race_sigint;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old);
    RaceConsole console(race.mixers);
    RaceResult result;
    try {
        result = run_race(race, console, control);
    } catch (...) {
        ::sigaction(SIGINT, &old, nullptr);
        g_race_control = nullptr;
        throw;
    }
    ::sigaction(SIGINT, &old, nullptr);
    g_race_control = nullptr;

    std::cout << "\n" << format_race_table(result);
    if (a.has("json")) {
        nlohmann::json j;
        j["race"] = result.name;
        j["stopped"] = result.stopped;
        for (const auto& e : result.entries) {
            auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
            j["runs"].push_back({{"mixer", e.mixer},
                                 {"run_dir", e.run_dir},
                                 {"status", e.status},
                                 {"message", e.message},
                                 {"steps", e.steps},
                                 {"metric", e.metric},
                                 {"final", num(e.final_metric)},
                                 {"best", num(e.best_metric)},
                                 {"steps_per_second", num(e.steps_per_second)},
                                 {"tokens_per_second", num(e.tokens_per_second)},
                                 {"peak_memory_bytes", e.peak_memory_bytes},
                                 {"wall_seconds", e.wall_seconds}});
        }
        write_file_atomic(a.get("json"), j.dump(2) + "\n");
        std::cerr << "wrote " << a.get("json") << "\n";
    }
    if (result.stopped) return 130;
    for (const auto& e : result.entries)
        if (e.status != "finished") return 1;
    return 0;
}

}  // namespace

CommandSpec race_command() {
    CommandSpec s;
    s.name = "race";
    s.summary = "train one task with PoNet, FNet and attention in turn and compare accuracy and cost";
    s.description =
        "The mixer race: the same task, data, seed, schedule and budget trained once per mixer, one run after "
        "the other on one device, each written to the runs folder as <name>-<mixer> and tagged with the race's "
        "name (the run library and `ponet runs` list them). Prints the dev accuracy (final and best), steps/s, "
        "tokens/s, peak memory and wall time of each. The configuration is the preset (default tiny-listops: "
        "ListOps generated on the spot), then --config, then each --set; --steps sets the budget with about ten "
        "evaluations. Ctrl-C stops the current run with a checkpoint and skips the rest (exit 130); a failed "
        "run does not stop the others (exit 1).";
    s.options = {
        OptionSpec::value("mixers", "LIST", "Comma-separated mixers in race order", "ponet,fnet,attention"),
        OptionSpec::value("preset", "NAME", "Start from resources/presets/NAME.json", "tiny-listops"),
        OptionSpec::value("config", "FILE", "Run configuration JSON applied over the preset"),
        OptionSpec::value("set", "KEY=VALUE", "Override one option, e.g. data.dataset=reviews.jsonl")
            .repeatable(),
        OptionSpec::value("steps", "N", "Budget: optimizer steps per mixer (default: the preset's)"),
        OptionSpec::value("device", "DEV", "auto, cpu, cuda or cuda:N (default: the preset's)"),
        OptionSpec::value("name", "NAME", "The race's name and tag; default race-YYYYMMDD-HHMMSS"),
        OptionSpec::value("runs-dir", "DIR", "Folder of the runs; default <data dir>/runs"),
        OptionSpec::value("json", "OUT", "Also write the summary as JSON")};
    s.run = run_race_command;
    return s;
}

}  // namespace ponet::cli
