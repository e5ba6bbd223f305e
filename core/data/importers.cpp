#include "core/data/importers.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/util/error.h"
#include "core/util/json_limits.h"

namespace ponet {

namespace fs = std::filesystem;
using json = nlohmann::json;

// ---------------------------------------------------------------------------------------------- UTF-8

std::string repair_utf8(std::string_view in, int64_t* replaced) {
    static const char kReplacement[] = "\xEF\xBF\xBD";
    std::string out;
    out.reserve(in.size());
    int64_t bad = 0;
    const auto* s = reinterpret_cast<const unsigned char*>(in.data());
    const size_t n = in.size();
    size_t i = 0;
    while (i < n) {
        const unsigned char c = s[i];
        if (c < 0x80) {
            out += char(c);
            ++i;
            continue;
        }
        int need = 0;
        unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the first continuation byte
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0) lo = 0xA0;  // overlong
            if (c == 0xED) hi = 0x9F;  // UTF-16 surrogates
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0) lo = 0x90;  // overlong
            if (c == 0xF4) hi = 0x8F;  // beyond U+10FFFF
        } else {
            out += kReplacement;
            ++bad;
            ++i;
            continue;
        }
        size_t j = i + 1;
        bool ok = true;
        for (int k = 0; k < need; ++k, ++j) {
            const unsigned char lower = k == 0 ? lo : 0x80, upper = k == 0 ? hi : 0xBF;
            if (j >= n || s[j] < lower || s[j] > upper) {
                ok = false;
                break;
            }
        }
        if (ok) {
            out.append(in.data() + i, j - i);
        } else {
            // One U+FFFD for the maximal invalid subpart (the lead byte and the continuations that fit).
            out += kReplacement;
            bad += int64_t(j - i);
        }
        i = j;
    }
    if (replaced) *replaced += bad;
    return out;
}

int64_t count_code_points(std::string_view utf8) {
    int64_t count = 0;
    for (char c : utf8) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return count;
}

bool looks_binary(std::string_view sample) {
    sample = sample.substr(0, 8192);
    size_t control = 0;
    for (char ch : sample) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == 0) return true;
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != 0x1B) ||
            c == 0x7F)
            ++control;
    }
    return !sample.empty() && control * 10 > sample.size();
}

// ---------------------------------------------------------------------------------------------- report

std::string ImportReport::summary() const {
    std::ostringstream s;
    s << "format: " << format << "\n";
    s << "documents: " << documents << "\n";
    if (!label_counts.empty()) {
        s << "labels (" << label_counts.size() << "):";
        for (const auto& [label, n] : label_counts) s << " " << label << "=" << n;
        s << "\n";
    }
    if (documents > 0) {
        char stats[160];
        std::snprintf(stats, sizeof stats, "length in characters: min %lld, mean %.1f, max %lld\n",
                      static_cast<long long>(min_chars), mean_chars, static_cast<long long>(max_chars));
        s << stats;
    }
    if (empty_documents > 0) s << "empty documents skipped: " << empty_documents << "\n";
    if (replaced_bytes > 0) s << "undecodable bytes replaced by U+FFFD: " << replaced_bytes << "\n";
    if (!skipped.empty()) {
        s << "skipped or cut (" << skipped.size() << "):\n";
        for (const auto& k : skipped) s << "  " << k.where << ": " << k.reason << "\n";
    }
    return s.str();
}

namespace {

constexpr size_t kMaxListedSkips = 1000;

std::string human_bytes(uint64_t n) {
    char b[48];
    if (n >= (1u << 20))
        std::snprintf(b, sizeof b, "%.1f MB", double(n) / (1 << 20));
    else if (n >= 1024)
        std::snprintf(b, sizeof b, "%.1f KB", double(n) / 1024);
    else
        std::snprintf(b, sizeof b, "%llu bytes", static_cast<unsigned long long>(n));
    return b;
}

// Thrown by the collector when ImportOptions::max_documents is reached; import_documents catches it.
struct DocumentLimitReached {};

// Collects the report while documents flow to the sink.
class Collector {
  public:
    Collector(std::string format, const DocumentSink& sink, int64_t max_bytes, int64_t max_documents = 0)
        : sink_(sink), max_bytes_(max_bytes), max_documents_(max_documents) {
        report_.format = std::move(format);
    }

    void skip(std::string where, std::string reason) {
        if (report_.skipped.size() < kMaxListedSkips)
            report_.skipped.push_back({std::move(where), std::move(reason)});
        else
            ++unlisted_;
    }

