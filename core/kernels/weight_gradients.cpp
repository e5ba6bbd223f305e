// Weight gradients on a companion stream (see weight_gradients.h).
#include "core/kernels/weight_gradients.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>

#if defined(PONET_WITH_CUDA)
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace ponet {

#if defined(PONET_WITH_CUDA)
namespace {

enum class Mode { Off, Layer, Pass };

Mode mode() {
    static const Mode m = [] {
        const char* v = std::getenv("PONET_WGRAD_STREAM");
        if (!v || std::strcmp(v, "pass") == 0) return Mode::Pass;
        if (std::strcmp(v, "layer") == 0) return Mode::Layer;
        return Mode::Off;  // off, 0, or anything else
    }();
    return m;
}

using StreamKey = std::pair<int, cudaStream_t>;  // the default stream's handle is null on every device

// A stream some scope defers on: how many scopes, and whether a layer has queued work on its companion since the
// first began (only then may the stream wait for the companion: in a CUDA graph capture, waiting for a stream the
// capture never forked into is an error).
struct Deferral {
    int scopes = 0;
    bool forked = false;
};

// Each stream's companion, made on first use and kept for the process (a few at most: the default stream and the
// trainer's leased recording streams, which are reused), and the streams scopes defer on.
struct Registry {
    std::mutex mutex;
    std::map<StreamKey, c10::cuda::CUDAStream> companions;
    std::map<StreamKey, Deferral> deferring;
};
Registry& registry() {
    static Registry r;
    return r;
}

StreamKey key_of(const c10::cuda::CUDAStream& s) { return {s.device_index(), s.stream()}; }

c10::cuda::CUDAStream companion_of(const c10::cuda::CUDAStream& main) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    const auto it = r.companions.find(key_of(main));
    if (it != r.companions.end()) return it->second;
    c10::cuda::CUDAGuard on_device(main.device_index());
    cudaStream_t raw = nullptr;
    C10_CUDA_CHECK(cudaStreamCreateWithFlags(&raw, cudaStreamNonBlocking));
    const auto s = c10::cuda::getStreamFromExternal(raw, main.device_index());
    r.companions.emplace(key_of(main), s);
    return s;
}

// Whether a scope defers the wait on `main`; `forking`: work is being queued on its companion.
bool deferring(const c10::cuda::CUDAStream& main, bool forking) {
    if (mode() != Mode::Pass) return false;
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    const auto it = r.deferring.find(key_of(main));
    if (it == r.deferring.end()) return false;
    it->second.forked = it->second.forked || forking;
    return true;
}

// `main` waits for everything queued on its companion so far.
void join(const c10::cuda::CUDAStream& main) {
    at::cuda::CUDAEvent done;
    done.record(companion_of(main));
    done.block(main);
}

}  // namespace
#endif

DeferredWeightGradients::DeferredWeightGradients(const c10::Device& device, const std::vector<at::Tensor>& parameters,
                                                 bool allowed) {
#if defined(PONET_WITH_CUDA)
    if (!allowed || mode() != Mode::Pass || !device.is_cuda()) return;
    for (const auto& p : parameters)
        if (p.grad().defined()) return;
    const auto index = static_cast<c10::DeviceIndex>(device.has_index() ? device.index() : 0);
    const auto main = c10::cuda::getCurrentCUDAStream(index);
    if (main == c10::cuda::getDefaultCUDAStream(index)) return;
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    ++r.deferring[key_of(main)].scopes;
    active_ = true;
    device_index_ = index;
    stream_ = main.stream();
#else
    (void)device, (void)parameters, (void)allowed;
#endif
}

DeferredWeightGradients::~DeferredWeightGradients() {
#if defined(PONET_WITH_CUDA)
    if (!active_) return;
    const auto index = static_cast<c10::DeviceIndex>(device_index_);
    const auto main = c10::cuda::getStreamFromExternal(static_cast<cudaStream_t>(stream_), index);
    bool forked = false;
    {
        Registry& r = registry();
        std::lock_guard<std::mutex> lock(r.mutex);
        Deferral& d = r.deferring[key_of(main)];
        forked = d.forked;
        if (--d.scopes == 0) r.deferring.erase(key_of(main));
    }
    if (!forked) return;  // nothing to wait for (and, while capturing, nothing the stream may wait for)
    try {
        join(main);
    } catch (...) {
        // A broken device: the caller's next call reports it.
    }
#endif
}

at::Tensor start_weight_gradient(const std::vector<at::Tensor>& inputs, const std::function<at::Tensor()>& work) {
#if defined(PONET_WITH_CUDA)
    if (mode() == Mode::Off) return work();
    const auto main = c10::cuda::getCurrentCUDAStream();
    const auto side = companion_of(main);
    at::cuda::CUDAEvent forked;
    forked.record(main);
    forked.block(side);
    at::Tensor out;
    {
        c10::cuda::CUDAStreamGuard on_side(side);
        out = work();
    }
    // Waited for only at the scope's end: the inputs' memory must not go back to the current stream's allocations
    // before the companion has read them.
    if (deferring(main, true))
        for (const auto& t : inputs)
            if (t.defined()) t.record_stream(side);
    return out;
#else
    (void)inputs;
    return work();
#endif
}

void finish_weight_gradients() {
#if defined(PONET_WITH_CUDA)
    if (mode() == Mode::Off) return;
    const auto main = c10::cuda::getCurrentCUDAStream();
    if (!deferring(main, false)) join(main);
#endif
}

}  // namespace ponet
