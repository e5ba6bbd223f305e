// Smoothing of a noisy metric curve for display: an exponential moving average with bias correction (as
// TensorBoard and Adam do, so the first points are not dragged towards zero) and a trailing moving average.
// NaN values are skipped: they stay NaN in the output and do not enter the average.
#pragma once
#include <vector>

namespace ponet::gui {

enum class Smoothing { None, Ema, MovingAverage };

// s_t = w·s_{t-1} + (1−w)·x_t, shown as s_t / (1 − w^n) after n finite values; w in [0, 1).
std::vector<double> emaBiasCorrected(const std::vector<double>& values, double weight);
// Mean of the last `window` finite values up to and including each point (fewer at the start).
std::vector<double> trailingMovingAverage(const std::vector<double>& values, int window);

}  // namespace ponet::gui
