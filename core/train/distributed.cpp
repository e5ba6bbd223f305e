// c10d process groups behind Communicator, and the bucketed, overlapped gradient all-reduce.
//
// LibTorch versions: 1.13's ProcessGroupGloo derives from c10d::ProcessGroup, 2.x's from c10d::Backend; both
// have the same constructor (store, rank, size, options), Options::create(timeout), and allreduce/broadcast
// returning c10d::Work with wait(). We hold the concrete classes, never a base pointer, so one source builds
// against both. The build defines PONET_WITH_C10D_GLOO / PONET_WITH_C10D_NCCL for this file only when a probe
// compiled and linked the backend (core/CMakeLists.txt).
#include "core/train/distributed.h"

#include <algorithm>
#include <chrono>
#include <mutex>

#include "core/util/error.h"
#include "core/util/torch_compat.h"

#if defined(PONET_WITH_C10D_GLOO) || defined(PONET_WITH_C10D_NCCL)
#define PONET_WITH_C10D 1
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#if defined(PONET_WITH_C10D_GLOO)
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if defined(PONET_WITH_C10D_NCCL)
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace ponet {

namespace {

std::string reason_of(const std::exception& e) {
    if (const auto* c = dynamic_cast<const c10::Error*>(&e)) {
        std::string s = c->what_without_backtrace();
        const auto nl = s.find('\n');
        return nl == std::string::npos ? s : s.substr(0, nl);
    }
    return e.what();
}

std::string seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", s);
    return buf;
}

}  // namespace

bool c10d_available(const torch::Device& device, std::string* why) {
    if (device.is_cuda()) {
#if defined(PONET_WITH_C10D_NCCL)
        return true;
#else
        if (why)
            *why = "this build's LibTorch has no c10d NCCL backend, which data-parallel training on CUDA needs "
                   "(build against a CUDA LibTorch with NCCL)";
        return false;
#endif
    }
#if defined(PONET_WITH_C10D_GLOO)
    return true;
#else
    if (why)
        *why = "this build's LibTorch has no c10d Gloo backend, which data-parallel training on the CPU needs "
               "(on Debian, install libgloo-dev and rebuild)";
    return false;
#endif
}

bool c10d_backend_available(const std::string& device_type, std::string* why) {
    return c10d_available(torch::Device(device_type == "cuda" ? torch::kCUDA : torch::kCPU), why);
}

std::string c10d_backends() {
    std::string s;
#if defined(PONET_WITH_C10D_GLOO)
    s += "gloo";
#endif
#if defined(PONET_WITH_C10D_NCCL)
    s += s.empty() ? "nccl" : ", nccl";
#endif
    return s;
}

void Communicator::fail(const std::string& what, const std::string& reason) const {
    throw Error("rank " + std::to_string(rank()) + " of " + std::to_string(size()) + ": " + what +
                " failed: " + reason + ". Another worker has stopped or did not answer within " +
                seconds(world_.timeout_seconds) + " s (PONET_DIST_TIMEOUT); see its log");
}

void Communicator::allreduce_sum(torch::Tensor& t) {
    allreduce_sum_async(t)->wait();
}

