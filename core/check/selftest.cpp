// run_selftest: every check of checks.h on every requested device; a throwing check becomes a failed result.
#include <filesystem>

#include "core/check/check_result.h"
#include "core/check/checks.h"
#include "core/util/paths.h"

namespace ponet {
namespace fs = std::filesystem;

std::vector<std::string> available_devices() {
    std::vector<std::string> out{"cpu"};
    try {
        if (torch::cuda::is_available())
            for (int i = 0; i < static_cast<int>(torch::cuda::device_count()); ++i) out.push_back("cuda:" + std::to_string(i));
    } catch (const std::exception&) {
        // A driver that is too old or absent means "no GPU", never a crash (TOOLCHAIN.md §6).
    }
    return out;
}

SelfTestReport run_selftest(const SelfTestOptions& options) {
    SelfTestReport report;
    std::string golden = options.golden_dir;
    if (golden.empty()) {
        const std::string res = resources_dir();
        if (!res.empty()) golden = (fs::path(res) / "golden" / "tiny").string();
    }
    auto emit = [&](CheckResult r) {
        if (options.on_result) options.on_result(r);
        report.results.push_back(std::move(r));
    };
    auto cancelled = [&] { return options.cancel && options.cancel->load(); };
    auto guarded = [&](const std::string& name, const std::string& device, auto&& fn) {
        if (cancelled()) return;
        try {
            fn();
        } catch (const std::exception& e) {
            CheckResult r;
            r.name = name;
            r.device = device;
            r.metric = "exception";
            r.error = INFINITY;
            r.detail = e.what();
            emit(r);
        }
    };

    std::vector<std::string> devices = options.devices.empty() ? available_devices() : options.devices;
    guarded("derived segment ids = golden segment_ids", "cpu",
            [&] { emit(check::golden_segment_ids(golden)); });
    for (const auto& name : devices) {
        guarded("device " + name, name, [&] {
            const torch::Device device(name);
            guarded("golden parity", name, [&] {
                for (auto& r : check::golden_parity(golden, device, MixerImpl::Fused)) emit(std::move(r));
            });
            guarded("mixing vs naive", name, [&] {
                uint64_t seed = 100;
                for (bool cls : {true, false})
                    for (bool expl : {false, true}) emit(check::mixing_vs_naive(device, cls, expl, seed++));
            });
            guarded("fused vs reference", name, [&] {
                uint64_t seed = 500;
                for (auto dt : {torch::kFloat, torch::kBFloat16, torch::kHalf}) {
                    emit(check::fused_vs_reference(device, dt, seed++));
                    emit(check::fused_vs_reference(device, dt, seed++, /*large=*/true));
                    emit(check::fused_vs_reference(device, dt, seed++, false, /*packed=*/true));
                    emit(check::fused_vs_reference(device, dt, seed++, /*large=*/true, /*packed=*/true));
                }
            });
            guarded("golden parity (reference path)", name, [&] {
                for (auto& r : check::golden_parity(golden, device, MixerImpl::Reference)) emit(std::move(r));
            });
            guarded("padding invariance (ponet)", name, [&] { emit(check::padding_invariance(device, "ponet")); });
            guarded("padding invariance (attention)", name,
                    [&] { emit(check::padding_invariance(device, "attention")); });
            guarded("explicit segment ids path", name, [&] { emit(check::explicit_segments_path(device)); });
            guarded("FNet vs explicit DFT", name, [&] { emit(check::fnet_vs_dft(device)); });
            guarded("attention vs explicit softmax", name, [&] { emit(check::attention_vs_softmax(device)); });
            guarded("inspection hook winners", name, [&] { emit(check::trace_winners(device)); });
            guarded("AdamW step", name, [&] { emit(check::adamw_step_vs_libtorch(device)); });
            if (device.is_cuda())  // the CPU runs at::layer_norm itself: nothing to compare there
                guarded("fused LayerNorm", name, [&] {
                    for (auto dt : {torch::kFloat, torch::kBFloat16, torch::kHalf})
                        emit(check::layer_norm_fused_vs_aten(device, dt));
                });
            if (device.is_cuda())  // the CPU runs at::linear itself
                guarded("fused linear", name, [&] {
                    for (auto dt : {torch::kBFloat16, torch::kHalf}) emit(check::linear_fused_vs_aten(device, dt));
                });
            guarded("linear layer epilogues", name, [&] {
                emit(check::linear_dropout_add_vs_aten(device, torch::kBFloat16));
                if (device.is_cuda()) emit(check::linear_dropout_add_vs_aten(device, torch::kHalf));
                emit(check::linear_activation_dropout_vs_aten(device, torch::kBFloat16));
                if (device.is_cuda()) emit(check::linear_activation_dropout_vs_aten(device, torch::kHalf));
            });
            guarded("save → load round trip", name, [&] { emit(check::save_load_roundtrip(device)); });
        });
    }
    report.cancelled = cancelled();
    return report;
}

}  // namespace ponet
