// The speed and memory benchmark behind `ponet bench` and the Benchmark page: whole training (or inference)
// steps of PoNet, FNet and attention models on synthetic all-real tokens, per sequence length, as in the
// PoNet paper's Table 2 (PONET-SPEC §4.3). Torch-free: the GUI includes this; the run itself lives in
// bench.cpp.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/train/run_config.h"  // kGraphAutoTokens

namespace ponet::bench {

enum class BenchMode { Train, Infer };
std::string to_string(BenchMode m);
BenchMode bench_mode_from_string(const std::string& s);  // "train" | "infer"; throws ponet::InvalidInput

// The model shapes the harness knows (see preset_description()).
std::vector<std::string> preset_names();  // "lra-text", "base", "tiny"
std::string preset_description(const std::string& preset);
std::vector<std::string> mixer_names();  // "ponet", "fnet", "attention"

struct BenchSpec {
    std::vector<std::string> mixers{"ponet", "fnet", "attention"};
    std::vector<int64_t> lengths{512, 1024, 2048, 4096, 8192, 16384};
    std::string preset = "lra-text";
    int64_t batch = 32;
    std::string impl = "auto";    // PoNet mixing implementation: auto | fused | reference
    std::string device = "auto";  // auto (CUDA if present) | cpu | cuda | cuda:N
    BenchMode mode = BenchMode::Train;
    std::string precision = "auto";  // auto (bf16 on CUDA, fp32 on CPU) | fp32 | bf16 | fp16 (CUDA only)
    int64_t warmup = 3;              // untimed steps per row (the first one also allocates)
    int64_t steps = 10;              // timed steps per row
    int64_t seed = 1234;
    // Whole steps captured once as a CUDA graph and replayed (CUDA only): "auto" uses a graph where the step
    // gains (batch × length up to kGraphAutoTokens), "on" for every cell, "off" never. A capture
    // that fails under "auto" falls back to ordinary steps and says so in the row's message.
    std::string cuda_graphs = "auto";

    // Throws ponet::InvalidInput naming the field: unknown mixer or preset, a length < 2 or above 1,048,576,
    // a duplicate, batch/steps < 1, warmup < 0, a precision or implementation name that does not exist.
    // Device availability is checked when the run starts.
    void validate() const;
};

// "512,1K,2048" → {512, 1024, 2048}; "4k" and "64K" are accepted. Throws ponet::InvalidInput on a bad item.
std::vector<int64_t> parse_lengths(const std::string& text);
// "ponet,fnet" → {"ponet", "fnet"}; throws ponet::InvalidInput for an unknown name (listing the known ones).
std::vector<std::string> parse_mixers(const std::string& text);

// One (mixer, length) cell.
struct BenchRow {
    std::string mixer;
    int64_t length = 0;
    std::string status;   // "ok", "oom", "error", "cancelled"
    std::string message;  // why it is not ok (the first line of the error)
    std::string impl;     // the PoNet mixing implementation the run resolved to ("-" for FNet and attention)
    bool cuda_graph = false;  // the timed steps were replays of one captured CUDA graph
    std::vector<double> step_ms;  // each timed step, milliseconds
    double median_ms = 0, min_ms = 0, max_ms = 0;
    double steps_per_second = 0;   // 1000 / median_ms
    double tokens_per_second = 0;  // batch × length × steps_per_second
    int64_t peak_bytes = -1;       // see BenchReport::memory_metric; -1 = not measured
    int64_t parameters = 0;
    bool ok() const { return status == "ok"; }
};

struct BenchReport {
    BenchSpec spec;
    std::string device;       // resolved: "cpu", "cuda:0"
    std::string device_name;  // "NVIDIA H100 80GB HBM3", or the CPU model and thread count
    std::string precision;    // resolved: "fp32", "bf16", "fp16"
    std::string torch_version, ponet_version;
    std::string started_at;     // ISO 8601, UTC
    std::string timing_method;  // how each step was timed (one sentence)
    std::string memory_metric;  // what peak_bytes means (one sentence)
    int64_t threads = 0;        // LibTorch intra-op threads
    bool cancelled = false;
    std::vector<BenchRow> rows;

    const BenchRow* find(const std::string& mixer, int64_t length) const;
    std::string to_json_text() const;
    // Throws ponet::InvalidInput naming `origin` and the field when the text is not a benchmark report.
    static BenchReport from_json_text(const std::string& text, const std::string& origin = "benchmark JSON");
    static BenchReport load(const std::string& path);
    void save(const std::string& path) const;  // atomic write
};

// Rows = mixers, columns = lengths, cells "steps/s (peak GiB)", then a tokens/s table; with the device,
// the resolved implementation, precision and how things were measured.
std::string format_table(const BenchReport& report);

struct BenchProgress {
    int row = 0, rows = 0;  // the (mixer, length) cell being run, 0-based, of `rows`
    std::string mixer;
    int64_t length = 0;
    int64_t step = 0, steps = 0;  // steps done of warm-up + timed steps in this cell
    bool timing = false;          // false while warming up
};

struct BenchCallbacks {
    std::function<void(const BenchProgress&)> on_progress;  // between steps (any thread)
    std::function<void(const BenchRow&)> on_row;            // after each cell
    std::function<void(const std::string&)> on_log;         // one-line notes (device chosen, OOM freed, ...)
    const std::atomic<bool>* cancel = nullptr;              // polled between steps and cells
    // Nothing else in this process uses the GPU during the run (true for `ponet bench`, not for the app, where a
    // training run may share it): then cuBLAS's workspaces are released before each cell, so that every cell's peak
    // memory counts its own, as in a fresh process.
    bool exclusive_device = false;
};

// Runs every (mixer, length) of the spec in order. Throws ponet::InvalidInput for a bad spec or an unusable
// device; anything that fails inside a cell (out of memory included) becomes that row's status and the run
// goes on. A cancelled run returns the rows finished so far with `cancelled` set.
BenchReport run_bench(const BenchSpec& spec, const BenchCallbacks& callbacks = {});

}  // namespace ponet::bench
