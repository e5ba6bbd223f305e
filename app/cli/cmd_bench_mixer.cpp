// `ponet bench-mixer`: the PoNet mixing alone, reference against fused, with bandwidth floors.
#include <torch/torch.h>

#include <cstdio>
#include <iostream>

#include "commands.h"
#include "core/kernels/mixing_bench.h"
#include "core/util/error.h"

namespace ponet::cli {

namespace {

int64_t count(const ParsedArgs& a, const std::string& name, int64_t min) {
    const std::string v = a.get(name);
    try {
        size_t used = 0;
        const long long n = std::stoll(v, &used);
        if (used == v.size() && n >= min) return n;
    } catch (const std::exception&) {
    }
    throw InvalidInput("--" + name + " must be an integer >= " + std::to_string(min) + ", got '" + v + "'");
}

int64_t positive(const ParsedArgs& a, const std::string& name) { return count(a, name, 1); }

int run_bench_mixer(const ParsedArgs& a) {
    MixerBenchSpec s;
    s.device = resolve_device(a.get("device"));
    s.dtype = a.get("dtype");
    s.batch = positive(a, "batch");
    s.length = positive(a, "length");
    s.hidden = positive(a, "hidden");
    s.heads = positive(a, "heads");
    s.sentence = positive(a, "sentence");
    s.iters = positive(a, "iters");
    s.warmup = count(a, "warmup", 0);
    const auto rep = run_mixer_bench(s);
    std::printf("PoNet mixing, %s, %s, B %lld, L %lld, D %lld, H %lld, sentences of %lld tokens; %s%d threads\n",
                rep.device_name.c_str(), s.dtype.c_str(), static_cast<long long>(s.batch),
                static_cast<long long>(s.length), static_cast<long long>(s.hidden), static_cast<long long>(s.heads),
                static_cast<long long>(s.sentence), rep.device_name == "cpu" ? "" : "host ", rep.threads);
    std::printf("measured copy bandwidth: %.1f GB/s\n", rep.copy_gbps);
    std::printf("%-10s %12s %16s %10s %14s %18s\n", "impl", "forward ms", "fwd+bwd ms", "peak MiB", "floor fwd ms",
                "floor fwd+bwd ms");
    const MixerBenchRow* ref = nullptr;
    for (const auto& r : rep.rows) {
        if (!r.error.empty()) {
            std::printf("%-10s failed: %s\n", r.impl.c_str(), r.error.c_str());
            continue;
        }
        if (r.impl == "reference") ref = &r;
        std::printf("%-10s %12.3f %16.3f %10.1f %14.3f %18.3f\n", r.impl.c_str(), r.forward_ms,
                    r.forward_backward_ms, r.peak_mib, r.floor_forward_ms, r.floor_forward_backward_ms);
    }
    for (const auto& r : rep.rows)
        if (ref && r.error.empty() && &r != ref)
            std::printf("%s vs reference: forward %.2fx, forward+backward %.2fx; fwd+bwd at %.0f%% of the "
                        "bandwidth floor\n",
                        r.impl.c_str(), ref->forward_ms / r.forward_ms,
                        ref->forward_backward_ms / r.forward_backward_ms,
                        100.0 * r.floor_forward_backward_ms / r.forward_backward_ms);
    return 0;
}

}  // namespace

CommandSpec bench_mixer_command() {
    CommandSpec c;
    c.name = "bench-mixer";
    c.summary = "time the PoNet mixing alone: reference path against the fused kernels";
    c.description =
        "Times the token mixing by itself (forward, and forward + backward) on random projections with "
        "sentence-like segments, for the reference ATen path and the fused kernels, and prints each time next to "
        "the floor set by the bytes the fused kernels must move at the device's measured copy bandwidth.";
    c.options = {
        OptionSpec::value("device", "DEVICE", "cpu, cuda or cuda:N", "cpu"),
        OptionSpec::value("dtype", "TYPE", "fp32, bf16 or fp16", "fp32"),
        OptionSpec::value("batch", "N", "batch size", "1"),
        OptionSpec::value("length", "N", "tokens per sequence", "4096"),
        OptionSpec::value("hidden", "N", "hidden size D", "768"),
        OptionSpec::value("heads", "N", "heads H (D must be a multiple)", "12"),
        OptionSpec::value("sentence", "N", "tokens per segment", "32"),
        OptionSpec::value("iters", "N", "timed repetitions (the median is reported)", "20"),
        OptionSpec::value("warmup", "N", "untimed repetitions first", "3"),
    };
    c.run = run_bench_mixer;
    return c;
}

}  // namespace ponet::cli
