#include "core/train/optimizer.h"

#include <algorithm>
#include <array>

#include <set>
#include <type_traits>

#include "core/io/safetensors.h"
#include "core/util/error.h"
#include "core/util/torch_compat.h"

namespace ponet {

namespace {

// Optimizer::state() changed its key type between LibTorch versions; the shim must follow it, or a restored
// state would sit under a key step() never looks up.
using StateKey = std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>::key_type;
static_assert(
    std::is_same_v<StateKey, std::decay_t<decltype(optimizer_state_key(std::declval<at::Tensor>()))>>,
    "optimizer_state_key (core/util/torch_compat.h) does not match Optimizer::state()'s key type");

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

constexpr const char* kExpAvg = ".exp_avg";
constexpr const char* kExpAvgSq = ".exp_avg_sq";
constexpr const char* kStep = ".step";

}  // namespace

bool uses_weight_decay(const std::string& hf_name) {
    if (ends_with(hf_name, "bias")) return false;
    // "LayerNorm.weight" is Hugging Face's rule; the LRA skeleton's final norm is a LayerNorm under another
    // name.
    if (hf_name.find("LayerNorm.") != std::string::npos || hf_name.find("layer_norm.") != std::string::npos)
        return false;
    return true;
}

std::vector<std::pair<std::string, torch::Tensor>> named_trainable_parameters(PoNetTaskModelImpl& model) {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    std::set<const void*> seen;
    const bool bare = model.base_prefix().empty();
    for (const auto& p : model.named_parameters()) {
        if (!p.value().requires_grad() || !seen.insert(p.value().unsafeGetTensorImpl()).second) continue;
        std::string name = p.key();
        // Same naming rule as the model files: a bare PoNetModel's names carry no "ponet." (§1.8).
        if (bare && name.rfind("ponet.", 0) == 0) name = name.substr(6);
        out.emplace_back(std::move(name), p.value());
    }
    return out;
}

std::unique_ptr<torch::optim::AdamW> build_adamw(PoNetTaskModelImpl& model, const TrainConfig& train) {
    auto defaults = torch::optim::AdamWOptions(train.lr)
                        .betas(std::make_tuple(train.adam_beta1, train.adam_beta2))
                        .eps(train.adam_eps)
                        .weight_decay(train.weight_decay)
                        .amsgrad(false);
    std::vector<torch::Tensor> decay, no_decay;
    for (const auto& [name, p] : named_trainable_parameters(model))
        (uses_weight_decay(name) ? decay : no_decay).push_back(p);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    if (!decay.empty()) groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(defaults));
    if (!no_decay.empty()) {
        auto o = std::make_unique<torch::optim::AdamWOptions>(defaults);
        o->weight_decay(0.0);
        groups.emplace_back(no_decay, std::move(o));
    }
    if (groups.empty()) throw InvalidInput("the model has no trainable parameters");
    return std::make_unique<torch::optim::AdamW>(std::move(groups), defaults);
}

namespace {

// Whether adamw_step can take the fused path: no amsgrad, and every parameter with a gradient a dense fp32 CUDA
// tensor (the fused kernel's requirements).
bool fused_adamw_applies(torch::optim::AdamW& optimizer) {
#if PONET_TORCH_AT_LEAST(2, 1) && defined(PONET_WITH_CUDA)
    bool any = false;
    for (auto& group : optimizer.param_groups()) {
        const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
        if (o.amsgrad()) return false;
        for (const auto& p : group.params()) {
            if (!p.grad().defined()) continue;
            if (!p.is_cuda() || p.scalar_type() != torch::kFloat || p.grad().is_sparse() ||
                p.grad().scalar_type() != torch::kFloat || p.grad().device() != p.device())
                return false;
            any = true;
        }
    }
    return any;
#else
    (void)optimizer;
    return false;
#endif
}

}  // namespace

