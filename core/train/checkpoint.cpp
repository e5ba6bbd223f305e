#include "core/train/checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "core/io/atomic_file.h"
#include "core/io/model_io.h"
#include "core/io/safetensors.h"
#include "core/model/model_config.h"
#include "core/text/tokenizer.h"
#include "core/train/optimizer.h"
#include "core/train/run_directory.h"
#include "core/util/error.h"
#include "core/util/fs_util.h"
#include "core/util/json_limits.h"

namespace ponet {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kModelFile = "model.safetensors";
constexpr const char* kConfigFile = "config.json";
constexpr const char* kOptimizerFile = "optimizer.safetensors";
constexpr const char* kStateFile = "trainer_state.json";
constexpr uint64_t kMaxStateBytes = 64u << 20;

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(const uint8_t* data, size_t n) {
    std::string out;
    out.reserve((n + 2) / 3 * 4);
    for (size_t i = 0; i < n; i += 3) {
        const uint32_t v = (uint32_t(data[i]) << 16) | (i + 1 < n ? uint32_t(data[i + 1]) << 8 : 0) |
                           (i + 2 < n ? uint32_t(data[i + 2]) : 0);
        out += kB64[(v >> 18) & 63];
        out += kB64[(v >> 12) & 63];
        out += i + 1 < n ? kB64[(v >> 6) & 63] : '=';
        out += i + 2 < n ? kB64[v & 63] : '=';
    }
    return out;
}

std::vector<uint8_t> base64_decode(const std::string& text, const std::string& what) {
    auto value = [&](char c) -> uint32_t {
        const char* p = std::strchr(kB64, c);
        if (!p || c == '\0') throw InvalidInput(what + ": invalid base64");
        return static_cast<uint32_t>(p - kB64);
    };
    if (text.size() % 4 != 0) throw InvalidInput(what + ": invalid base64 length");
    std::vector<uint8_t> out;
    out.reserve(text.size() / 4 * 3);
    for (size_t i = 0; i < text.size(); i += 4) {
        const bool pad2 = text[i + 2] == '=', pad3 = text[i + 3] == '=';
        if ((pad2 && !pad3) || ((pad2 || pad3) && i + 4 != text.size()))
            throw InvalidInput(what + ": invalid base64");
        const uint32_t v = (value(text[i]) << 18) | (value(text[i + 1]) << 12) |
                           (pad2 ? 0 : value(text[i + 2]) << 6) | (pad3 ? 0 : value(text[i + 3]));
        out.push_back(static_cast<uint8_t>(v >> 16));
        if (!pad2) out.push_back(static_cast<uint8_t>((v >> 8) & 0xFF));
        if (!pad3) out.push_back(static_cast<uint8_t>(v & 0xFF));
    }
    return out;
}

std::string tensor_to_base64(const torch::Tensor& t) {
    const auto bytes = t.to(torch::kCPU).to(torch::kByte).contiguous();
    return base64_encode(bytes.data_ptr<uint8_t>(), static_cast<size_t>(bytes.numel()));
}

torch::Tensor tensor_from_base64(const std::string& text, const std::string& what) {
    const auto bytes = base64_decode(text, what);
    auto t = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kByte);
    if (!bytes.empty()) std::memcpy(t.data_ptr<uint8_t>(), bytes.data(), bytes.size());
    return t;
}

void fsync_dir(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw Error("cannot open directory '" + dir + "': " + std::strerror(errno));
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0 && err != EINVAL) throw Error("cannot sync directory '" + dir + "': " + std::strerror(err));
}

void rename_or_throw(const std::string& from, const std::string& to) {
    if (::rename(from.c_str(), to.c_str()) != 0)
        throw Error("cannot rename '" + from + "' to '" + to + "': " + std::strerror(errno));
}

bool process_alive(long pid) {
    return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

// The pid at the end of ".tmp-step-<N>-<pid>" / ".old-step-<N>-<pid>", or -1.
long temp_owner(const std::string& name) {
    if (name.rfind(".tmp-step-", 0) != 0 && name.rfind(".old-step-", 0) != 0) return -1;
    const auto dash = name.rfind('-');
    char* end = nullptr;
    const long pid = std::strtol(name.c_str() + dash + 1, &end, 10);
    return *end == '\0' ? pid : -1;
}

std::string checkpoints_dir_of(const std::string& run_dir) {
    return (fs::path(run_dir) / "checkpoints").string();
}

}  // namespace

std::string TrainerState::to_json_text() const {
    json rng = {{"named", rng_states}};
    rng["torch_cpu"] = torch_cpu_rng.defined() ? json(tensor_to_base64(torch_cpu_rng)) : json(nullptr);
    json cuda = json::array();
    for (const auto& t : torch_cuda_rng) cuda.push_back(tensor_to_base64(t));
    rng["torch_cuda"] = cuda;
    json j = {
        {"version", version},
        {"step", step},
        {"epoch", epoch},
        {"data_cursor", data_cursor},
        {"rng", rng},
        {"scheduler", {{"step", scheduler_step}}},
        {"scaler",
         {{"enabled", scaler.enabled}, {"scale", scaler.scale}, {"growth_tracker", scaler.growth_tracker}}},
        {"best", {{"metric_name", best_metric_name}, {"step", best_step}}},
        {"patience_counter", patience_counter},
        {"examples_seen", examples_seen},
        {"tokens_seen", tokens_seen},
        {"elapsed_seconds", elapsed_seconds}};
    j["best"]["value"] = best_metric ? json(*best_metric) : json(nullptr);
    return j.dump(2) + "\n";
}

