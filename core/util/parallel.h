// Running independent tasks on all of LibTorch's intra-op threads from our own code.
//
// at::parallel_for cannot be used here: its OpenMP body is a header template, so in a translation unit built
// without -fopenmp (ours: LibTorch's CMake package does not add it) it silently runs on one thread. This helper
// runs the ranges on a pool of worker threads that lives as long as the process (starting 15 threads per call cost
// the CPU mixing a tenth of its time on 16 cores); a nested or concurrent call, which finds the pool busy, starts
// its own threads instead.
#pragma once
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ponet {

// Runs task(0) ... task(tasks - 1) on the process's worker pool and the calling thread (tasks are taken in
// order by whoever is free). Returns false without running anything when the pool is already running another
// call's tasks (a nested call, or another thread's), so the caller can fall back. Exceptions must not escape
// `task`.
bool run_on_worker_pool(int64_t tasks, const std::function<void(int64_t)>& task);

// Calls fn(begin, end) over [0, n) split into contiguous ranges, one per thread (at most at::get_num_threads()).
// The first exception thrown by any range is rethrown here after every thread has finished.
template <typename F>
void parallel_ranges(int64_t n, const F& fn) {
    if (n <= 0) return;
    const int64_t threads = std::min<int64_t>(n, std::max(1, at::get_num_threads()));
    if (threads <= 1) {
        fn(int64_t{0}, n);
        return;
    }
    const int64_t chunk = (n + threads - 1) / threads;
    std::exception_ptr error;
    std::mutex error_mutex;
    auto run = [&](int64_t t) {
        const int64_t begin = t * chunk, end = std::min(n, begin + chunk);
        if (begin >= end) return;
        try {
            fn(begin, end);
        } catch (...) {
            std::lock_guard<std::mutex> lock(error_mutex);
            if (!error) error = std::current_exception();
        }
    };
    if (!run_on_worker_pool(threads, run)) {
        std::vector<std::thread> pool;
        pool.reserve(static_cast<size_t>(threads - 1));
        for (int64_t t = 1; t < threads; ++t) pool.emplace_back(run, t);
        run(0);
        for (auto& th : pool) th.join();
    }
    if (error) std::rethrow_exception(error);
}

}  // namespace ponet
