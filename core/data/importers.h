// Importers: user data in the formats of DATA.md → one stream of Documents plus the report the user sees.
// Bad input is reported, never fatal: every file or line that is left out appears in the report with its
// reason.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/data/document.h"

namespace ponet {

enum class ImportFormat { Auto, Folder, Jsonl, Csv, Tsv, AclImdb, Text, Idx, Cifar };

// "auto", "folder", "jsonl", "csv", "tsv", "aclimdb", "text", "idx", "cifar"; throws InvalidInput otherwise.
ImportFormat parse_import_format(const std::string& name);
std::string to_string(ImportFormat format);
// The format a path most likely holds (by layout and extension); throws InvalidInput for a missing path.
ImportFormat detect_import_format(const std::string& path);

struct ImportOptions {
    // JSONL fields and CSV/TSV columns. An empty label field imports unlabelled text; an empty text_b field
    // means single-sentence input (GLUE pair tasks name their second column, e.g. "sentence2").
    std::string text_field = "text";
    std::string label_field = "label";
    std::string text_b_field;
    std::string id_field = "id";
    // CSV/TSV without a header row: the names of its columns, in order.
    std::vector<std::string> column_names;
    // GLUE's TSV files are written without quoting and contain stray '"' characters, so quotes are only
    // special in TSV when asked for. CSV always follows RFC 4180.
    bool tsv_quoting = false;
    // Longer documents are cut (at a character boundary) and the cut is reported; longer JSONL lines or CSV
    // records cannot be parsed in part and are skipped.
    int64_t max_document_bytes = 10 * 1024 * 1024;
    // Reading stops after this many documents (0: no limit) and the report says so (stopped_early), so
    // that a file of a billion lines costs bounded time and memory when only a part of it is wanted.
    int64_t max_documents = 0;
    // aclImdb: "train", "test" or empty for both.
    std::string split;
    // IDX: the labels file for an images file; empty looks for the conventional name beside it
    // (train-images-idx3-ubyte → train-labels-idx1-ubyte).
    std::string idx_labels_path;
};

// Receives each document as it is read, so that big inputs never have to fit in memory.
using DocumentSink = std::function<void(Document&&)>;

ImportReport import_documents(const std::string& path, ImportFormat format, const ImportOptions& options,
                              const DocumentSink& sink);

struct ImportResult {
    std::vector<Document> documents;
    ImportReport report;
};
ImportResult import_documents(const std::string& path, ImportFormat format = ImportFormat::Auto,
                              const ImportOptions& options = {});

// Image formats (IDX, CIFAR-10) yield one Document per image whose `text` holds the raw pixel bytes
// (row-major; CIFAR: the red, green and blue planes in turn), not UTF-8, and whose label is the class index,
// or its name where the folder has a names file (`labels.txt` one per line, or CIFAR's `batches.meta.txt`).

// Writes documents as JSONL: {"id","text","text_b"?,"label"|"labels"?,"source"}.
std::string document_to_json_line(const Document& doc);

// UTF-8 hygiene shared by the importers and the recipe converters. Invalid sequences (overlong forms,
// surrogates, code points over U+10FFFF, truncated sequences) become U+FFFD, one per maximal invalid
// subpart as the Unicode standard recommends; `replaced` counts the bytes that were dropped.
std::string repair_utf8(std::string_view bytes, int64_t* replaced = nullptr);
// Number of code points in valid UTF-8.
int64_t count_code_points(std::string_view utf8);
// NUL bytes, or more than 10 % control characters other than whitespace, in the first few kilobytes.
bool looks_binary(std::string_view sample);

}  // namespace ponet
