// Validation and construction of safetensors headers. Reading trusts nothing in the file: every length, shape
// and offset is checked before anyone allocates or indexes with it.
#include "core/io/safetensors_format.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>
#include <tuple>

#include "core/util/json_limits.h"

namespace ponet {
namespace {

using json = nlohmann::json;

struct DtypeEntry {
    StDtype dtype;
    const char* name;
    size_t size;
};

constexpr DtypeEntry kDtypes[] = {
    {StDtype::F64, "F64", 8},   {StDtype::F32, "F32", 4}, {StDtype::F16, "F16", 2},
    {StDtype::BF16, "BF16", 2}, {StDtype::I64, "I64", 8}, {StDtype::I32, "I32", 4},
    {StDtype::I8, "I8", 1},     {StDtype::U8, "U8", 1},   {StDtype::BOOL, "BOOL", 1},
};

const DtypeEntry& dtype_entry(StDtype dtype) {
    for (const auto& e : kDtypes) {
        if (e.dtype == dtype) return e;
    }
    throw InvalidInput("invalid safetensors dtype value " + std::to_string(static_cast<int>(dtype)));
}

std::string supported_dtypes() {
    std::string out;
    for (const auto& e : kDtypes) out += std::string(out.empty() ? "" : ", ") + e.name;
    return out;
}

std::string shape_text(const std::vector<int64_t>& shape) {
    std::string out = "[";
    for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
    return out + "]";
}

std::string offsets_text(uint64_t begin, uint64_t end) {
    return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

// A JSON value quoted in an error message, cut short because a hostile header can hold megabytes in one
// value.
std::string short_dump(const json& value) {
    std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
    constexpr size_t kMax = 60;
    if (text.size() > kMax) text = text.substr(0, kMax) + "...";
    return text;
}

uint64_t read_u64_le(const uint8_t* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

// numel × element size, or nullopt for a negative dimension or a product that overflows 64 bits. A zero
// dimension makes the tensor empty however large the others are, so it is looked for before multiplying.
std::optional<uint64_t> byte_count(const std::vector<int64_t>& shape, size_t element_size) {
    if (std::any_of(shape.begin(), shape.end(), [](int64_t d) { return d < 0; })) return std::nullopt;
    if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;
    uint64_t n = element_size;
    for (int64_t d : shape) {
        if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) return std::nullopt;
    }
    return n;
}

class HeaderParser {
  public:
    HeaderParser(const uint8_t* data, uint64_t file_size, const std::string& origin)
        : data_(data), file_size_(file_size), origin_(origin) {}

    StHeader parse() {
        if (file_size_ < 8) {
            fail(StErrc::FileTooSmall, "the file is " + std::to_string(file_size_) +
                                           " bytes; a safetensors file starts with an 8-byte header length");
        }
        const uint64_t header_len = read_u64_le(data_);
        if (header_len > kStMaxHeaderBytes) {
            fail(StErrc::HeaderTooLarge, "the header length field says " + std::to_string(header_len) +
                                             " bytes, more than the limit of " +
                                             std::to_string(kStMaxHeaderBytes >> 20) +
                                             " MiB (is this a safetensors file?)");
        }
        if (header_len > file_size_ - 8) {
            fail(StErrc::HeaderOutOfFile, "the header length field says " + std::to_string(header_len) +
                                              " bytes but only " + std::to_string(file_size_ - 8) +
                                              " bytes follow it (truncated file?)");
        }
        StHeader header;
        header.data_start = 8 + header_len;
        data_size_ = file_size_ - header.data_start;

        const json root = parse_json(reinterpret_cast<const char*>(data_ + 8), header_len);
        if (!root.is_object()) {
            fail(StErrc::HeaderNotObject,
                 std::string("the header is a JSON ") + root.type_name() + ", not an object");
        }
        for (const auto& [key, value] : root.items()) {
            if (key == "__metadata__") {
                header.metadata = parse_metadata(value);
            } else {
                header.tensors.push_back(parse_entry(key, value));
            }
        }
        std::sort(header.tensors.begin(), header.tensors.end(), [](const auto& a, const auto& b) {
            return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
        });
        check_layout(header.tensors);
        return header;
    }

  private:
    [[noreturn]] void fail(StErrc code, const std::string& problem, const std::string& tensor = {}) const {
        const std::string where = tensor.empty() ? "" : "tensor '" + tensor + "': ";
        throw SafetensorsError(code, origin_ + ": " + where + problem, tensor);
    }

    json parse_json(const char* text, uint64_t size) const {
        // serde_json (the reference reader) rejects a byte-order mark; nlohmann would skip it silently.
        if (size >= 3 && std::equal(text, text + 3, "\xEF\xBB\xBF")) {
            fail(StErrc::HeaderNotJson,
                 "the header starts with a UTF-8 byte-order mark, which JSON forbids here");
        }
        if (const auto at = json_too_deep_at(std::string_view(text, size))) {
            fail(StErrc::HeaderNotJson, "the header nests JSON more than " + std::to_string(kMaxJsonDepth) +
                                            " levels deep (at byte " + std::to_string(8 + *at) + ")");
        }
        // nlohmann keeps only one of two equal keys, so duplicates are caught while parsing, per open object.
        std::vector<std::set<std::string>> open_objects;
        std::string entry;                                             // the top-level key being parsed
        std::optional<std::pair<std::string, std::string>> duplicate;  // (entry, repeated key)
        json::parser_callback_t on_event = [&](int, json::parse_event_t event, json& parsed) {
            switch (event) {
                case json::parse_event_t::object_start:
                    open_objects.emplace_back();
                    break;
                case json::parse_event_t::object_end:
                    if (!open_objects.empty()) open_objects.pop_back();
                    break;
                case json::parse_event_t::key: {
                    const auto& key = parsed.get_ref<const std::string&>();
                    if (open_objects.size() == 1) entry = key;
                    if (!open_objects.empty() && !open_objects.back().insert(key).second && !duplicate) {
                        duplicate.emplace(open_objects.size() == 1 ? std::string() : entry, key);
                    }
                    break;
                }
                default:
                    break;
            }
            return true;
        };
        json root;
        try {
            root = json::parse(text, text + size, on_event);
        } catch (const json::exception& e) {  // parse_error, and out_of_range for a number such as 1e400
            // Drop nlohmann's "[json.exception.parse_error.101] " prefix; the rest says where and why.
            std::string why = e.what();
            if (const auto pos = why.find("] "); pos != std::string::npos) why = why.substr(pos + 2);
            fail(StErrc::HeaderNotJson, "the header is not valid JSON: " + why);
        }
        if (duplicate) {
            const auto& [owner, key] = *duplicate;
            if (owner.empty()) fail(StErrc::DuplicateName, "the name appears twice in the header", key);
            fail(StErrc::DuplicateField, "field '" + key + "' appears twice", owner);
        }
        return root;
    }

    std::map<std::string, std::string> parse_metadata(const json& value) const {
        if (!value.is_object()) {
            fail(StErrc::BadMetadata,
                 std::string("__metadata__ is a JSON ") + value.type_name() + ", not an object of strings");
        }
        std::map<std::string, std::string> metadata;
        for (const auto& [key, v] : value.items()) {
            if (!v.is_string()) {
                fail(StErrc::BadMetadata, "__metadata__ value for '" + key + "' is a JSON " + v.type_name() +
                                              " (" + short_dump(v) + "), not a string");
            }
            metadata.emplace(key, v.get<std::string>());
        }
        return metadata;
    }

    const json& field(const std::string& name, const json& entry, const char* key) const {
        const auto it = entry.find(key);
        if (it == entry.end()) {
            fail(StErrc::MissingField,
                 std::string("the entry has no '") + key + "' (it needs dtype, shape and data_offsets)",
                 name);
        }
        return *it;
    }

    StTensorInfo parse_entry(const std::string& name, const json& entry) const {
        if (!entry.is_object()) {
            fail(StErrc::EntryNotObject,
                 std::string("the entry is a JSON ") + entry.type_name() + " (" + short_dump(entry) +
                     "), not an object with dtype, shape and data_offsets",
                 name);
        }
        StTensorInfo info;
        info.name = name;

        const json& dtype = field(name, entry, "dtype");
        if (!dtype.is_string())
            fail(StErrc::BadDtype, "dtype is " + short_dump(dtype) + ", not a string", name);
        const auto parsed_dtype = st_dtype_from_string(dtype.get<std::string>());
        if (!parsed_dtype) {
            fail(StErrc::BadDtype,
                 "dtype " + short_dump(dtype) +
                     " is unknown or unsupported (supported: " + supported_dtypes() + ")",
                 name);
        }
        info.dtype = *parsed_dtype;

        const json& shape = field(name, entry, "shape");
        if (!shape.is_array())
            fail(StErrc::BadShape, "shape is " + short_dump(shape) + ", not an array", name);
        for (size_t i = 0; i < shape.size(); ++i) {
            const json& d = shape[i];
            if (!d.is_number_unsigned() ||
                d.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())) {
                fail(StErrc::BadShape,
                     "shape[" + std::to_string(i) + "] is " + short_dump(d) +
                         "; dimensions must be non-negative integers below 2^63",
                     name);
            }
            info.shape.push_back(static_cast<int64_t>(d.get<uint64_t>()));
        }
        const auto nbytes = byte_count(info.shape, st_dtype_size(info.dtype));
        if (!nbytes) {
            fail(StErrc::BadShape,
                 "shape " + shape_text(info.shape) + " × " + to_string(info.dtype) +
                     " needs more than 2^64 bytes",
                 name);
        }

        const json& offsets = field(name, entry, "data_offsets");
        if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
            !offsets[1].is_number_unsigned()) {
            fail(StErrc::BadOffsets,
                 "data_offsets is " + short_dump(offsets) +
                     "; it must be [begin, end], two non-negative integers",
                 name);
        }
        info.begin = offsets[0].get<uint64_t>();
        info.end = offsets[1].get<uint64_t>();
        if (info.begin > info.end) {
            fail(StErrc::BadOffsets,
                 "data_offsets " + offsets_text(info.begin, info.end) + " begin after they end", name);
        }
        if (info.end - info.begin != *nbytes) {
            fail(StErrc::SizeMismatch,
                 "shape " + shape_text(info.shape) + " × " + to_string(info.dtype) + " needs " +
                     std::to_string(*nbytes) + " bytes but data_offsets " +
                     offsets_text(info.begin, info.end) + " hold " + std::to_string(info.end - info.begin),
                 name);
        }
        if (info.end > data_size_) {
            fail(StErrc::OffsetsOutOfFile,
                 "data_offsets " + offsets_text(info.begin, info.end) +
                     " go past the end of the data section, which holds " + std::to_string(data_size_) +
                     " bytes (truncated file?)",
                 name);
        }
        return info;
    }

