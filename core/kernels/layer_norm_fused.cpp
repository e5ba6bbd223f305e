#include "core/kernels/layer_norm_fused.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "core/util/error.h"
#include "core/util/torch_compat.h"

#if defined(PONET_WITH_CUDA)
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "core/kernels/cuda/layer_norm_cuda.h"
#include "core/kernels/cuda/linear_cuda.h"
#endif

namespace ponet {

bool fused_layers_enabled() {
    // PONET_FUSED_LAYERS=0 falls back to ATen's LayerNorm and linear layers (the fused PoNet mixing is chosen on its
    // own, by --impl / train.mixer_impl): for telling our kernels' effect from the rest when measuring or debugging.
    static const bool enabled = [] {
        const char* v = std::getenv("PONET_FUSED_LAYERS");
        return !(v && (std::strcmp(v, "0") == 0 || std::strcmp(v, "off") == 0 || std::strcmp(v, "false") == 0));
    }();
    return enabled;
}

#if defined(PONET_WITH_CUDA)
namespace {

cuda_kernels::DType kernel_dtype(torch::ScalarType t) {
    switch (t) {
        case torch::kBFloat16: return cuda_kernels::DType::BF16;
        case torch::kHalf: return cuda_kernels::DType::F16;
        case torch::kFloat: return cuda_kernels::DType::F32;
        default: throw Error(std::string("fused LayerNorm: no kernel for dtype ") + c10::toString(t));
    }
}

void check_launch(const char* error, const char* what) {
    if (error) throw Error(std::string("fused LayerNorm ") + what + ": " + error);
}

class FusedLayerNorm : public torch::autograd::Function<FusedLayerNorm> {
public:
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                                 const torch::Tensor& weight, const torch::Tensor& bias, double eps,
                                 int64_t out_dtype) {
        const c10::cuda::CUDAGuard guard(x.device());
        const auto xc = x.contiguous();
        const int64_t D = xc.size(-1), rows = D > 0 ? xc.numel() / D : 0;
        const auto f32 = xc.options().dtype(torch::kFloat);
        auto y = torch::empty(xc.sizes(), xc.options().dtype(static_cast<torch::ScalarType>(out_dtype)));
        auto mean = torch::empty({rows}, f32), rstd = torch::empty({rows}, f32);
        check_launch(cuda_kernels::layer_norm_forward(xc.data_ptr<float>(), weight.data_ptr<float>(),
                                                      bias.data_ptr<float>(), y.data_ptr(),
                                                      kernel_dtype(y.scalar_type()), mean.data_ptr<float>(),
                                                      rstd.data_ptr<float>(), rows, D, static_cast<float>(eps),
                                                      c10::cuda::getCurrentCUDAStream().stream()),
                     "forward");
        ctx->save_for_backward({xc, weight, mean, rstd});
        ctx->saved_data["out_dtype"] = out_dtype;
        return y;
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const auto& x = saved[0];
        const auto& weight = saved[1];
        const c10::cuda::CUDAGuard guard(x.device());
        const auto out_dtype = static_cast<torch::ScalarType>(ctx->saved_data["out_dtype"].toInt());
        auto dy = grads[0];
        if (!dy.defined()) return {torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
        if (dy.scalar_type() != out_dtype) dy = dy.to(out_dtype);
        dy = dy.contiguous();
        const int64_t D = x.size(-1), rows = D > 0 ? x.numel() / D : 0;
        const int blocks = cuda_kernels::layer_norm_backward_blocks(rows);
        auto dx = torch::empty_like(x);
        auto part = torch::empty({2, blocks, D}, x.options());
        if (rows > 0) {
            check_launch(cuda_kernels::layer_norm_backward(dy.data_ptr(), kernel_dtype(dy.scalar_type()),
                                                           x.data_ptr<float>(), weight.data_ptr<float>(),
                                                           saved[2].data_ptr<float>(), saved[3].data_ptr<float>(),
                                                           dx.data_ptr<float>(), part[0].data_ptr<float>(),
                                                           part[1].data_ptr<float>(), blocks, rows, D,
                                                           c10::cuda::getCurrentCUDAStream().stream()),
                         "backward");
        } else {
            part.zero_();
        }
        auto sums = torch::empty({2, D}, x.options());  // weight and bias gradients
        check_launch(cuda_kernels::sum_partials(part.data_ptr<float>(), 2, blocks, D, sums.data_ptr<float>(),
                                                c10::cuda::getCurrentCUDAStream().stream()),
                     "parameter gradient sum");
        return {dx, sums[0], sums[1], torch::Tensor(), torch::Tensor()};
    }
};

}  // namespace
#endif

bool fused_layer_norm_applies(const torch::nn::LayerNorm& norm, const torch::Tensor& x) {
#if defined(PONET_WITH_CUDA)
    const auto& o = norm->options;
    const auto& w = norm->weight;
    const auto& b = norm->bias;
    return fused_layers_enabled() && x.is_cuda() && x.scalar_type() == torch::kFloat && x.dim() >= 1 && o.normalized_shape().size() == 1 &&
           o.normalized_shape()[0] == x.size(-1) && x.size(-1) <= cuda_kernels::kLayerNormMaxHidden &&
           w.defined() && b.defined() && w.scalar_type() == torch::kFloat && b.scalar_type() == torch::kFloat &&
           w.device() == x.device() && b.device() == x.device() && w.is_contiguous() && b.is_contiguous();
#else
    (void)norm, (void)x;
    return false;
#endif
}

torch::Tensor layer_norm(torch::nn::LayerNorm norm, const torch::Tensor& x, bool for_matmul, bool fused) {
#if defined(PONET_WITH_CUDA)
    if (fused && fused_layers_enabled() && fused_layer_norm_applies(norm, x)) {
        torch::ScalarType out = torch::kFloat;
        if (for_matmul)
            if (const auto ac = cuda_autocast_dtype(x)) out = *ac;
        return FusedLayerNorm::apply(x, norm->weight, norm->bias, norm->options.eps(), static_cast<int64_t>(out));
    }
#else
    (void)for_matmul, (void)fused;
#endif
    return norm->forward(x);
}

}  // namespace ponet