    // Decodes raw bytes into a document's text: BOM and CR of CRLF removed, invalid UTF-8 replaced, cut to
    // the size limit. `total_bytes` is the size of the original when only a prefix was read.
    std::string decode(std::string_view raw, const std::string& where, uint64_t total_bytes = 0) {
        if (raw.size() >= 3 && raw.substr(0, 3) == "\xEF\xBB\xBF") raw.remove_prefix(3);
        std::string text;
        text.reserve(raw.size());
        for (size_t i = 0; i < raw.size(); ++i)
            if (!(raw[i] == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n')) text += raw[i];
        text = repair_utf8(text, &report_.replaced_bytes);
        const uint64_t original = std::max<uint64_t>(total_bytes, raw.size());
        if (max_bytes_ > 0 && int64_t(text.size()) > max_bytes_) {
            size_t cut = size_t(max_bytes_);
            while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
            text.resize(cut);
        }
        if (original > text.size() && max_bytes_ > 0 && original > uint64_t(max_bytes_))
            skip(where, "truncated to " + human_bytes(uint64_t(max_bytes_)) + " (the document has " +
                            human_bytes(original) + ")");
        return text;
    }

    static bool blank(const std::string& t) {
        return std::all_of(t.begin(), t.end(), [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); });
    }

    // Emits a text document unless it is empty (counted and listed instead).
    void emit_text(Document&& d, const std::string& where) {
        if (blank(d.text)) {
            ++report_.empty_documents;
            skip(where, "empty document");
            return;
        }
        emit(std::move(d), count_code_points(d.text));
    }

    void emit(Document&& d, int64_t length) {
        for (const auto& l : d.labels) ++report_.label_counts[l];
        if (report_.documents == 0 || length < report_.min_chars) report_.min_chars = length;
        if (length > report_.max_chars) report_.max_chars = length;
        ++report_.documents;
        total_length_ += double(length);
        sink_(std::move(d));
        if (max_documents_ > 0 && report_.documents >= max_documents_) throw DocumentLimitReached{};
    }

    ImportReport finish() {
        if (unlisted_ > 0)
            report_.skipped.push_back({"…", std::to_string(unlisted_) + " more items not listed"});
        report_.mean_chars = report_.documents ? total_length_ / double(report_.documents) : 0.0;
        return std::move(report_);
    }

    ImportReport& report() { return report_; }

  private:
    const DocumentSink& sink_;
    int64_t max_bytes_;
    int64_t max_documents_;
    ImportReport report_;
    int64_t unlisted_ = 0;
    double total_length_ = 0;
};

using FilePtr = std::unique_ptr<FILE, int (*)(FILE*)>;

FilePtr open_file(const std::string& path, std::string* error) {
    FilePtr f(std::fopen(path.c_str(), "rb"), std::fclose);
    if (!f && error) *error = std::string("cannot read: ") + std::strerror(errno);
    return f;
}

// Buffered byte source over a FILE, for line and record readers that must not hold a whole file.
class ByteStream {
  public:
    explicit ByteStream(FILE* f) : f_(f), buf_(1 << 16) {}
    int get() {
        if (pos_ == len_ && !refill()) return -1;
        return static_cast<unsigned char>(buf_[pos_++]);
    }
    int peek() {
        if (pos_ == len_ && !refill()) return -1;
        return static_cast<unsigned char>(buf_[pos_]);
    }
    // Reads through the next '\n'. Keeps at most `cap` bytes in `out`; returns the full length of the line
    // (without the newline), or -1 at the end of the input.
    int64_t line(std::string& out, size_t cap) {
        out.clear();
        int64_t full = 0;
        bool any = false;
        for (;;) {
            if (pos_ == len_ && !refill()) return any ? full : -1;
            any = true;
            const char* start = buf_.data() + pos_;
            const void* nl = std::memchr(start, '\n', len_ - pos_);
            const size_t take = nl ? size_t(static_cast<const char*>(nl) - start) : len_ - pos_;
            if (out.size() < cap) out.append(start, std::min(take, cap - out.size()));
            full += int64_t(take);
            pos_ += take;
            if (nl) {
                ++pos_;
                break;
            }
        }
        if (!out.empty() && out.back() == '\r' && int64_t(out.size()) == full) {
            out.pop_back();
            --full;
        }
        return full;
    }

