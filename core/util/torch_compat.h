// The one place where differences between LibTorch 1.13 (Debian) and 2.x (CUDA builds) are guarded.
#pragma once
#include <torch/version.h>

#define PONET_TORCH_AT_LEAST(maj, min) \
    (TORCH_VERSION_MAJOR > (maj) || (TORCH_VERSION_MAJOR == (maj) && TORCH_VERSION_MINOR >= (min)))

#include <ATen/core/Tensor.h>
#if !PONET_TORCH_AT_LEAST(2, 2)
#include <c10/util/C++17.h>

#include <string>
#endif

namespace ponet {

// The key of a parameter in torch::optim::Optimizer::state(): the decimal TensorImpl address as a string
// in 1.13, the address itself since 2.2 (pytorch#108480, which also removed c10::guts::to_string). Both are
// what the optimizer's own step() uses, so a state inserted under this key is found by the next step().
#if PONET_TORCH_AT_LEAST(2, 2)
inline void* optimizer_state_key(const at::Tensor& p) {
    return p.unsafeGetTensorImpl();
}
#else
inline std::string optimizer_state_key(const at::Tensor& p) {
    return c10::guts::to_string(p.unsafeGetTensorImpl());
}
#endif

}  // namespace ponet

// ---------------------------------------------------------------------------------------------------------------
// Autocast and the CUDA allocator, for the trainer's mixed precision and memory report. 1.13 has only the
// CUDA-specific set_enabled()/set_autocast_gpu_dtype(); 2.4 added the per-device-type functions and deprecated
// the old ones (a warning we keep at zero), so each version gets its own spelling.
#include <ATen/autocast_mode.h>
#include <ATen/CPUGeneratorImpl.h>

#include <mutex>
#include <optional>
#if defined(PONET_WITH_CUDA)
#include <ATen/Functions.h>
#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace ponet {

// Turns CUDA autocast on with `dtype` for its lifetime (nothing when disabled), restoring the previous state
// and dropping the cast cache when it ends, as torch.autocast's __exit__ does.
class CudaAutocastGuard {
  public:
    CudaAutocastGuard(bool enabled, at::ScalarType dtype) : enabled_(enabled) {
        if (!enabled_) return;
#if PONET_TORCH_AT_LEAST(2, 4)
        was_enabled_ = at::autocast::is_autocast_enabled(at::kCUDA);
        old_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
        at::autocast::set_autocast_enabled(at::kCUDA, true);
        at::autocast::set_autocast_dtype(at::kCUDA, dtype);
#else
        was_enabled_ = at::autocast::is_enabled();
        old_dtype_ = at::autocast::get_autocast_gpu_dtype();
        at::autocast::set_enabled(true);
        at::autocast::set_autocast_gpu_dtype(dtype);
#endif
        at::autocast::increment_nesting();
    }
    ~CudaAutocastGuard() {
        if (!enabled_) return;
        if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if PONET_TORCH_AT_LEAST(2, 4)
        at::autocast::set_autocast_enabled(at::kCUDA, was_enabled_);
        at::autocast::set_autocast_dtype(at::kCUDA, old_dtype_);
#else
        at::autocast::set_enabled(was_enabled_);
        at::autocast::set_autocast_gpu_dtype(old_dtype_);
#endif
    }
    CudaAutocastGuard(const CudaAutocastGuard&) = delete;
    CudaAutocastGuard& operator=(const CudaAutocastGuard&) = delete;

  private:
    bool enabled_;
    bool was_enabled_ = false;
    at::ScalarType old_dtype_ = at::kHalf;
};

// The dtype CUDA autocast casts matmul inputs to when it is on for a CUDA tensor, or nullopt.
inline std::optional<at::ScalarType> cuda_autocast_dtype(const at::Tensor& t) {
    if (!t.is_cuda()) return std::nullopt;
#if PONET_TORCH_AT_LEAST(2, 4)
    if (!at::autocast::is_autocast_enabled(at::kCUDA)) return std::nullopt;
    return at::autocast::get_autocast_dtype(at::kCUDA);
#else
    if (!at::autocast::is_enabled()) return std::nullopt;
    return at::autocast::get_autocast_gpu_dtype();
#endif
}

// The default generators' states, for replaying dropout when a checkpointed layer is recomputed.
inline at::Tensor cpu_generator_state() { return at::detail::getDefaultCPUGenerator().get_state(); }
inline void set_cpu_generator_state(const at::Tensor& state) {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
}
inline at::Tensor cuda_generator_state(int device) {
#if defined(PONET_WITH_CUDA)
    return at::cuda::detail::getDefaultCUDAGenerator(static_cast<c10::DeviceIndex>(device)).get_state();
#else
    (void)device;
    return {};
#endif
}
inline void set_cuda_generator_state(int device, const at::Tensor& state) {
#if defined(PONET_WITH_CUDA)
    auto gen = at::cuda::detail::getDefaultCUDAGenerator(static_cast<c10::DeviceIndex>(device));
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
#else
    (void)device;
    (void)state;
#endif
}

#if defined(PONET_WITH_CUDA)
// The allocator's aggregate "allocated bytes" statistic on `device`. Index 0 of the stat arrays is the aggregate
// pool in every version, whose StatType enum moved between namespaces.
inline auto cuda_allocated_bytes_stat(int device) {
#if PONET_TORCH_AT_LEAST(2, 0)
    return c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(device)).allocated_bytes[0];
#else
    return c10::cuda::CUDACachingAllocator::getDeviceStats(device).allocated_bytes[0];
#endif
}
#endif

// Bytes the CUDA caching allocator has handed out on `device` (-1 in a build without CUDA).
inline int64_t cuda_memory_allocated(int device) {
#if defined(PONET_WITH_CUDA)
    return cuda_allocated_bytes_stat(device).current;
#else
    (void)device;
    return -1;
#endif
}

// The allocator's high-water mark of allocated bytes on `device` since the last reset (-1 without CUDA).
inline int64_t cuda_peak_memory_allocated(int device) {
#if defined(PONET_WITH_CUDA)
    return cuda_allocated_bytes_stat(device).peak;
#else
    (void)device;
    return -1;
#endif
}

// Starts a new high-water mark. The allocator sets itself up on the first allocation and its statistics calls
// fail before that ("Invalid device argument ... did you call init?"), so one small allocation comes first.
inline void cuda_reset_peak_memory(int device) {
#if defined(PONET_WITH_CUDA)
    (void)at::empty({1}, at::TensorOptions().device(c10::Device(c10::DeviceType::CUDA,
                                                                 static_cast<c10::DeviceIndex>(device))));
#if PONET_TORCH_AT_LEAST(2, 0)
    c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(device));
#else
    c10::cuda::CUDACachingAllocator::resetPeakStats(device);
#endif
#else
    (void)device;
#endif
}

}  // namespace ponet
