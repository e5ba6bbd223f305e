// A torch-free summary of a model shape: parameter counts and memory estimates, for `ponet info` and the GUI.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/model/model_config.h"

namespace ponet {

struct ParameterGroup {
    std::string name;  // e.g. "embeddings", "encoder.layer (x12)", "pooler", "cls (MLM + SSO heads)"
    int64_t count = 0;
};

struct ModelSummary {
    std::string architecture;
    int64_t total_parameters = 0;          // counts the tied MLM decoder once
    std::vector<ParameterGroup> groups;
    int64_t weights_bytes_fp32 = 0;        // the parameters alone
    int64_t training_state_bytes = 0;      // fp32 weights + gradients + AdamW moments
    // Activation memory of one training step, per sequence of `seq_len` tokens (fp32, no checkpointing):
    // an estimate from the tensors each layer keeps for backward.
    int64_t activation_bytes_per_sequence = 0;
    int64_t seq_len = 0;
};

// Counts from the configuration, without building the model. Throws ponet::Error on a bad config or architecture.
ModelSummary summarize_model(const ModelConfig& config, int64_t seq_len = 0);

// Builds the model on the CPU (no weights loaded) and groups what it holds as summarize_model does: what the
// tests compare the counts with.
std::vector<ParameterGroup> built_parameter_groups(const ModelConfig& config);

std::string format_bytes(int64_t bytes);

}  // namespace ponet
