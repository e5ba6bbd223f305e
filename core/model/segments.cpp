#include "core/model/segments.h"

namespace ponet {

torch::Tensor special_token_mask(const torch::Tensor& input_ids, int64_t cls_id, int64_t sep_id) {
    return input_ids.eq(cls_id).logical_or(input_ids.eq(sep_id));
}

torch::Tensor derive_segment_ids(const torch::Tensor& input_ids, int64_t cls_id, int64_t sep_id) {
    auto sigma = special_token_mask(input_ids, cls_id, sep_id).to(torch::kLong);
    // c_i = σ_i + σ_{i−1}: a boundary at a special token and right after it.
    auto prev = torch::zeros_like(sigma);
    if (sigma.size(1) > 1) prev.narrow(1, 1, sigma.size(1) - 1).copy_(sigma.narrow(1, 0, sigma.size(1) - 1));
    auto counts = (sigma + prev).cumsum(1);
    if (sigma.size(1) == 0) return counts;
    auto starts_with_cls = input_ids.narrow(1, 0, 1).eq(cls_id).to(torch::kLong);  // [B,1]
    return counts - starts_with_cls;
}

torch::Tensor fixed_segment_ids(int64_t batch, int64_t length, int64_t segment_num, const torch::Device& device) {
    return segment_ids_of_width(batch, length, fixed_segment_width(length, segment_num), device);
}

torch::Tensor segment_ids_of_width(int64_t batch, int64_t length, int64_t width, const torch::Device& device) {
    auto pos = torch::arange(length, torch::TensorOptions().dtype(torch::kLong).device(device));
    return pos.div(width, "floor").unsqueeze(0).expand({batch, length}).contiguous();
}

int64_t fixed_segment_count(int64_t length, int64_t segment_num) {
    if (length <= 0 || segment_num <= 0) return 1;
    return (length - 1) / fixed_segment_width(length, segment_num) + 1;
}

int64_t fixed_segment_width(int64_t length, int64_t segment_num) {
    return segment_num > 0 ? length / segment_num + 1 : 1;
}

}  // namespace ponet