    // The spec requires the tensors to tile the data section exactly: no byte shared, none left over. A
    // reader that allowed holes would let a file smuggle unchecked bytes along; overlaps would alias two
    // tensors.
    void check_layout(const std::vector<StTensorInfo>& sorted) const {
        uint64_t covered = 0;                // bytes [0, covered) belong to some tensor
        const StTensorInfo* last = nullptr;  // the tensor that ends at `covered`
        for (const auto& t : sorted) {
            if (t.begin < covered) {
                fail(StErrc::Overlap,
                     "data_offsets " + offsets_text(t.begin, t.end) + " overlap tensor '" + last->name +
                         "' at " + offsets_text(last->begin, last->end),
                     t.name);
            }
            if (t.begin > covered) {
                const std::string after =
                    last ? "after tensor '" + last->name + "'" : "at the start of the data section";
                fail(StErrc::Gap,
                     "data_offsets " + offsets_text(t.begin, t.end) + " leave bytes " +
                         offsets_text(covered, t.begin) + " " + after +
                         " unused; the spec requires the tensors to be contiguous",
                     t.name);
            }
            covered = t.end;
            last = &t;
        }
        if (covered != data_size_) {
            fail(StErrc::Gap, "the data section holds " + std::to_string(data_size_) +
                                  " bytes but the tensors cover only " + std::to_string(covered) +
                                  "; the spec allows no trailing bytes");
        }
    }

