// Data-parallel training over PyTorch's c10d: a process group (Gloo on CPUs, NCCL on CUDA) after a TCPStore
// rendezvous, and the gradient reducer that all-reduces parameter gradients in ~25 MB buckets while backward
// is still running. Every collective fails with a message a user can act on (which operation, which rank, the
// timeout), never a silent hang.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/data/batching.h"
#include "core/train/launcher.h"

namespace ponet {

// Whether this build's LibTorch has a c10d backend for `device`'s type; `why` gets the reason when not.
bool c10d_available(const torch::Device& device, std::string* why = nullptr);
// "gloo, nccl", "gloo", or "" (for --version and the docs).
std::string c10d_backends();

// A pending collective.
class PendingCollective {
  public:
    virtual ~PendingCollective() = default;
    virtual void wait() = 0;  // throws Error with the reason
};

class Communicator {
  public:
    // Rendezvous at world.master_addr:master_port (rank 0 hosts the store) and build the process group for
    // `device` (NCCL for CUDA, Gloo otherwise). Throws Error when c10d is missing or a worker does not come.
    static std::unique_ptr<Communicator> connect(const WorldSpec& world, const torch::Device& device);
    virtual ~Communicator() = default;

    int rank() const { return world_.rank; }
    int size() const { return world_.world_size; }
    const WorldSpec& world() const { return world_; }
    const std::string& backend() const { return backend_; }
    // Where collective tensors must live (the CUDA device for NCCL, the CPU for Gloo).
    const torch::Device& device() const { return device_; }

    // Collectives; every rank calls them in the same order. `t` is reduced in place.
    virtual std::unique_ptr<PendingCollective> allreduce_sum_async(torch::Tensor& t) = 0;
    void allreduce_sum(torch::Tensor& t);
    virtual void broadcast(torch::Tensor& t, int root) = 0;
    // Convenience: the element-wise sum over ranks of a small vector.
    std::vector<double> sum(const std::vector<double>& values);
    // Every rank passes a vector of the same length; each returns rank 0's.
    std::vector<int64_t> broadcast_from_root(const std::vector<int64_t>& values);
    // Parameters and buffers of `module` are overwritten by rank 0's.
    void broadcast_module(torch::nn::Module& module);

    // "rank R: <what> failed: <reason>", with the hint that another worker stopped or timed out.
    [[noreturn]] void fail(const std::string& what, const std::string& reason) const;

  protected:
    Communicator(WorldSpec world, torch::Device device, std::string backend)
        : world_(std::move(world)), device_(device), backend_(std::move(backend)) {}
    WorldSpec world_;
    torch::Device device_;
    std::string backend_;
};

// All-reduces (sums) the gradients of `params` across the world. Hooks on the parameters copy each gradient
// into its bucket as backward produces it; a bucket whose gradients are all in is reduced at once, in bucket
// order (the same on every rank), so communication overlaps the rest of backward. How many gradient
// contributions each parameter receives in one step (tied weights and gradient checkpointing give some of them
// several) is learned on the first step, which reduces after backward. A parameter that no rank saw a
// gradient for keeps its gradient untouched, as in a single process.
class GradientReducer {
  public:
    GradientReducer(std::vector<torch::Tensor> params, Communicator& comm, int64_t bucket_bytes = 25 << 20);
    ~GradientReducer();
    GradientReducer(const GradientReducer&) = delete;
    GradientReducer& operator=(const GradientReducer&) = delete;

    // Before the backward of each micro-batch; `last` marks the optimizer step's last one.
    void before_backward(bool last);
    // After the step's backward passes (also when this rank had nothing to compute): reduces what is still
    // pending, waits, and writes the sums into the parameters' .grad. Every rank must call it every step.
    void finish_step();

    int64_t bucket_count() const;
    bool overlapping() const;  // true once the contribution counts are known

  private:
    struct State;
    std::unique_ptr<State> s_;
};

// Rank `rank`'s rows of a global batch: rows [rank * n / world, (rank + 1) * n / world), so the ranks' shards
// are disjoint, cover the batch and differ in size by at most one (a rank may get none of a short last batch).
// Padding stays that of the global batch, so every row computes exactly as in a single process.
Batch shard_batch(const Batch& global, int rank, int world);

}  // namespace ponet