std::vector<double> Communicator::sum(const std::vector<double>& values) {
    torch::Tensor t =
        torch::tensor(values, torch::TensorOptions().dtype(torch::kDouble)).to(device_);
    allreduce_sum(t);
    t = t.to(torch::kCPU).contiguous();
    return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

std::vector<int64_t> Communicator::broadcast_from_root(const std::vector<int64_t>& values) {
    torch::Tensor t = torch::tensor(values, torch::TensorOptions().dtype(torch::kLong)).to(device_);
    broadcast(t, 0);
    t = t.to(torch::kCPU).contiguous();
    return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
}

void Communicator::broadcast_module(torch::nn::Module& module) {
    torch::NoGradGuard no_grad;
    auto one = [&](torch::Tensor t) {
        if (!t.defined()) return;
        if (t.is_contiguous() && t.device() == device_) {
            torch::Tensor d = t.detach();
            broadcast(d, 0);
            return;
        }
        torch::Tensor c = t.detach().to(device_).contiguous();
        broadcast(c, 0);
        t.detach().copy_(c);
    };
    for (auto& p : module.parameters(true)) one(p);
    for (auto& b : module.buffers(true)) one(b);
}

#if defined(PONET_WITH_C10D)
namespace {

class WorkWait : public PendingCollective {
  public:
    WorkWait(c10::intrusive_ptr<c10d::Work> work, const Communicator& comm, std::string what)
        : work_(std::move(work)), comm_(comm), what_(std::move(what)) {}
    void wait() override {
        try {
            work_->wait();
        } catch (const std::exception& e) {
            comm_.fail(what_, reason_of(e));
        }
    }

  private:
    c10::intrusive_ptr<c10d::Work> work_;
    const Communicator& comm_;
    std::string what_;
};

// One class for both backends: PG is the concrete c10d class (see the file comment).
template <class PG>
class C10dCommunicator : public Communicator {
  public:
    C10dCommunicator(WorldSpec w, torch::Device d, std::string name, c10::intrusive_ptr<c10d::Store> store,
                     c10::intrusive_ptr<PG> pg)
        : Communicator(std::move(w), d, std::move(name)), store_(std::move(store)), pg_(std::move(pg)) {}

    std::unique_ptr<PendingCollective> allreduce_sum_async(torch::Tensor& t) override {
        std::vector<at::Tensor> v{t};
        try {
            return std::make_unique<WorkWait>(pg_->allreduce(v), *this, "all-reduce");
        } catch (const std::exception& e) {
            fail("all-reduce", reason_of(e));
        }
    }
    void broadcast(torch::Tensor& t, int root) override {
        std::vector<at::Tensor> v{t};
        c10d::BroadcastOptions o;
        o.rootRank = root;
        try {
            pg_->broadcast(v, o)->wait();
        } catch (const std::exception& e) {
            fail("broadcast from rank " + std::to_string(root), reason_of(e));
        }
    }

  private:
    c10::intrusive_ptr<c10d::Store> store_;
    c10::intrusive_ptr<PG> pg_;
};

bool is_loopback(const std::string& addr) {
    return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

}  // namespace
#endif

std::unique_ptr<Communicator> Communicator::connect(const WorldSpec& world, const torch::Device& device) {
    std::string why;
    if (!c10d_available(device, &why)) throw Error(why);
#if defined(PONET_WITH_C10D)
    const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(world.timeout_seconds * 1000));
    c10::intrusive_ptr<c10d::Store> store;
    try {
        c10d::TCPStoreOptions so;
        so.port = static_cast<std::uint16_t>(world.master_port);
        so.isServer = world.rank == 0;
        so.numWorkers = static_cast<std::size_t>(world.world_size);
        so.waitWorkers = true;
        so.timeout = timeout;
        store = c10::make_intrusive<c10d::TCPStore>(world.master_addr, so);
    } catch (const std::exception& e) {
        throw Error("rank " + std::to_string(world.rank) + " of " + std::to_string(world.world_size) +
                    ": the rendezvous at " + world.master_addr + ":" + std::to_string(world.master_port) +
                    " failed (" + reason_of(e) + "). " +
                    (world.rank == 0 ? "Is the port in use? Choose another with --master-port"
                                     : "Is rank 0 running and the address reachable?") +
                    "; every worker must join within " + seconds(world.timeout_seconds) + " s");
    }
    try {
        if (device.is_cuda()) {
#if defined(PONET_WITH_C10D_NCCL)
            c10::cuda::set_device(static_cast<c10::DeviceIndex>(device.index() < 0 ? 0 : device.index()));
            auto opts = c10d::ProcessGroupNCCL::Options::create();
            opts->timeout = timeout;
            auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, world.rank, world.world_size, opts);
            return std::make_unique<C10dCommunicator<c10d::ProcessGroupNCCL>>(world, device, "nccl", store, pg);
#endif
        }
#if defined(PONET_WITH_C10D_GLOO)
        auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
        if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
            opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
        else if (is_loopback(world.master_addr))
            opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
        else
            opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
        auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, world.rank, world.world_size, opts);
        return std::make_unique<C10dCommunicator<c10d::ProcessGroupGloo>>(world, torch::Device(torch::kCPU),
                                                                          "gloo", store, pg);
#endif
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        throw Error("rank " + std::to_string(world.rank) + " of " + std::to_string(world.world_size) +
                    ": building the process group failed: " + reason_of(e));
    }