    const uint8_t* data_;
    uint64_t file_size_;
    const std::string& origin_;
    uint64_t data_size_ = 0;
};

std::string errno_text(int err) {
    return std::error_code(err, std::generic_category()).message();
}

}  // namespace

size_t st_dtype_size(StDtype dtype) {
    return dtype_entry(dtype).size;
}

std::string to_string(StDtype dtype) {
    return dtype_entry(dtype).name;
}

std::optional<StDtype> st_dtype_from_string(const std::string& name) {
    for (const auto& e : kDtypes) {
        if (name == e.name) return e.dtype;
    }
    return std::nullopt;
}

std::string to_string(StErrc code) {
    switch (code) {
        case StErrc::FileTooSmall:
            return "FileTooSmall";
        case StErrc::FileTooLarge:
            return "FileTooLarge";
        case StErrc::HeaderTooLarge:
            return "HeaderTooLarge";
        case StErrc::HeaderOutOfFile:
            return "HeaderOutOfFile";
        case StErrc::HeaderNotJson:
            return "HeaderNotJson";
        case StErrc::HeaderNotObject:
            return "HeaderNotObject";
        case StErrc::EntryNotObject:
            return "EntryNotObject";
        case StErrc::MissingField:
            return "MissingField";
        case StErrc::DuplicateField:
            return "DuplicateField";
        case StErrc::BadDtype:
            return "BadDtype";
        case StErrc::BadShape:
            return "BadShape";
        case StErrc::BadOffsets:
            return "BadOffsets";
        case StErrc::SizeMismatch:
            return "SizeMismatch";
        case StErrc::OffsetsOutOfFile:
            return "OffsetsOutOfFile";
        case StErrc::Overlap:
            return "Overlap";
        case StErrc::Gap:
            return "Gap";
        case StErrc::BadMetadata:
            return "BadMetadata";
        case StErrc::DuplicateName:
            return "DuplicateName";
        case StErrc::BadBool:
            return "BadBool";
        case StErrc::TruncatedData:
            return "TruncatedData";
    }
    return "StErrc(" + std::to_string(static_cast<int>(code)) + ")";
}

