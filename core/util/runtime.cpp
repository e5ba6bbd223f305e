#include "core/util/runtime.h"

#include <torch/torch.h>

#include <cstdlib>
#include <thread>

namespace ponet {

void init_runtime(int threads) {
    if (threads <= 0) {
        if (const char* env = std::getenv("OMP_NUM_THREADS")) threads = std::atoi(env);
    }
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(threads);
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
