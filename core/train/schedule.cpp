#include "core/train/schedule.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "core/util/error.h"

namespace ponet {

namespace {

using json = nlohmann::json;

// HF's warm-up factor: t / max(1, W).
double warmup_factor(int64_t step, int64_t warmup) {
    return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
}

// OneCycleLR's phase boundaries, computed as PyTorch does: `float(pct_start * total_steps) - 1` with
// pct_start = W / T as the LRA code passes it, so rounding matches too.
double phase1_end(const LrSchedule& s) {
    const double pct_start = static_cast<double>(s.warmup_steps) / static_cast<double>(s.total_steps);
    return pct_start * static_cast<double>(s.total_steps) - 1.0;
}

// Position within OneCycleLR's phases: which phase and the fraction `pct` through it.
struct CyclePoint {
    bool rising;
    double pct;
};

CyclePoint cycle_point(const LrSchedule& s, int64_t step) {
    const double t =
        static_cast<double>(std::clamp<int64_t>(step, 0, std::max<int64_t>(0, s.total_steps - 1)));
    const double end1 = phase1_end(s), end2 = static_cast<double>(s.total_steps) - 1.0;
    // One warm-up step puts the peak at step 0 (end1 = 0), where PyTorch would divide 0 by 0.
    if (t <= end1) return {true, end1 > 0.0 ? t / end1 : 1.0};
    return {false, (t - end1) / (end2 - end1)};
}

double anneal_linear(double start, double end, double pct) {
    return (end - start) * pct + start;
}

}  // namespace

LrSchedule LrSchedule::from_config(const TrainConfig& train, int64_t total_steps) {
    LrSchedule s;
    s.kind = train.schedule;
    s.peak_lr = train.lr;
    s.warmup_steps = train.warmup_steps;
    s.total_steps = total_steps;
    s.beta1 = train.adam_beta1;
    s.div_factor = train.onecycle.div_factor;
    s.final_div_factor = train.onecycle.final_div_factor;
    s.cycle_momentum = train.onecycle.cycle_momentum;
    s.base_momentum = train.onecycle.base_momentum;
    s.max_momentum = train.onecycle.max_momentum;
    if (s.kind != ScheduleKind::Constant && total_steps <= 0)
        throw InvalidInput("schedule " + to_string(s.kind) + " needs a positive number of training steps");
    if (s.kind == ScheduleKind::OneCycle && (s.warmup_steps < 1 || s.warmup_steps >= total_steps))
        throw InvalidInput("schedule onecycle needs 1 <= warmup_steps (" + std::to_string(s.warmup_steps) +
                           ") < total steps (" + std::to_string(total_steps) + ")");
    return s;
}

double LrSchedule::lr(int64_t step) const {
    step = std::max<int64_t>(step, 0);
    switch (kind) {
        case ScheduleKind::Constant:
            return step < warmup_steps ? peak_lr * warmup_factor(step, warmup_steps) : peak_lr;
        case ScheduleKind::Linear:
            if (step < warmup_steps) return peak_lr * warmup_factor(step, warmup_steps);
            return peak_lr *
                   std::max(0.0, static_cast<double>(total_steps - step) /
                                     static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps)));
        case ScheduleKind::Cosine: {
            if (step < warmup_steps) return peak_lr * warmup_factor(step, warmup_steps);
            const double progress = static_cast<double>(step - warmup_steps) /
                                    static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps));
            return peak_lr * std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * 0.5 * 2.0 * progress)));
        }
        case ScheduleKind::OneCycle: {
            const double initial = peak_lr / div_factor, final_lr = initial / final_div_factor;
            const auto p = cycle_point(*this, step);
            return p.rising ? anneal_linear(initial, peak_lr, p.pct)
                            : anneal_linear(peak_lr, final_lr, p.pct);
        }
    }
    return peak_lr;
}

double LrSchedule::beta1_at(int64_t step) const {
    if (kind != ScheduleKind::OneCycle || !cycle_momentum) return beta1;
    const auto p = cycle_point(*this, step);
    return p.rising ? anneal_linear(max_momentum, base_momentum, p.pct)
                    : anneal_linear(base_momentum, max_momentum, p.pct);
}

std::string LrSchedule::to_json_text() const {
    json j = {{"kind", to_string(kind)},
              {"peak_lr", peak_lr},
              {"warmup_steps", warmup_steps},
              {"total_steps", total_steps},
              {"beta1", beta1},
              {"div_factor", div_factor},
              {"final_div_factor", final_div_factor},
              {"cycle_momentum", cycle_momentum},
              {"base_momentum", base_momentum},
              {"max_momentum", max_momentum}};
    return j.dump();
}

LrSchedule LrSchedule::from_json_text(const std::string& text) {
    try {
        const json j = json::parse(text);
        LrSchedule s;
        const std::string kind = j.at("kind").get<std::string>();
        RunConfig probe;
        set_option(probe, "train.schedule", kind);  // validates the name against the option table
        s.kind = probe.train.schedule;
        s.peak_lr = j.at("peak_lr").get<double>();
        s.warmup_steps = j.at("warmup_steps").get<int64_t>();
        s.total_steps = j.at("total_steps").get<int64_t>();
        s.beta1 = j.at("beta1").get<double>();
        s.div_factor = j.at("div_factor").get<double>();
        s.final_div_factor = j.at("final_div_factor").get<double>();
        s.cycle_momentum = j.at("cycle_momentum").get<bool>();
        s.base_momentum = j.at("base_momentum").get<double>();
        s.max_momentum = j.at("max_momentum").get<double>();
        return s;
    } catch (const json::exception& e) {
        throw InvalidInput(std::string("learning-rate schedule: ") + e.what());
    }
}

bool LrSchedule::operator==(const LrSchedule& o) const {
    return kind == o.kind && peak_lr == o.peak_lr && warmup_steps == o.warmup_steps &&
           total_steps == o.total_steps && beta1 == o.beta1 && div_factor == o.div_factor &&
           final_div_factor == o.final_div_factor && cycle_momentum == o.cycle_momentum &&
           base_momentum == o.base_momentum && max_momentum == o.max_momentum;
}

}  // namespace ponet