StHeader parse_safetensors_header(const uint8_t* data, uint64_t file_size, const std::string& origin) {
    return HeaderParser(data, file_size, origin).parse();
}

StHeader read_safetensors_header(std::istream& in, uint64_t file_size, const std::string& origin) {
    // Read only as far as the length field allows; a bogus length is reported by the parser, not allocated.
    std::vector<uint8_t> bytes(std::min<uint64_t>(file_size, 8));
    uint64_t wanted = bytes.size();
    if (file_size >= 8) {
        in.seekg(0);
        in.read(reinterpret_cast<char*>(bytes.data()), 8);
        const uint64_t header_len = read_u64_le(bytes.data());
        if (header_len <= kStMaxHeaderBytes && header_len <= file_size - 8) wanted = 8 + header_len;
    }
    bytes.resize(wanted);
    in.seekg(0);
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(wanted));
    if (!in || static_cast<uint64_t>(in.gcount()) != wanted) {
        throw Error("cannot read the safetensors header of " + origin);
    }
    return parse_safetensors_header(bytes.data(), file_size, origin);
}

StHeader read_safetensors_header(const std::string& path) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec) throw Error("cannot open '" + path + "': " + ec.message());
    if (!std::filesystem::is_regular_file(status))
        throw Error("cannot read '" + path + "': not a regular file");
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot open '" + path + "': " + errno_text(errno ? errno : EIO));
    in.seekg(0, std::ios::end);
    const auto size = static_cast<uint64_t>(in.tellg());
    return read_safetensors_header(in, size, path);
}

std::string build_safetensors_header(std::vector<StTensorInfo>& tensors,
                                     const std::map<std::string, std::string>& metadata) {
    json root = json::object();
    if (!metadata.empty()) root["__metadata__"] = metadata;
    uint64_t offset = 0;
    for (auto& t : tensors) {
        if (t.name == "__metadata__")
            throw InvalidInput("a tensor cannot be named '__metadata__' in safetensors");
        if (root.contains(t.name)) throw InvalidInput("tensor '" + t.name + "' appears twice");
        const auto nbytes = byte_count(t.shape, st_dtype_size(t.dtype));
        if (!nbytes || __builtin_add_overflow(offset, *nbytes, &t.end)) {
            throw InvalidInput("tensor '" + t.name + "': shape " + shape_text(t.shape) +
                               " has a negative dimension or is too large");
        }
        t.begin = offset;
        offset = t.end;
        root[t.name] = {{"dtype", to_string(t.dtype)},
                        {"shape", t.shape},
                        {"data_offsets", json::array({t.begin, t.end})}};
    }
    std::string text;
    try {
        text = root.dump();
    } catch (const json::type_error&) {
        throw InvalidInput("safetensors tensor names and metadata must be valid UTF-8");
    }
    text.append((8 - text.size() % 8) % 8, ' ');
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((uint64_t(text.size()) >> (8 * i)) & 0xFF);
    return out + text;
}

}  // namespace ponet
