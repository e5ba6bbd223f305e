#include "core/util/compute_devices.h"

#include <torch/torch.h>
#include <unistd.h>

#include <fstream>

#if defined(PONET_WITH_CUDA)
#include <ATen/cuda/CUDAContext.h>
#endif

namespace ponet {
namespace {

std::string cpu_model_name() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) != 0) continue;
        const auto colon = line.find(':');
        if (colon == std::string::npos) break;
        const auto begin = line.find_first_not_of(" \t", colon + 1);
        return begin == std::string::npos ? std::string() : line.substr(begin);
    }
    return {};
}

int64_t physical_memory_bytes() {
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long page = ::sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : 0;
}

}  // namespace

std::vector<ComputeDevice> compute_devices() {
    std::vector<ComputeDevice> out;
    const std::string cpu = cpu_model_name();
    out.push_back({"cpu", cpu.empty() ? "CPU" : cpu, physical_memory_bytes()});
    try {
        if (!torch::cuda::is_available()) return out;
        const int n = static_cast<int>(torch::cuda::device_count());
        for (int i = 0; i < n; ++i) {
            ComputeDevice d{"cuda:" + std::to_string(i), "CUDA device " + std::to_string(i), 0};
#if defined(PONET_WITH_CUDA)
            if (const cudaDeviceProp* p = at::cuda::getDeviceProperties(i)) {
                d.name = p->name;
                d.memory_bytes = static_cast<int64_t>(p->totalGlobalMem);
            }
#endif
            out.push_back(std::move(d));
        }
    } catch (const std::exception&) {
        // A driver that is too old or absent means "no GPU", never a crash (TOOLCHAIN.md §6).
    }
    return out;
}

}  // namespace ponet
