// AdamW for PoNet models: Hugging Face's two parameter groups, the schedule applied per step, gradient
// clipping, and the optimizer state saved as safetensors under the parameters' Hugging Face names.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/model/ponet_model.h"
#include "core/train/run_config.h"
#include "core/train/schedule.h"

namespace ponet {

// False for biases and LayerNorm weights (embeddings' LayerNorm and the LRA final_layer_norm included): the
// names Hugging Face's Trainer exempts from weight decay.
bool uses_weight_decay(const std::string& hf_name);

// The model's trainable parameters under their Hugging Face names (the tied MLM decoder appears once).
std::vector<std::pair<std::string, torch::Tensor>> named_trainable_parameters(PoNetTaskModelImpl& model);

// AdamW with group 0 = parameters with weight decay (train.weight_decay), group 1 = without (0); an empty
// group is left out. lr and betas start at the schedule's step-0 values once apply_schedule() runs.
std::unique_ptr<torch::optim::AdamW> build_adamw(PoNetTaskModelImpl& model, const TrainConfig& train);

// One AdamW step. When every parameter with a gradient is an fp32 CUDA tensor (and the LibTorch has it), the
// whole update runs as ATen's fused multi-tensor AdamW kernel — the same arithmetic as torch::optim::AdamW::step()
// (decoupled weight decay, bias-corrected moments, eps added after the square root), a few launches instead of
// about ten per parameter — on the optimizer's own state, so checkpoints and resume are unchanged. Otherwise it is
// optimizer.step().
void adamw_step(torch::optim::AdamW& optimizer);

// adamw_step for a step captured in a CUDA graph: the same fused kernel, but the step counts live on the device
// (`device_steps`, one fp32 scalar per parameter group) and are incremented there, so every replay of the captured
// step is one more AdamW step with the right bias correction. lr, betas, eps and weight decay are read when the
// step is captured and stay fixed in the graph, and the optimizer's own (host) step counts do not advance on
// replays.
//
// prepare_adamw_device_counts makes `device_steps` from the optimizer's counts; call it after an ordinary step
// (every parameter has a gradient and state) and *before* the capture, so that the counts are not re-made by every
// replay. It returns false when the captured form cannot apply: not the fused path (CPU, LibTorch < 2.1, amsgrad),
// a parameter without a gradient or state, or a group whose parameters have different step counts.
// adamw_step_device_counts then runs the update (inside the capture); it returns false, launching nothing, when the
// optimizer no longer matches `device_steps`.
bool prepare_adamw_device_counts(torch::optim::AdamW& optimizer, std::vector<torch::Tensor>& device_steps);
bool adamw_step_device_counts(torch::optim::AdamW& optimizer, std::vector<torch::Tensor>& device_steps);

// Sets lr(step) and beta1(step) on every group; call before optimizer.step() for optimizer step `step`.
void apply_schedule(torch::optim::Optimizer& optimizer, const LrSchedule& schedule, int64_t step);

// Clips the global L2 norm of the gradients to `max_norm` (no clipping when max_norm <= 0) and returns the
// norm before clipping (inf or nan when a gradient is not finite).
double clip_grad_norm(const std::vector<torch::Tensor>& parameters, double max_norm);
// The same without reading the norm back: a 0-dim tensor on the gradients' device (undefined when no parameter
// has a gradient), so that a training step needs no host synchronisation.
torch::Tensor clip_grad_norm_tensor(const std::vector<torch::Tensor>& parameters, double max_norm);

// Writes `<hf name>.exp_avg`, `<hf name>.exp_avg_sq` (fp32 as held, on the CPU) and `<hf name>.step` (int64
// [1]) for every parameter that has state, atomically. Parameters without state yet (never stepped) are
// omitted.
void save_optimizer_state(const torch::optim::AdamW& optimizer, PoNetTaskModelImpl& model,
                          const std::string& path);

// Restores the moments and step counts into `optimizer` (built by build_adamw for `model`), on each
// parameter's device and dtype. Hyper-parameters come from the run configuration, not from the file. A
// tensor for an unknown parameter, a missing partner or a shape mismatch throws InvalidInput.
void load_optimizer_state(torch::optim::AdamW& optimizer, PoNetTaskModelImpl& model, const std::string& path);

}  // namespace ponet