  private:
    bool refill() {
        len_ = std::fread(buf_.data(), 1, buf_.size(), f_);
        pos_ = 0;
        return len_ > 0;
    }
    FILE* f_;
    std::vector<char> buf_;
    size_t pos_ = 0, len_ = 0;
};

std::string relative_name(const fs::path& p, const fs::path& root) {
    std::error_code ec;
    auto rel = fs::relative(p, root, ec);
    if (ec || rel.empty() || rel == ".") return p.filename().string();
    return rel.generic_string();
}

std::vector<fs::path> sorted_entries(const fs::path& dir, bool recursive) {
    std::vector<fs::path> out;
    std::error_code ec;
    if (recursive) {
        for (auto it = fs::recursive_directory_iterator(dir, ec);
             !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
            out.push_back(it->path());
    } else {
        for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
             it.increment(ec))
            out.push_back(it->path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string lower_extension(const fs::path& p) {
    std::string e = p.extension().string();
    std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return e;
}

// One file, one document: the folder, aclImdb and plain-text importers.
void import_text_file(Collector& c, const fs::path& path, const std::string& where,
                      std::vector<std::string> labels, int64_t max_bytes) {
    std::error_code ec;
    const uint64_t size = fs::file_size(path, ec);
    if (ec) return c.skip(where, "cannot read: " + ec.message());
    if (size == 0) {
        ++c.report().empty_documents;
        return c.skip(where, "empty file");
    }
    std::string error;
    auto f = open_file(path.string(), &error);
    if (!f) return c.skip(where, error);
    const size_t want = size_t(std::min<uint64_t>(size, max_bytes > 0 ? uint64_t(max_bytes) + 4 : size));
    std::string raw(want, '\0');
    raw.resize(std::fread(raw.data(), 1, want, f.get()));
    if (std::ferror(f.get())) return c.skip(where, "read error");
    if (looks_binary(raw)) return c.skip(where, "binary file");
    Document d;
    d.id = where;
    d.text = c.decode(raw, where, size);
    d.labels = std::move(labels);
    d.source = path.string();
    c.emit_text(std::move(d), where);
}

bool is_text_name(const fs::path& p) {
    const std::string e = lower_extension(p);
    return e == ".txt" || e == ".md";
}

// --------------------------------------------------------------------------------------- folder per class

void import_folder(Collector& c, const fs::path& root, const ImportOptions& o) {
    for (const auto& entry : sorted_entries(root, false)) {
        std::error_code ec;
        const std::string name = entry.filename().string();
        if (!fs::is_directory(entry, ec)) {
            c.skip(name, "not inside a class folder");
            continue;
        }
        if (name.empty() || name[0] == '.') continue;
        for (const auto& file : sorted_entries(entry, true)) {
            if (fs::is_directory(file, ec)) continue;
            const std::string where = relative_name(file, root);
            if (!fs::is_regular_file(file, ec))
                c.skip(where, "not a regular file");
            else if (!is_text_name(file))
                c.skip(where, "not a .txt or .md file");
            else
                import_text_file(c, file, where, {name}, o.max_document_bytes);
        }
    }
}

// ---------------------------------------------------------------------------------------------- JSONL

const char* json_kind(const json& v) {
    switch (v.type()) {
        case json::value_t::string:
            return "a string";
        case json::value_t::boolean:
            return "a boolean";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
        case json::value_t::number_float:
            return "a number";
        case json::value_t::array:
            return "an array";
        case json::value_t::object:
            return "an object";
        case json::value_t::null:
            return "null";
        default:
            return "an unknown value";
    }
}

bool scalar_label(const json& v, std::string* out) {
    if (v.is_string())
        *out = v.get<std::string>();
    else if (v.is_boolean())
        *out = v.get<bool>() ? "true" : "false";
    else if (v.is_number())
        *out = v.dump();
    else
        return false;
    return true;
}

std::string field_list(const json& obj) {
    std::string s;
    for (auto it = obj.begin(); it != obj.end(); ++it) s += (s.empty() ? "" : ", ") + it.key();
    return s.empty() ? "(none)" : s;
}

// Opens a record file (JSONL, CSV/TSV); an unreadable or empty one is reported as skipped and gives null.
FilePtr open_nonempty(Collector& c, const fs::path& path) {
    const std::string file = path.filename().string();
    std::string error;
    auto f = open_file(path.string(), &error);
    if (!f) {
        c.skip(file, error);
        return f;
    }
    std::error_code ec;
    if (fs::file_size(path, ec) == 0) {
        ++c.report().empty_documents;
        c.skip(file, "empty file");
        return FilePtr(nullptr, std::fclose);
    }
    return f;
}

void import_jsonl(Collector& c, const fs::path& path, const ImportOptions& o, bool label_required) {
    const std::string file = path.filename().string();
    auto f = open_nonempty(c, path);
    if (!f) return;
    // JSON escapes make a line longer than its text; leave room for that before giving up on a line.
    const int64_t line_cap = o.max_document_bytes > 0 ? 2 * o.max_document_bytes + (1 << 20)
                                                      : std::numeric_limits<int64_t>::max() / 2;
    ByteStream in(f.get());
    std::string line;
    bool checked_binary = false;
    for (int64_t line_no = 1;; ++line_no) {
        const int64_t full = in.line(line, size_t(line_cap) + 1);
        if (full < 0) break;
        const std::string where = file + " line " + std::to_string(line_no);
        if (!checked_binary) {
            checked_binary = true;
            if (looks_binary(line)) return c.skip(file, "binary file");
        }
        if (line_no == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
        if (full > line_cap) {
            c.skip(where, "line of " + human_bytes(uint64_t(full)) + " is over the limit of " +
                              human_bytes(uint64_t(line_cap)) + "; skipped");
            continue;
        }
        if (Collector::blank(line)) continue;
        const std::string clean = repair_utf8(line, &c.report().replaced_bytes);
        if (json_too_deep_at(clean)) {
            c.skip(where, "JSON nested more than " + std::to_string(kMaxJsonDepth) + " levels deep");
            continue;
        }
        json obj;
        try {
            obj = json::parse(clean);
        } catch (const json::exception& e) {
            c.skip(where, std::string("invalid JSON: ") + e.what());
            continue;
        }
        if (!obj.is_object()) {
            c.skip(where, std::string("not a JSON object but ") + json_kind(obj));
            continue;
        }
        auto text_it = obj.find(o.text_field);
        if (text_it == obj.end()) {
            c.skip(where, "no field '" + o.text_field + "'; fields are " + field_list(obj));
            continue;
        }
        if (!text_it->is_string()) {
            c.skip(where, "field '" + o.text_field + "' is " + json_kind(*text_it) + ", not a string");
            continue;
        }
        Document d;
        d.source = path.string();
        d.id = file + ":" + std::to_string(line_no);
        if (auto id = obj.find(o.id_field); !o.id_field.empty() && id != obj.end()) scalar_label(*id, &d.id);
        if (!o.label_field.empty()) {
            auto lab = obj.find(o.label_field);
            if (lab == obj.end() || lab->is_null()) {
                if (label_required) {
                    c.skip(where, "no field '" + o.label_field + "'; fields are " + field_list(obj));
                    continue;
                }
            } else if (lab->is_array()) {
                bool ok = true;
                for (const auto& v : *lab) {
                    std::string s;
                    if (!scalar_label(v, &s)) ok = false;
                    d.labels.push_back(s);
                }
                if (!ok) {
                    c.skip(where, "field '" + o.label_field +
                                      "' holds something other than strings, numbers and booleans");
                    continue;
                }
            } else {
                std::string s;
                if (!scalar_label(*lab, &s)) {
                    c.skip(where, "field '" + o.label_field + "' is " + json_kind(*lab) +
                                      "; a label is a string, number, boolean or an array of them");
                    continue;
                }
                d.labels.push_back(s);
            }
        }
        if (!o.text_b_field.empty()) {
            auto b = obj.find(o.text_b_field);
            if (b == obj.end() || !b->is_string()) {
                c.skip(where, "no string field '" + o.text_b_field + "'; fields are " + field_list(obj));
                continue;
            }
            d.text_b = c.decode(b->get_ref<const std::string&>(), where);
        }
        d.text = c.decode(text_it->get_ref<const std::string&>(), where);
        c.emit_text(std::move(d), where);
    }
}

// ---------------------------------------------------------------------------------------------- CSV / TSV

struct Record {
    std::vector<std::string> fields;
    int64_t line = 0;  // line the record starts on
    int64_t bytes = 0;
    bool too_long = false;
    bool unterminated = false;
};

// RFC 4180 records: quoted fields may hold delimiters, doubled quotes and newlines. A record over `cap` bytes
// is read to its end but its fields are dropped, so memory stays bounded.
bool read_record(ByteStream& in, char delim, bool quoting, int64_t cap, int64_t& line, Record& r) {
    r.fields.assign(1, std::string());
    r.line = line;
    r.bytes = 0;
    r.too_long = r.unterminated = false;
    bool in_quotes = false, field_start = true, any = false;
    for (;;) {
        const int ch = in.get();
        if (ch < 0) {
            if (in_quotes) r.unterminated = true;
            return any;
        }
        any = true;
        ++r.bytes;
        if (!r.too_long && r.bytes > cap) {
            r.too_long = true;
            r.fields.assign(1, std::string());
        }
        const char c = char(ch);
        if (c == '\n') ++line;
        if (in_quotes) {
            if (c == '"') {
                if (in.peek() == '"') {
                    in.get();
                    ++r.bytes;
                    if (!r.too_long) r.fields.back() += '"';
                } else {
                    in_quotes = false;
                }
            } else if (!r.too_long) {
                r.fields.back() += c;
            }
            continue;
        }
        if (c == '"' && quoting && field_start) {
            in_quotes = true;
            field_start = false;
            continue;
        }
        if (c == delim) {
            if (!r.too_long) r.fields.emplace_back();
            field_start = true;
            continue;
        }
        if (c == '\n') {
            if (!r.too_long && !r.fields.back().empty() && r.fields.back().back() == '\r')
                r.fields.back().pop_back();
            return true;
        }
        field_start = false;
        if (!r.too_long) r.fields.back() += c;
    }
}

std::string join_names(const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
    return s;
}

void import_delimited(Collector& c, const fs::path& path, const ImportOptions& o, char delim) {
    const std::string file = path.filename().string();
    auto f = open_nonempty(c, path);
    if (!f) return;
    {
        std::string head(8192, '\0');
        head.resize(std::fread(head.data(), 1, head.size(), f.get()));
        if (looks_binary(head)) return c.skip(file, "binary file");
        // A BOM would hide the opening quote of the first field.
        const bool bom = head.rfind("\xEF\xBB\xBF", 0) == 0;
        std::fseek(f.get(), bom ? 3 : 0, SEEK_SET);
    }
    const bool quoting = delim == ',' || o.tsv_quoting;
    const int64_t cap = o.max_document_bytes > 0 ? 2 * o.max_document_bytes + (1 << 20)
                                                 : std::numeric_limits<int64_t>::max() / 2;
    ByteStream in(f.get());
    int64_t line = 1;
    Record r;
    std::vector<std::string> columns = o.column_names;
    const bool has_header = columns.empty();
    if (has_header) {
        if (!read_record(in, delim, quoting, cap, line, r) || r.too_long)
            return c.skip(file + " line 1", "no header row");
        columns = r.fields;
        for (auto& name : columns) name = repair_utf8(name);
    }
    auto column = [&](const std::string& name) -> int {
        for (size_t i = 0; i < columns.size(); ++i)
            if (columns[i] == name) return int(i);
        return -1;
    };
    const int text_col = column(o.text_field);
    const int label_col = o.label_field.empty() ? -1 : column(o.label_field);
    const int b_col = o.text_b_field.empty() ? -1 : column(o.text_b_field);
    const int id_col = o.id_field.empty() ? -1 : column(o.id_field);
    const std::string header_where = file + " line 1";
    for (const auto& [want, col] : {std::pair{o.text_field, text_col}, std::pair{o.label_field, label_col},
                                    std::pair{o.text_b_field, b_col}}) {
        if (!want.empty() && col < 0)
            return c.skip(header_where, "no column named '" + want + "'; columns are " + join_names(columns));
    }
    for (int64_t row = 1; read_record(in, delim, quoting, cap, line, r); ++row) {
        const std::string where = file + " line " + std::to_string(r.line);
        if (r.unterminated) {
            c.skip(where, "quoted field not closed before the end of the file");
            break;
        }
        if (r.too_long) {
            c.skip(where, "row of " + human_bytes(uint64_t(r.bytes)) + " is over the limit of " +
                              human_bytes(uint64_t(cap)) + "; skipped");
            continue;
        }
        if (r.fields.size() == 1 && Collector::blank(r.fields[0])) {
            --row;
            continue;
        }
        if (r.fields.size() != columns.size()) {
            c.skip(where, "row " + std::to_string(row) + " has " + std::to_string(r.fields.size()) +
                              " fields, header has " + std::to_string(columns.size()));
            continue;
        }
        Document d;
        d.source = path.string();
        d.id = id_col >= 0 ? repair_utf8(r.fields[size_t(id_col)]) : file + ":" + std::to_string(r.line);
        if (label_col >= 0) d.labels.push_back(repair_utf8(r.fields[size_t(label_col)]));
        if (b_col >= 0) d.text_b = c.decode(r.fields[size_t(b_col)], where);
        d.text = c.decode(r.fields[size_t(text_col)], where);
        c.emit_text(std::move(d), where);
    }
}

// ---------------------------------------------------------------------------------------------- aclImdb

void import_aclimdb(Collector& c, const fs::path& root, const ImportOptions& o) {
    std::error_code ec;
    bool found = false;
    for (const char* split : {"train", "test"}) {
        if (!o.split.empty() && o.split != split) continue;
        const fs::path dir = root / split;
        if (!fs::is_directory(dir, ec)) continue;
        for (const char* polarity : {"pos", "neg"}) {
            const fs::path sub = dir / polarity;
            if (!fs::is_directory(sub, ec)) {
                c.skip(std::string(split) + "/" + polarity, "folder missing");
                continue;
            }
            found = true;
            const std::string label = std::string(polarity) == "pos" ? "positive" : "negative";
            for (const auto& file : sorted_entries(sub, false)) {
                const std::string where = relative_name(file, root);
                if (!fs::is_regular_file(file, ec))
                    c.skip(where, "not a regular file");
                else if (lower_extension(file) != ".txt")
                    c.skip(where, "not a .txt file");
                else
                    import_text_file(c, file, where, {label}, o.max_document_bytes);
            }
        }
        if (fs::is_directory(dir / "unsup", ec)) {
            const size_t n = sorted_entries(dir / "unsup", false).size();
            c.skip(std::string(split) + "/unsup", std::to_string(n) + " unlabelled reviews skipped");
        }
    }
    if (!found) c.skip(root.filename().string(), "no train/pos, train/neg, test/pos or test/neg folder");
}

// ---------------------------------------------------------------------------------------------- plain text

void import_text_corpus(Collector& c, const fs::path& path, const ImportOptions& o) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        for (const auto& file : sorted_entries(path, true)) {
            if (fs::is_directory(file, ec)) continue;
            const std::string where = relative_name(file, path);
            if (lower_extension(file) == ".jsonl")
                import_jsonl(c, file, o, false);
            else if (!is_text_name(file))
                c.skip(where, "not a .txt, .md or .jsonl file");
            else
                import_text_file(c, file, where, {}, o.max_document_bytes);
        }
        return;
    }
    if (lower_extension(path) == ".jsonl") return import_jsonl(c, path, o, false);
    import_text_file(c, path, path.filename().string(), {}, o.max_document_bytes);
}

// ---------------------------------------------------------------------------------------------- images

std::vector<std::string> read_label_names(const fs::path& dir) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const char* n : {"labels.txt", "batches.meta.txt"}) {
        if (!fs::is_regular_file(dir / n, ec) || fs::file_size(dir / n, ec) > (1 << 20)) continue;
        auto f = open_file((dir / n).string(), nullptr);
        if (!f) continue;
        ByteStream in(f.get());
        std::string line;
        while (in.line(line, 4096) >= 0)
            if (!Collector::blank(line)) names.push_back(repair_utf8(line));
        break;
    }
    return names;
}

std::string class_label(int index, const std::vector<std::string>& names) {
    return index >= 0 && size_t(index) < names.size() ? names[size_t(index)] : std::to_string(index);
}

struct IdxHeader {
    std::vector<uint32_t> dims;
    uint64_t items = 0, item_bytes = 1;
};

// Reads and checks an IDX header; returns an empty string or the reason the file is unusable.
std::string read_idx_header(FILE* f, uint64_t file_size, IdxHeader& h) {
    unsigned char m[4];
    const size_t got = std::fread(m, 1, 4, f);
    if (got >= 2 && m[0] == 0x1F && m[1] == 0x8B) return "gzip-compressed; gunzip it first";
    if (got != 4) return "too short for an IDX header";
    if (m[0] != 0 || m[1] != 0) return "not an IDX file (bad magic number)";
    if (m[2] != 0x08) {
        char b[64];
        std::snprintf(b, sizeof b, "element type 0x%02X is not unsigned bytes", m[2]);
        return b;
    }
    if (m[3] == 0 || m[3] > 4) return "not an IDX file (" + std::to_string(m[3]) + " dimensions)";
    for (int i = 0; i < m[3]; ++i) {
        unsigned char d[4];
        if (std::fread(d, 1, 4, f) != 4) return "header cut short";
        h.dims.push_back((uint32_t(d[0]) << 24) | (uint32_t(d[1]) << 16) | (uint32_t(d[2]) << 8) | d[3]);
    }
    h.items = h.dims[0];
    // Four 32-bit dimensions can multiply past 2^64 and wrap around to a small "expected" size, which would
    // let a 20-byte file announce 2^48-byte images; the product is checked against the file size instead.
    uint64_t data_bytes = 0;
    for (size_t i = 1; i < h.dims.size(); ++i) {
        if (__builtin_mul_overflow(h.item_bytes, uint64_t(h.dims[i]), &h.item_bytes))
            return "its header announces images larger than 2^64 bytes";
    }
    if (h.dims.size() > 1 && h.item_bytes == 0) return "its header announces images of 0 pixels";
    if (__builtin_mul_overflow(h.items, h.item_bytes, &data_bytes) || data_bytes > file_size)
        return "size " + std::to_string(file_size) + " is smaller than its header announces (" +
               std::to_string(h.items) + " items of " + std::to_string(h.item_bytes) + " bytes)";
    const uint64_t expected = 4 + 4 * h.dims.size() + data_bytes;
    if (expected != file_size)
        return "size " + std::to_string(file_size) + " does not match its header (" +
               std::to_string(expected) + " bytes)";
    return {};
}

fs::path labels_path_for(const fs::path& images) {
    std::string name = images.filename().string();
    const auto pos = name.find("images-idx3");
    if (pos == std::string::npos) return {};
    name.replace(pos, 11, "labels-idx1");
    return images.parent_path() / name;
}

void import_idx_file(Collector& c, const fs::path& images, const ImportOptions& o) {
    const std::string file = images.filename().string();
    std::error_code ec;
    const uint64_t size = fs::file_size(images, ec);
    if (ec) return c.skip(file, "cannot read: " + ec.message());
    std::string error;
    auto f = open_file(images.string(), &error);
    if (!f) return c.skip(file, error);
    IdxHeader h;
    if (auto why = read_idx_header(f.get(), size, h); !why.empty()) return c.skip(file, why);
    if (h.dims.size() < 2) return c.skip(file, "a 1-dimensional IDX file holds labels, not images");
    std::vector<unsigned char> labels;
    fs::path lp = o.idx_labels_path.empty() ? labels_path_for(images) : fs::path(o.idx_labels_path);
    if (!lp.empty() && fs::is_regular_file(lp, ec)) {
        auto lf = open_file(lp.string(), &error);
        IdxHeader lh;
        std::string why = lf ? read_idx_header(lf.get(), fs::file_size(lp, ec), lh) : error;
        if (why.empty() && lh.dims.size() != 1)
            why = "not a labels file (" + std::to_string(lh.dims.size()) + " dimensions)";
        if (why.empty() && lh.items != h.items)
            why = std::to_string(lh.items) + " labels for " + std::to_string(h.items) + " images";
        if (!why.empty()) return c.skip(lp.filename().string(), why);
        labels.resize(lh.items);
        if (std::fread(labels.data(), 1, labels.size(), lf.get()) != labels.size())
            return c.skip(lp.filename().string(), "read error");
    } else {
        c.skip(file, "no labels file" +
                         (lp.empty() ? std::string() : " (looked for " + lp.filename().string() + ")") +
                         "; images imported without labels");
    }
    const auto names = read_label_names(images.parent_path());
    for (uint64_t i = 0; i < h.items; ++i) {
        Document d;
        d.text.resize(h.item_bytes);
        if (std::fread(d.text.data(), 1, h.item_bytes, f.get()) != h.item_bytes)
            return c.skip(file, "read error at image " + std::to_string(i));
        d.id = file + "#" + std::to_string(i);
        d.source = images.string();
        if (!labels.empty()) d.labels.push_back(class_label(labels[i], names));
        c.emit(std::move(d), int64_t(h.item_bytes));
    }
}

void import_idx(Collector& c, const fs::path& path, const ImportOptions& o) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) return import_idx_file(c, path, o);
    bool any = false;
    for (const auto& file : sorted_entries(path, false)) {
        if (file.filename().string().find("images-idx") == std::string::npos) continue;
        any = true;
        ImportOptions each = o;
        each.idx_labels_path.clear();  // one labels file cannot serve several image files
        import_idx_file(c, file, each);
    }
    if (!any) c.skip(path.filename().string(), "no *-images-idx*-ubyte file");
}

