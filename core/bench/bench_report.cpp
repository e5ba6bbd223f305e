// The benchmark's torch-free half: spec checks and parsing, the JSON report and the text table.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include "core/bench/bench.h"
#include "core/io/atomic_file.h"
#include "core/util/error.h"

namespace ponet::bench {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

namespace {

constexpr int kFormatVersion = 1;
constexpr int64_t kMaxLength = int64_t{1} << 20;

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
    std::string out;
    for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
    return out;
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::string item;
    std::istringstream in(text);
    while (std::getline(in, item, ',')) out.push_back(trim(item));
    return out;
}

// JSON has no NaN; a value that does not apply is null.
ordered_json num(double v) {
    return std::isfinite(v) ? ordered_json(v) : ordered_json(nullptr);
}

}  // namespace

std::string to_string(BenchMode m) {
    return m == BenchMode::Train ? "train" : "infer";
}

BenchMode bench_mode_from_string(const std::string& s) {
    if (s == "train") return BenchMode::Train;
    if (s == "infer" || s == "inference") return BenchMode::Infer;
    throw InvalidInput("unknown benchmark mode '" + s + "' (train or infer)");
}

std::vector<std::string> preset_names() {
    return {"lra-text", "base", "tiny"};
}

std::string preset_description(const std::string& preset) {
    if (preset == "lra-text")
        return "the PoNet paper's Table 2 setting: LRA text skeleton (pre-LN, mean pooling, byte "
               "vocabulary), "
               "embedding 64, 2 layers, 2 heads x 32, FFN 128, 2 classes";
    if (preset == "base")
        return "the ponet-base-uncased shape: BERT skeleton, hidden 768, 12 layers, 12 heads, FFN 3072, "
               "sequence classification with 2 classes";
    if (preset == "tiny")
        return "the tiny preset: BERT skeleton, hidden 64, 2 layers, 2 heads, FFN 128, sequence "
               "classification with 2 classes (for quick checks)";
    return {};
}

std::vector<std::string> mixer_names() {
    return {"ponet", "fnet", "attention"};
}

