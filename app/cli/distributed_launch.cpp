// The training commands' data-parallel options and the local launcher around ponet::launch_local_workers.
#include "distributed_launch.h"

#include <torch/torch.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <iostream>

#include "core/util/error.h"

namespace ponet::cli {

namespace {

const char* const kLauncherOptions[] = {"nproc-per-node", "nnodes", "node-rank", "master-addr", "master-port",
                                        "dist-timeout"};

std::atomic<int> g_forward_signal{0};

extern "C" void on_launcher_signal(int sig) {
    g_forward_signal.store(sig);
}

int int_option(const ParsedArgs& a, const std::string& name, int fallback, int min, int max) {
    if (!a.has(name)) return fallback;
    const std::string v = a.get(name);
    try {
        size_t used = 0;
        const long n = std::stol(v, &used);
        if (used == v.size() && n >= min && n <= max) return static_cast<int>(n);
    } catch (const std::exception&) {
    }
    throw UsageError{"--" + name + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
                     "], not '" + v + "'"};
}

double timeout_option(const ParsedArgs& a, double fallback) {
    if (!a.has("dist-timeout")) return fallback;
    try {
        size_t used = 0;
        const double s = std::stod(a.get("dist-timeout"), &used);
        if (used == a.get("dist-timeout").size() && s > 0) return s;
    } catch (const std::exception&) {
    }
    throw UsageError{"--dist-timeout must be a positive number of seconds"};
}

std::string self_executable() {
    char buf[4096];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) throw Error("cannot find the ponet executable to start the workers (/proc/self/exe)");
    return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

std::vector<OptionSpec> distributed_options_spec() {
    return {OptionSpec::value("nproc-per-node", "N",
                              "Data-parallel: start N worker processes on this machine, one per GPU (cuda:0..N-1) "
                              "or N CPU workers; 'gpu' = one per visible GPU. train.batch_size stays the global "
                              "batch, split across all workers"),
            OptionSpec::value("nnodes", "M", "Data-parallel: machines taking part (run the same command on each)"),
            OptionSpec::value("node-rank", "R", "Data-parallel: this machine's index, 0 to M-1"),
            OptionSpec::value("master-addr", "A", "Data-parallel: address of machine 0 (default 127.0.0.1)"),
            OptionSpec::value("master-port", "P", "Data-parallel: free TCP port on machine 0 (default 29500)"),
            OptionSpec::value("dist-timeout", "S",
                              "Data-parallel: seconds a worker waits for the others before the run fails "
                              "(default 600)")};
}

std::optional<WorldSpec> worker_world(const ParsedArgs& a) {
    std::optional<WorldSpec> world = world_from_environment();
    if (!world) return std::nullopt;
    if (!is_launched_worker() && (a.has("nproc-per-node") || a.has("nnodes")))
        throw UsageError{"this process was started by an external launcher (WORLD_SIZE is set in the "
                         "environment) and was also given --nproc-per-node/--nnodes; use one or the other"};
    world->timeout_seconds = timeout_option(a, world->timeout_seconds);
    return world;
}

std::optional<int> launch_workers_if_requested(const std::string& command, const ParsedArgs& a,
                                               const std::vector<std::string>& replaced,
                                               const std::vector<std::string>& extra_args) {
    if (is_launched_worker() || (!a.has("nproc-per-node") && !a.has("nnodes"))) return std::nullopt;
    if (world_from_environment()) return std::nullopt;  // worker_world() reports the contradiction
    LaunchPlan plan;
    if (a.get("nproc-per-node") == "gpu") {
        const int gpus = static_cast<int>(torch::cuda::device_count());
        if (gpus < 1)
            throw UsageError{"--nproc-per-node gpu: this LibTorch sees no CUDA device; give a number of CPU "
                             "workers instead"};
        plan.nproc_per_node = gpus;
    } else {
        plan.nproc_per_node = int_option(a, "nproc-per-node", 1, 1, 1024);
    }
    plan.nnodes = int_option(a, "nnodes", 1, 1, 65536);
    plan.node_rank = int_option(a, "node-rank", 0, 0, 65535);
    plan.master_addr = a.get("master-addr", "127.0.0.1");
    plan.master_port = int_option(a, "master-port", 29500, 1, 65535);
    plan.timeout_seconds = timeout_option(a, 600);
    // A short timeout asks for a quick verdict; the survivors' grace period follows it.
    plan.grace_seconds = std::min(plan.grace_seconds, plan.timeout_seconds);
    plan.validate();

    std::vector<std::string> argv{self_executable(), command};
    for (const auto& p : a.positionals) argv.push_back(p);
    for (const auto& [name, values] : a.values) {
        if (std::find(std::begin(kLauncherOptions), std::end(kLauncherOptions), name) != std::end(kLauncherOptions))
            continue;
        if (std::find(replaced.begin(), replaced.end(), name) != replaced.end()) continue;
        for (const auto& v : values) argv.push_back("--" + name + "=" + v);
    }
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());

    struct sigaction sa {}, old_int {}, old_term {}, old_hup {};
    sa.sa_handler = on_launcher_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int);
    ::sigaction(SIGTERM, &sa, &old_term);
    ::sigaction(SIGHUP, &sa, &old_hup);
    auto log = [](const std::string& line) { std::cerr << "ponet launcher: " << line << "\n" << std::flush; };
    LaunchResult r;
    try {
        r = launch_local_workers(argv, plan, log, &g_forward_signal);
    } catch (...) {
        ::sigaction(SIGINT, &old_int, nullptr);
        ::sigaction(SIGTERM, &old_term, nullptr);
        ::sigaction(SIGHUP, &old_hup, nullptr);
        throw;
    }
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
    ::sigaction(SIGHUP, &old_hup, nullptr);
    if (!r.message.empty()) log("the run failed: " + r.message);
    return r.exit_code;
}

}  // namespace ponet::cli
