// CUDA graph capture of one training step (see step_graph.h).
#include "core/train/step_graph.h"

#include <atomic>
#include <map>
#include <mutex>
#include <vector>

#include "core/util/torch_compat.h"

#if defined(PONET_WITH_CUDA)
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#if PONET_TORCH_AT_LEAST(2, 1)
#include <ATen/cuda/CUDAGraph.h>
#define PONET_STEP_GRAPHS 1
#endif
#endif

namespace ponet {
namespace {

std::atomic<bool>& capture_failed_flag() {
    static std::atomic<bool> failed{false};
    return failed;
}

}  // namespace

bool cuda_graphs_built() {
#if defined(PONET_STEP_GRAPHS)
    return true;
#else
    return false;
#endif
}

bool graph_capture_failed() { return capture_failed_flag().load(); }

#if defined(PONET_WITH_CUDA)
namespace {

// The recording streams of each device not in use by a scope. A scope takes one (or makes one where none is free)
// and gives it back, so that scopes alive at once never share a stream (work another thread queued on a stream
// being captured would be recorded into that graph) and their number never grows past the most alive at once: each
// stream keeps a cuBLAS workspace for good, and the app starts every run and benchmark on a thread of its own.
std::mutex& free_streams_mutex() {
    static std::mutex mutex;
    return mutex;
}
std::map<c10::DeviceIndex, std::vector<c10::cuda::CUDAStream>>& free_streams() {
    static std::map<c10::DeviceIndex, std::vector<c10::cuda::CUDAStream>> streams;
    return streams;
}

c10::cuda::CUDAStream take_stream(c10::DeviceIndex index) {
    {
        std::lock_guard<std::mutex> lock(free_streams_mutex());
        auto& free = free_streams()[index];
        if (!free.empty()) {
            const c10::cuda::CUDAStream s = free.back();
            free.pop_back();
            return s;
        }
    }
    c10::cuda::CUDAGuard on_device(index);
    cudaStream_t raw = nullptr;
    C10_CUDA_CHECK(cudaStreamCreateWithFlags(&raw, cudaStreamNonBlocking));
    return c10::cuda::getStreamFromExternal(raw, index);
}

void give_back_stream(c10::DeviceIndex index, c10::cuda::CUDAStream s) {
    std::lock_guard<std::mutex> lock(free_streams_mutex());
    free_streams()[index].push_back(s);
}

}  // namespace
#endif

struct CaptureStreamScope::Impl {
#if defined(PONET_WITH_CUDA)
    c10::DeviceIndex index;
    c10::cuda::CUDAStream caller, side;
    c10::cuda::CUDAStreamGuard on_side;
    Impl(c10::DeviceIndex i, c10::cuda::CUDAStream c, c10::cuda::CUDAStream s)
        : index(i), caller(c), side(s), on_side(s) {}
#endif
};

CaptureStreamScope::CaptureStreamScope(const c10::Device& device) {
#if defined(PONET_WITH_CUDA)
    if (!device.is_cuda()) throw Error("a capture stream needs a CUDA device, not " + device.str());
    const auto index = static_cast<c10::DeviceIndex>(device.has_index() ? device.index() : 0);
    const c10::cuda::CUDAStream side = take_stream(index);
    const auto caller = at::cuda::getCurrentCUDAStream(index);
    try {
        at::cuda::CUDAEvent ready;
        ready.record(caller);
        ready.block(side);
    } catch (...) {
        give_back_stream(index, side);
        throw;
    }
    impl_ = std::make_unique<Impl>(index, caller, side);
#else
    (void)device;
    throw Error("this build has no CUDA");
#endif
}

CaptureStreamScope::~CaptureStreamScope() {
#if defined(PONET_WITH_CUDA)
    try {
        at::cuda::CUDAEvent done;
        done.record(impl_->side);
        done.block(impl_->caller);
    } catch (...) {
        // A broken device: the caller's next call reports it.
    }
    const c10::DeviceIndex index = impl_->index;
    const c10::cuda::CUDAStream side = impl_->side;
    impl_.reset();  // the caller's stream is current again
    give_back_stream(index, side);
#endif
}

struct StepGraph::Impl {
#if defined(PONET_STEP_GRAPHS)
    std::unique_ptr<at::cuda::CUDAGraph> graph;
#endif
};

StepGraph::StepGraph() : impl_(std::make_unique<Impl>()) {}
StepGraph::~StepGraph() = default;

void StepGraph::capture(const std::function<void()>& body) {
#if defined(PONET_STEP_GRAPHS)
    if (graph_capture_failed())
        throw Error("an earlier CUDA graph capture failed in this process; restart the program to use graphs again");
    impl_->graph.reset();
    auto g = std::make_unique<at::cuda::CUDAGraph>();
    bool begun = false;
    try {
        // Thread-local capture mode: only this thread's unsafe CUDA calls (a synchronisation, a plain cudaMalloc)
        // are forbidden while recording.
        g->capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
        begun = true;
        body();
        begun = false;
        g->capture_end();
    } catch (const std::exception& e) {
        if (begun) {
            try {
                g->capture_end();
            } catch (...) {
            }
        }
        capture_failed_flag().store(true);
        throw GraphCaptureError(first_line(e.what()));
    }
    impl_->graph = std::move(g);
#else
    (void)body;
    throw Error("this build cannot record CUDA graphs (it needs CUDA and LibTorch 2.1 or newer)");
#endif
}

void StepGraph::replay() {
#if defined(PONET_STEP_GRAPHS)
    if (!impl_->graph) throw Error("no CUDA graph was recorded");
    impl_->graph->replay();
#else
    throw Error("this build cannot record CUDA graphs");
#endif
}

bool StepGraph::captured() const {
#if defined(PONET_STEP_GRAPHS)
    return impl_->graph != nullptr;
#else
    return false;
#endif
}

}  // namespace ponet
