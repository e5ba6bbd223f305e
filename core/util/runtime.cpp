#include "core/util/runtime.h"

#include <torch/torch.h>

#include <cstdlib>
#include <iostream>
#include <thread>

#include "core/util/torch_compat.h"

namespace ponet {

namespace {

// LibTorch prints one-time warnings through glog ("Logging before InitGoogleLogging() ..."). We print them as
// one plain line instead, and drop the notice that scatter_reduce is "in beta": SMP relies on it deliberately.
void print_torch_warning(const std::string& msg) {
    if (msg.find("scatter_reduce() is in beta") != std::string::npos) return;
    std::cerr << "LibTorch warning: " << msg << "\n";
}

#if PONET_TORCH_AT_LEAST(2, 0)
struct QuietWarningHandler : c10::WarningHandler {
    void process(const c10::Warning& warning) override { print_torch_warning(warning.msg()); }
};
void install_warning_handler() {
    static QuietWarningHandler handler;
    c10::WarningUtils::set_warning_handler(&handler);
}
#else
struct QuietWarningHandler : c10::WarningHandler {
    void process(const c10::SourceLocation&, const std::string& msg, const bool) override { print_torch_warning(msg); }
};
void install_warning_handler() {
    static QuietWarningHandler handler;
    c10::Warning::set_warning_handler(&handler);
}
#endif

}  // namespace

void init_runtime(int threads) {
    if (threads <= 0) {
        if (const char* env = std::getenv("OMP_NUM_THREADS")) threads = std::atoi(env);
    }
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(threads);
    install_warning_handler();
}

const char* torch_version() { return TORCH_VERSION; }

bool torch_has_cuda() {
#ifdef PONET_WITH_CUDA
    return true;
#else
    return false;
#endif
}

}  // namespace ponet
