#include "core/train/run_compare.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>

#include "core/util/error.h"

namespace ponet {

namespace {
using json = nlohmann::json;

// Step-event fields that describe the step rather than measure it.
bool is_step_bookkeeping(const std::string& key) {
    return key == "event" || key == "step" || key == "max_steps" || key == "effective_batch";
}
}  // namespace

const MetricSeries* RunMetrics::find(const std::string& name) const {
    for (const MetricSeries& s : series)
        if (s.name == name) return &s;
    return nullptr;
}

RunMetrics read_run_metrics(const std::string& metrics_path) {
    RunMetrics out;
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(metrics_path.c_str(), "rb"), std::fclose);
    if (!f) {
        if (errno == ENOENT) return out;
        throw Error("cannot read '" + metrics_path + "': " + std::strerror(errno));
    }
    std::map<std::string, std::vector<MetricPoint>> series;
    std::string line;
    char buf[1 << 16];
    auto take_line = [&] {
        if (line.empty()) return;
        json j;
        try {
            j = json::parse(line);
        } catch (const json::exception&) {
            ++out.bad_lines;
            line.clear();
            return;
        }
        line.clear();
        if (!j.is_object() || !j.contains("step") || !j["step"].is_number()) {
            ++out.bad_lines;
            return;
        }
        ++out.events;
        const int64_t step = j["step"].get<int64_t>();
        const std::string event = j.value("event", "");
        if (event == "step") {
            for (const auto& [k, v] : j.items())
                if (!is_step_bookkeeping(k) && v.is_number()) series["train/" + k].push_back({step, v.get<double>()});
        } else if (event == "eval" && j.contains("values") && j["values"].is_object()) {
            const std::string split = j.value("split", "dev");
            for (const auto& [k, v] : j["values"].items())
                if (v.is_number()) series[split + "/" + k].push_back({step, v.get<double>()});
        }
    };
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
        for (size_t i = 0; i < n; ++i) {
            if (buf[i] == '\n') {
                take_line();
            } else {
                line.push_back(buf[i]);
            }
        }
    }
    if (std::ferror(f.get())) throw Error("cannot read '" + metrics_path + "': read error");
    take_line();  // a last line without its newline: a live run mid-write, or a complete last event
    for (auto& [name, points] : series) out.series.push_back({name, std::move(points)});
    return out;
}

std::vector<ConfigDifference> diff_run_configs(const std::vector<RunConfig>& configs) {
    std::vector<ConfigDifference> out;
    if (configs.size() < 2) return out;
    for (const OptionInfo& o : run_options()) {
        if (o.key == "name") continue;
        ConfigDifference d{o.key, {}};
        for (const RunConfig& c : configs) d.values.push_back(get_option(c, o.key));
        if (std::adjacent_find(d.values.begin(), d.values.end(), std::not_equal_to<>()) != d.values.end())
            out.push_back(std::move(d));
    }
    return out;
}

}  // namespace ponet