void adamw_step(torch::optim::AdamW& optimizer) {
    if (!fused_adamw_applies(optimizer)) {
        optimizer.step();
        return;
    }
#if PONET_TORCH_AT_LEAST(2, 1) && defined(PONET_WITH_CUDA)
    torch::NoGradGuard no_grad;
    auto& state = optimizer.state();
    for (auto& group : optimizer.param_groups()) {
        const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
        // Parameters are bucketed by device and by their step count after this step (normally one bucket: a
        // parameter that missed steps without a gradient has a lower count), one step tensor per bucket.
        std::map<std::pair<std::string, int64_t>, std::array<std::vector<torch::Tensor>, 4>> buckets;
        for (const auto& p : group.params()) {
            if (!p.grad().defined()) continue;
            auto& slot = state[optimizer_state_key(p)];
            if (!slot) {
                auto fresh = std::make_unique<torch::optim::AdamWParamState>();
                fresh->step(0);
                fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
                fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
                slot = std::move(fresh);
            }
            auto& s = static_cast<torch::optim::AdamWParamState&>(*slot);
            s.step(s.step() + 1);
            auto& b = buckets[{p.device().str(), s.step()}];
            b[0].push_back(p);
            b[1].push_back(p.grad());
            b[2].push_back(s.exp_avg());
            b[3].push_back(s.exp_avg_sq());
        }
        for (auto& [key, b] : buckets) {
            const auto step = torch::full({}, static_cast<double>(key.second),
                                          b[0].front().options().dtype(torch::kFloat));
            const std::vector<torch::Tensor> steps(b[0].size(), step);
            at::_fused_adamw_(b[0], b[1], b[2], b[3], /*max_exp_avg_sqs=*/{}, steps, o.lr(), std::get<0>(o.betas()),
                              std::get<1>(o.betas()), o.weight_decay(), o.eps(), /*amsgrad=*/false,
                              /*maximize=*/false);
        }
    }
#endif
}

#if PONET_TORCH_AT_LEAST(2, 1) && defined(PONET_WITH_CUDA)
namespace {

// The fused kernel's argument lists per parameter group, and the group's common step count. False when a parameter
// has no gradient or no state yet, or the counts in a group differ.
struct DeviceCountGroup {
    std::array<std::vector<torch::Tensor>, 4> lists;
    int64_t step = -1;
};

bool device_count_groups(torch::optim::AdamW& optimizer, std::vector<DeviceCountGroup>& groups) {
    if (!fused_adamw_applies(optimizer)) return false;
    auto& state = optimizer.state();
    groups.clear();
    for (auto& group : optimizer.param_groups()) {
        DeviceCountGroup g;
        for (const auto& p : group.params()) {
            if (!p.grad().defined()) return false;
            const auto it = state.find(optimizer_state_key(p));
            if (it == state.end() || !it->second) return false;
            const auto& s = static_cast<const torch::optim::AdamWParamState&>(*it->second);
            if (g.step >= 0 && s.step() != g.step) return false;
            g.step = s.step();
            g.lists[0].push_back(p);
            g.lists[1].push_back(p.grad());
            g.lists[2].push_back(s.exp_avg());
            g.lists[3].push_back(s.exp_avg_sq());
        }
        groups.push_back(std::move(g));
    }
    return true;
}

}  // namespace
#endif

bool prepare_adamw_device_counts(torch::optim::AdamW& optimizer, std::vector<torch::Tensor>& device_steps) {
    device_steps.clear();
#if PONET_TORCH_AT_LEAST(2, 1) && defined(PONET_WITH_CUDA)
    std::vector<DeviceCountGroup> groups;
    if (!device_count_groups(optimizer, groups)) return false;
    for (const auto& g : groups)
        device_steps.push_back(torch::full({}, static_cast<double>(std::max<int64_t>(g.step, 0)),
                                           g.lists[0].empty() ? torch::TensorOptions().device(torch::kCUDA)
                                                              : g.lists[0].front().options().dtype(torch::kFloat)));
    return true;
#else
    (void)optimizer;
    return false;
#endif
}

bool adamw_step_device_counts(torch::optim::AdamW& optimizer, std::vector<torch::Tensor>& device_steps) {
#if PONET_TORCH_AT_LEAST(2, 1) && defined(PONET_WITH_CUDA)
    torch::NoGradGuard no_grad;
    std::vector<DeviceCountGroup> groups;
    // Everything is checked before the first launch, so that "false" means nothing ran.
    if (!device_count_groups(optimizer, groups) || device_steps.size() != groups.size()) return false;
    size_t index = 0;
    for (auto& group : optimizer.param_groups()) {
        DeviceCountGroup& g = groups[index];
        torch::Tensor& step = device_steps[index++];
        if (g.lists[0].empty()) continue;
        const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
        step.add_(1);
        const std::vector<torch::Tensor> steps(g.lists[0].size(), step);
        at::_fused_adamw_(g.lists[0], g.lists[1], g.lists[2], g.lists[3], /*max_exp_avg_sqs=*/{}, steps, o.lr(),
                          std::get<0>(o.betas()), std::get<1>(o.betas()), o.weight_decay(), o.eps(),
                          /*amsgrad=*/false, /*maximize=*/false);
    }
    return true;
#else
    (void)optimizer, (void)device_steps;
    return false;
#endif
}

void apply_schedule(torch::optim::Optimizer& optimizer, const LrSchedule& schedule, int64_t step) {
    const double lr = schedule.lr(step), beta1 = schedule.beta1_at(step);
    for (auto& group : optimizer.param_groups()) {
        if (auto* o = dynamic_cast<torch::optim::AdamWOptions*>(&group.options())) {
            o->lr(lr);
            o->betas(std::make_tuple(beta1, std::get<1>(o->betas())));
        } else if (auto* a = dynamic_cast<torch::optim::AdamOptions*>(&group.options())) {
            a->lr(lr);
            a->betas(std::make_tuple(beta1, std::get<1>(a->betas())));
        } else {
            group.options().set_lr(lr);
        }
    }
}