TrainerState TrainerState::from_json_text(const std::string& text, const std::string& origin) {
    check_json_depth(text, origin);
    try {
        const json j = json::parse(text);
        if (!j.is_object()) throw InvalidInput(origin + ": trainer state must be a JSON object");
        TrainerState s;
        s.version = j.at("version").get<int>();
        if (s.version > kVersion || s.version < 1)
            throw InvalidInput(origin + ": trainer state version " + std::to_string(s.version) +
                               " is not one this program reads (1.." + std::to_string(kVersion) + ")");
        s.step = j.at("step").get<int64_t>();
        s.epoch = j.value("epoch", int64_t{0});
        s.data_cursor = j.value("data_cursor", json::object());
        if (j.contains("rng")) {
            const json& rng = j["rng"];
            if (rng.contains("torch_cpu") && rng["torch_cpu"].is_string())
                s.torch_cpu_rng =
                    tensor_from_base64(rng["torch_cpu"].get<std::string>(), origin + ": rng.torch_cpu");
            for (const auto& c : rng.value("torch_cuda", json::array()))
                s.torch_cuda_rng.push_back(
                    tensor_from_base64(c.get<std::string>(), origin + ": rng.torch_cuda"));
            s.rng_states = rng.value("named", std::map<std::string, std::string>{});
        }
        if (j.contains("scheduler")) s.scheduler_step = j["scheduler"].value("step", int64_t{0});
        if (j.contains("scaler")) {
            s.scaler.enabled = j["scaler"].value("enabled", false);
            s.scaler.scale = j["scaler"].value("scale", 65536.0);
            s.scaler.growth_tracker = j["scaler"].value("growth_tracker", int64_t{0});
        }
        if (j.contains("best")) {
            s.best_metric_name = j["best"].value("metric_name", "");
            s.best_step = j["best"].value("step", int64_t{-1});
            if (j["best"].contains("value") && j["best"]["value"].is_number())
                s.best_metric = j["best"]["value"].get<double>();
        }
        s.patience_counter = j.value("patience_counter", int64_t{0});
        s.examples_seen = j.value("examples_seen", int64_t{0});
        s.tokens_seen = j.value("tokens_seen", int64_t{0});
        s.elapsed_seconds = j.value("elapsed_seconds", 0.0);
        s.version = kVersion;
        return s;
    } catch (const json::exception& e) {
        throw InvalidInput(origin + ": invalid trainer state (" + e.what() + ")");
    }
}

torch::Tensor capture_cpu_rng_state() {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    return at::Tensor(gen.get_state());
}

void restore_cpu_rng_state(const torch::Tensor& state) {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
}

std::string mt19937_state(const std::mt19937_64& rng) {
    std::ostringstream os;
    os << rng;
    return os.str();
}

void restore_mt19937(std::mt19937_64& rng, const std::string& state) {
    std::istringstream is(state);
    std::mt19937_64 r;
    is >> r;
    if (!is) throw InvalidInput("not a std::mt19937_64 state");
    rng = r;
}

std::string write_checkpoint(const std::string& run_dir, PoNetTaskModelImpl& model,
                             const torch::optim::AdamW* optimizer, const TrainerState& state) {
    const std::string parent = checkpoints_dir_of(run_dir);
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec) throw Error("cannot create '" + parent + "': " + ec.message());
    const std::string name = checkpoint_dir_name(state.step);
    const std::string pid = std::to_string(::getpid());
    const std::string tmp = parent + "/.tmp-" + name + "-" + pid;
    const std::string final_dir = parent + "/" + name;
    remove_tree(tmp);
    if (::mkdir(tmp.c_str(), 0755) != 0) throw Error("cannot create '" + tmp + "': " + std::strerror(errno));
    try {
        save_model_dir(model, tmp);
        // The run's tokenizer beside the weights, saved as `ponet export` saves it, so that a checkpoint copied out
        // of its run still reads text (a few files of at most a few megabytes).
        if (fs::is_directory(run_dir + "/tokenizer", ec)) load_tokenizer(run_dir + "/tokenizer")->save(tmp);
        const std::string opt_path = tmp + "/" + kOptimizerFile;
        if (optimizer)
            save_optimizer_state(*optimizer, model, opt_path);
        else
            write_safetensors(opt_path, {}, {{"format", "ponet-adamw"}, {"version", "1"}});
        write_file_atomic(tmp + "/" + kStateFile, state.to_json_text());
        fsync_dir(tmp);

        struct stat st {};
        if (::lstat(final_dir.c_str(), &st) == 0) {
            // Re-saving a step (a stop right after a periodic checkpoint): swap in one step where the file
            // system allows, so the step name always holds a complete checkpoint.
            if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, final_dir.c_str(), RENAME_EXCHANGE) == 0) {
                remove_tree(tmp);
            } else {
                const std::string old = parent + "/.old-" + name + "-" + pid;
                remove_tree(old);
                rename_or_throw(final_dir, old);
                rename_or_throw(tmp, final_dir);
                remove_tree(old);
            }
        } else {
            rename_or_throw(tmp, final_dir);
        }
        fsync_dir(parent);
    } catch (...) {
        remove_tree(tmp);
        throw;
    }
    return final_dir;
}

