#include "core/kernels/linear_fused.h"

#include "core/kernels/layer_norm_fused.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/util/error.h"
#include "core/util/torch_compat.h"

#if defined(PONET_WITH_CUDA)
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "core/kernels/cuda/linear_cuda.h"
#endif

namespace ponet {

#if defined(PONET_WITH_CUDA)
namespace {

cuda_kernels::DType low_dtype(torch::ScalarType t) {
    return t == torch::kHalf ? cuda_kernels::DType::F16 : cuda_kernels::DType::BF16;
}

void check_launch(const char* error, const char* what) {
    if (error) throw Error(std::string("fused linear ") + what + ": " + error);
}

class FusedLinear : public torch::autograd::Function<FusedLinear> {
public:
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                                 const torch::Tensor& weight, const torch::Tensor& bias, int64_t low) {
        const c10::cuda::CUDAGuard guard(x.device());
        const auto lp = static_cast<torch::ScalarType>(low);
        const int64_t K = weight.size(1), C = weight.size(0);
        auto x2 = x.to(lp).contiguous().view({-1, K});
        auto w = weight.to(lp);
        auto b = bias.to(lp).contiguous();
        auto y = at::mm(x2, w.t());
        check_launch(cuda_kernels::bias_add_inplace(y.data_ptr(), b.data_ptr(), low_dtype(lp), y.size(0), C,
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
        if (!dy.defined()) return {torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
        const int64_t C = w.size(0);
        const auto in_sizes = [&] {
            auto s = dy.sizes().vec();
            s.back() = w.size(1);
            return s;
        }();
        auto dy2 = dy.to(lp).contiguous().view({-1, C});
        // The column sums read 16 bytes at a time: a gradient that is a view at an odd offset is copied first.
        if (reinterpret_cast<std::uintptr_t>(dy2.data_ptr()) % 16 != 0) dy2 = dy2.clone();
        auto dx = at::mm(dy2, w).view(in_sizes);
        if (dx.scalar_type() != x_dtype) dx = dx.to(x_dtype);
        auto dw = at::mm(dy2.t(), x2).to(torch::kFloat);
        const int64_t rows = dy2.size(0);
        const int blocks = cuda_kernels::column_sum_blocks(rows, C);
        auto part = torch::empty({blocks, C}, dy2.options().dtype(torch::kFloat));
        if (rows > 0) {
            check_launch(cuda_kernels::column_sums(dy2.data_ptr(), low_dtype(lp), part.data_ptr<float>(), blocks,
                                                   rows, C, c10::cuda::getCurrentCUDAStream().stream()),
                         "bias gradient");
        } else {
            part.zero_();
        }
        return {dx, dw, part.sum(0), torch::Tensor()};
    }
};

}  // namespace
#endif

bool fused_linear_applies(const torch::nn::Linear& layer, const torch::Tensor& x) {
#if defined(PONET_WITH_CUDA)
    const auto lp = cuda_autocast_dtype(x);
    if (!fused_layers_enabled() || !lp || (*lp != torch::kBFloat16 && *lp != torch::kHalf)) return false;
    const auto& w = layer->weight;
    const auto& b = layer->bias;
    return x.dim() >= 1 && w.defined() && b.defined() && w.dim() == 2 && x.size(-1) == w.size(1) &&
           w.size(0) % 8 == 0 && w.size(1) % 8 == 0 && w.size(0) <= 2048 && w.device() == x.device() &&
           b.device() == x.device() && w.scalar_type() == torch::kFloat && b.scalar_type() == torch::kFloat &&
           (x.scalar_type() == torch::kFloat || x.scalar_type() == *lp);
#else
    (void)layer, (void)x;
    return false;
#endif
}

torch::Tensor linear(torch::nn::Linear layer, const torch::Tensor& x, bool fused) {
#if defined(PONET_WITH_CUDA)
    if (fused && fused_layers_enabled() && fused_linear_applies(layer, x))
        return FusedLinear::apply(x, layer->weight, layer->bias,
                                  static_cast<int64_t>(*cuda_autocast_dtype(x)));
#else
    (void)fused;
#endif
    return layer->forward(x);
}

}  // namespace ponet
