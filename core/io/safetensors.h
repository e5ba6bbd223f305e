// Safetensors files as LibTorch tensors: read into owning CPU tensors, written atomically.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/io/safetensors_format.h"

namespace ponet {

// Larger files are refused before anything is read: no checkpoint of ours comes close, and a bogus path (a
// disk image, say) should fail at once instead of exhausting memory.
inline constexpr uint64_t kStMaxFileBytes = 64ull << 30;

struct SafetensorsContent {
    std::map<std::string, torch::Tensor> tensors;
    std::map<std::string, std::string> metadata;
};

// Reads every tensor as a CPU tensor that owns its memory. Invalid files throw SafetensorsError
// (FileTooLarge, header problems, BadBool for a BOOL byte other than 0 or 1); I/O failures throw
// ponet::Error.
SafetensorsContent read_safetensors(const std::string& path);

// The `__metadata__` map alone; only the header is read.
std::map<std::string, std::string> read_safetensors_metadata(const std::string& path);

// Writes the tensors in name order (any device, any strides) through AtomicFileWriter. A tensor whose dtype
// safetensors cannot hold here, an undefined or a non-strided tensor throws InvalidInput naming it.
void write_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

torch::Dtype to_torch_dtype(StDtype dtype);
std::optional<StDtype> st_dtype_from_torch(torch::Dtype dtype);

}  // namespace ponet