CheckpointInfo check_checkpoint(const std::string& checkpoint_dir) {
    CheckpointInfo info;
    info.path = checkpoint_dir;
    const auto step = checkpoint_step_from_name(fs::path(checkpoint_dir).filename().string());
    if (!step) {
        info.problem = "not a step-<N> folder";
        return info;
    }
    info.step = *step;
    try {
        read_safetensors_header(checkpoint_dir + "/" + kModelFile);
        ModelConfig::load(checkpoint_dir + "/" + kConfigFile);
        read_safetensors_header(checkpoint_dir + "/" + kOptimizerFile);
        const auto state = read_trainer_state(checkpoint_dir);
        if (state.step != info.step)
            throw InvalidInput(std::string(kStateFile) + " says step " + std::to_string(state.step) +
                               ", the folder step " + std::to_string(info.step));
        info.valid = true;
    } catch (const std::exception& e) {
        info.problem = e.what();
    }
    return info;
}

std::vector<CheckpointInfo> list_checkpoints(const std::string& run_dir) {
    std::vector<CheckpointInfo> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(checkpoints_dir_of(run_dir), ec)) {
        if (!checkpoint_step_from_name(e.path().filename().string()) || e.is_symlink(ec) ||
            !e.is_directory(ec))
            continue;
        out.push_back(check_checkpoint(e.path().string()));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.step < b.step; });
    return out;
}

std::optional<CheckpointInfo> latest_valid_checkpoint(const std::string& run_dir,
                                                      std::vector<CheckpointInfo>* skipped) {
    const auto all = list_checkpoints(run_dir);
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
        if (it->valid) return *it;
        if (skipped) skipped->push_back(*it);
    }
    return std::nullopt;
}

TrainerState read_trainer_state(const std::string& checkpoint_dir) {
    const std::string path = checkpoint_dir + "/" + kStateFile;
    return TrainerState::from_json_text(read_file(path, kMaxStateBytes), path);
}

TrainerState load_checkpoint(const std::string& checkpoint_dir, PoNetTaskModelImpl& model,
                             torch::optim::AdamW* optimizer) {
    const auto info = check_checkpoint(checkpoint_dir);
    if (!info.valid) throw InvalidInput("checkpoint '" + checkpoint_dir + "' is not usable: " + info.problem);
    TrainerState state = read_trainer_state(checkpoint_dir);
    load_state(model, read_safetensors(checkpoint_dir + "/" + kModelFile).tensors);
    if (optimizer) load_optimizer_state(*optimizer, model, checkpoint_dir + "/" + kOptimizerFile);
    return state;
}

void set_best_checkpoint(const std::string& run_dir, int64_t step) {
    const std::string target = "checkpoints/" + checkpoint_dir_name(step);
    const std::string link = (fs::path(run_dir) / "best").string();
    const std::string tmp = (fs::path(run_dir) / (".best.tmp-" + std::to_string(::getpid()))).string();
    ::unlink(tmp.c_str());
    if (::symlink(target.c_str(), tmp.c_str()) != 0)
        throw Error("cannot create link '" + tmp + "': " + std::strerror(errno));
    if (::rename(tmp.c_str(), link.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw Error("cannot replace '" + link + "': " + std::strerror(err));
    }
    fsync_dir(run_dir);
}

std::optional<int64_t> best_checkpoint_step(const std::string& run_dir) {
    const std::string link = (fs::path(run_dir) / "best").string();
    char buf[4096];
    const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
    if (n <= 0) return std::nullopt;
    return checkpoint_step_from_name(fs::path(std::string(buf, static_cast<size_t>(n))).filename().string());
}

std::vector<std::string> prune_checkpoints(const std::string& run_dir, int64_t keep_last) {
    std::vector<std::string> removed;
    auto remove = [&](const std::string& path) {
        if (remove_tree(path)) removed.push_back(path);
    };
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(checkpoints_dir_of(run_dir), ec)) {
        const long owner = temp_owner(e.path().filename().string());
        if (owner > 0 && owner != static_cast<long>(::getpid()) && !process_alive(owner))
            remove(e.path().string());
    }
    if (keep_last <= 0) return removed;
    const auto best = best_checkpoint_step(run_dir);
    const auto all = list_checkpoints(run_dir);
    int64_t kept = 0;
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
        if (best && it->step == *best) continue;
        // Broken checkpoints count for nothing: resume skips them, and a later save of that step replaces
        // them.
        if (it->valid && kept < keep_last) {
            ++kept;
            continue;
        }
        remove(it->path);
    }
    return removed;
}

}  // namespace ponet
