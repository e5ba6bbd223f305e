// Learning-rate schedules as pure functions of the optimizer step, so a schedule's only state is that step.
// Torch-free.
#pragma once
#include <cstdint>
#include <string>

#include "core/train/run_config.h"

namespace ponet {

// lr(t) and beta1(t) are the values the optimizer uses for its step t (0-based), i.e. the value a PyTorch
// scheduler reports *before* its t-th scheduler.step(). Kinds:
// - Linear: HF get_linear_schedule_with_warmup: lr·t/W during warm-up, then lr·(T−t)/(T−W), 0 from T on.
// - Constant: HF get_constant_schedule_with_warmup: lr·t/W, then lr.
// - Cosine: HF get_cosine_schedule_with_warmup (half a cosine): lr·t/W, then lr·½(1+cos(π·(t−W)/(T−W))).
// - OneCycle: torch.optim.lr_scheduler.OneCycleLR(max_lr = lr, total_steps = T, pct_start = W/T,
//   anneal_strategy = "linear") with its div_factor, final_div_factor and beta1 cycling (PONET-SPEC §4.2.6,
//   A.4). Past the last step the final value is held (PyTorch raises instead).
struct LrSchedule {
    ScheduleKind kind = ScheduleKind::Linear;
    double peak_lr = 5e-5;
    int64_t warmup_steps = 0;
    int64_t total_steps = 0;  // horizon T; Linear/Cosine need it, Constant ignores it
    double beta1 = 0.9;       // constant beta1 of every kind but a momentum-cycling OneCycle
    double div_factor = 25, final_div_factor = 1e4;
    bool cycle_momentum = true;
    double base_momentum = 0.85, max_momentum = 0.95;

    // From the run configuration and the resolved horizon (train.max_steps, or epochs × steps per epoch).
    // Throws InvalidInput when the combination cannot define a schedule.
    static LrSchedule from_config(const TrainConfig& train, int64_t total_steps);

    double lr(int64_t step) const;
    double beta1_at(int64_t step) const;

    std::string to_json_text() const;
    static LrSchedule from_json_text(const std::string& text);  // throws InvalidInput
    bool operator==(const LrSchedule& o) const;
};

}  // namespace ponet
