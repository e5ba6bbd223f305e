// Data-parallel runs, the process side (torch-free, so the GUI can use it): who this process is in a world of
// workers (WorldSpec, from the torchrun-style environment), and the local launcher that starts one worker
// process per device, watches them and stops the rest when one fails.
#pragma once
#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ponet {

// One worker's place in a data-parallel run. The environment variables are the ones torchrun sets, so an
// external launcher can start `ponet` directly.
struct WorldSpec {
    int rank = 0;              // RANK
    int world_size = 1;        // WORLD_SIZE
    int local_rank = 0;        // LOCAL_RANK: the device index on this machine
    int local_world_size = 1;  // LOCAL_WORLD_SIZE
    std::string master_addr = "127.0.0.1";  // MASTER_ADDR: where rank 0's rendezvous store listens
    int master_port = 29500;                // MASTER_PORT
    // PONET_DIST_TIMEOUT: seconds a collective (and the rendezvous) may wait for the other workers before
    // the run fails with a message saying which worker did not answer.
    double timeout_seconds = 600;
};

// The world described by RANK/WORLD_SIZE/... in the environment; nothing when WORLD_SIZE is not set.
// Throws InvalidInput naming the variable when one is malformed or inconsistent.
std::optional<WorldSpec> world_from_environment();

// What `ponet ... --nproc-per-node N [--nnodes M --node-rank R --master-addr A --master-port P]` asks for.
struct LaunchPlan {
    int nproc_per_node = 1;
    int nnodes = 1;
    int node_rank = 0;
    std::string master_addr = "127.0.0.1";
    int master_port = 29500;
    double timeout_seconds = 600;
    // After the first worker fails, how long the others get to notice it and finish on their own (rank 0
    // records the failure in status.json) before they are terminated.
    double grace_seconds = 20;
    void validate() const;  // throws InvalidInput
};

// The environment of local worker `local_rank` under `plan`, on top of `base` (KEY=VALUE entries): RANK,
// WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT, PONET_DIST_TIMEOUT, PONET_DIST_WORKER=1,
// NCCL_NVLS_ENABLE=0 (NVLink multicast stays off unless the user set it) and, unless set, OMP_NUM_THREADS
// = the CPU cores shared out among the local workers.
std::vector<std::string> worker_environment(const LaunchPlan& plan, int local_rank,
                                            const std::vector<std::string>& base);

// Whether this build's LibTorch has the c10d backend that data-parallel training on `device_type` needs ("cpu":
// Gloo, "cuda": NCCL); `why` gets the reason, in words a user can act on, when it has not. Defined beside the
// process group (distributed.cpp); declared here so that torch-free callers (the GUI) can ask before they launch.
bool c10d_backend_available(const std::string& device_type, std::string* why = nullptr);

// True in a process that our own launcher started (PONET_DIST_WORKER=1): it must not launch again.
bool is_launched_worker();

struct WorkerReport {
    int rank = 0;
    int pid = 0;
    int exit_code = -1;  // -1 while running or when killed by a signal
    int signal = 0;      // the signal that ended it, 0 if none
    bool stopped_by_launcher = false;
};

struct LaunchResult {
    int exit_code = 0;  // for the launcher's own exit: 0 all finished, 130 stopped, else the first failure's
    std::vector<WorkerReport> workers;
    std::string message;  // which worker failed first and how; empty when all finished
};

// Starts plan.nproc_per_node copies of `argv` (argv[0] is the program) with worker_environment(), each in a
// process group of its own, and waits for them. The first worker that exits non-zero (or is killed) gives
// the others grace_seconds, then SIGTERM, then SIGKILL 5 s later; so the launcher never waits forever on a
// dead run. `forward` (may be null) is polled: a signal number stored there is taken (reset to 0) and passed
// on to every worker: SIGINT as it is (a first Ctrl-C saves a checkpoint, a second ends them), anything else as
// SIGTERM. `log` receives one line per event. Throws Error when a worker cannot be started.
LaunchResult launch_local_workers(const std::vector<std::string>& argv, const LaunchPlan& plan,
                                  const std::function<void(const std::string&)>& log,
                                  std::atomic<int>* forward = nullptr);

}  // namespace ponet
