// Loading and saving models under the Hugging Face parameter names. A directory with `config.json` and
// `model.safetensors` is a model.
#pragma once
#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/model/ponet_model.h"

namespace ponet {

struct LoadOptions {
    // Heads absent from the checkpoint (e.g. a classifier when fine-tuning from a pre-training checkpoint)
    // keep their fresh initialisation instead of failing the load; they are listed in
    // LoadReport::initialised.
    bool allow_missing_heads = false;
};

struct LoadReport {
    std::vector<std::string> missing;     // parameters the model has and the checkpoint lacks
    std::vector<std::string> unexpected;  // tensors the checkpoint has and the model does not use
    std::vector<std::string> mismatched;  // "name: checkpoint [a, b] vs model [c, d]"
    std::vector<std::string> ignored;  // known extras: position_ids buffers, the tied decoder copy, cls.* ...
    std::vector<std::string> initialised;  // heads left at their fresh initialisation
    std::vector<std::string> adapted;  // tensors reshaped on load (512 position rows tiled to 4096, §3.2.3)
    bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
    std::string describe() const;  // a readable list of every problem
};

// Copies `tensors` into the model's parameters (converted to each parameter's dtype and device). Throws
// ponet::InvalidInput with LoadReport::describe() when anything is missing, unexpected or wrong-shaped.
LoadReport load_state(PoNetTaskModelImpl& model, const std::map<std::string, torch::Tensor>& tensors,
                      const LoadOptions& options = {});

// Parameters under their Hugging Face names, on the CPU (the tied decoder is omitted).
std::map<std::string, torch::Tensor> state_tensors(PoNetTaskModelImpl& model);

struct LoadedModel {
    std::shared_ptr<PoNetTaskModelImpl> model;
    LoadReport report;
};

// Reads DIR/config.json and DIR/model.safetensors. `config_override`, when given, replaces the directory's
// config (used to build a classifier from a pre-training checkpoint).
LoadedModel load_model_dir(const std::string& dir, const torch::Device& device = torch::kCPU,
                           const LoadOptions& options = {}, const ModelConfig* config_override = nullptr);

// Writes DIR/config.json and DIR/model.safetensors atomically (creating DIR).
void save_model_dir(PoNetTaskModelImpl& model, const std::string& dir);

bool is_model_dir(const std::string& dir);

}  // namespace ponet
