// The LibTorch side of safetensors: tensors are read straight from the file into their own storage and
// written one at a time, so neither direction holds a second copy of the whole file in memory.
#include "core/io/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "core/io/atomic_file.h"

namespace ponet {

// The file's bytes are copied into tensors as they are, which is right only on a little-endian machine.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian");

torch::Dtype to_torch_dtype(StDtype dtype) {
    switch (dtype) {
        case StDtype::F64:
            return torch::kDouble;
        case StDtype::F32:
            return torch::kFloat;
        case StDtype::F16:
            return torch::kHalf;
        case StDtype::BF16:
            return torch::kBFloat16;
        case StDtype::I64:
            return torch::kLong;
        case StDtype::I32:
            return torch::kInt;
        case StDtype::I8:
            return torch::kChar;
        case StDtype::U8:
            return torch::kByte;
        case StDtype::BOOL:
            return torch::kBool;
    }
    throw InvalidInput("invalid safetensors dtype value " + std::to_string(static_cast<int>(dtype)));
}

std::optional<StDtype> st_dtype_from_torch(torch::Dtype dtype) {
    switch (dtype) {
        case torch::kDouble:
            return StDtype::F64;
        case torch::kFloat:
            return StDtype::F32;
        case torch::kHalf:
            return StDtype::F16;
        case torch::kBFloat16:
            return StDtype::BF16;
        case torch::kLong:
            return StDtype::I64;
        case torch::kInt:
            return StDtype::I32;
        case torch::kChar:
            return StDtype::I8;
        case torch::kByte:
            return StDtype::U8;
        case torch::kBool:
            return StDtype::BOOL;
        default:
            return std::nullopt;
    }
}

SafetensorsContent read_safetensors(const std::string& path) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec) throw Error("cannot open '" + path + "': " + ec.message());
    if (!std::filesystem::is_regular_file(status))
        throw Error("cannot read '" + path + "': not a regular file");
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error("cannot open '" + path +
                    "': " + std::error_code(errno ? errno : EIO, std::generic_category()).message());
    }
    in.seekg(0, std::ios::end);
    const auto file_size = static_cast<uint64_t>(in.tellg());
    if (file_size > kStMaxFileBytes) {
        throw SafetensorsError(StErrc::FileTooLarge, path + ": the file is " + std::to_string(file_size) +
                                                         " bytes, more than the limit of " +
                                                         std::to_string(kStMaxFileBytes >> 30) + " GiB");
    }
    const StHeader header = read_safetensors_header(in, file_size, path);

    SafetensorsContent content;
    content.metadata = header.metadata;
    for (const auto& info : header.tensors) {
        // The header check bounded every size by the file size, so this allocation is no larger than the
        // file.
        torch::Tensor tensor =
            torch::empty(info.shape, torch::TensorOptions().dtype(to_torch_dtype(info.dtype)));
        const uint64_t nbytes = info.end - info.begin;
        if (nbytes > 0) {
            char* dst = static_cast<char*>(tensor.data_ptr());
            in.seekg(static_cast<std::streamoff>(header.data_start + info.begin));
            in.read(dst, static_cast<std::streamsize>(nbytes));
            if (!in || static_cast<uint64_t>(in.gcount()) != nbytes) {
                throw SafetensorsError(StErrc::TruncatedData,
                                       path + ": tensor '" + info.name +
                                           "': the file ended early (was it changed while being read?)",
                                       info.name);
            }
            if (info.dtype == StDtype::BOOL) {
                const auto* bytes = reinterpret_cast<const uint8_t*>(dst);
                const auto* bad = std::find_if(bytes, bytes + nbytes, [](uint8_t b) { return b > 1; });
                if (bad != bytes + nbytes) {
                    throw SafetensorsError(StErrc::BadBool,
                                           path + ": tensor '" + info.name + "': element " +
                                               std::to_string(bad - bytes) + " of this BOOL tensor is byte " +
                                               std::to_string(*bad) + "; BOOL elements must be 0 or 1",
                                           info.name);
                }
            }
        }
        content.tensors.emplace(info.name, std::move(tensor));
    }
    return content;
}

std::map<std::string, std::string> read_safetensors_metadata(const std::string& path) {
    return read_safetensors_header(path).metadata;
}

void write_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
    std::vector<StTensorInfo> infos;
    infos.reserve(tensors.size());
    for (const auto& [name, tensor] : tensors) {
        const std::string where = path + ": tensor '" + name + "'";
        if (!tensor.defined()) throw InvalidInput(where + " is undefined");
        if (tensor.layout() != torch::kStrided) {
            throw InvalidInput(where + " is not a dense tensor; convert it with to_dense() first");
        }
        const auto dtype = st_dtype_from_torch(tensor.scalar_type());
        if (!dtype) {
            throw InvalidInput(
                where + " has dtype " + std::string(c10::toString(tensor.scalar_type())) +
                ", which cannot be saved (supported: double, float, half, bfloat16, long, int, "
                "char, byte, bool)");
        }
        infos.push_back({name, *dtype, tensor.sizes().vec(), 0, 0});
    }
    const std::string header = build_safetensors_header(infos, metadata);

    AtomicFileWriter writer(path);
    writer.write(header.data(), header.size());
    // One tensor at a time: a model on the GPU never needs a full second copy in host memory.
    for (const auto& [name, tensor] : tensors) {
        // Lazy negation/conjugation views keep the bit in the tensor, not in its bytes; materialise them.
        const torch::Tensor cpu = tensor.detach().to(torch::kCPU).resolve_conj().resolve_neg().contiguous();
        writer.write(cpu.data_ptr(), cpu.nbytes());
    }
    writer.commit();
}

}  // namespace ponet
