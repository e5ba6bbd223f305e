// How our kernels are launched: with programmatic dependent launch (PDL) where the device has it (Hopper and
// later), so that a kernel's launch and block start-up overlap the end of the kernel before it in the stream instead
// of following its completion. Every kernel launched this way starts with wait_for_prior_grids(), which returns
// once the kernels before it have finished and their writes are visible, so nothing is read or written early; the
// overlap is only the launch latency. Inside a CUDA graph the same dependency becomes a programmatic edge.
// PONET_PDL=0 in the environment launches without it (for measuring the difference). Internal to the .cu files.
#pragma once
#include <cuda_runtime.h>

#include <utility>

namespace ponet::cuda_kernels {

// Whether launches on the current device carry the PDL attribute: compute capability 9.0 or later, our kernels
// compiled for it, and PONET_PDL not 0 (read once per process and device). While `stream` is being captured, only
// where every node the launch would depend on is a kernel: in a graph only a kernel node has the programmatic
// output port such an edge starts from (cudaGraphEdgeData), so after a copy, a memset or an event the launch
// keeps the ordinary dependency.
bool dependent_launch_enabled(cudaStream_t stream);

// First statement of every kernel launched by launch(): waits for the grids this one depends on, then lets the
// next kernel in the stream start launching. Both are no-ops in a launch without the attribute.
__device__ __forceinline__ void wait_for_prior_grids() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

// kernel<<<grid, block, smem, stream>>>(args...), with the PDL attribute where dependent_launch_enabled(stream).
// Returns the launch's error (cudaGetLastError() also reports it).
template <typename... Params, typename... Args>
cudaError_t launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                   Args&&... args) {
    cudaLaunchConfig_t config = {};
    config.gridDim = grid;
    config.blockDim = block;
    config.dynamicSmemBytes = smem;
    config.stream = stream;
    cudaLaunchAttribute attribute[1];
    attribute[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attribute[0].val.programmaticStreamSerializationAllowed = 1;
    config.attrs = attribute;
    config.numAttrs = dependent_launch_enabled(stream) ? 1 : 0;
    return cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...);
}

}  // namespace ponet::cuda_kernels
