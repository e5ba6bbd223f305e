#include "core/kernels/linear_fused.h"

#include "core/kernels/layer_norm_fused.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <type_traits>

#include "core/util/error.h"
#include "core/util/torch_compat.h"

#if defined(PONET_WITH_CUDA)
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <ATen/cuda/CUDAGeneratorImpl.h>

#include "core/kernels/cuda/linear_cuda.h"
#endif

namespace ponet {

namespace {

// PONET_LINEAR_EPILOGUES=0: linear_dropout_add and linear_activation_dropout run the fused linear() and then ATen's
// ops, for measuring side by side.
[[maybe_unused]] bool linear_epilogues_enabled() {
    static const bool enabled = [] {
        const char* v = std::getenv("PONET_LINEAR_EPILOGUES");
        return !(v && (std::strcmp(v, "0") == 0 || std::strcmp(v, "off") == 0 || std::strcmp(v, "false") == 0));
    }();
    return enabled;
}

// The kernels' activation codes.
int activation_code(const std::string& name) {
    if (name == "gelu") return 0;
    if (name == "gelu_new") return 1;
    if (name == "relu") return 2;
    if (name == "tanh") return 3;
    return -1;
}

}  // namespace

#if defined(PONET_WITH_CUDA)
namespace {

cuda_kernels::DType low_dtype(torch::ScalarType t) {
    return t == torch::kHalf ? cuda_kernels::DType::F16 : cuda_kernels::DType::BF16;
}

void check_launch(const char* error, const char* what) {
    if (error) throw Error(std::string("fused linear ") + what + ": " + error);
}

// PhiloxCudaState's seed is a value in some LibTorch versions and a value-or-pointer union in others.
template <typename State>
cuda_kernels::PhiloxArgs philox_args(const State& s) {
    cuda_kernels::PhiloxArgs a;
    if constexpr (std::is_integral_v<std::decay_t<decltype(s.seed_)>>) {
        a.seed = s.seed_;
    } else {
        if (s.captured_) a.seed_ptr = s.seed_.ptr;
        else a.seed = s.seed_.val;
    }
    if (s.captured_) {
        a.offset_ptr = s.offset_.ptr;
        a.offset_intragraph = s.offset_intragraph_;
    } else {
        a.offset = s.offset_.val;
    }
    return a;
}

// A dropout of probability p over rows x C drawn in our kernels: the mask's bytes (kept for the backward), the
// scale 1 / (1 - p) (the backward takes the same value from here), and an offset range reserved from the generator's
// Philox state. The mask depends only on the generator's state, so recomputing a checkpointed layer from a saved
// state draws it again; it is not the mask ATen's dropout would draw from the same state (another stream of
// numbers). p == 0: no mask, scale 1.
cuda_kernels::DropoutDraw dropout_draw(double p, int64_t rows, int64_t C, const torch::Device& device,
                                       torch::Tensor& keep) {
    cuda_kernels::DropoutDraw d;
    if (!(p > 0)) return d;
    keep = torch::empty({rows, C}, torch::TensorOptions().dtype(torch::kByte).device(device));
    d.keep = keep.data_ptr<uint8_t>();
    d.keep_prob = static_cast<float>(1.0 - p);
    d.scale = static_cast<float>(1.0 / (1.0 - p));
    at::Generator gen = at::cuda::detail::getDefaultCUDAGenerator(device.index());
    std::lock_guard<std::mutex> lock(gen.mutex());
    d.rng = philox_args(gen.get<at::CUDAGeneratorImpl>()->philox_cuda_state(cuda_kernels::kPhiloxPerElementGroup));
    return d;
}

// dY2ᵀ X2 in fp32: straight from cuBLAS where LibTorch can (2.10+), not rounded to the low precision and cast.
torch::Tensor weight_gradient(const torch::Tensor& dy2, const torch::Tensor& x2) {
#if PONET_TORCH_AT_LEAST(2, 10)
    return at::mm(dy2.t(), x2, torch::kFloat);
#else
    return at::mm(dy2.t(), x2).to(torch::kFloat);
#endif
}

// The forward's product in the low precision `lp`: the input as [rows, K] and the weight as used (both kept for the
// backward), and x2 wᵀ without the bias.
struct LowProduct {
    torch::Tensor x2, w, y;
};
LowProduct low_product(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& low_weight,
                       torch::ScalarType lp) {
    LowProduct r;
    r.x2 = x.to(lp).contiguous().view({-1, weight.size(1)});
    r.w = low_weight.scalar_type() == lp ? low_weight : weight.to(lp);
    r.y = at::mm(r.x2, r.w.t());
    return r;
}

// A linear layer's bias gradient from one column pass over its output gradient: `pass(part, stream)` writes the
// `blocks` per-block partial rows (run only when there are rows), summed here.
template <typename Pass>
torch::Tensor bias_gradient(int64_t rows, int64_t C, int blocks, const torch::Device& device, const char* what,
                            Pass pass) {
    const auto opts = torch::TensorOptions().dtype(torch::kFloat).device(device);
    auto part = torch::empty({blocks, C}, opts);
    auto db = torch::empty({C}, opts);
    const auto stream = c10::cuda::getCurrentCUDAStream().stream();
    if (rows > 0) check_launch(pass(part.data_ptr<float>(), stream), what);
    else part.zero_();
    check_launch(cuda_kernels::sum_partials(part.data_ptr<float>(), 1, blocks, C, db.data_ptr<float>(), stream),
                 "bias gradient sum");
    return db;
}

// The products of the backward from the low-precision output gradient dy2 [rows, C]: the input gradient in the
// input's dtype, shaped as the output gradient `grad_sizes` with the input width, and the weight gradient in fp32.
std::pair<torch::Tensor, torch::Tensor> product_gradients(const torch::Tensor& dy2, const torch::Tensor& w,
                                                          const torch::Tensor& x2, at::IntArrayRef grad_sizes,
                                                          torch::ScalarType x_dtype) {
    auto in_sizes = grad_sizes.vec();
    in_sizes.back() = w.size(1);
    auto dx = at::mm(dy2, w).view(in_sizes);
    if (dx.scalar_type() != x_dtype) dx = dx.to(x_dtype);
    return {dx, weight_gradient(dy2, x2)};
}

class FusedLinear : public torch::autograd::Function<FusedLinear> {
public:
    // `low_weight`: the weight already in the low precision (made with other weights by one kernel), or `weight`
    // itself, which is then cast here (a custom function's tensor arguments must all be defined).
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                                 const torch::Tensor& weight, const torch::Tensor& bias, int64_t low,
                                 const torch::Tensor& low_weight) {
        const c10::cuda::CUDAGuard guard(x.device());
        const auto lp = static_cast<torch::ScalarType>(low);
        const int64_t C = weight.size(0);
        auto [x2, w, y] = low_product(x, weight, low_weight, lp);
        auto b = bias.contiguous();  // fp32, read as it is
        check_launch(cuda_kernels::bias_add_inplace(y.data_ptr(), b.data_ptr<float>(), low_dtype(lp), y.size(0), C,
                                                    c10::cuda::getCurrentCUDAStream().stream()),
                     "bias add");
        ctx->save_for_backward({x2, w});
        ctx->saved_data["x_dtype"] = static_cast<int64_t>(x.scalar_type());
        ctx->saved_data["low"] = low;
        auto out_sizes = x.sizes().vec();
        out_sizes.back() = C;
        return y.view(out_sizes);
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const auto& x2 = saved[0];
        const auto& w = saved[1];
        const c10::cuda::CUDAGuard guard(x2.device());
        const auto lp = static_cast<torch::ScalarType>(ctx->saved_data["low"].toInt());
        const auto x_dtype = static_cast<torch::ScalarType>(ctx->saved_data["x_dtype"].toInt());
        auto dy = grads[0];
        if (!dy.defined()) return {torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
        const int64_t C = w.size(0);
        auto dy2 = dy.to(lp).contiguous().view({-1, C});
        // The column sums read 16 bytes at a time: a gradient that is a view at an odd offset is copied first.
        if (reinterpret_cast<std::uintptr_t>(dy2.data_ptr()) % 16 != 0) dy2 = dy2.clone();
        auto [dx, dw] = product_gradients(dy2, w, x2, dy.sizes(), x_dtype);
        const int64_t rows = dy2.size(0);
        const int blocks = cuda_kernels::column_sum_blocks(rows, C);
        auto db = bias_gradient(rows, C, blocks, dy2.device(), "bias gradient", [&](float* part, cudaStream_t stream) {
            return cuda_kernels::column_sums(dy2.data_ptr(), low_dtype(lp), part, blocks, rows, C, stream);
        });
        return {dx, dw, db, torch::Tensor(), torch::Tensor()};
    }
};

// residual + dropout(x Wᵀ + b): the product from cuBLAS, then one kernel adds the bias, draws and applies the mask
// and adds the residual in fp32, where ATen runs a bias add, a dropout and an add over the product. The mask comes
// from the CUDA generator's Philox state (dropout_draw) and is kept as bytes for the backward, whose kernel masks
// the fp32 gradient, rounds it for the products and sums the bias gradient on the way.
class LinearDropoutAdd : public torch::autograd::Function<LinearDropoutAdd> {
public:
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                                 const torch::Tensor& weight, const torch::Tensor& bias, const torch::Tensor& residual,
                                 const torch::Tensor& low_weight, int64_t low, double p) {
        const c10::cuda::CUDAGuard guard(x.device());
        const auto lp = static_cast<torch::ScalarType>(low);
        const int64_t C = weight.size(0);
        auto [x2, w, y] = low_product(x, weight, low_weight, lp);
        const int64_t rows = y.size(0);
        torch::Tensor keep;
        const auto drop = dropout_draw(p, rows, C, y.device(), keep);
        auto res = residual.contiguous();
        // The kernel reads the residual 16 bytes at a time: a view at an odd offset is copied first.
        if (reinterpret_cast<std::uintptr_t>(res.data_ptr()) % 16 != 0) res = res.clone();
        auto out = torch::empty(res.sizes(), res.options());
        check_launch(cuda_kernels::bias_dropout_add(y.data_ptr(), bias.data_ptr<float>(), drop, res.data_ptr<float>(),
                                                    out.data_ptr<float>(), low_dtype(lp), rows, C,
                                                    c10::cuda::getCurrentCUDAStream().stream()),
                     "bias-dropout-add");
        ctx->save_for_backward({x2, w, keep});
        ctx->saved_data["x_dtype"] = static_cast<int64_t>(x.scalar_type());
        ctx->saved_data["scale"] = static_cast<double>(drop.scale);
        return out;
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const auto &x2 = saved[0], &w = saved[1], &keep = saved[2];
        const auto& g = grads[0];
        // x, weight, bias, residual, low weight, low, p
        if (!g.defined()) return torch::autograd::variable_list(7);
        const c10::cuda::CUDAGuard guard(x2.device());
        const auto x_dtype = static_cast<torch::ScalarType>(ctx->saved_data["x_dtype"].toInt());
        const float scale = static_cast<float>(ctx->saved_data["scale"].toDouble());
        const int64_t C = w.size(0), rows = x2.size(0);
        auto g2 = g.to(torch::kFloat).contiguous().view({-1, C});
        if (reinterpret_cast<std::uintptr_t>(g2.data_ptr()) % 16 != 0) g2 = g2.clone();
        auto dy2 = torch::empty({rows, C}, g2.options().dtype(w.scalar_type()));
        const int blocks = cuda_kernels::dropout_grad_blocks(rows, C);
        auto db = bias_gradient(rows, C, blocks, g2.device(), "dropout gradient", [&](float* part, cudaStream_t s) {
            return cuda_kernels::dropout_grad_cast_sums(g2.data_ptr<float>(),
                                                        keep.defined() ? keep.data_ptr<uint8_t>() : nullptr, scale,
                                                        dy2.data_ptr(), low_dtype(w.scalar_type()), part, blocks, rows,
                                                        C, s);
        });
        auto [dx, dw] = product_gradients(dy2, w, x2, g.sizes(), x_dtype);
        return {dx, dw, db, g, torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

// dropout(act(x Wᵀ + b)) for the MLP's first layer: the product from cuBLAS, then one kernel adds the bias (kept,
// rounded, in the product's buffer for the backward), applies the activation and draws and applies the mask (as
// dropout_draw's); ATen runs a bias add, the activation and a dropout. The backward's one kernel takes the mask,
// the activation's derivative and the rounding for the products and sums the bias gradient on the way (ATen: a
// masked scale, the activation's backward and the column sums).
class LinearActDropout : public torch::autograd::Function<LinearActDropout> {
public:
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                                 const torch::Tensor& weight, const torch::Tensor& bias,
                                 const torch::Tensor& low_weight, int64_t low, int64_t act, double p) {
        const c10::cuda::CUDAGuard guard(x.device());
        const auto lp = static_cast<torch::ScalarType>(low);
        const int64_t C = weight.size(0);
        auto [x2, w, pre] = low_product(x, weight, low_weight, lp);  // the product, then the pre-activation
        const int64_t rows = pre.size(0);
        torch::Tensor keep;
        const auto drop = dropout_draw(p, rows, C, pre.device(), keep);
        auto out = torch::empty_like(pre);
        check_launch(cuda_kernels::bias_act_dropout(pre.data_ptr(), bias.data_ptr<float>(), drop, out.data_ptr(),
                                                    low_dtype(lp), static_cast<int>(act), rows, C,
                                                    c10::cuda::getCurrentCUDAStream().stream()),
                     "bias-activation-dropout");
        ctx->save_for_backward({x2, w, pre, keep});
        ctx->saved_data["x_dtype"] = static_cast<int64_t>(x.scalar_type());
        ctx->saved_data["scale"] = static_cast<double>(drop.scale);
        ctx->saved_data["act"] = act;
        auto out_sizes = x.sizes().vec();
        out_sizes.back() = C;
        return out.view(out_sizes);
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const auto &x2 = saved[0], &w = saved[1], &pre = saved[2], &keep = saved[3];
        // x, weight, bias, low weight, low, act, p
        if (!grads[0].defined()) return torch::autograd::variable_list(7);
        const c10::cuda::CUDAGuard guard(x2.device());
        const auto x_dtype = static_cast<torch::ScalarType>(ctx->saved_data["x_dtype"].toInt());
        const float scale = static_cast<float>(ctx->saved_data["scale"].toDouble());
        const int act = static_cast<int>(ctx->saved_data["act"].toInt());
        const int64_t C = w.size(0), rows = x2.size(0);
        auto g2 = grads[0].to(w.scalar_type()).contiguous().view({-1, C});
        if (reinterpret_cast<std::uintptr_t>(g2.data_ptr()) % 16 != 0) g2 = g2.clone();
        auto dy2 = torch::empty_like(g2);
        const int blocks = cuda_kernels::dropout_grad_blocks(rows, C);
        auto db = bias_gradient(rows, C, blocks, g2.device(), "activation gradient", [&](float* part, cudaStream_t s) {
            return cuda_kernels::act_dropout_grad_cast_sums(g2.data_ptr(), pre.data_ptr(),
                                                            keep.defined() ? keep.data_ptr<uint8_t>() : nullptr, scale,
                                                            dy2.data_ptr(), low_dtype(w.scalar_type()), act, part,
                                                            blocks, rows, C, s);
        });
        auto [dx, dw] = product_gradients(dy2, w, x2, grads[0].sizes(), x_dtype);
        return {dx, dw, db, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

// x @ torch::cat(weights).to(low).T and torch::cat(biases): the stacked low-precision weight made by one kernel and
// kept for the backward, whose weight gradient comes out of cuBLAS in fp32 and is handed to each layer as its rows
// (no rounding to the low precision and cast back, as a separate stacking op's backward would need). An extra
// weight of the same shape after the biases in `params` is cast by the same kernel and returned third, without a
// gradient (its layer's own linear() takes it as its low-precision weight, and its gradient flows from there).
class StackedLinear : public torch::autograd::Function<StackedLinear> {
public:
    // `params`: the weights, then the biases, then the extra weight if any (a TensorList, which autograd tracks
    // element by element).
    static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                                                  at::TensorList params, int64_t count, int64_t low) {
        const auto& w0 = params[0];
        const c10::cuda::CUDAGuard guard(w0.device());
        const int64_t rows = w0.size(0), in = w0.size(1);
        const bool extra = static_cast<int64_t>(params.size()) > 2 * count;
        cuda_kernels::StackedSources src;
        std::vector<torch::Tensor> keep;  // contiguous sources, alive until the kernel is queued
        for (int64_t i = 0; i < count; ++i) {
            keep.push_back(params[i].contiguous());
            src.w[i] = keep.back().data_ptr<float>();
            keep.push_back(params[count + i].contiguous());
            src.b[i] = keep.back().data_ptr<float>();
        }
        if (extra) {
            keep.push_back(params[2 * count].contiguous());
            src.w[count] = keep.back().data_ptr<float>();
        }
        const auto lp = static_cast<torch::ScalarType>(low);
        const int64_t matrices = count + (extra ? 1 : 0);
        auto w_all = torch::empty({matrices * rows, in}, w0.options().dtype(lp));
        auto b = torch::empty({count * rows}, w0.options());
        check_launch(cuda_kernels::stack_weights(src, static_cast<int>(matrices), rows * in, rows, w_all.data_ptr(),
                                                 low_dtype(lp), b.data_ptr<float>(),
                                                 c10::cuda::getCurrentCUDAStream().stream(), static_cast<int>(count)),
                     "stacked weights");
        auto w = extra ? w_all.narrow(0, 0, count * rows) : w_all;
        auto x2 = x.to(lp).contiguous().view({-1, in});
        auto y = at::mm(x2, w.t());
        ctx->save_for_backward({x2, w});
        ctx->saved_data["count"] = count;
        ctx->saved_data["extra"] = extra;
        ctx->saved_data["x_dtype"] = static_cast<int64_t>(x.scalar_type());
        auto out_sizes = x.sizes().vec();
        out_sizes.back() = count * rows;
        // Outputs without a gradient stay undefined in the backward (which checks), rather than zero-filled: the
        // extra weight never has one, and a fill kernel per layer and step is what materialising it cost (round50).
        ctx->set_materialize_grads(false);
        if (!extra) return {y.view(out_sizes), b};
        auto w_extra = w_all.narrow(0, count * rows, rows);
        ctx->mark_non_differentiable({w_extra});
        return {y.view(out_sizes), b, w_extra};
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const auto &x2 = saved[0], &w = saved[1];
        const c10::cuda::CUDAGuard guard(w.device());
        const int64_t count = ctx->saved_data["count"].toInt(), rows = w.size(0) / count;
        const bool extra = ctx->saved_data["extra"].toBool();
        const auto x_dtype = static_cast<torch::ScalarType>(ctx->saved_data["x_dtype"].toInt());
        // x, the weights, the biases, the extra weight (no gradient from here), count, low
        torch::autograd::variable_list out(2 * count + (extra ? 1 : 0) + 3);
        if (grads[0].defined()) {
            const auto dy2 = grads[0].to(w.scalar_type()).contiguous().view({-1, w.size(0)});
            auto in_sizes = grads[0].sizes().vec();
            in_sizes.back() = w.size(1);
            out[0] = at::mm(dy2, w).view(in_sizes).to(x_dtype);
            const auto dw = weight_gradient(dy2, x2);
            for (int64_t i = 0; i < count; ++i) out[1 + i] = dw.narrow(0, i * rows, rows);
        }
        if (grads[1].defined())
            for (int64_t i = 0; i < count; ++i) out[1 + count + i] = grads[1].narrow(0, i * rows, rows);
        return out;
    }
};

class SequenceMean : public torch::autograd::Function<SequenceMean> {
public:
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x) {
        const c10::cuda::CUDAGuard guard(x.device());
        const auto xc = x.contiguous();
        const int64_t B = xc.size(0), L = xc.size(1), D = xc.size(2);
        auto out = torch::empty({B, D}, xc.options());
        check_launch(cuda_kernels::sum_partials(xc.data_ptr<float>(), B, L, D, out.data_ptr<float>(),
                                                c10::cuda::getCurrentCUDAStream().stream()),
                     "sequence mean");
        ctx->saved_data["L"] = L;
        return out.div_(static_cast<double>(L));
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads) {
        const int64_t L = ctx->saved_data["L"].toInt();
        const auto& g = grads[0];
        if (!g.defined()) return {torch::Tensor()};
        return {(g / static_cast<double>(L)).unsqueeze(1).expand({g.size(0), L, g.size(1)})};
    }
};

}  // namespace
#endif

torch::Tensor mean_over_sequence(const torch::Tensor& x) {
#if defined(PONET_WITH_CUDA)
    if (fused_layers_enabled() && x.is_cuda() && x.dim() == 3 && x.scalar_type() == torch::kFloat && x.size(0) > 0 &&
        x.size(0) <= 65535 && x.size(1) > 0 && x.size(2) > 0)
        return SequenceMean::apply(x);
#endif
    return x.mean(1);
}

std::pair<torch::Tensor, torch::Tensor> stacked_linear(const torch::Tensor& x, const std::vector<torch::Tensor>& weights,
                                                       const std::vector<torch::Tensor>& biases, torch::ScalarType dtype,
                                                       const torch::Tensor& extra, torch::Tensor* extra_low) {
    if (extra_low) *extra_low = torch::Tensor();
#if defined(PONET_WITH_CUDA)
    bool kernel = fused_layers_enabled() && !weights.empty() && weights.size() <= cuda_kernels::kMaxStacked &&
                  biases.size() == weights.size() && (dtype == torch::kBFloat16 || dtype == torch::kHalf) &&
                  x.is_cuda() && x.dim() >= 1 && (x.scalar_type() == dtype || x.scalar_type() == torch::kFloat);
    for (size_t i = 0; kernel && i < weights.size(); ++i) {
        const auto &w = weights[i], &b = biases[i];
        kernel = w.is_cuda() && w.scalar_type() == torch::kFloat && w.dim() == 2 && w.sizes() == weights[0].sizes() &&
                 b.defined() && b.device() == w.device() && b.scalar_type() == torch::kFloat && b.dim() == 1 &&
                 b.size(0) == w.size(0) && w.device() == x.device() && x.size(-1) == w.size(1);
    }
    if (kernel) {
        torch::autograd::variable_list params(weights.begin(), weights.end());
        params.insert(params.end(), biases.begin(), biases.end());
        const bool with_extra = extra_low && extra.defined() && weights.size() < cuda_kernels::kMaxStacked &&
                                extra.is_cuda() && extra.device() == x.device() &&
                                extra.scalar_type() == torch::kFloat && extra.sizes() == weights[0].sizes();
        if (with_extra) params.push_back(extra);
        auto out = StackedLinear::apply(x, at::TensorList(params), static_cast<int64_t>(weights.size()),
                                        static_cast<int64_t>(dtype));
        if (with_extra) *extra_low = out[2];
        return {out[0], out[1]};
    }
#else
    (void)extra;
#endif
    return {torch::matmul(x.to(dtype), torch::cat(weights).to(dtype).t()), torch::cat(biases).to(torch::kFloat)};
}

namespace {

// The layer's weight in the low precision `lp` as given (stacked_linear's extra_low), or its fp32 weight (cast where
// it is used) when what was given does not fit.
[[maybe_unused]] torch::Tensor low_weight_or_own(const torch::nn::Linear& layer, const torch::Tensor& low_weight,
                                                 torch::ScalarType lp) {
    const bool fits = low_weight.defined() && low_weight.scalar_type() == lp &&
                      low_weight.device() == layer->weight.device() && low_weight.sizes() == layer->weight.sizes() &&
                      low_weight.is_contiguous();
    return fits ? low_weight : layer->weight;
}

}  // namespace

bool fused_linear_applies(const torch::nn::Linear& layer, const torch::Tensor& x) {
#if defined(PONET_WITH_CUDA)
    const auto lp = cuda_autocast_dtype(x);
    if (!fused_layers_enabled() || !lp || (*lp != torch::kBFloat16 && *lp != torch::kHalf)) return false;
    const auto& w = layer->weight;
    const auto& b = layer->bias;
    return x.dim() >= 1 && w.defined() && b.defined() && w.dim() == 2 && x.size(-1) == w.size(1) &&
           w.size(0) % 8 == 0 && w.size(1) % 8 == 0 && w.size(0) <= 2048 && w.device() == x.device() &&
           b.device() == x.device() && w.scalar_type() == torch::kFloat && b.scalar_type() == torch::kFloat &&
           b.is_contiguous() && reinterpret_cast<std::uintptr_t>(b.data_ptr()) % 16 == 0 &&
           (x.scalar_type() == torch::kFloat || x.scalar_type() == *lp);
#else
    (void)layer, (void)x;
    return false;
#endif
}

torch::Tensor linear(torch::nn::Linear layer, const torch::Tensor& x, bool fused, const torch::Tensor& low_weight) {
#if defined(PONET_WITH_CUDA)
    if (fused && fused_layers_enabled() && fused_linear_applies(layer, x)) {
        const auto lp = *cuda_autocast_dtype(x);
        return FusedLinear::apply(x, layer->weight, layer->bias, static_cast<int64_t>(lp),
                                  low_weight_or_own(layer, low_weight, lp));
    }
#else
    (void)fused, (void)low_weight;
#endif
    return layer->forward(x);
}

torch::Tensor linear_dropout_add(torch::nn::Linear layer, const torch::Tensor& x, const torch::Tensor& residual,
                                 double p, bool fused, const torch::Tensor& low_weight) {
    if (!(p >= 0 && p < 1)) throw Error("linear_dropout_add: dropout probability must be in [0, 1)");
#if defined(PONET_WITH_CUDA)
    if (linear_epilogues_enabled() && fused && fused_layers_enabled() && fused_linear_applies(layer, x) &&
        residual.is_cuda() && residual.device() == x.device() && residual.scalar_type() == torch::kFloat &&
        residual.dim() == x.dim() && residual.sizes().slice(0, x.dim() - 1) == x.sizes().slice(0, x.dim() - 1) &&
        residual.size(-1) == layer->weight.size(0)) {
        const auto lp = *cuda_autocast_dtype(x);
        return LinearDropoutAdd::apply(x, layer->weight, layer->bias, residual,
                                       low_weight_or_own(layer, low_weight, lp), static_cast<int64_t>(lp), p);
    }
#endif
    const auto y = linear(layer, x, fused, low_weight);
    return residual + (p > 0 ? torch::dropout(y, p, true) : y);
}

torch::Tensor apply_activation(const std::string& name, const torch::Tensor& x) {
    if (name == "gelu") return torch::gelu(x);
    if (name == "gelu_new") return torch::gelu(x, "tanh");
    if (name == "relu") return torch::relu(x);
    if (name == "tanh") return torch::tanh(x);
    throw Error("unsupported activation '" + name + "' (gelu, gelu_new, relu, tanh)");
}

torch::Tensor linear_activation_dropout(torch::nn::Linear layer, const torch::Tensor& x, const std::string& act,
                                        double p, bool fused) {
    if (!(p >= 0 && p < 1)) throw Error("linear_activation_dropout: dropout probability must be in [0, 1)");
    const int code = activation_code(act);
    if (code < 0) throw Error("unsupported activation '" + act + "' (gelu, gelu_new, relu, tanh)");
#if defined(PONET_WITH_CUDA)
    if (linear_epilogues_enabled() && fused && fused_layers_enabled() && fused_linear_applies(layer, x)) {
        const auto lp = *cuda_autocast_dtype(x);
        return LinearActDropout::apply(x, layer->weight, layer->bias, layer->weight, static_cast<int64_t>(lp),
                                       static_cast<int64_t>(code), p);
    }
#endif
    const auto y = apply_activation(act, linear(layer, x, fused));
    return p > 0 ? torch::dropout(y, p, true) : y;
}

}  // namespace ponet
