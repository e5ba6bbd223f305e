// The per-device benchmark cache (bench_cache.h).
#include "core/bench/bench_cache.h"

#include <nlohmann/json.hpp>

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/data/xdg.h"
#include "core/io/atomic_file.h"
#include "core/util/error.h"
#include "core/util/fs_util.h"

namespace ponet::bench {

namespace {

constexpr char kCacheFormat[] = "ponet-bench-cache";

void make_dirs(const std::string& path) {
    std::string partial;
    for (size_t i = 0; i <= path.size(); ++i) {
        if (i == path.size() || (path[i] == '/' && i > 0)) {
            partial = path.substr(0, i);
            if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST)
                throw Error("cannot create the cache folder " + partial + ": " + std::strerror(errno));
        }
    }
}

std::vector<BenchReport> read_cache_file(const std::string& path) {
    const nlohmann::json j = nlohmann::json::parse(read_file(path, 64ull << 20), nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.value("format", std::string()) != kCacheFormat)
        throw InvalidInput(path + ": not a ponet bench cache file");
    std::vector<BenchReport> out;
    size_t i = 0;
    for (const auto& r : j.at("reports"))
        out.push_back(BenchReport::from_json_text(r.dump(), path + " report " + std::to_string(i++)));
    return out;
}

}  // namespace

std::string cache_directory() {
    return cache_dir() + "/bench";
}

std::string cache_file_for(const std::string& device_name) {
    std::string key;
    for (char c : device_name) {
        const bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                          c == '.' || c == '-';
        key += keep ? c : '_';
    }
    if (key.empty()) key = "unknown-device";
    return cache_directory() + "/" + key + ".json";
}

std::string setting_key(const BenchReport& r) {
    // CUDA graphs change CUDA timings only; on the CPU the setting means nothing and must not split the cache.
    const bool cpu = r.device == "cpu";
    return r.spec.preset + "|" + to_string(r.spec.mode) + "|" + std::to_string(r.spec.batch) + "|" +
           r.precision + "|" + r.spec.impl + (cpu ? std::string() : "|graphs:" + r.spec.cuda_graphs);
}

std::string update_cache(const BenchReport& report) {
    const std::string path = cache_file_for(report.device_name);
    // Nothing finished (cancelled at once, or every cell an error): the cache keeps what it had.
    if (std::none_of(report.rows.begin(), report.rows.end(),
                     [](const BenchRow& r) { return r.status == "ok" || r.status == "oom"; }))
        return path;
    std::vector<BenchReport> reports;
    if (is_regular_file_at(path)) {
        try {
            reports = read_cache_file(path);
        } catch (const std::exception&) {
            reports.clear();  // a damaged cache is only a cache: start it again
        }
    }
    const std::string key = setting_key(report);
    auto it = std::find_if(reports.begin(), reports.end(),
                           [&](const BenchReport& r) { return setting_key(r) == key; });
    BenchReport merged = report;
    merged.cancelled = false;
    merged.rows.clear();
    if (it != reports.end()) {
        merged.rows = it->rows;
        reports.erase(it);
    }
    // Finished cells replace what the cache had at the same (mixer, length): the newest measurement wins.
    for (const BenchRow& row : report.rows) {
        if (row.status != "ok" && row.status != "oom") continue;
        merged.rows.erase(
            std::remove_if(merged.rows.begin(), merged.rows.end(),
                           [&](const BenchRow& o) { return o.mixer == row.mixer && o.length == row.length; }),
            merged.rows.end());
        merged.rows.push_back(row);
    }
    // The spec lists what the cache holds, so tables and plots of the merged report show every cell.
    merged.spec.mixers.clear();
    merged.spec.lengths.clear();
    for (const BenchRow& row : merged.rows) {
        if (std::find(merged.spec.mixers.begin(), merged.spec.mixers.end(), row.mixer) ==
            merged.spec.mixers.end())
            merged.spec.mixers.push_back(row.mixer);
        if (std::find(merged.spec.lengths.begin(), merged.spec.lengths.end(), row.length) ==
            merged.spec.lengths.end())
            merged.spec.lengths.push_back(row.length);
    }
    std::sort(merged.spec.lengths.begin(), merged.spec.lengths.end());
    std::sort(merged.rows.begin(), merged.rows.end(), [&](const BenchRow& a, const BenchRow& b) {
        const auto& m = merged.spec.mixers;
        const auto ia = std::find(m.begin(), m.end(), a.mixer) - m.begin();
        const auto ib = std::find(m.begin(), m.end(), b.mixer) - m.begin();
        return ia != ib ? ia < ib : a.length < b.length;
    });
    if (merged.rows.empty()) return path;
    reports.insert(reports.begin(), std::move(merged));

    nlohmann::ordered_json j;
    j["format"] = kCacheFormat;
    j["version"] = 1;
    j["reports"] = nlohmann::ordered_json::array();
    for (const BenchReport& r : reports)
        j["reports"].push_back(nlohmann::ordered_json::parse(r.to_json_text()));
    make_dirs(cache_directory());
    write_file_atomic(path, j.dump(1) + "\n");
    return path;
}

std::vector<BenchReport> load_cache(std::vector<std::string>* problems) {
    std::vector<BenchReport> out;
    const std::string dir = cache_directory();
    DIR* d = ::opendir(dir.c_str());
    if (!d) return out;
    std::vector<std::string> files;
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0)
            files.push_back(dir + "/" + name);
    }
    ::closedir(d);
    std::sort(files.begin(), files.end());
    for (const std::string& f : files) {
        try {
            for (auto& r : read_cache_file(f)) out.push_back(std::move(r));
        } catch (const std::exception& e) {
            if (problems) problems->push_back(e.what());
        }
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const BenchReport& a, const BenchReport& b) { return a.started_at > b.started_at; });
    return out;
}

bool find_cached(const std::string& device_name, const BenchReport& like, BenchReport* out) {
    const std::string path = cache_file_for(device_name);
    if (!is_regular_file_at(path)) return false;
    try {
        const std::string key = setting_key(like);
        for (auto& r : read_cache_file(path)) {
            if (r.device_name == device_name && setting_key(r) == key) {
                if (out) *out = std::move(r);
                return true;
            }
        }
    } catch (const std::exception&) {
    }
    return false;
}

}  // namespace ponet::bench
