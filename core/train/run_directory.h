// The run directory of ARCHITECTURE.md: runs/<name>/{config.json, status.json, metrics.jsonl, log.txt,
// tokenizer/, labels.json, checkpoints/step-<N>/, best -> checkpoints/step-<N>}. Torch-free, so the GUI's run
// library can list and read runs without LibTorch.
#pragma once
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "core/util/time_format.h"
#include "core/train/run_config.h"

namespace ponet {

enum class RunState { Running, Finished, Failed, Stopped };
std::string to_string(RunState s);
RunState run_state_from_string(const std::string& s);  // throws InvalidInput

// status.json: what a run is doing, rewritten atomically whenever that changes (start, checkpoint, end).
struct RunStatus {
    static constexpr int kVersion = 1;
    RunState state = RunState::Running;
    std::string task;
    int64_t step = 0, max_steps = 0;
    std::string best_metric_name;
    std::optional<double> best_metric;
    int64_t best_step = -1;
    std::string message;  // why it failed or stopped; empty otherwise
    int64_t pid = 0;      // of the process that wrote a Running status
    std::string host;
    std::string started, updated;  // ISO 8601 UTC

    std::string to_json_text() const;
    static RunStatus from_json_text(const std::string& text,
                                    const std::string& origin);  // throws InvalidInput
};

class RunDirectory {
  public:
    // Creates the directory (and its parents) with checkpoints/; an existing run directory is reused.
    static RunDirectory create(const std::string& path);
    // An existing run directory (it has config.json or status.json); throws InvalidInput otherwise.
    static RunDirectory open(const std::string& path);

    const std::string& path() const { return path_; }
    std::string name() const;
    std::string config_path() const { return path_ + "/config.json"; }
    std::string status_path() const { return path_ + "/status.json"; }
    std::string metrics_path() const { return path_ + "/metrics.jsonl"; }
    std::string log_path() const { return path_ + "/log.txt"; }
    std::string labels_path() const { return path_ + "/labels.json"; }
    std::string tokenizer_dir() const { return path_ + "/tokenizer"; }
    std::string checkpoints_dir() const { return path_ + "/checkpoints"; }
    std::string best_link() const { return path_ + "/best"; }

    // The resolved configuration, written atomically.
    void save_config(const RunConfig& config) const;
    RunConfig load_config() const;

    // Appends one event (a JSON object, written on one line) with a single write(2), so a reader never sees a
    // partial line from a live run and a kill loses at most the event being written. Throws InvalidInput for
    // text that is not one JSON object.
    void append_metrics(const std::string& json_object) const;
    // Appends a line to log.txt (a newline is added).
    void append_log(const std::string& line) const;

    // Fills in updated (now), started (kept from the current file, else now), pid and host for a Running
    // status.
    void write_status(RunStatus status) const;
    std::optional<RunStatus> read_status() const;  // nullopt when there is no status.json

    void save_labels(const std::vector<std::string>& labels) const;  // JSON array, id order
    std::vector<std::string> load_labels() const;

  private:
    explicit RunDirectory(std::string path) : path_(std::move(path)) {}
    std::string path_;
};

// One line of `ponet runs` and one row of the GUI's run library.
struct RunSummary {
    std::string name, path, task;
    RunState state = RunState::Stopped;
    std::string message;
    int64_t steps = 0;
    std::string best_metric_name;
    std::optional<double> best_metric;
    std::time_t last_modified = 0;  // newest of the run's files
};

// Every run directory under `runs_dir`, most recently modified first. A Running status whose process no
// longer exists on this host reads as Stopped ("the process ended without a final status").
std::vector<RunSummary> list_runs(const std::string& runs_dir);

// "step-<N>" and back (nullopt for any other name, ".tmp-step-..." included).
std::string checkpoint_dir_name(int64_t step);
std::optional<int64_t> checkpoint_step_from_name(const std::string& name);

// "<task>-YYYYMMDD-HHMMSS" in local time.
std::string default_run_name(TaskKind task, std::time_t when);


}  // namespace ponet
