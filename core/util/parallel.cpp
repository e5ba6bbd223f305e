#include "core/util/parallel.h"

#include <atomic>
#include <condition_variable>
#include <limits>

namespace ponet {
namespace {

// Workers wait for a new generation, register as busy while holding the lock under which they read the job (so
// the caller, which waits for "nobody busy" before it clears the job, never returns while a worker can still call
// it), take task indices from a shared counter until none are left, and unregister. The pool only grows; it is
// never destroyed (the threads end with the process), so no exit-time join can hang. After fork() the child has
// no workers: its caller simply takes every task itself.
class WorkerPool {
public:
    bool run(int64_t tasks, const std::function<void(int64_t)>& task) {
        // A call from inside a task (on a worker or on the calling thread) falls back at once: locking run_mutex_
        // again on the thread that holds it would not be allowed.
        if (inside_) return false;
        std::unique_lock<std::mutex> running(run_mutex_, std::try_to_lock);
        if (!running) return false;
        grow(tasks - 1);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            job_ = &task;
            tasks_ = tasks;
            next_.store(0);
            ++generation_;
        }
        wake_.notify_all();
        // Whatever happens to the caller's own tasks, no worker may still hold `task` when this returns.
        struct Finish {
            WorkerPool& pool;
            ~Finish() {
                pool.next_.store(std::numeric_limits<int64_t>::max() / 2);  // nobody takes a new task
                std::unique_lock<std::mutex> lock(pool.mutex_);
                pool.idle_.wait(lock, [&] { return pool.busy_ == 0; });
                pool.job_ = nullptr;
            }
        } finish{*this};
        inside_ = true;
        struct Leave {
            ~Leave() { inside_ = false; }
        } leave;
        for (int64_t t; (t = next_.fetch_add(1)) < tasks;) task(t);
        return true;
    }

private:
    void grow(int64_t wanted) {
        while (static_cast<int64_t>(started_) < wanted) {
            std::thread([this] { work(); }).detach();
            ++started_;
        }
    }

    void work() {
        uint64_t seen = 0;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            seen = generation_;  // a worker started for a call joins it below only if it is still running
            if (job_) seen = generation_ - 1;
        }
        for (;;) {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return generation_ != seen; });
            seen = generation_;
            const std::function<void(int64_t)>* job = job_;
            const int64_t tasks = tasks_;
            if (!job) continue;
            ++busy_;
            lock.unlock();
            inside_ = true;
            try {
                for (int64_t t; (t = next_.fetch_add(1)) < tasks;) (*job)(t);
            } catch (...) {
                // Tasks must not throw (parallel_ranges catches); a worker never dies of one.
            }
            inside_ = false;
            lock.lock();
            if (--busy_ == 0) idle_.notify_all();
        }
    }

    static thread_local bool inside_;  // this thread is running one of the pool's tasks
    std::mutex run_mutex_;  // one call at a time
    std::mutex mutex_;
    std::condition_variable wake_, idle_;
    const std::function<void(int64_t)>* job_ = nullptr;
    int64_t tasks_ = 0;
    std::atomic<int64_t> next_{0};
    uint64_t generation_ = 0;
    int busy_ = 0;
    size_t started_ = 0;  // only touched by the caller holding run_mutex_
};

thread_local bool WorkerPool::inside_ = false;

}  // namespace

bool run_on_worker_pool(int64_t tasks, const std::function<void(int64_t)>& task) {
    if (tasks <= 0) return true;
    static WorkerPool* pool = new WorkerPool;  // never destroyed: see WorkerPool
    return pool->run(tasks, task);
}

}  // namespace ponet