constexpr uint64_t kCifarRecord = 1 + 3072;

void import_cifar_file(Collector& c, const fs::path& path, const std::vector<std::string>& names) {
    const std::string file = path.filename().string();
    std::error_code ec;
    const uint64_t size = fs::file_size(path, ec);
    if (ec) return c.skip(file, "cannot read: " + ec.message());
    if (size == 0) return c.skip(file, "empty file");
    if (size % kCifarRecord != 0)
        c.skip(file, "size " + std::to_string(size) + " is not a multiple of 3073 bytes; the last " +
                         std::to_string(size % kCifarRecord) + " bytes are ignored");
    std::string error;
    auto f = open_file(path.string(), &error);
    if (!f) return c.skip(file, error);
    std::string record(kCifarRecord, '\0');
    for (uint64_t i = 0; i < size / kCifarRecord; ++i) {
        if (std::fread(record.data(), 1, kCifarRecord, f.get()) != kCifarRecord)
            return c.skip(file, "read error at record " + std::to_string(i));
        const int label = static_cast<unsigned char>(record[0]);
        if (label > 9) {
            c.skip(file + " record " + std::to_string(i), "label " + std::to_string(label) + " is not 0-9");
            continue;
        }
        Document d;
        d.id = file + "#" + std::to_string(i);
        d.text = record.substr(1);
        d.labels.push_back(class_label(label, names));
        d.source = path.string();
        c.emit(std::move(d), 3072);
    }
}

