// Where SMP's segment index comes from (PONET-SPEC §1.5): derived from [CLS]/[SEP], or fixed-size LRA chunks.
#pragma once
#include <torch/torch.h>

namespace ponet {

// σ: true where the id is [CLS] or [SEP] (always from input_ids, §7 #2).
torch::Tensor special_token_mask(const torch::Tensor& input_ids, int64_t cls_id, int64_t sep_id);

// §1.5a with the R3 rule: a new segment at position 0, at every special token and right after it; ids start at 0,
// and 1 is subtracted only on rows whose first token is [CLS] (so no row ever gets −1).
torch::Tensor derive_segment_ids(const torch::Tensor& input_ids, int64_t cls_id, int64_t sep_id);

// §1.5c: s_i = floor(i / (floor(L / segment_num) + 1)) — the reference's off-by-one kept on purpose (§7 #19).
torch::Tensor fixed_segment_ids(int64_t batch, int64_t length, int64_t segment_num, const torch::Device& device);

// How many ids fixed_segment_ids gives a row of `length` tokens: ceil(length / (floor(length / segment_num) + 1)),
// at most segment_num and at least 1. Below segment_num tokens every token is its own segment, so this is the
// length, not segment_num: the SMP buffers are sized by it.
int64_t fixed_segment_count(int64_t length, int64_t segment_num);
// The tokens per segment fixed_segment_ids gives a row of `length` tokens: floor(length / segment_num) + 1.
int64_t fixed_segment_width(int64_t length, int64_t segment_num);
// Segments of `width` consecutive tokens from position 0: s_i = floor(i / width), [batch, length] int64.
torch::Tensor segment_ids_of_width(int64_t batch, int64_t length, int64_t width, const torch::Device& device);

}  // namespace ponet
