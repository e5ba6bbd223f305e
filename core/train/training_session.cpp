#include "core/train/training_session.h"

#include <exception>

#include "core/train/trainer.h"

namespace ponet {
namespace {

// Trainer::run and resume promise not to throw; this boundary keeps that promise for anything unforeseen
// (std::bad_alloc while building the report, say), because a throw here would end the GUI's worker thread.
template <class F>
RunOutcome guarded(const std::string& run_dir, TrainObserver& observer, F&& f) {
    try {
        return f();
    } catch (const std::exception& e) {
        RunOutcome o;
        o.status = "failed";
        o.message = e.what();
        o.run_dir = run_dir;
        observer.on_finished(o);
        return o;
    }
}

}  // namespace

RunOutcome run_training(const RunConfig& config, const std::string& run_dir, TrainObserver& observer,
                        RunControl& control) {
    return guarded(run_dir, observer, [&] { return Trainer().run(config, run_dir, observer, control); });
}

RunOutcome resume_training(const std::string& run_dir, TrainObserver& observer, RunControl& control) {
    return guarded(run_dir, observer, [&] { return Trainer().resume(run_dir, observer, control); });
}

}  // namespace ponet
