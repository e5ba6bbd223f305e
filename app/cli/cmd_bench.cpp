// `ponet bench`: training (or inference) speed and peak memory against sequence length for PoNet, FNet and
// attention, as the PoNet paper's Table 2; the same harness as the app's Benchmark page.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "core/bench/bench.h"
#include "core/bench/bench_cache.h"
#include "core/util/error.h"

namespace ponet::cli {

namespace {

std::atomic<bool> g_bench_stop{false};

extern "C" void on_bench_sigint(int) {
    g_bench_stop.store(true);
    ::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

int64_t whole_number(const ParsedArgs& a, const std::string& name) {
    const std::string v = a.get(name);
    try {
        size_t used = 0;
        const int64_t x = std::stoll(v, &used);
        if (used == v.size()) return x;
    } catch (const std::exception&) {
    }
    throw UsageError{"ponet bench: --" + name + " must be a whole number, not '" + v + "'"};
}

int run_bench_cmd(const ParsedArgs& a) {
    using namespace ponet::bench;
    BenchSpec spec;
    spec.mixers = parse_mixers(a.get("mixers"));
    spec.lengths = parse_lengths(a.get("lens"));
    spec.preset = a.get("preset");
    spec.batch = whole_number(a, "batch");
    spec.impl = a.get("impl");
    spec.device = a.get("device");
    spec.mode = bench_mode_from_string(a.get("mode"));
    spec.precision = a.get("precision");
    spec.steps = whole_number(a, "steps");
    spec.warmup = whole_number(a, "warmup");
    spec.seed = whole_number(a, "seed");
    spec.cuda_graphs = a.get("cuda-graphs");
    spec.validate();
    const std::string json_out = a.get("json");

    const bool tty = ::isatty(STDERR_FILENO) == 1;
    BenchCallbacks cb;
    cb.cancel = &g_bench_stop;
    cb.exclusive_device = true;  // this process runs nothing else on the device
    cb.on_log = [](const std::string& s) { std::cerr << s << std::endl; };
    cb.on_progress = [tty](const BenchProgress& p) {
        if (!tty) return;
        std::fprintf(stderr, "\r[%d/%d] %s at %lld tokens: %s %lld/%lld   ", p.row + 1, p.rows,
                     p.mixer.c_str(), static_cast<long long>(p.length), p.timing ? "timed step" : "warm-up",
                     static_cast<long long>(p.step), static_cast<long long>(p.steps));
        std::fflush(stderr);
    };
    cb.on_row = [tty](const BenchRow& r) {
        if (tty) std::cerr << "\r\033[K";
        std::cerr << "  " << r.mixer << " at " << r.length << ": ";
        if (r.ok()) {
            char buf[96];
            std::snprintf(buf, sizeof buf, "%.2f steps/s (median %.2f ms)", r.steps_per_second, r.median_ms);
            std::cerr << buf;
            if (r.peak_bytes >= 0) {
                std::snprintf(buf, sizeof buf, ", peak %.2f GiB",
                              static_cast<double>(r.peak_bytes) / (1u << 30));
                std::cerr << buf;
            }
        } else {
            std::cerr << r.status << (r.message.empty() ? "" : ": " + r.message);
        }
        std::cerr << std::endl;
    };

    g_bench_stop.store(false);
    struct sigaction sa {
    }, old{};
    sa.sa_handler = on_bench_sigint;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old);
    BenchReport report;
    try {
        report = run_bench(spec, cb);
    } catch (...) {
        ::sigaction(SIGINT, &old, nullptr);
        throw;
    }
    ::sigaction(SIGINT, &old, nullptr);

    std::cout << format_table(report) << std::flush;
    if (!json_out.empty()) {
        report.save(json_out);
        std::cerr << "wrote " << json_out << std::endl;
    }
    if (!a.has("no-cache")) {
        try {
            update_cache(report);
        } catch (const std::exception& e) {
            std::cerr << "ponet bench: the result cache was not updated: " << e.what() << std::endl;
        }
    }
    if (report.cancelled) return 130;
    for (const auto& r : report.rows)
        if (r.status == "error") return 1;
    return 0;
}

}  // namespace

CommandSpec bench_command() {
    CommandSpec c;
    c.name = "bench";
    c.summary = "training speed and peak memory against sequence length (the PoNet paper's Table 2)";
    c.description =
        "Times whole training steps (forward, backward and the AdamW update; or forward passes with --mode "
        "infer) "
        "of a freshly initialised model per mixer and sequence length, on synthetic all-real tokens from a "
        "fixed "
        "seed, and prints steps/s with the peak memory, then tokens/s. Each cell runs --warmup untimed steps "
        "and "
        "reports the median of --steps timed ones. On CUDA the steps run under bf16 autocast (--precision) "
        "and are "
        "timed with CUDA events, without host synchronisation inside a step; peak memory is the caching "
        "allocator's peak. On the CPU peak memory is the process's peak resident set. An out-of-memory cell "
        "is "
        "reported as OOM and the run goes on. Results also go to the per-device cache the app's Benchmark "
        "page "
        "previews. Presets: lra-text (" +
        ponet::bench::preset_description("lra-text") + "), base (" +
        ponet::bench::preset_description("base") + "), tiny (" + ponet::bench::preset_description("tiny") +
        "). Exit status 1 when a cell failed with an error, 130 when interrupted (the table so far is "
        "printed).";
    c.options = {
        OptionSpec::value("mixers", "LIST", "comma-separated mixers: ponet, fnet, attention",
                          "ponet,fnet,attention"),
        OptionSpec::value("lens", "LIST", "comma-separated sequence lengths (4K = 4096)",
                          "512,1024,2048,4096,8192,16384"),
        OptionSpec::value("preset", "NAME", "model shape: lra-text, base or tiny", "lra-text"),
        OptionSpec::value("batch", "N", "sequences per step", "32"),
        OptionSpec::value("impl", "IMPL", "PoNet mixing implementation: auto, fused or reference", "auto"),
        OptionSpec::value("device", "DEVICE", "auto (CUDA if present), cpu, cuda or cuda:N", "auto"),
        OptionSpec::value("mode", "MODE", "train (forward + backward + AdamW step) or infer (forward only)",
                          "train"),
        OptionSpec::value("precision", "P",
                          "auto (bf16 autocast on CUDA, fp32 on the CPU), fp32, bf16 or fp16", "auto"),
        OptionSpec::value("steps", "N", "timed steps per cell (the median is reported)", "10"),
        OptionSpec::value("warmup", "N", "untimed steps before the timed ones", "3"),
        OptionSpec::value("seed", "N", "seed of the weights and the synthetic tokens", "1234"),
        OptionSpec::value("cuda-graphs", "MODE",
                          "CUDA only: capture each step once as a CUDA graph and replay it: auto (where that was "
                          "measured to gain, batch x length <= 524288), on or off",
                          "auto"),
        OptionSpec::value("json", "OUT", "also write the full report (every step time) as JSON"),
        OptionSpec::flag("no-cache", "do not record the results in the per-device cache"),
    };
    c.run = run_bench_cmd;
    return c;
}

}  // namespace ponet::cli