#endif
    throw Error(why.empty() ? "no c10d backend for " + device.str() : why);
}

// ---------------------------------------------------------------------------------------------------------------
// Gradient reducer

struct GradientReducer::State {
    struct Slot {
        size_t bucket = 0;
        int64_t offset = 0, numel = 0, presence = 0;  // offsets into the bucket's flat tensor
        int expected = -1, seen = 0;
    };
    struct Bucket {
        torch::Tensor flat;  // the gradients, then one presence flag per parameter
        int64_t presence_start = 0;
        int needed = 0, ready = 0;
        bool launched = false;
        std::unique_ptr<PendingCollective> pending;
    };
    Communicator& comm;
    std::vector<torch::Tensor> params;
    std::vector<Slot> slots;
    std::vector<Bucket> buckets;
    std::vector<unsigned> hooks;
    std::mutex mu;
    bool last = false, learned = false, any_hook = false;
    size_t next = 0;

    explicit State(Communicator& c) : comm(c) {}

    void launch_ready() {
        while (next < buckets.size() && learned && buckets[next].ready >= buckets[next].needed) launch(next++);
    }
    void launch(size_t k) {
        Bucket& b = buckets[k];
        b.launched = true;
        b.pending = comm.allreduce_sum_async(b.flat);
    }
    void on_grad(size_t i, const torch::Tensor& g) {
        if (!g.defined()) return;
        std::lock_guard<std::mutex> lock(mu);
        Slot& s = slots[i];
        Bucket& b = buckets[s.bucket];
        if (b.launched)
            throw Error("data-parallel training: a gradient of parameter " + std::to_string(i) +
                        " arrived after its bucket was reduced (this model's backward differs between steps)");
        torch::NoGradGuard no_grad;
        b.flat.narrow(0, s.offset, s.numel).add_(g.reshape({-1}));
        b.flat.narrow(0, s.presence, 1).fill_(1);
        if (!last) return;
        any_hook = true;
        if (++s.seen == s.expected) ++b.ready;
        launch_ready();
    }
};

GradientReducer::GradientReducer(std::vector<torch::Tensor> params, Communicator& comm, int64_t bucket_bytes)
    : s_(std::make_unique<State>(comm)) {
    s_->params = std::move(params);
    const size_t n = s_->params.size();
    s_->slots.resize(n);
    // Reverse registration order approximates the order backward produces gradients in (PyTorch DDP does the
    // same), so the first buckets fill first.
    std::vector<std::vector<size_t>> groups;
    torch::ScalarType group_type = torch::kFloat;
    int64_t group_bytes = 0;
    for (size_t k = n; k-- > 0;) {
        const torch::Tensor& p = s_->params[k];
        const int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
        if (groups.empty() || p.scalar_type() != group_type || group_bytes + bytes > bucket_bytes) {
            if (groups.empty() || !groups.back().empty()) groups.emplace_back();
            group_type = p.scalar_type();
            group_bytes = 0;
        }
        groups.back().push_back(k);
        group_bytes += bytes;
    }
    for (const auto& g : groups) {
        if (g.empty()) continue;
        State::Bucket b;
        int64_t offset = 0;
        for (size_t k : g) {
            State::Slot& s = s_->slots[k];
            s.bucket = s_->buckets.size();
            s.offset = offset;
            s.numel = s_->params[k].numel();
            offset += s.numel;
        }
        int64_t presence = offset;
        b.presence_start = offset;
        for (size_t k : g) s_->slots[k].presence = presence++;
        const torch::Tensor& first = s_->params[g.front()];
        b.flat = torch::zeros({presence}, torch::TensorOptions().dtype(first.scalar_type()).device(first.device()));
        s_->buckets.push_back(std::move(b));
    }
    State* st = s_.get();
    for (size_t k = 0; k < n; ++k)
        s_->hooks.push_back(s_->params[k].register_hook([st, k](torch::Tensor g) { st->on_grad(k, g); }));
}

