#include "widgets/smoothing.h"

#include <algorithm>
#include <cmath>
#include <deque>

namespace ponet::gui {

std::vector<double> emaBiasCorrected(const std::vector<double>& values, double weight) {
    weight = std::clamp(weight, 0.0, 0.999999);
    std::vector<double> out(values.size(), NAN);
    double s = 0, decay = 1;  // decay = w^n
    for (size_t i = 0; i < values.size(); ++i) {
        if (!std::isfinite(values[i])) continue;
        s = weight * s + (1 - weight) * values[i];
        decay *= weight;
        out[i] = s / (1 - decay);
    }
    return out;
}

std::vector<double> trailingMovingAverage(const std::vector<double>& values, int window) {
    window = std::max(1, window);
    std::vector<double> out(values.size(), NAN);
    std::deque<double> last;
    double sum = 0;
    for (size_t i = 0; i < values.size(); ++i) {
        if (!std::isfinite(values[i])) continue;
        last.push_back(values[i]);
        sum += values[i];
        if (static_cast<int>(last.size()) > window) {
            sum -= last.front();
            last.pop_front();
        }
        out[i] = sum / static_cast<double>(last.size());
    }
    return out;
}

}  // namespace ponet::gui
