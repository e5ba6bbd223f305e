#include "widgets/core_metatypes.h"

namespace ponet::gui {

void registerCoreMetaTypes() {
    qRegisterMetaType<ponet::CheckResult>();
    qRegisterMetaType<ponet::ModelConfig>();
    qRegisterMetaType<ponet::ModelSummary>();
    qRegisterMetaType<ponet::StepMetrics>();
    qRegisterMetaType<ponet::EvalMetrics>();
    qRegisterMetaType<ponet::CheckpointEvent>();
    qRegisterMetaType<ponet::RunOutcome>();
    qRegisterMetaType<ponet::RunConfig>();
}

}  // namespace ponet::gui
