// The core's value structs, declared to Qt's meta-type system so they can travel in queued signals
// between the worker threads and the GUI thread.
#pragma once
#include <QMetaType>

#include "core/check/check_result.h"
#include "core/model/model_config.h"
#include "core/model/model_summary.h"
#include "core/train/observer.h"
#include "core/train/run_config.h"

Q_DECLARE_METATYPE(ponet::CheckResult)
Q_DECLARE_METATYPE(ponet::ModelConfig)
Q_DECLARE_METATYPE(ponet::ModelSummary)
Q_DECLARE_METATYPE(ponet::StepMetrics)
Q_DECLARE_METATYPE(ponet::EvalMetrics)
Q_DECLARE_METATYPE(ponet::CheckpointEvent)
Q_DECLARE_METATYPE(ponet::RunOutcome)
Q_DECLARE_METATYPE(ponet::RunConfig)

namespace ponet::gui {

// Idempotent; call before the first cross-thread connection that carries these types.
void registerCoreMetaTypes();

// The core speaks UTF-8 std::string; the views speak QString.
inline QString qstr(const std::string& s) {
    return QString::fromStdString(s);
}

}  // namespace ponet::gui