void import_cifar(Collector& c, const fs::path& path) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) return import_cifar_file(c, path, read_label_names(path.parent_path()));
    const auto names = read_label_names(path);
    bool any = false;
    for (const auto& file : sorted_entries(path, false)) {
        if (lower_extension(file) != ".bin") continue;
        any = true;
        import_cifar_file(c, file, names);
    }
    if (!any) c.skip(path.filename().string(), "no .bin batch files");
}

}  // namespace

// ---------------------------------------------------------------------------------------------- public

ImportFormat parse_import_format(const std::string& name) {
    static const std::pair<const char*, ImportFormat> table[] = {
        {"auto", ImportFormat::Auto}, {"folder", ImportFormat::Folder}, {"jsonl", ImportFormat::Jsonl},
        {"csv", ImportFormat::Csv},   {"tsv", ImportFormat::Tsv},       {"aclimdb", ImportFormat::AclImdb},
        {"text", ImportFormat::Text}, {"idx", ImportFormat::Idx},       {"cifar", ImportFormat::Cifar}};
    for (const auto& [n, f] : table)
        if (name == n) return f;
    throw InvalidInput("unknown import format '" + name +
                       "'; formats are auto, folder, jsonl, csv, tsv, aclimdb, text, idx, cifar");
}

std::string to_string(ImportFormat format) {
    switch (format) {
        case ImportFormat::Auto:
            return "auto";
        case ImportFormat::Folder:
            return "folder-per-class";
        case ImportFormat::Jsonl:
            return "jsonl";
        case ImportFormat::Csv:
            return "csv";
        case ImportFormat::Tsv:
            return "tsv";
        case ImportFormat::AclImdb:
            return "aclimdb";
        case ImportFormat::Text:
            return "text";
        case ImportFormat::Idx:
            return "idx";
        case ImportFormat::Cifar:
            return "cifar";
    }
    return "?";
}