torch::Tensor clip_grad_norm_tensor(const std::vector<torch::Tensor>& parameters, double max_norm) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> grads;
    for (const auto& p : parameters)
        if (p.grad().defined()) grads.push_back(p.grad());
    if (grads.empty()) return {};
    std::vector<torch::Tensor> norms;
    norms.reserve(grads.size());
    if (max_norm <= 0) {
        for (const auto& g : grads) norms.push_back(g.norm(2).to(torch::kFloat));
        return torch::stack(norms).norm(2);
    }
    // The arithmetic of torch::nn::utils::clip_grad_norm_ (the coefficient is applied even when it is 1, so both
    // give the same bits), without its final read of the norm.
    for (const auto& g : grads) norms.push_back(g.norm(2));
    torch::Tensor total = norms.size() == 1 ? norms[0] : torch::stack(norms).norm(2);
    const torch::Tensor coef = torch::clamp(max_norm / (total + 1e-6), c10::nullopt, 1.0);
    for (auto& g : grads) g.mul_(coef);
    return total;
}

double clip_grad_norm(const std::vector<torch::Tensor>& parameters, double max_norm) {
    const torch::Tensor total = clip_grad_norm_tensor(parameters, max_norm);
    return total.defined() ? total.item<double>() : 0.0;
}

void save_optimizer_state(const torch::optim::AdamW& optimizer, PoNetTaskModelImpl& model,
                          const std::string& path) {
    std::map<std::string, torch::Tensor> tensors;
    const auto& state = optimizer.state();
    for (const auto& [name, p] : named_trainable_parameters(model)) {
        const auto it = state.find(optimizer_state_key(p));
        if (it == state.end()) continue;
        const auto& s = static_cast<const torch::optim::AdamWParamState&>(*it->second);
        tensors[name + kExpAvg] = s.exp_avg();
        tensors[name + kExpAvgSq] = s.exp_avg_sq();
        tensors[name + kStep] = torch::tensor({static_cast<int64_t>(s.step())}, torch::kLong);
    }
    write_safetensors(path, tensors, {{"format", "ponet-adamw"}, {"version", "1"}});
}

void load_optimizer_state(torch::optim::AdamW& optimizer, PoNetTaskModelImpl& model,
                          const std::string& path) {
    auto content = read_safetensors(path);
    const auto meta = content.metadata.find("format");
    if (meta == content.metadata.end() || meta->second != "ponet-adamw")
        throw InvalidInput(path + ": not a PoNet AdamW state (metadata 'format' is not 'ponet-adamw')");
    auto& tensors = content.tensors;

    // Build everything first, so that a bad file leaves the optimizer as it was.
    std::vector<std::pair<StateKey, std::unique_ptr<torch::optim::AdamWParamState>>> restored;
    for (const auto& [name, p] : named_trainable_parameters(model)) {
        const auto avg = tensors.find(name + kExpAvg), sq = tensors.find(name + kExpAvgSq),
                   step = tensors.find(name + kStep);
        const int present = (avg != tensors.end()) + (sq != tensors.end()) + (step != tensors.end());
        if (present == 0) continue;
        if (present != 3)
            throw InvalidInput(path + ": parameter " + name + " lacks one of .exp_avg, .exp_avg_sq, .step");
        for (const auto* t : {&avg->second, &sq->second})
            if (t->sizes() != p.sizes())
                throw InvalidInput(path + ": optimizer state of " + name + " has shape " +
                                   c10::str(t->sizes()) + ", the parameter " + c10::str(p.sizes()));
        if (step->second.numel() != 1 || step->second.scalar_type() != torch::kLong)
            throw InvalidInput(path + ": " + name + kStep + " must be one int64");
        auto s = std::make_unique<torch::optim::AdamWParamState>();
        const auto opts = p.options();
        s->exp_avg(avg->second.to(opts).contiguous());
        s->exp_avg_sq(sq->second.to(opts).contiguous());
        s->step(step->second.item<int64_t>());
        restored.emplace_back(optimizer_state_key(p), std::move(s));
        tensors.erase(avg);
        tensors.erase(sq);
        tensors.erase(step);
    }
    if (!tensors.empty())
        throw InvalidInput(
            path + ": optimizer state for a parameter the model does not have: " + tensors.begin()->first);
    optimizer.state().clear();
    for (auto& [key, s] : restored) optimizer.state()[key] = std::move(s);
}

}  // namespace ponet
