// Weight gradients off the backward pass's critical path. In the backward of our fused linear layers (linear_fused.h)
// the input gradient dX = dY·W feeds the next layer's backward, but the weight gradient dW = dYᵀ·X (and a bias
// gradient's final sum) is read by nothing until the optimizer. On CUDA they run on a companion stream of the
// backward's stream, beside dX: at the Table 2 sizes each product fills a fraction of the GPU, so the two overlap.
// By default each layer's backward waits for its companion work before it returns; inside a DeferredWeightGradients
// scope the wait moves to the end of the scope (the whole backward pass), so the weight gradients overlap the rest
// of the backward as well. PONET_WGRAD_STREAM in the environment picks, for measuring: `off` (or 0: everything on
// the backward's stream, as before), `layer` (the per-layer wait only) or `pass` (the default: deferred in a scope).
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <functional>
#include <vector>

namespace ponet {

// While it lives, weight gradients that fused layers compute in a backward pass on the current stream of `device`
// are waited for when it ends rather than in each layer. Only for a caller that reads no parameter's gradient before
// then: no gradient hooks (the data-parallel reducer), `allowed` false otherwise. The scope does nothing when a
// parameter in `parameters` already has a gradient (accumulation would read it at once), on the CPU, on the default
// stream (which every thread shares, so another thread's backward there could take the deferral without being able
// to wait for it), with PONET_WGRAD_STREAM other than `pass`, and in builds without CUDA.
class DeferredWeightGradients {
  public:
    DeferredWeightGradients(const c10::Device& device, const std::vector<at::Tensor>& parameters, bool allowed);
    ~DeferredWeightGradients();
    DeferredWeightGradients(const DeferredWeightGradients&) = delete;
    DeferredWeightGradients& operator=(const DeferredWeightGradients&) = delete;
    bool active() const { return active_; }

  private:
    bool active_ = false;
    int device_index_ = -1;
    void* stream_ = nullptr;  // the cudaStream_t deferred on
};

// For the fused layers' backward (CUDA tensors, current stream on their device). Starts `work` on the companion
// stream of the current stream, after everything queued on the current stream so far, and returns its result (not
// ready until the companion's work is waited for). `inputs`: the tensors `work` reads that the current stream made;
// where the wait is deferred they are kept from reuse until the companion is done with them. With
// PONET_WGRAD_STREAM=off (and in builds without CUDA) `work` simply runs on the current stream.
at::Tensor start_weight_gradient(const std::vector<at::Tensor>& inputs, const std::function<at::Tensor()>& work);
// Makes the current stream wait for the work start_weight_gradient() queued, unless a DeferredWeightGradients scope
// on this stream waits for it at its end.
void finish_weight_gradients();

}  // namespace ponet
