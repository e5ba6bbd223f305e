// A cost model of one training step: FLOPs and bytes counted from a model's shape (hidden size, layers, heads,
// feed-forward width, vocabulary, mixer) at a batch and sequence length. It turns the benchmark harness's
// measurement of one shape (from the per-device cache) into an estimate for any other shape on the same
// device and mixer: time scales with FLOPs at the throughput measured over its lengths, peak memory with
// modelled bytes through a line fitted to the measured peaks. Torch-free (the GUI's cost preview uses it).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/bench/bench.h"
#include "core/model/model_config.h"

namespace ponet::bench {

struct StepCost {
    double flops = 0;  // forward + backward (3 × forward) of the encoder and its classifier
    double bytes = 0;  // weights, gradients, AdamW moments and the activations kept for backward (fp32)
};

// The cost of one training step of `config` (with `mixer` in place of its own) on `batch` sequences of
// `length` tokens.
StepCost training_step_cost(const ModelConfig& config, MixerKind mixer, int64_t batch, int64_t length);

// The model shape the harness measures for one of its presets ("tiny", "base", "lra-text"), with `mixer`.
// Throws ponet::Error when the resources are missing.
ModelConfig bench_preset_config(const std::string& preset, MixerKind mixer);

// How much more work (FLOPs) one training step of `a` is than one of `b`, both with `mixer`, at 512 tokens and the
// same batch (below 1: less).
double work_ratio(const ModelConfig& a, const ModelConfig& b, MixerKind mixer);

// Same hidden size, layers, heads, feed-forward width and mixer: the harness's measurement applies as is.
bool same_shape(const ModelConfig& a, const ModelConfig& b);

struct CostCurve {
    std::vector<int64_t> lengths;
    std::vector<double> ms;          // per step
    std::vector<double> peak_bytes;  // -1 where the calibration had no memory reading
};

// Scales `calibration` (a training measurement with rows of `mixer`; `calibration_config` its shape) to `target`
// at `batch` for each of `lengths`, at the calibration's throughput pooled over its lengths. Throws ponet::InvalidInput when the calibration has no usable row of the mixer.
CostCurve estimate_cost(const ModelConfig& target, MixerKind mixer, int64_t batch,
                        const std::vector<int64_t>& lengths, const BenchReport& calibration,
                        const ModelConfig& calibration_config);

}  // namespace ponet::bench
