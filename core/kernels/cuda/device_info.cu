#include "core/kernels/cuda/device_info.h"

#include <cuda_runtime.h>

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

}  // namespace ponet::cuda_kernels
