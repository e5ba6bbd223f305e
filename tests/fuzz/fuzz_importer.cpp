// libFuzzer targets for the dataset importers (core/data/importers), one executable per format; the
// FUZZ_IMPORT_FORMAT definition picks it: jsonl, csv, tsv, folder, idx or cifar. The fuzz input becomes the
// file (or, for folder, a small tree of files; for idx, an images file and a labels file), imported through
// the public entry point. Bad input must end up in the report, never in a crash, and every document that
// comes out must be well formed.
#include <sys/stat.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/data/importers.h"
#include "core/data/lra.h"
#include "core/util/error.h"
#include "core/util/fs_util.h"
#include "fuzz_support.h"

#ifndef FUZZ_IMPORT_FORMAT
#error "FUZZ_IMPORT_FORMAT must name the importer (jsonl, csv, tsv, folder, idx, cifar)"
#endif

namespace {

// Importer options varied by the first input byte, so that one corpus reaches the option-dependent paths.
ponet::ImportOptions options_from(uint8_t flags) {
    ponet::ImportOptions o;
    if (flags & 1) o.tsv_quoting = true;
    if (flags & 2) o.text_b_field = "text_b";
    if (flags & 4) o.column_names = {"text", "label"};
    if (flags & 8) o.label_field.clear();
    if (flags & 16) o.max_document_bytes = 16;  // reaches the cut-at-a-character-boundary code
    return o;
}

bool valid_utf8(const std::string& s) { return ponet::repair_utf8(s) == s; }

// A relative path made only of safe characters, at most three levels, never "." or "..".
std::string safe_relative(std::string_view raw) {
    std::string out, part;
    int levels = 0;
    auto flush = [&] {
        if (part.empty() || part == "." || part == ".." || levels == 3) return part.clear();
        out += (out.empty() ? "" : "/") + part;
        part.clear();
        ++levels;
    };
    for (char ch : raw.substr(0, 64)) {
        if (ch == '/') {
            flush();
        } else {
            const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                            ch == '.' || ch == '_' || ch == '-';
            part += ok ? ch : '_';
        }
    }
    flush();
    return out;
}

// Records separated by NUL: the first line of each is a relative path, the rest its content.
void make_tree(const std::string& root, std::string_view input) {
    int files = 0;
    while (!input.empty() && files < 16) {
        const size_t end = std::min(input.find('\0'), input.size());
        std::string_view record = input.substr(0, end);
        input.remove_prefix(std::min(end + 1, input.size()));
        const size_t nl = std::min(record.find('\n'), record.size());
        const std::string rel = safe_relative(record.substr(0, nl));
        record.remove_prefix(std::min(nl + 1, record.size()));
        if (rel.empty()) continue;
        // Create the parents; a name already taken by a file just makes this record fail quietly.
        std::string dir = root;
        size_t pos = 0;
        bool ok = true;
        while ((pos = rel.find('/', pos)) != std::string::npos) {
            dir = root + "/" + rel.substr(0, pos);
            if (!ponet::is_directory_at(dir) && ::mkdir(dir.c_str(), 0755) != 0) ok = false;
            ++pos;
        }
        const std::string path = root + "/" + rel;
        if (!ok || ponet::is_directory_at(path)) continue;
        fuzz::write_bytes(path, reinterpret_cast<const uint8_t*>(record.data()), record.size());
        ++files;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::string format = FUZZ_IMPORT_FORMAT;
    const ponet::ImportOptions options = options_from(data[0]);
    const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::string root = fuzz::scratch_dir() + "/input";
    ponet::remove_tree(root);
    FUZZ_CHECK(::mkdir(root.c_str(), 0755) == 0);

    std::string path;
    ponet::ImportFormat kind = ponet::parse_import_format(format);
    if (format == "folder") {
        make_tree(root, body);
        path = root;
    } else if (format == "idx") {
        // The first two bytes split the rest into the images file and the labels file.
        const size_t split = body.size() < 2 ? 0
                                             : std::min<size_t>(body.size() - 2, (uint8_t(body[0]) << 8) | uint8_t(body[1]));
        const std::string_view rest = body.substr(std::min<size_t>(2, body.size()));
        const std::string images(rest.substr(0, split)), labels(rest.substr(split));
        path = root + "/train-images-idx3-ubyte";
        fuzz::write_bytes(path, reinterpret_cast<const uint8_t*>(images.data()), images.size());
        fuzz::write_bytes(root + "/train-labels-idx1-ubyte", reinterpret_cast<const uint8_t*>(labels.data()),
                          labels.size());
        try {  // the in-memory reader of the same format (LRA image tasks)
            for (const auto& img : ponet::parse_idx_images(images, labels))
                FUZZ_CHECK(img.pixels.size() == size_t(img.width * img.height));
        } catch (const ponet::InvalidInput&) {
        }
    } else if (format == "cifar") {
        path = root + "/data_batch_1.bin";
        fuzz::write_bytes(path, reinterpret_cast<const uint8_t*>(body.data()), body.size());
        try {
            for (const auto& img : ponet::parse_cifar10(std::string(body))) FUZZ_CHECK(img.pixels.size() == 1024);
        } catch (const ponet::InvalidInput&) {
        }
    } else {
        path = root + "/data." + format;
        fuzz::write_bytes(path, reinterpret_cast<const uint8_t*>(body.data()), body.size());
    }

    int64_t seen = 0;
    const bool text_format = format != "idx" && format != "cifar";
    ponet::ImportReport report;
    try {
        report = ponet::import_documents(path, kind, options, [&](ponet::Document&& d) {
            ++seen;
            if (text_format) {
                FUZZ_CHECK(valid_utf8(d.text) && valid_utf8(d.text_b));
                FUZZ_CHECK(int64_t(d.text.size()) <= options.max_document_bytes);
                FUZZ_CHECK(!d.text.empty());
            } else {
                FUZZ_CHECK(!d.text.empty() && d.text.size() <= (1u << 24));
            }
        });
    } catch (const ponet::InvalidInput&) {
        return 0;  // e.g. a folder with no class folders at all
    }
    FUZZ_CHECK(report.documents == seen);
    FUZZ_CHECK(report.skipped.size() <= 1001);
    (void)report.summary();
    return 0;
}
