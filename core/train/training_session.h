// Entry points of a training run for callers that must not see LibTorch (the GUI's TrainingWorker): the same
// Trainer the CLI drives, behind a torch-free header. Each call runs the whole run on the calling thread,
// which then owns every tensor of it; it never throws (failures come back as a "failed" RunOutcome).
#pragma once
#include <string>

#include "core/train/observer.h"
#include "core/train/run_config.h"

namespace ponet {

RunOutcome run_training(const RunConfig& config, const std::string& run_dir, TrainObserver& observer,
                        RunControl& control);
// Continues the run in run_dir from its newest valid checkpoint, with the configuration saved there.
RunOutcome resume_training(const std::string& run_dir, TrainObserver& observer, RunControl& control);

}  // namespace ponet
