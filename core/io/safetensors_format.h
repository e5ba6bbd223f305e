// The safetensors container without LibTorch: dtypes, the validated header, and its reader and builder.
// Layout: u64 little-endian header length N, N bytes of JSON, then the tensors' bytes back to back.
#pragma once
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/util/error.h"

namespace ponet {

enum class StDtype { F64, F32, F16, BF16, I64, I32, I8, U8, BOOL };

size_t st_dtype_size(StDtype dtype);
std::string to_string(StDtype dtype);
// The dtype named by its safetensors spelling ("F32", "BOOL", ...); nullopt when unknown or unsupported.
std::optional<StDtype> st_dtype_from_string(const std::string& name);

struct StTensorInfo {
    std::string name;
    StDtype dtype = StDtype::F32;
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0;  // byte offsets relative to the data section
};

struct StHeader {
    std::vector<StTensorInfo> tensors;  // sorted by begin offset
    std::map<std::string, std::string> metadata;
    uint64_t data_start = 0;  // = 8 + header length
};

// A JSON header is at most this long, so a hostile length field cannot make a reader allocate without bound.
inline constexpr uint64_t kStMaxHeaderBytes = 100ull << 20;

enum class StErrc {
    FileTooSmall,
    FileTooLarge,
    HeaderTooLarge,
    HeaderOutOfFile,
    HeaderNotJson,
    HeaderNotObject,
    EntryNotObject,
    MissingField,
    DuplicateField,
    BadDtype,
    BadShape,
    BadOffsets,
    SizeMismatch,
    OffsetsOutOfFile,
    Overlap,
    Gap,
    BadMetadata,
    DuplicateName,
    BadBool,
    TruncatedData,
};
std::string to_string(StErrc code);

// A file that is not a valid safetensors file. what() names the file, the tensor and the problem.
class SafetensorsError : public InvalidInput {
  public:
    SafetensorsError(StErrc code, const std::string& message, std::string tensor = {})
        : InvalidInput(message), code_(code), tensor_(std::move(tensor)) {}

    StErrc code() const { return code_; }
    // The tensor the problem is about; empty when it concerns the file as a whole.
    const std::string& tensor() const { return tensor_; }

  private:
    StErrc code_;
    std::string tensor_;
};

// Validates the header of a safetensors file of `file_size` bytes. `data` must hold the file's first
// min(file_size, 8 + header length) bytes; tensor bytes are never looked at. `origin` (usually the path)
// starts every error message. Throws SafetensorsError.
StHeader parse_safetensors_header(const uint8_t* data, uint64_t file_size, const std::string& origin);

// Reads and validates just the header from a stream holding a file of `file_size` bytes.
StHeader read_safetensors_header(std::istream& in, uint64_t file_size, const std::string& origin);
// The same for a file on disk; I/O failures throw ponet::Error.
StHeader read_safetensors_header(const std::string& path);

// Lays `tensors` out back to back in the given order (filling in begin and end) and returns the bytes that
// precede the data section: the 8-byte length and the JSON header, padded with spaces to a multiple of 8 so
// that the data section stays aligned. Throws InvalidInput on duplicate or reserved names.
std::string build_safetensors_header(std::vector<StTensorInfo>& tensors,
                                     const std::map<std::string, std::string>& metadata);

}  // namespace ponet
