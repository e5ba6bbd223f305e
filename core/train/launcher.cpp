// The worker environment and the local launcher: posix_spawn, a process group per worker, a watch loop.
#include "core/train/launcher.h"

#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/util/error.h"

extern char** environ;

namespace ponet {

namespace {

std::optional<std::string> env(const char* name) {
    const char* v = std::getenv(name);
    if (!v || !*v) return std::nullopt;
    return std::string(v);
}

int env_int(const char* name, int fallback, int min, int max) {
    const auto v = env(name);
    if (!v) return fallback;
    try {
        size_t used = 0;
        const long n = std::stol(*v, &used);
        if (used == v->size() && n >= min && n <= max) return static_cast<int>(n);
    } catch (const std::exception&) {
    }
    throw InvalidInput(std::string("environment variable ") + name + "='" + *v + "' is not an integer in [" +
                       std::to_string(min) + ", " + std::to_string(max) + "]");
}

double env_seconds(const char* name, double fallback) {
    const auto v = env(name);
    if (!v) return fallback;
    try {
        size_t used = 0;
        const double s = std::stod(*v, &used);
        if (used == v->size() && s > 0) return s;
    } catch (const std::exception&) {
    }
    throw InvalidInput(std::string("environment variable ") + name + "='" + *v +
                       "' is not a positive number of seconds");
}

std::string describe(const WorkerReport& w) {
    std::string s = "rank " + std::to_string(w.rank) + " (pid " + std::to_string(w.pid) + ")";
    if (w.signal != 0) return s + " was killed by signal " + std::to_string(w.signal) + " (" + strsignal(w.signal) + ")";
    return s + " exited with code " + std::to_string(w.exit_code);
}

void set_entry(std::vector<std::string>& envp, const std::string& key, const std::string& value,
               bool keep_existing = false) {
    const std::string prefix = key + "=";
    for (auto& e : envp)
        if (e.compare(0, prefix.size(), prefix) == 0) {
            if (!keep_existing) e = prefix + value;
            return;
        }
    envp.push_back(prefix + value);
}

}  // namespace

std::optional<WorldSpec> world_from_environment() {
    if (!env("WORLD_SIZE")) return std::nullopt;
    WorldSpec w;
    w.world_size = env_int("WORLD_SIZE", 1, 1, 1 << 20);
    if (!env("RANK")) throw InvalidInput("WORLD_SIZE is set but RANK is not");
    w.rank = env_int("RANK", 0, 0, w.world_size - 1);
    w.local_rank = env_int("LOCAL_RANK", w.rank, 0, 1 << 20);
    w.local_world_size = env_int("LOCAL_WORLD_SIZE", w.world_size, 1, 1 << 20);
    if (w.local_rank >= w.local_world_size)
        throw InvalidInput("LOCAL_RANK " + std::to_string(w.local_rank) + " is not below LOCAL_WORLD_SIZE " +
                           std::to_string(w.local_world_size));
    w.master_addr = env("MASTER_ADDR").value_or("127.0.0.1");
    w.master_port = env_int("MASTER_PORT", 29500, 1, 65535);
    w.timeout_seconds = env_seconds("PONET_DIST_TIMEOUT", 600);
    return w;
}

bool is_launched_worker() {
    return env("PONET_DIST_WORKER").value_or("") == "1";
}

void LaunchPlan::validate() const {
    if (nproc_per_node < 1) throw InvalidInput("--nproc-per-node must be at least 1");
    if (nnodes < 1) throw InvalidInput("--nnodes must be at least 1");
    if (node_rank < 0 || node_rank >= nnodes)
        throw InvalidInput("--node-rank " + std::to_string(node_rank) + " must be in [0, " +
                           std::to_string(nnodes - 1) + "]");
    if (master_port < 1 || master_port > 65535) throw InvalidInput("--master-port must be in [1, 65535]");
    if (master_addr.empty()) throw InvalidInput("--master-addr must not be empty");
    if (nnodes > 1 && (master_addr == "127.0.0.1" || master_addr == "localhost"))
        throw InvalidInput("--nnodes " + std::to_string(nnodes) +
                           " needs --master-addr: the address of node 0 that every machine can reach");
    if (!(timeout_seconds > 0)) throw InvalidInput("the distributed timeout must be positive");
}

std::vector<std::string> worker_environment(const LaunchPlan& plan, int local_rank,
                                            const std::vector<std::string>& base) {
    std::vector<std::string> e = base;
    const int world = plan.nnodes * plan.nproc_per_node;
    set_entry(e, "RANK", std::to_string(plan.node_rank * plan.nproc_per_node + local_rank));
    set_entry(e, "WORLD_SIZE", std::to_string(world));
    set_entry(e, "LOCAL_RANK", std::to_string(local_rank));
    set_entry(e, "LOCAL_WORLD_SIZE", std::to_string(plan.nproc_per_node));
    set_entry(e, "GROUP_RANK", std::to_string(plan.node_rank));
    set_entry(e, "MASTER_ADDR", plan.master_addr);
    set_entry(e, "MASTER_PORT", std::to_string(plan.master_port));
    char timeout[32];
    std::snprintf(timeout, sizeof timeout, "%g", plan.timeout_seconds);
    set_entry(e, "PONET_DIST_TIMEOUT", timeout);
    set_entry(e, "PONET_DIST_WORKER", "1");
    set_entry(e, "NCCL_NVLS_ENABLE", "0", true);
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    set_entry(e, "OMP_NUM_THREADS",
              std::to_string(std::max(1u, cores / static_cast<unsigned>(plan.nproc_per_node))), true);
    return e;
}

LaunchResult launch_local_workers(const std::vector<std::string>& argv, const LaunchPlan& plan,
                                  const std::function<void(const std::string&)>& log,
                                  std::atomic<int>* forward) {
    plan.validate();
    if (argv.empty()) throw InvalidInput("no program to launch");
    std::vector<std::string> base;
    for (char** p = environ; p && *p; ++p) base.emplace_back(*p);

    LaunchResult result;
    auto signal_all = [&](int sig) {
        for (auto& w : result.workers)
            if (w.exit_code < 0 && w.signal == 0 && w.pid > 0) ::kill(-w.pid, sig);  // its process group
    };
    for (int local = 0; local < plan.nproc_per_node; ++local) {
        std::vector<std::string> envs = worker_environment(plan, local, base);
        std::vector<char*> cargv, cenv;
        for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
        cargv.push_back(nullptr);
        for (const auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
        cenv.push_back(nullptr);
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        // A process group per worker: the terminal's Ctrl-C reaches only the launcher, which forwards it once.
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
        posix_spawnattr_setpgroup(&attr, 0);
        pid_t pid = 0;
        const int rc = posix_spawn(&pid, argv[0].c_str(), nullptr, &attr, cargv.data(), cenv.data());
        posix_spawnattr_destroy(&attr);
        if (rc != 0) {
            signal_all(SIGKILL);
            for (auto& w : result.workers) ::waitpid(w.pid, nullptr, 0);
            throw Error("cannot start worker " + std::to_string(local) + " (" + argv[0] + "): " + std::strerror(rc));
        }
        WorkerReport w;
        w.rank = plan.node_rank * plan.nproc_per_node + local;
        w.pid = pid;
        result.workers.push_back(w);
    }
    for (const auto& w : result.workers)
        log("rank " + std::to_string(w.rank) + ": pid " + std::to_string(w.pid));
    log("started " + std::to_string(plan.nproc_per_node) + " workers (ranks " +
        std::to_string(result.workers.front().rank) + "-" + std::to_string(result.workers.back().rank) + " of " +
        std::to_string(plan.nnodes * plan.nproc_per_node) + ", rendezvous at " + plan.master_addr + ":" +
        std::to_string(plan.master_port) + ")");

    using clock = std::chrono::steady_clock;
    std::optional<clock::time_point> failed_at, interrupted_at;
    bool terminated = false, killed = false;
    size_t running = result.workers.size();
    while (running > 0) {
        if (const int sig = forward ? forward->exchange(0) : 0; sig == SIGINT) {
            // Interrupts within a second of the first count as that one: a parent that dies (the desktop app sets
            // SIGINT as the launcher's parent-death signal) delivers it once per thread of its that ends.
            if (!interrupted_at || clock::now() - *interrupted_at >= std::chrono::seconds(1)) {
                log(interrupted_at ? "interrupt again: ending every worker at once"
                                   : "interrupt: asking every worker to stop (they save a checkpoint; again to end "
                                     "them at once)");
                if (!interrupted_at) interrupted_at = clock::now();
                signal_all(SIGINT);
            }
        } else if (sig != 0) {
            log("terminated: ending every worker");
            for (auto& w : result.workers)
                if (w.exit_code < 0 && w.signal == 0) w.stopped_by_launcher = true;
            signal_all(SIGTERM);
            if (result.exit_code == 0) {
                result.exit_code = 1;
                result.message = "the launcher was terminated (signal " + std::to_string(sig) + ")";
            }
        }
        // Only our own workers are reaped (waitpid(-1) would take the children of a GUI's other processes).
        for (auto& w : result.workers) {
            if (w.exit_code >= 0 || w.signal != 0) continue;
            int status = 0;
            if (::waitpid(w.pid, &status, WNOHANG) != w.pid) continue;
            if (WIFEXITED(status)) w.exit_code = WEXITSTATUS(status);
            if (WIFSIGNALED(status)) w.signal = WTERMSIG(status);
            if (w.exit_code < 0 && w.signal == 0) w.signal = SIGKILL;  // neither: treat as killed
            --running;
            const bool ok = w.exit_code == 0 || w.exit_code == 130;
            if (ok || w.stopped_by_launcher) continue;
            log(describe(w));
            if (failed_at) continue;
            failed_at = clock::now();
            result.message = describe(w);
            result.exit_code = w.exit_code > 0 ? w.exit_code : 1;
            if (running > 0)
                log("waiting up to " + std::to_string(static_cast<int>(plan.grace_seconds)) +
                    " s for the other workers to stop, then ending them");
        }
        if (failed_at) {
            const double since = std::chrono::duration<double>(clock::now() - *failed_at).count();
            if (!terminated && since >= plan.grace_seconds) {
                for (auto& w : result.workers)
                    if (w.exit_code < 0 && w.signal == 0) w.stopped_by_launcher = true;
                log("ending the workers that are still running (SIGTERM)");
                signal_all(SIGTERM);
                terminated = true;
            } else if (terminated && !killed && since >= plan.grace_seconds + 5) {
                signal_all(SIGKILL);
                killed = true;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!failed_at) {
        for (const auto& w : result.workers)
            if (w.exit_code == 130) result.exit_code = 130;
    }
    return result;
}

}  // namespace ponet
