// The mixer race (race.h): one ordinary training run per mixer, one after the other, each watched by an
// adapter that forwards its reports with the run's index and gathers the summary row.
#include "core/train/race.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iomanip>
#include <sstream>

#include "core/train/run_directory.h"
#include "core/train/run_notes.h"
#include "core/train/training_session.h"
#include "core/util/error.h"
#include "core/util/fs_util.h"

namespace ponet {
namespace {

const std::vector<std::string>& known_mixers() {
    static const std::vector<std::string> k = {"ponet", "fnet", "attention"};
    return k;
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::string default_race_name(const std::string& runs_dir) {
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char buf[64];
    std::strftime(buf, sizeof buf, "race-%Y%m%d-%H%M%S", &local);
    // Two races within one second (a script, a test) must not share runs.
    std::string name = buf;
    for (int n = 2; is_directory_at(runs_dir + "/" + name + "-ponet") || is_directory_at(runs_dir + "/" + name + "-fnet") ||
                    is_directory_at(runs_dir + "/" + name + "-attention");
         ++n)
        name = std::string(buf) + "-" + std::to_string(n);
    return name;
}

double median(std::vector<double> v) {
    if (v.empty()) return NAN;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string eval_metric_for(const RunConfig& c) {
    return c.task == TaskKind::Pretrain ? "mlm_accuracy" : "accuracy";
}

// Forwards one run's reports with its index and keeps what the summary row needs.
class RunWatcher : public TrainObserver {
  public:
    RunWatcher(int index, RaceObserver& out, RaceEntry& entry) : index_(index), out_(out), entry_(entry) {}

    void on_step(const StepMetrics& m) override {
        last_seconds_ = m.elapsed_seconds;
        entry_.steps = m.step;
        entry_.peak_memory_bytes = std::max(entry_.peak_memory_bytes, std::max(m.memory_bytes, m.peak_memory_bytes));
        // The first report includes the warm-up of the first steps; later ones are the steady pace. An interval
        // that held an evaluation is slower, which the median ignores.
        if (++reports_ > 1 || m.step == m.max_steps) {
            if (m.tokens_per_second > 0) tokens_.push_back(m.tokens_per_second);
            if (m.examples_per_second > 0 && m.effective_batch > 0)
                steps_.push_back(m.examples_per_second / static_cast<double>(m.effective_batch));
        }
        out_.on_step(index_, m);
    }
    void on_eval(const EvalMetrics& m) override {
        if (m.split == "dev") {
            const auto it = m.values.find(entry_.metric);
            if (it != m.values.end() && std::isfinite(it->second)) {
                entry_.final_metric = it->second;
                if (!std::isfinite(entry_.best_metric) || it->second > entry_.best_metric)
                    entry_.best_metric = it->second;
            }
        }
        out_.on_eval(index_, m, last_seconds_);
    }
    void on_log(const std::string& level, const std::string& message) override {
        out_.on_log(index_, level, message);
    }

    void finish() {
        entry_.tokens_per_second = median(tokens_);
        entry_.steps_per_second = median(steps_);
    }

  private:
    int index_;
    RaceObserver& out_;
    RaceEntry& entry_;
    double last_seconds_ = 0;
    int reports_ = 0;
    std::vector<double> tokens_, steps_;
};

std::string fmt_fixed(double v, int decimals) {
    if (!std::isfinite(v)) return "-";
    std::ostringstream s;
    s << std::fixed << std::setprecision(decimals) << v;
    return s.str();
}

std::string fmt_bytes(int64_t b) {
    if (b <= 0) return "-";
    std::ostringstream s;
    s << std::fixed << std::setprecision(1) << static_cast<double>(b) / (1024.0 * 1024.0) << " MiB";
    return s.str();
}

std::string fmt_seconds(double s) {
    std::ostringstream o;
    o << std::fixed << std::setprecision(1) << s << " s";
    return o.str();
}

}  // namespace

std::vector<std::string> parse_mixers(const std::string& list) {
    std::vector<std::string> out;
    std::stringstream in(list);
    std::string item;
    while (std::getline(in, item, ',')) {
        std::string m = trim(item);
        std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (m.empty()) continue;
        if (std::find(known_mixers().begin(), known_mixers().end(), m) == known_mixers().end())
            throw InvalidInput("unknown mixer '" + trim(item) + "'; the mixers are ponet, fnet and attention");
        if (std::find(out.begin(), out.end(), m) != out.end())
            throw InvalidInput("mixer '" + m + "' is listed twice");
        out.push_back(m);
    }
    if (out.empty()) throw InvalidInput("no mixers given; list some of ponet, fnet, attention");
    return out;
}

RunConfig race_run_config(const RaceConfig& race, const std::string& mixer) {
    RunConfig c = race.base;
    c.model.mixer = mixer;
    c.name = race.name + "-" + mixer;
    return c;
}

void apply_race_budget(RunConfig& c, int64_t steps) {
    if (steps < 1) throw InvalidInput("the race's budget must be at least 1 step (got " + std::to_string(steps) + ")");
    c.train.max_steps = steps;
    c.train.epochs = 0;
    c.train.eval_every = std::max<int64_t>(1, steps / 10);
    c.train.warmup_steps = std::min(c.train.warmup_steps, steps / 10);
    c.train.log_every = std::clamp<int64_t>(steps / 100, 1, std::max<int64_t>(1, c.train.log_every));
    c.train.checkpoint_every = 0;
    c.train.early_stopping.patience = 0;  // every mixer gets the whole budget
}

void validate_race(const RaceConfig& race) {
    if (race.mixers.empty()) throw InvalidInput("the race needs at least one mixer");
    for (const auto& m : race.mixers)
        if (std::find(known_mixers().begin(), known_mixers().end(), m) == known_mixers().end())
            throw InvalidInput("unknown mixer '" + m + "'; the mixers are ponet, fnet and attention");
    if (race.runs_dir.empty()) throw InvalidInput("no runs folder for the race");
    if (race.name.empty()) throw InvalidInput("the race has no name");
    if (race.name.find('/') != std::string::npos)
        throw InvalidInput("race name '" + race.name + "' must not contain '/'");
    for (const auto& m : race.mixers) {
        race_run_config(race, m).validate_runnable();
        const std::string dir = race.runs_dir + "/" + race.name + "-" + m;
        if (is_directory_at(dir))
            throw InvalidInput("a run named '" + race.name + "-" + m + "' already exists in " + race.runs_dir +
                               "; choose another race name");
    }
}

RaceResult run_race(const RaceConfig& input, RaceObserver& observer, RunControl& control) {
    RaceConfig race = input;
    if (race.name.empty()) race.name = default_race_name(race.runs_dir);
    validate_race(race);

    RaceResult result;
    result.name = race.name;
    for (const auto& m : race.mixers) {
        RaceEntry e;
        e.mixer = m;
        e.run_dir = race.runs_dir + "/" + race.name + "-" + m;
        e.metric = eval_metric_for(race.base);
        result.entries.push_back(e);
    }
    std::string mixers_text;
    for (const auto& m : race.mixers) mixers_text += (mixers_text.empty() ? "" : ", ") + m;

    for (size_t i = 0; i < race.mixers.size(); ++i) {
        RaceEntry& entry = result.entries[i];
        const int index = static_cast<int>(i);
        if (control.stop.load()) {
            result.stopped = true;
            entry.message = "the race was stopped before this run";
            observer.on_run_finished(index, entry);
            continue;
        }
        const RunConfig config = race_run_config(race, entry.mixer);
        const auto start = std::chrono::steady_clock::now();
        RunWatcher watcher(index, observer, entry);
        try {
            // The tags come first, so the run library groups the run with its race while it trains.
            RunDirectory::create(entry.run_dir);
            RunNotes notes;
            notes.tags = {race.name, "mixer race", entry.mixer};
            notes.notes = "Mixer race " + race.name + " (" + mixers_text + "): " + to_string(config.task) +
                          ", the same data, seed and " + std::to_string(config.train.max_steps) +
                          " steps for each mixer.";
            write_run_notes(entry.run_dir, notes);
        } catch (const Error& e) {
            entry.status = "failed";
            entry.message = e.what();
            observer.on_log(index, "error", entry.message);
            observer.on_run_finished(index, entry);
            continue;
        }
        observer.on_run_started(index, entry.mixer, entry.run_dir);
        const RunOutcome o = run_training(config, entry.run_dir, watcher, control);
        watcher.finish();
        entry.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        entry.status = o.status;
        entry.message = o.message;
        entry.steps = std::max(entry.steps, o.steps);
        if (o.status == "stopped") result.stopped = true;
        observer.on_run_finished(index, entry);
    }
    return result;
}

std::string format_race_table(const RaceResult& r) {
    std::ostringstream s;
    const std::string metric = r.entries.empty() ? "accuracy" : r.entries.front().metric;
    s << "race " << r.name << (r.stopped ? " (stopped)" : "") << "\n";
    s << std::left << std::setw(11) << "MIXER" << std::setw(10) << "STATUS" << std::right << std::setw(7)
      << "STEPS" << std::setw(10) << "FINAL" << std::setw(10) << "BEST" << std::setw(10) << "STEPS/S"
      << std::setw(12) << "TOKENS/S" << std::setw(13) << "PEAK MEM" << std::setw(10) << "WALL"
      << "\n";
    for (const auto& e : r.entries)
        s << std::left << std::setw(11) << e.mixer << std::setw(10) << e.status << std::right << std::setw(7)
          << e.steps << std::setw(10) << fmt_fixed(e.final_metric, 4) << std::setw(10)
          << fmt_fixed(e.best_metric, 4) << std::setw(10) << fmt_fixed(e.steps_per_second, 2) << std::setw(12)
          << fmt_fixed(e.tokens_per_second, 0) << std::setw(13) << fmt_bytes(e.peak_memory_bytes)
          << std::setw(10) << fmt_seconds(e.wall_seconds) << "\n";
    s << "FINAL and BEST: dev " << metric << "; STEPS/S and TOKENS/S: medians of the step reports; PEAK MEM: "
      << "CUDA allocator's high-water mark, or the process's resident set on the CPU\n";
    for (const auto& e : r.entries)
        if (!e.message.empty() && e.status != "finished") s << e.mixer << ": " << e.message << "\n";
    // The paper's claim in one line: each mixer's pace and accuracy relative to attention's.
    const RaceEntry* att = nullptr;
    for (const auto& e : r.entries)
        if (e.mixer == "attention" && e.status == "finished") att = &e;
    if (att && std::isfinite(att->steps_per_second) && att->steps_per_second > 0)
        for (const auto& e : r.entries) {
            if (&e == att || e.status != "finished" || !std::isfinite(e.steps_per_second)) continue;
            s << e.mixer << ": " << fmt_fixed(e.steps_per_second / att->steps_per_second, 2)
              << "x attention's steps/s";
            if (std::isfinite(e.best_metric) && std::isfinite(att->best_metric))
                s << ", best " << metric << " " << fmt_fixed(e.best_metric, 4) << " vs "
                  << fmt_fixed(att->best_metric, 4);
            s << "\n";
        }
    return s.str();
}

}  // namespace ponet