ImportFormat detect_import_format(const std::string& path_string) {
    const fs::path path(path_string);
    std::error_code ec;
    if (!fs::exists(path, ec)) throw InvalidInput("'" + path_string + "' does not exist");
    if (fs::is_directory(path, ec)) {
        for (const char* split : {"train", "test"})
            if (fs::is_directory(path / split / "pos", ec) && fs::is_directory(path / split / "neg", ec))
                return ImportFormat::AclImdb;
        bool subdirs = false;
        for (const auto& e : sorted_entries(path, false)) {
            const std::string name = e.filename().string();
            if (name.find("-idx") != std::string::npos && name.find("ubyte") != std::string::npos)
                return ImportFormat::Idx;
            if (lower_extension(e) == ".bin") return ImportFormat::Cifar;
            if (fs::is_directory(e, ec) && name[0] != '.') subdirs = true;
        }
        // Sub-folders mean classes; a corpus spread over folders needs --format text.
        if (subdirs) return ImportFormat::Folder;
        return ImportFormat::Text;
    }
    const std::string ext = lower_extension(path);
    const std::string name = path.filename().string();
    if (ext == ".jsonl" || ext == ".ndjson") return ImportFormat::Jsonl;
    if (ext == ".csv") return ImportFormat::Csv;
    if (ext == ".tsv") return ImportFormat::Tsv;
    if (ext == ".txt" || ext == ".md") return ImportFormat::Text;
    if (name.find("-idx") != std::string::npos && name.find("ubyte") != std::string::npos)
        return ImportFormat::Idx;
    if (ext == ".bin") return ImportFormat::Cifar;
    throw InvalidInput(
        "cannot tell the format of '" + path_string +
        "' from its name; choose one with --format (folder, jsonl, csv, tsv, aclimdb, text, idx, "
        "cifar)");
}

