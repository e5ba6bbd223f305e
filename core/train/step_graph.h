// One training step recorded as a CUDA graph and replayed: for a small model on short rows an ordinary step is
// bound by the host's kernel launches (a few hundred autograd ops), not by the GPU. Shared by the trainer
// (train.cuda_graphs) and `ponet bench --cuda-graphs`.
#pragma once
#include <c10/core/Device.h>

#include <functional>
#include <memory>
#include <string>

#include "core/util/error.h"

namespace ponet {

// Whether this build can record steps as CUDA graphs (CUDA, and LibTorch 2.1+ for the capture mode argument).
bool cuda_graphs_built();

// Set once a capture has failed part-way in this process. Such a failure can leave CUDA's random generator in
// capture mode (LibTorch offers no public way back), so no later capture is tried and dropout drawn afterwards
// cannot be trusted: the program must be restarted.
bool graph_capture_failed();

// While it lives, the current stream of `device` is the one its steps are recorded on (and their ordinary steps
// run on): capture needs a stream other than the default one, and the ordinary steps before a capture must run on
// the same stream (cuBLAS keeps a workspace per handle and stream, made on first use, which a capture must not be
// the one to make). Scopes alive at once have streams of their own (no other thread's work lands on a stream being
// captured); a scope that ends gives its stream to the next, so that no workspace is left behind per capture. It
// starts after the work already queued on the caller's stream, and the caller's stream waits for its work when the
// scope ends. CUDA builds only; throws ponet::Error elsewhere.
class CaptureStreamScope {
  public:
    explicit CaptureStreamScope(const c10::Device& device);
    ~CaptureStreamScope();
    CaptureStreamScope(const CaptureStreamScope&) = delete;
    CaptureStreamScope& operator=(const CaptureStreamScope&) = delete;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// A capture that failed part-way (graph_capture_failed() is set from then on).
class GraphCaptureError : public Error {
  public:
    using Error::Error;
};

class StepGraph {
  public:
    StepGraph();
    ~StepGraph();
    StepGraph(const StepGraph&) = delete;
    StepGraph& operator=(const StepGraph&) = delete;

    // Records `body` as one graph; nothing runs until replay(). Call it inside a CaptureStreamScope. `body` must
    // only queue work on the current stream (no host synchronisation, no tensor read back); tensors it allocates
    // live in the graph's own memory pool for as long as this object does. Only this thread's unsafe CUDA calls are
    // forbidden meanwhile, so other threads may go on using the device (dropout they draw during the capture has
    // not been checked against a captured step's). Throws GraphCaptureError when the capture fails (the message
    // says why) and ponet::Error when graph_capture_failed() was already set or the build has no graphs.
    void capture(const std::function<void()>& body);
    // Runs the recorded work again on the current stream (the capture stream's device).
    void replay();
    bool captured() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ponet