std::vector<int64_t> parse_lengths(const std::string& text) {
    std::vector<int64_t> out;
    for (const std::string& raw : split_list(text)) {
        if (raw.empty()) throw InvalidInput("empty item in the length list '" + text + "'");
        std::string digits = raw;
        int64_t unit = 1;
        if (digits.back() == 'k' || digits.back() == 'K') {
            unit = 1024;
            digits.pop_back();
        }
        if (digits.empty() || digits.size() > 9 ||
            !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
            throw InvalidInput("bad sequence length '" + raw + "' (a whole number such as 4096 or 4K)");
        out.push_back(std::stoll(digits) * unit);
    }
    if (out.empty()) throw InvalidInput("no sequence lengths given");
    return out;
}

std::vector<std::string> parse_mixers(const std::string& text) {
    std::vector<std::string> out;
    const auto known = mixer_names();
    for (const std::string& m : split_list(text)) {
        if (std::find(known.begin(), known.end(), m) == known.end())
            throw InvalidInput("unknown mixer '" + m + "' (known: " + join(known) + ")");
        out.push_back(m);
    }
    if (out.empty()) throw InvalidInput("no mixers given");
    return out;
}

void BenchSpec::validate() const {
    const auto known_mixers = mixer_names();
    if (mixers.empty()) throw InvalidInput("no mixers given");
    std::set<std::string> seen_mixers;
    for (const auto& m : mixers) {
        if (std::find(known_mixers.begin(), known_mixers.end(), m) == known_mixers.end())
            throw InvalidInput("unknown mixer '" + m + "' (known: " + join(known_mixers) + ")");
        if (!seen_mixers.insert(m).second) throw InvalidInput("mixer '" + m + "' is listed twice");
    }
    if (lengths.empty()) throw InvalidInput("no sequence lengths given");
    std::set<int64_t> seen_lengths;
    for (int64_t l : lengths) {
        if (l < 2 || l > kMaxLength)
            throw InvalidInput("sequence length " + std::to_string(l) + " is out of range (2 to " +
                               std::to_string(kMaxLength) + ")");
        if (!seen_lengths.insert(l).second)
            throw InvalidInput("sequence length " + std::to_string(l) + " is listed twice");
    }
    const auto presets = preset_names();
    if (std::find(presets.begin(), presets.end(), preset) == presets.end())
        throw InvalidInput("unknown preset '" + preset + "' (known: " + join(presets) + ")");
    if (batch < 1 || batch > 65536)
        throw InvalidInput("batch " + std::to_string(batch) + " must be 1 to 65536");
    if (steps < 1 || steps > 100000)
        throw InvalidInput("steps " + std::to_string(steps) + " must be 1 to 100000");
    if (warmup < 0 || warmup > 100000)
        throw InvalidInput("warm-up " + std::to_string(warmup) + " must be 0 to 100000");
    if (impl != "auto" && impl != "fused" && impl != "reference")
        throw InvalidInput("unknown mixer implementation '" + impl + "' (auto, fused or reference)");
    if (cuda_graphs != "auto" && cuda_graphs != "on" && cuda_graphs != "off")
        throw InvalidInput("unknown CUDA graph setting '" + cuda_graphs + "' (auto, on or off)");
    if (precision != "auto" && precision != "fp32" && precision != "bf16" && precision != "fp16")
        throw InvalidInput("unknown precision '" + precision + "' (auto, fp32, bf16 or fp16)");
    if (device.empty()) throw InvalidInput("no device given (auto, cpu, cuda or cuda:N)");
}

const BenchRow* BenchReport::find(const std::string& mixer, int64_t length) const {
    for (const auto& r : rows)
        if (r.mixer == mixer && r.length == length) return &r;
    return nullptr;
}

std::string BenchReport::to_json_text() const {
    ordered_json s;
    s["mixers"] = spec.mixers;
    s["lengths"] = spec.lengths;
    s["preset"] = spec.preset;
    s["batch"] = spec.batch;
    s["impl"] = spec.impl;
    s["device"] = spec.device;
    s["mode"] = to_string(spec.mode);
    s["precision"] = spec.precision;
    s["warmup"] = spec.warmup;
    s["steps"] = spec.steps;
    s["seed"] = spec.seed;
    s["cuda_graphs"] = spec.cuda_graphs;

    ordered_json j;
    j["format"] = "ponet-bench";
    j["version"] = kFormatVersion;
    j["spec"] = s;
    j["device"] = device;
    j["device_name"] = device_name;
    j["precision"] = precision;
    j["torch_version"] = torch_version;
    j["ponet_version"] = ponet_version;
    j["started_at"] = started_at;
    j["timing_method"] = timing_method;
    j["memory_metric"] = memory_metric;
    j["threads"] = threads;
    j["cancelled"] = cancelled;
    j["rows"] = ordered_json::array();
    for (const BenchRow& r : rows) {
        ordered_json o;
        o["mixer"] = r.mixer;
        o["length"] = r.length;
        o["status"] = r.status;
        o["message"] = r.message;
        o["impl"] = r.impl;
        o["cuda_graph"] = r.cuda_graph;
        o["median_ms"] = num(r.median_ms);
        o["min_ms"] = num(r.min_ms);
        o["max_ms"] = num(r.max_ms);
        o["steps_per_second"] = num(r.steps_per_second);
        o["tokens_per_second"] = num(r.tokens_per_second);
        o["peak_bytes"] = r.peak_bytes >= 0 ? ordered_json(r.peak_bytes) : ordered_json(nullptr);
        o["parameters"] = r.parameters;
        o["step_ms"] = ordered_json::array();
        for (double ms : r.step_ms) o["step_ms"].push_back(num(ms));
        j["rows"].push_back(std::move(o));
    }
    return j.dump(2) + "\n";
}

BenchReport BenchReport::from_json_text(const std::string& text, const std::string& origin) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::parse_error& e) {
        throw InvalidInput(origin + ": not valid JSON (" + std::string(e.what()) + ")");
    }
    if (!j.is_object() || j.value("format", std::string()) != "ponet-bench")
        throw InvalidInput(origin + ": not a ponet bench report (no \"format\": \"ponet-bench\")");
    const int version = j.value("version", 0);
    if (version < 1 || version > kFormatVersion)
        throw InvalidInput(origin + ": report format version " + std::to_string(version) +
                           " is not one this program reads (1 to " + std::to_string(kFormatVersion) + ")");
    auto field = [&](const std::string& where) { return origin + ": field '" + where + "'"; };
    BenchReport r;
    try {
        const json& s = j.at("spec");
        r.spec.mixers = s.at("mixers").get<std::vector<std::string>>();
        r.spec.lengths = s.at("lengths").get<std::vector<int64_t>>();
        r.spec.preset = s.at("preset").get<std::string>();
        r.spec.batch = s.at("batch").get<int64_t>();
        r.spec.impl = s.value("impl", std::string("auto"));
        r.spec.device = s.value("device", std::string("auto"));
        r.spec.mode = bench_mode_from_string(s.value("mode", std::string("train")));
        r.spec.precision = s.value("precision", std::string("auto"));
        r.spec.warmup = s.value("warmup", int64_t{0});
        r.spec.steps = s.value("steps", int64_t{1});
        r.spec.seed = s.value("seed", int64_t{0});
        r.spec.cuda_graphs = s.value("cuda_graphs", std::string("off"));
        r.device = j.at("device").get<std::string>();
        r.device_name = j.value("device_name", r.device);
        r.precision = j.value("precision", std::string());
        r.torch_version = j.value("torch_version", std::string());
        r.ponet_version = j.value("ponet_version", std::string());
        r.started_at = j.value("started_at", std::string());
        r.timing_method = j.value("timing_method", std::string());
        r.memory_metric = j.value("memory_metric", std::string());
        r.threads = j.value("threads", int64_t{0});
        r.cancelled = j.value("cancelled", false);
        size_t index = 0;
        for (const json& o : j.at("rows")) {
            const std::string where = "rows[" + std::to_string(index++) + "]";
            BenchRow row;
            row.mixer = o.at("mixer").get<std::string>();
            row.length = o.at("length").get<int64_t>();
            row.status = o.at("status").get<std::string>();
            if (row.status != "ok" && row.status != "oom" && row.status != "error" &&
                row.status != "cancelled")
                throw InvalidInput(field(where + ".status") + " is '" + row.status +
                                   "' (ok, oom, error or cancelled)");
            if (row.length < 1) throw InvalidInput(field(where + ".length") + " must be positive");
            row.message = o.value("message", std::string());
            row.impl = o.value("impl", std::string());
            row.cuda_graph = o.value("cuda_graph", false);
            auto real = [&](const char* key) {
                const auto it = o.find(key);
                return it == o.end() || it->is_null() ? NAN : it->get<double>();
            };
            row.median_ms = real("median_ms");
            row.min_ms = real("min_ms");
            row.max_ms = real("max_ms");
            row.steps_per_second = real("steps_per_second");
            row.tokens_per_second = real("tokens_per_second");
            const auto peak = o.find("peak_bytes");
            row.peak_bytes = peak == o.end() || peak->is_null() ? -1 : peak->get<int64_t>();
            row.parameters = o.value("parameters", int64_t{0});
            if (const auto it = o.find("step_ms"); it != o.end())
                for (const json& v : *it) row.step_ms.push_back(v.is_null() ? NAN : v.get<double>());
            if (row.ok() && !(row.steps_per_second > 0))
                throw InvalidInput(field(where + ".steps_per_second") + " must be positive in an ok row");
            r.rows.push_back(std::move(row));
        }
    } catch (const json::exception& e) {
        throw InvalidInput(origin + ": missing or mistyped field (" + std::string(e.what()) + ")");
    }
    return r;
}