ImportReport import_documents(const std::string& path_string, ImportFormat format, const ImportOptions& o,
                              const DocumentSink& sink) {
    const fs::path path(path_string);
    std::error_code ec;
    if (!fs::exists(path, ec)) throw InvalidInput("'" + path_string + "' does not exist");
    if (format == ImportFormat::Auto) format = detect_import_format(path_string);
    const bool dir = fs::is_directory(path, ec);
    const bool needs_dir = format == ImportFormat::Folder || format == ImportFormat::AclImdb;
    const bool needs_file =
        format == ImportFormat::Jsonl || format == ImportFormat::Csv || format == ImportFormat::Tsv;
    if (needs_dir && !dir)
        throw InvalidInput("'" + path_string + "' is not a folder (the " + to_string(format) +
                           " format reads a folder)");
    if (needs_file && dir)
        throw InvalidInput("'" + path_string + "' is a folder; the " + to_string(format) +
                           " format reads one file");
    Collector c(to_string(format), sink, o.max_document_bytes, o.max_documents);
    try {
        switch (format) {
            case ImportFormat::Folder:
                import_folder(c, path, o);
                break;
            case ImportFormat::Jsonl:
                import_jsonl(c, path, o, true);
                break;
            case ImportFormat::Csv:
                import_delimited(c, path, o, ',');
                break;
            case ImportFormat::Tsv:
                import_delimited(c, path, o, '\t');
                break;
            case ImportFormat::AclImdb:
                import_aclimdb(c, path, o);
                break;
            case ImportFormat::Text:
                import_text_corpus(c, path, o);
                break;
            case ImportFormat::Idx:
                import_idx(c, path, o);
                break;
            case ImportFormat::Cifar:
                import_cifar(c, path);
                break;
            case ImportFormat::Auto:
                break;
        }
    } catch (const DocumentLimitReached&) {
        c.report().stopped_early = true;
        c.skip(path.filename().string(), "reading stopped after " + std::to_string(o.max_documents) +
                                             " documents (the import limit); the rest was not read");
    }
    return c.finish();
}

ImportResult import_documents(const std::string& path, ImportFormat format, const ImportOptions& options) {
    ImportResult r;
    r.report =
        import_documents(path, format, options, [&](Document&& d) { r.documents.push_back(std::move(d)); });
    return r;
}

std::string document_to_json_line(const Document& doc) {
    json j = json::object();
    j["id"] = doc.id;
    j["text"] = doc.text;
    if (!doc.text_b.empty()) j["text_b"] = doc.text_b;
    if (doc.labels.size() == 1) j["label"] = doc.labels[0];
    if (doc.labels.size() > 1) j["labels"] = doc.labels;
    j["source"] = doc.source;
    // Replacement keeps a line writable even for image documents, whose text is raw bytes.
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace ponet
