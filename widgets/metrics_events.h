// One line of a run's metrics.jsonl read back into the core's value structs (step, evaluation, checkpoint), for
// the Train page: opening a finished run, and following a run that other processes write (a data-parallel run,
// where rank 0 of the `ponet` launcher's workers writes the file).
#pragma once
#include <QByteArray>

#include "widgets/core_metatypes.h"

namespace ponet::gui {

struct MetricsEvent {
    enum class Kind { None, Step, Eval, Checkpoint };
    Kind kind = Kind::None;  // None: not a JSON object with a known "event" (a torn or foreign line)
    ponet::StepMetrics step;
    ponet::EvalMetrics eval;
    ponet::CheckpointEvent checkpoint;
};

// Missing numbers read as NaN (0 for counts); `world_size` and `rank_tokens_per_second` are optional, as in files
// written before data-parallel runs existed.
MetricsEvent parseMetricsLine(const QByteArray& line);

}  // namespace ponet::gui
