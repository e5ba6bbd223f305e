#include "core/kernels/mixing_bench.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>

#include "core/kernels/ponet_mixing.h"
#include "core/util/error.h"
#include "core/util/torch_compat.h"

namespace ponet {

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

void sync(const torch::Device& d) {
    if (d.is_cuda()) torch::cuda::synchronize(d.index());
}

template <typename F>
double time_ms(const torch::Device& dev, F&& f) {
    sync(dev);
    const auto t0 = std::chrono::steady_clock::now();
    f();
    sync(dev);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

torch::ScalarType parse_dtype(const std::string& s) {
    if (s == "fp32") return torch::kFloat;
    if (s == "bf16") return torch::kBFloat16;
    if (s == "fp16") return torch::kHalf;
    throw InvalidInput("unknown dtype '" + s + "' (fp32, bf16 or fp16)");
}

}  // namespace

MixerBenchReport run_mixer_bench(const MixerBenchSpec& spec) {
    if (spec.batch < 1 || spec.length < 1 || spec.hidden < 1 || spec.heads < 1 || spec.hidden % spec.heads != 0)
        throw InvalidInput("bench-mixer: batch, length, hidden and heads must be positive, hidden a multiple of heads");
    if (spec.iters < 1 || spec.warmup < 0) throw InvalidInput("bench-mixer: iters must be >= 1 and warmup >= 0");
    if (spec.sentence < 1) throw InvalidInput("bench-mixer: sentence length must be >= 1");
    const auto dtype = parse_dtype(spec.dtype);
    const torch::Device dev(spec.device == "cuda" ? "cuda:0" : spec.device);
    if (dev.is_cuda() && !torch::cuda::is_available()) throw InvalidInput("no CUDA GPU is usable here");
    const int64_t B = spec.batch, L = spec.length, D = spec.hidden;
    const auto opts = torch::TensorOptions().dtype(dtype).device(dev);

    MixerBenchReport rep;
    rep.threads = at::get_num_threads();
    rep.device_name = dev.is_cuda() ? "cuda:" + std::to_string(dev.index()) : "cpu";
    {
        // Copy bandwidth: a large device-to-device copy, median of 5.
        const int64_t n = dev.is_cuda() ? (int64_t(1) << 28) : (int64_t(1) << 25);  // fp32 elements
        auto src = torch::ones({n}, torch::TensorOptions().device(dev));
        auto dst = torch::empty_like(src);
        std::vector<double> t;
        for (int i = 0; i < 6; ++i) t.push_back(time_ms(dev, [&] { dst.copy_(src); }));
        t.erase(t.begin());
        rep.copy_gbps = 2.0 * n * 4 / (median(t) * 1e-3) / 1e9;
    }

    torch::manual_seed(1);
    PoNetMixingInputs base;
    for (auto* t : {&base.q, &base.k, &base.o, &base.s, &base.l}) *t = torch::randn({B, L, D}, opts);
    base.keep = torch::ones({B, L}, torch::TensorOptions().dtype(torch::kBool).device(dev));
    auto pos = torch::arange(L, torch::TensorOptions().dtype(torch::kLong).device(dev));
    auto special = (pos == 0) | (pos.remainder(spec.sentence) == spec.sentence - 1);
    base.special = special.unsqueeze(0).expand({B, L}).contiguous();
    base.segment_ids = pos.div(spec.sentence, "floor").unsqueeze(0).expand({B, L}).contiguous();
    base.num_segments = (L + spec.sentence - 1) / spec.sentence;
    base.heads = spec.heads;
    base.clsgsepg = spec.clsgsepg;
    auto grad_y = torch::randn({B, L, D}, opts);

    const double e = static_cast<double>(torch::elementSize(dtype)), N = static_cast<double>(B * L * D);
    for (const auto& name : spec.impls) {
        MixerBenchRow row;
        row.impl = name;
        row.fused_bytes_forward = N * (6 * e + 1);    // read q k o s l, write y and the LMP winner byte
        row.fused_bytes_backward = N * (10 * e + 1);  // read dy o s k s + winner byte, write five gradients
        row.floor_forward_ms = row.fused_bytes_forward / (rep.copy_gbps * 1e9) * 1e3;
        row.floor_forward_backward_ms =
            (row.fused_bytes_forward + row.fused_bytes_backward) / (rep.copy_gbps * 1e9) * 1e3;
        const MixerImpl impl = mixer_impl_from_string(name);
        try {
            PoNetMixingInputs in = base;
            for (auto* t : {&in.q, &in.k, &in.o, &in.s, &in.l}) *t = t->detach().requires_grad_(true);
            std::vector<double> fwd, both;
            for (int64_t it = 0; it < spec.warmup + spec.iters; ++it) {
                const double f = time_ms(dev, [&] {
                    torch::NoGradGuard ng;
                    ponet_mix(in, impl);
                });
                if (it == spec.warmup && dev.is_cuda()) cuda_reset_peak_memory(dev.index());
                const double fb = time_ms(dev, [&] {
                    auto out = ponet_mix(in, impl);
                    out.y.backward(grad_y);
                });
                if (it >= spec.warmup) fwd.push_back(f), both.push_back(fb);
                for (auto* t : {&in.q, &in.k, &in.o, &in.s, &in.l}) t->mutable_grad() = torch::Tensor();
            }
            row.forward_ms = median(fwd);
            row.forward_backward_ms = median(both);
            if (dev.is_cuda()) row.peak_mib = cuda_peak_memory_allocated(dev.index()) / 1048576.0;
        } catch (const std::exception& ex) {
            row.error = ex.what();
            row.error = row.error.substr(0, row.error.find('\n'));
        }
        rep.rows.push_back(row);
    }
    return rep;
}

}  // namespace ponet
