#include "core/train/run_directory.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/io/atomic_file.h"
#include "core/util/error.h"
#include "core/util/json_limits.h"

namespace ponet {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr uint64_t kMaxSmallFile = 16u << 20;

std::string hostname() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) return {};
    return buf;
}

// Appends `bytes` with one O_APPEND write where the kernel allows; a short write (a full disk) continues.
void append_bytes(const std::string& path, const std::string& bytes) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) throw Error("cannot open '" + path + "' for appending: " + std::strerror(errno));
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            throw Error("cannot append to '" + path + "': " + std::strerror(err));
        }
        done += static_cast<size_t>(n);
    }
    ::close(fd);
}

std::time_t mtime_of(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? st.st_mtime : 0;
}

bool process_alive(int64_t pid) {
    if (pid <= 0) return false;
    return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

std::string to_string(RunState s) {
    switch (s) {
        case RunState::Running:
            return "running";
        case RunState::Finished:
            return "finished";
        case RunState::Failed:
            return "failed";
        case RunState::Stopped:
            return "stopped";
    }
    return "?";
}

RunState run_state_from_string(const std::string& s) {
    for (auto st : {RunState::Running, RunState::Finished, RunState::Failed, RunState::Stopped})
        if (to_string(st) == s) return st;
    throw InvalidInput("unknown run status '" + s + "' (running, finished, failed or stopped)");
}

std::string RunStatus::to_json_text() const {
    json j = {{"version", kVersion},    {"status", to_string(state)}, {"task", task},
              {"step", step},           {"max_steps", max_steps},     {"best_metric_name", best_metric_name},
              {"best_step", best_step}, {"message", message},         {"pid", pid},
              {"host", host},           {"started", started},         {"updated", updated}};
    j["best_metric"] = best_metric ? json(*best_metric) : json(nullptr);
    return j.dump(2) + "\n";
}

RunStatus RunStatus::from_json_text(const std::string& text, const std::string& origin) {
    check_json_depth(text, origin);
    try {
        const json j = json::parse(text);
        if (j.at("version").get<int>() > kVersion)
            throw InvalidInput(origin + ": status version " + j.at("version").dump() +
                               " is newer than this program");
        RunStatus s;
        s.state = run_state_from_string(j.at("status").get<std::string>());
        s.task = j.value("task", "");
        s.step = j.value("step", int64_t{0});
        s.max_steps = j.value("max_steps", int64_t{0});
        s.best_metric_name = j.value("best_metric_name", "");
        if (j.contains("best_metric") && j["best_metric"].is_number())
            s.best_metric = j["best_metric"].get<double>();
        s.best_step = j.value("best_step", int64_t{-1});
        s.message = j.value("message", "");
        s.pid = j.value("pid", int64_t{0});
        s.host = j.value("host", "");
        s.started = j.value("started", "");
        s.updated = j.value("updated", "");
        return s;
    } catch (const json::exception& e) {
        throw InvalidInput(origin + ": invalid run status (" + e.what() + ")");
    }
}

RunDirectory RunDirectory::create(const std::string& path) {
    std::error_code ec;
    fs::create_directories(fs::path(path) / "checkpoints", ec);
    if (ec) throw Error("cannot create run directory '" + path + "': " + ec.message());
    return RunDirectory(path);
}

RunDirectory RunDirectory::open(const std::string& path) {
    std::error_code ec;
    if (!fs::is_regular_file(fs::path(path) / "config.json", ec) &&
        !fs::is_regular_file(fs::path(path) / "status.json", ec))
        throw InvalidInput("'" + path + "' is not a run directory (no config.json or status.json)");
    return RunDirectory(path);
}

std::string RunDirectory::name() const {
    return fs::path(path_).lexically_normal().filename().string();
}

void RunDirectory::save_config(const RunConfig& config) const {
    config.save(config_path());
}

RunConfig RunDirectory::load_config() const {
    return RunConfig::load(config_path());
}

void RunDirectory::append_metrics(const std::string& json_object) const {
    json j;
    try {
        j = json::parse(json_object);
    } catch (const json::exception& e) {  // parse_error, and out_of_range for a number such as 1e400
        throw InvalidInput(std::string("metrics event is not JSON: ") + e.what());
    }
    if (!j.is_object()) throw InvalidInput("a metrics event must be a JSON object");
    append_bytes(metrics_path(), j.dump() + "\n");
}

void RunDirectory::append_log(const std::string& line) const {
    append_bytes(log_path(), line + "\n");
}

void RunDirectory::write_status(RunStatus status) const {
    const std::time_t now = std::time(nullptr);
    status.updated = iso_time_utc(now);
    if (status.started.empty()) {
        const auto old = read_status();
        status.started = old && !old->started.empty() ? old->started : status.updated;
    }
    if (status.state == RunState::Running) {
        status.pid = static_cast<int64_t>(::getpid());
        status.host = hostname();
    }
    write_file_atomic(status_path(), status.to_json_text());
}

std::optional<RunStatus> RunDirectory::read_status() const {
    std::error_code ec;
    if (!fs::exists(status_path(), ec)) return std::nullopt;
    return RunStatus::from_json_text(read_file(status_path(), kMaxSmallFile), status_path());
}

void RunDirectory::save_labels(const std::vector<std::string>& labels) const {
    write_file_atomic(labels_path(), json(labels).dump(2) + "\n");
}

std::vector<std::string> RunDirectory::load_labels() const {
    try {
        return json::parse(read_file(labels_path(), kMaxSmallFile)).get<std::vector<std::string>>();
    } catch (const json::exception& e) {
        throw InvalidInput(labels_path() + ": expected a JSON array of label names (" + e.what() + ")");
    }
}

std::string checkpoint_dir_name(int64_t step) {
    return "step-" + std::to_string(step);
}

std::optional<int64_t> checkpoint_step_from_name(const std::string& name) {
    if (name.rfind("step-", 0) != 0 || name.size() == 5 || name.size() > 5 + 18) return std::nullopt;
    int64_t v = 0;
    for (size_t i = 5; i < name.size(); ++i) {
        if (name[i] < '0' || name[i] > '9') return std::nullopt;
        v = v * 10 + (name[i] - '0');
    }
    return v;
}

namespace {

// The newest step, whether it was the last one, and the best validation value of the run's main metric.
void summary_from_metrics(const RunDirectory& dir, RunSummary& s) {
    std::string metric;
    try {
        metric = main_metric(dir.load_config());
    } catch (const Error&) {
        metric = "accuracy";
    }
    std::ifstream in(dir.metrics_path());
    std::string line;
    int64_t max_steps = 0;
    bool tested = false;
    while (std::getline(in, line)) {
        if (line.find("\"event\"") == std::string::npos) continue;
        const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (!j.is_object()) continue;  // a torn last line
        const std::string event = j.value("event", "");
        if (event == "step") {
            s.steps = std::max(s.steps, j.value("step", int64_t{0}));
            max_steps = j.value("max_steps", max_steps);
        } else if (event == "eval" && j.value("split", "") == "test") {
            tested = true;
        } else if (event == "eval" && j.value("split", "") == "dev" && j.value("is_best", false)) {
            const auto values = j.find("values");
            if (values != j.end() && values->is_object() && values->contains(metric) && (*values)[metric].is_number()) {
                s.best_metric_name = metric;
                s.best_metric = (*values)[metric].get<double>();
            }
        }
    }
    if (tested || (max_steps > 0 && s.steps >= max_steps)) s.state = RunState::Finished;
}

}  // namespace

std::vector<RunSummary> list_runs(const std::string& runs_dir) {
    std::vector<RunSummary> out;
    std::error_code ec;
    if (!fs::is_directory(runs_dir, ec)) return out;
    const std::string here = hostname();
    for (const auto& entry : fs::directory_iterator(runs_dir, ec)) {
        if (!entry.is_directory(ec)) continue;
        const std::string path = entry.path().string();
        std::optional<RunDirectory> dir;
        try {
            dir = RunDirectory::open(path);
        } catch (const InvalidInput&) {
            continue;  // not a run: some other folder the user keeps beside the runs
        }
        RunSummary s;
        s.name = entry.path().filename().string();
        s.path = path;
        std::optional<RunStatus> status;
        try {
            status = dir->read_status();
        } catch (const Error& e) {
            s.message = e.what();
        }
        if (status) {
            s.task = status->task;
            s.state = status->state;
            s.message = status->message;
            s.steps = status->step;
            s.best_metric_name = status->best_metric_name;
            s.best_metric = status->best_metric;
            if (s.state == RunState::Running && status->host == here && !process_alive(status->pid)) {
                s.state = RunState::Stopped;
                s.message = "the process ended without a final status";
            }
        } else {
            // A run folder copied without its status.json (or from before it existed): what metrics.jsonl says.
            summary_from_metrics(*dir, s);
            if (s.message.empty()) s.message = "no status.json; steps and best metric read from metrics.jsonl";
        }
        if (s.task.empty()) {
            try {
                s.task = to_string(dir->load_config().task);
            } catch (const Error&) {
            }
        }
        s.last_modified =
            std::max({mtime_of(path), mtime_of(dir->status_path()), mtime_of(dir->metrics_path()),
                      mtime_of(dir->log_path()), mtime_of(dir->checkpoints_dir())});
        for (const auto& c : fs::directory_iterator(dir->checkpoints_dir(), ec))
            if (const auto step = checkpoint_step_from_name(c.path().filename().string()))
                s.steps = std::max(s.steps, *step);
        out.push_back(std::move(s));
    }
    std::sort(out.begin(), out.end(), [](const RunSummary& a, const RunSummary& b) {
        return a.last_modified != b.last_modified ? a.last_modified > b.last_modified : a.name < b.name;
    });
    return out;
}

std::string default_run_name(TaskKind task, std::time_t when) {
    std::tm tm{};
    ::localtime_r(&when, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
    return to_string(task) + "-" + buf;
}

}  // namespace ponet
