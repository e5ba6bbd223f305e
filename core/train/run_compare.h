// Reading finished or live runs back for comparison: the metric curves of metrics.jsonl and the options in
// which several runs' configurations differ. Torch-free, for the run library.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/train/run_config.h"

namespace ponet {

struct MetricPoint {
    int64_t step = 0;
    double value = 0;
};

// "train/loss", "train/lr", "dev/accuracy", "test/macro_f1" ...: step events give "train/<field>", evaluation
// events "<split>/<value name>". Points are in file order; null (NaN) values are left out.
struct MetricSeries {
    std::string name;
    std::vector<MetricPoint> points;
};

struct RunMetrics {
    std::vector<MetricSeries> series;  // sorted by name
    int64_t events = 0;
    int64_t bad_lines = 0;  // lines that are not a JSON object (a live run's torn last line, damage)
    const MetricSeries* find(const std::string& name) const;
};

// A missing file reads as no metrics; an unreadable one throws ponet::Error.
RunMetrics read_run_metrics(const std::string& metrics_path);

struct ConfigDifference {
    std::string key;                  // an option key of run_options(), "train.lr"
    std::vector<std::string> values;  // one per configuration, as `--set` writes them
};

// The options (in the table's order) whose values are not all equal. The run's name is left out: it differs
// by definition and names the columns anyway.
std::vector<ConfigDifference> diff_run_configs(const std::vector<RunConfig>& configs);

}  // namespace ponet