BenchReport BenchReport::load(const std::string& path) {
    return from_json_text(read_file(path, 64ull << 20), path);
}

void BenchReport::save(const std::string& path) const {
    write_file_atomic(path, to_json_text());
}

namespace {

std::string format_rate(double v) {
    char buf[32];
    if (!std::isfinite(v) || v <= 0) return "-";
    if (v >= 100)
        std::snprintf(buf, sizeof buf, "%.0f", v);
    else if (v >= 10)
        std::snprintf(buf, sizeof buf, "%.1f", v);
    else
        std::snprintf(buf, sizeof buf, "%.2f", v);
    return buf;
}

std::string format_count(double v) {
    char buf[32];
    if (!std::isfinite(v) || v <= 0) return "-";
    if (v >= 1e9)
        std::snprintf(buf, sizeof buf, "%.2fG", v / 1e9);
    else if (v >= 1e6)
        std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
    else if (v >= 1e3)
        std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
    else
        std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
}

std::string format_gib(int64_t bytes) {
    if (bytes < 0) return "n/a";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
    return buf;
}

std::string status_cell(const BenchRow& r) {
    if (r.status == "oom") return "OOM";
    if (r.status == "cancelled") return "cancelled";
    return "error";
}

std::string pad(const std::string& s, size_t width, bool right) {
    if (s.size() >= width) return s;
    return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

}  // namespace

std::string format_table(const BenchReport& report) {
    const BenchSpec& spec = report.spec;
    std::ostringstream out;
    const std::string what = spec.mode == BenchMode::Train ? "train step (forward + backward + AdamW)"
                                                           : "inference (forward, no gradients)";
    out << "ponet bench: " << spec.preset << ", " << what << ", batch " << spec.batch << ", "
        << report.precision << "\n";
    out << "device: " << report.device << " (" << report.device_name << "); LibTorch "
        << report.torch_version;
    if (report.threads > 0 && report.device == "cpu") out << ", " << report.threads << " threads";
    out << "\n";
    // The implementation each PoNet row actually ran (they agree unless a row failed before resolving).
    std::set<std::string> impls;
    for (const auto& r : report.rows)
        if (r.mixer == "ponet" && !r.impl.empty()) impls.insert(r.impl);
    if (!impls.empty()) {
        std::vector<std::string> v(impls.begin(), impls.end());
        out << "PoNet mixing implementation: " << join(v) << " (requested: " << spec.impl << ")\n";
    }
    std::vector<std::string> graphed;
    for (const auto& r : report.rows)
        if (r.cuda_graph) graphed.push_back(r.mixer + "@" + std::to_string(r.length));
    if (!graphed.empty())
        out << "CUDA graph replay (each step captured once, then replayed): " << join(graphed) << " (requested: "
            << spec.cuda_graphs << ")\n";
    out << "median of " << spec.steps << " timed steps after " << spec.warmup << " warm-up steps; "
        << report.timing_method << "\n";
    out << "memory: " << report.memory_metric << "\n\n";

    std::vector<std::string> mixers = spec.mixers;
    for (const auto& r : report.rows)
        if (std::find(mixers.begin(), mixers.end(), r.mixer) == mixers.end()) mixers.push_back(r.mixer);
    const std::vector<int64_t>& lengths = spec.lengths;

    auto table = [&](const std::string& corner, const std::function<std::string(const BenchRow&)>& cell) {
        std::vector<std::vector<std::string>> grid;
        grid.push_back({corner});
        for (int64_t l : lengths) grid[0].push_back(std::to_string(l));
        for (const auto& m : mixers) {
            std::vector<std::string> line{m};
            for (int64_t l : lengths) {
                const BenchRow* r = report.find(m, l);
                line.push_back(!r ? "-" : r->ok() ? cell(*r) : status_cell(*r));
            }
            grid.push_back(std::move(line));
        }
        std::vector<size_t> width(grid[0].size(), 0);
        for (const auto& line : grid)
            for (size_t c = 0; c < line.size(); ++c) width[c] = std::max(width[c], line[c].size());
        for (const auto& line : grid) {
            for (size_t c = 0; c < line.size(); ++c) out << (c ? " | " : "") << pad(line[c], width[c], c > 0);
            out << "\n";
        }
        out << "\n";
    };
    table("steps/s (peak GiB)", [](const BenchRow& r) {
        return format_rate(r.steps_per_second) + " (" + format_gib(r.peak_bytes) + ")";
    });
    table("tokens/s", [](const BenchRow& r) { return format_count(r.tokens_per_second); });

    bool notes = false;
    for (const auto& r : report.rows) {
        if (r.ok() || r.message.empty()) continue;
        if (!notes) out << "not ok:\n";
        notes = true;
        out << "  " << r.mixer << " at " << r.length << ": " << r.message << "\n";
    }
    if (report.cancelled) out << "cancelled: the table holds the cells finished before the stop\n";
    return out.str();
}

}  // namespace ponet::bench
