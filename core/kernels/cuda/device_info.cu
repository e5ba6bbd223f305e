#include "core/kernels/cuda/device_info.h"

#include <cuda_runtime.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "core/kernels/cuda/launch.cuh"

namespace ponet::cuda_kernels {

int multiprocessor_count() {
    static const int count = [] {
        int dev = 0, n = 0;
        if (cudaGetDevice(&dev) != cudaSuccess ||
            cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess || n <= 0)
            return 108;
        return n;
    }();
    return count;
}

namespace {
// Compiled like every kernel of this library: its PTX version says whether their griddepcontrol instructions were
// compiled in (PTX for 9.0 or later) on the code the device runs.
__global__ void dependent_launch_probe() {}

// Whether every node a launch on the capturing `stream` would depend on is a kernel node (none: no).
bool depends_on_kernels_only(cudaStream_t stream) {
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    const cudaGraphNode_t* deps = nullptr;
    size_t n = 0;
#if CUDART_VERSION >= 13000
    const cudaError_t e = cudaStreamGetCaptureInfo(stream, &status, nullptr, nullptr, &deps, nullptr, &n);
#else
    const cudaError_t e = cudaStreamGetCaptureInfo_v2(stream, &status, nullptr, nullptr, &deps, &n);
#endif
    if (e != cudaSuccess) {
        cudaGetLastError();  // not the launch's error
        return false;
    }
    if (status != cudaStreamCaptureStatusActive || n == 0) return false;
    for (size_t i = 0; i < n; ++i) {
        cudaGraphNodeType type = cudaGraphNodeTypeEmpty;
        if (cudaGraphNodeGetType(deps[i], &type) != cudaSuccess) {
            cudaGetLastError();
            return false;
        }
        if (type != cudaGraphNodeTypeKernel) return false;
    }
    return true;
}

}  // namespace

bool dependent_launch_enabled(cudaStream_t stream) {
    static const bool allowed = [] {
        const char* env = std::getenv("PONET_PDL");
        return !(env && std::strcmp(env, "0") == 0);
    }();
    if (!allowed) return false;
    // Per device: 0 = not read yet (static storage starts at zero), 1 = no, 2 = yes.
    constexpr int kDevices = 64;
    static std::atomic<int> known[kDevices];
    int dev = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || dev < 0 || dev >= kDevices) return false;
    int v = known[dev].load(std::memory_order_relaxed);
    if (v == 0) {
        int major = 0;
        cudaFuncAttributes attributes = {};
        const bool yes = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) == cudaSuccess &&
                         major >= 9 && cudaFuncGetAttributes(&attributes, dependent_launch_probe) == cudaSuccess &&
                         attributes.ptxVersion >= 90;
        v = yes ? 2 : 1;
        known[dev].store(v, std::memory_order_relaxed);
    }
    if (v != 2) return false;
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    if (cudaStreamIsCapturing(stream, &status) != cudaSuccess) {
        cudaGetLastError();  // not the launch's error
        return false;
    }
    return status == cudaStreamCaptureStatusNone || depends_on_kernels_only(stream);
}

}  // namespace ponet::cuda_kernels
