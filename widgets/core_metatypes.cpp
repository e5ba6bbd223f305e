#include "widgets/core_metatypes.h"

namespace ponet::gui {

void registerCoreMetaTypes() {
    qRegisterMetaType<ponet::CheckResult>();
    qRegisterMetaType<ponet::ModelConfig>();
    qRegisterMetaType<ponet::ModelSummary>();
}

}  // namespace ponet::gui