GradientReducer::~GradientReducer() {
    for (size_t k = 0; k < s_->hooks.size(); ++k) {
        try {
            s_->params[k].remove_hook(s_->hooks[k]);
        } catch (const std::exception&) {  // a parameter freed first has no hooks left to remove
        }
    }
}

int64_t GradientReducer::bucket_count() const {
    return static_cast<int64_t>(s_->buckets.size());
}

bool GradientReducer::overlapping() const {
    return s_->learned;
}

void GradientReducer::before_backward(bool last) {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->last = last;
    if (!last) return;
    for (auto& s : s_->slots) s.seen = 0;
    for (auto& b : s_->buckets) b.ready = 0;
}

void GradientReducer::finish_step() {
    State& s = *s_;
    std::lock_guard<std::mutex> lock(s.mu);
    while (s.next < s.buckets.size()) s.launch(s.next++);
    for (auto& b : s.buckets) {
        b.pending->wait();
        b.pending.reset();
    }
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> presence(s.buckets.size());
    for (size_t k = 0; k < s.params.size(); ++k) {
        const State::Slot& sl = s.slots[k];
        State::Bucket& b = s.buckets[sl.bucket];
        if (!presence[sl.bucket].defined())
            presence[sl.bucket] = b.flat.narrow(0, b.presence_start, b.flat.numel() - b.presence_start)
                                      .to(torch::kCPU, torch::kFloat)
                                      .contiguous();
        if (presence[sl.bucket].data_ptr<float>()[sl.presence - b.presence_start] <= 0)
            continue;  // no rank had a gradient for it
        torch::Tensor& p = s.params[k];
        torch::Tensor view = b.flat.narrow(0, sl.offset, sl.numel).view(p.sizes());
        if (p.grad().defined())
            p.mutable_grad().copy_(view);
        else
            p.mutable_grad() = view.clone();
    }
    if (!s.learned && s.any_hook) {
        for (auto& b : s.buckets) b.needed = 0;
        for (auto& sl : s.slots) {
            sl.expected = sl.seen;
            if (sl.expected > 0) ++s.buckets[sl.bucket].needed;
        }
        s.learned = true;
    }
    for (auto& b : s.buckets) {
        b.flat.zero_();
        b.launched = false;
        b.ready = 0;
    }
    for (auto& sl : s.slots) sl.seen = 0;
    s.next = 0;
    s.any_hook = false;
    s.last = false;
}

// ---------------------------------------------------------------------------------------------------------------
// Sharding

Batch shard_batch(const Batch& global, int rank, int world) {
    const int64_t n = global.size();
    const int64_t begin = n * rank / world, end = n * (rank + 1) / world;
    Batch b;
    auto rows = [&](const torch::Tensor& t) {
        return t.defined() ? t.narrow(0, begin, end - begin) : torch::Tensor();
    };
    b.input_ids = rows(global.input_ids);
    b.attention_mask = rows(global.attention_mask);
    b.token_type_ids = rows(global.token_type_ids);
    b.segment_ids = rows(global.segment_ids);
    b.labels = rows(global.labels);
    b.sso_labels = rows(global.sso_labels);
    b.special_tokens_mask = rows(global.special_tokens_mask);
    b.tokens = b.attention_mask.defined() && end > begin ? b.attention_mask.sum().item<int64_t>() : 0;
    b.ids.assign(global.ids.begin() + begin, global.ids.begin() + end);
    return b;
}

}  // namespace ponet
