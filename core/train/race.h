// The mixer race: the same task trained once per token mixer (PoNet, FNet, attention), one run after the other
// on one device, with the same data, seed, budget and schedule, so their curves and costs compare directly. Each
// run is an ordinary run directory, tagged with the race's name, so the run library shows it too. Torch-free:
// the GUI's race page and `ponet race` both drive it.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/train/observer.h"
#include "core/train/run_config.h"

namespace ponet {

struct RaceConfig {
    RunConfig base;                   // task, data, model shape, schedule; model.mixer is set per run
    std::vector<std::string> mixers;  // "ponet", "fnet", "attention", in the order they run
    std::string runs_dir;             // the runs go to <runs_dir>/<name>-<mixer>
    std::string name;                 // the race's name (also its tag); empty: "race-YYYYMMDD-HHMMSS"
};

// One mixer's result: the row of the summary table.
struct RaceEntry {
    std::string mixer;
    std::string run_dir;
    std::string status = "not run";  // finished, stopped, failed, or "not run" (the race stopped before it)
    std::string message;
    int64_t steps = 0;
    std::string metric;               // the evaluation metric compared: "accuracy"
    double final_metric = NAN;        // at the last evaluation on the dev split
    double best_metric = NAN;         // the best over the dev evaluations
    double steps_per_second = NAN;    // median over the step reports (evaluation pauses excluded)
    double tokens_per_second = NAN;   // median over the step reports
    int64_t peak_memory_bytes = 0;    // CUDA: the allocator's high-water mark over the run; CPU: the largest RSS seen
    double wall_seconds = 0;          // the whole run: data, model, training, evaluations, checkpoints
};

struct RaceResult {
    std::string name;
    std::vector<RaceEntry> entries;  // one per mixer, in race order
    bool stopped = false;
};

// Reports of a race: every report of the run it is on, with the run's index in RaceConfig::mixers.
class RaceObserver {
  public:
    virtual ~RaceObserver() = default;
    virtual void on_run_started(int /*index*/, const std::string& /*mixer*/, const std::string& /*run_dir*/) {}
    virtual void on_step(int /*index*/, const StepMetrics&) {}
    // `seconds`: the run's training time when the evaluation was made (the elapsed_seconds of its last step).
    virtual void on_eval(int /*index*/, const EvalMetrics&, double /*seconds*/) {}
    virtual void on_log(int /*index*/, const std::string& /*level*/, const std::string& /*message*/) {}
    virtual void on_run_finished(int /*index*/, const RaceEntry&) {}
};

// "ponet,fnet,attention" → the list, checked: known mixers only, each once, at least one. Throws InvalidInput.
std::vector<std::string> parse_mixers(const std::string& list);

// The race's configuration for one mixer: the base with model.mixer and the run's name set.
RunConfig race_run_config(const RaceConfig& race, const std::string& mixer);

// Sets a race's budget on its base configuration: `steps` optimizer steps, about ten evaluations along the way
// (the points of the accuracy curves), a step report at least every 1 % of the budget, the warm-up capped at a
// tenth of it, and checkpoints only at the end. Throws InvalidInput for steps < 1.
void apply_race_budget(RunConfig& base, int64_t steps);

// Checks the race (mixers, the base configuration, the runs folder) without running anything. Throws
// InvalidInput naming what is wrong. run_race calls it first.
void validate_race(const RaceConfig& race);

// Runs the race on the calling thread, which owns every tensor of it. control.stop ends the current run
// within one step (with its checkpoint) and skips the rest. Never throws for a failed run (its entry says
// why; the next mixer still runs); throws InvalidInput from validate_race before anything starts.
RaceResult run_race(const RaceConfig& race, RaceObserver& observer, RunControl& control);

// The summary as a fixed-width text table (the CLI prints it).
std::string format_race_table(const RaceResult& result);

}  // namespace ponet
