// Hugging Face-named checkpoints in and out of our modules, with a precise report of every mismatch.
#include "core/io/model_io.h"

#include <filesystem>
#include <set>
#include <sstream>

#include "core/io/safetensors.h"
#include "core/util/error.h"

namespace ponet {
namespace fs = std::filesystem;

namespace {

bool starts_with(const std::string& s, const std::string& p) {
    return s.compare(0, p.size(), p) == 0;
}
bool ends_with(const std::string& s, const std::string& p) {
    return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

std::string shape_str(torch::IntArrayRef sizes) {
    std::ostringstream os;
    os << "[";
    for (size_t i = 0; i < sizes.size(); ++i) os << (i ? ", " : "") << sizes[i];
    os << "]";
    return os.str();
}

// Internal module names always carry "ponet." for the base; a bare PoNetModel's files do not (§1.8).
std::string to_hf_name(const PoNetTaskModelImpl& model, const std::string& internal) {
    if (model.base_prefix().empty() && starts_with(internal, "ponet.")) return internal.substr(6);
    return internal;
}

bool is_head(const std::string& hf_name) {
    return starts_with(hf_name, "cls.") || starts_with(hf_name, "classifier.");
}

}  // namespace

std::string LoadReport::describe() const {
    std::ostringstream os;
    auto list = [&](const char* title, const std::vector<std::string>& v) {
        if (v.empty()) return;
        os << title << " (" << v.size() << "):";
        for (const auto& s : v) os << "\n  " << s;
        os << "\n";
    };
    list("missing from the checkpoint", missing);
    list("unexpected in the checkpoint", unexpected);
    list("wrong shape", mismatched);
    list("ignored", ignored);
    list("freshly initialised", initialised);
    list("adapted", adapted);
    return os.str();
}

std::map<std::string, torch::Tensor> state_tensors(PoNetTaskModelImpl& model) {
    std::map<std::string, torch::Tensor> out;
    for (const auto& p : model.named_parameters())
        out[to_hf_name(model, p.key())] = p.value().detach().to(torch::kCPU).contiguous();
    return out;
}

LoadReport load_state(PoNetTaskModelImpl& model, const std::map<std::string, torch::Tensor>& tensors,
                      const LoadOptions& options) {
    LoadReport report;
    std::map<std::string, torch::Tensor> params;
    for (const auto& p : model.named_parameters()) params[to_hf_name(model, p.key())] = p.value();
    const bool model_has_cls = params.count("cls.predictions.bias") > 0;
    const bool model_has_classifier = std::any_of(
        params.begin(), params.end(), [](const auto& kv) { return starts_with(kv.first, "classifier."); });

    // Resolve each checkpoint key to a model parameter name (accepting either prefix convention).
    std::map<std::string, torch::Tensor> assigned;
    std::set<std::string> seen;
    torch::Tensor decoder_weight, decoder_bias;
    for (const auto& [key, value] : tensors) {
        std::string name = key;
        if (!params.count(name)) {
            if (starts_with(name, "ponet.") && params.count(name.substr(6)))
                name = name.substr(6);
            else if (params.count("ponet." + name))
                name = "ponet." + name;
        }
        if (params.count(name)) {
            assigned[name] = value;
            continue;
        }
        if (ends_with(key, "position_ids") || ends_with(key, "embeddings.token_type_ids")) {
            report.ignored.push_back(key + " (buffer)");
        } else if (key == "cls.predictions.decoder.weight" && model_has_cls) {
            decoder_weight = value;
        } else if (key == "cls.predictions.decoder.bias" && model_has_cls) {
            decoder_bias = value;
        } else if (starts_with(key, "cls.") && !model_has_cls) {
            report.ignored.push_back(key + " (pre-training head, not part of this model)");
        } else if (starts_with(key, "classifier.") && !model_has_classifier) {
            report.ignored.push_back(key + " (classification head, not part of this model)");
        } else {
            report.unexpected.push_back(key);
        }
    }
    // cls.predictions.decoder.bias is an alias of cls.predictions.bias.
    if (decoder_bias.defined()) {
        if (!assigned.count("cls.predictions.bias"))
            assigned["cls.predictions.bias"] = decoder_bias;
        else
            report.ignored.push_back("cls.predictions.decoder.bias (alias of cls.predictions.bias)");
    }

    for (auto& [name, param] : params) {
        auto it = assigned.find(name);
        if (it == assigned.end()) {
            if (options.allow_missing_heads && is_head(name))
                report.initialised.push_back(name);
            else
                report.missing.push_back(name);
            continue;
        }
        torch::Tensor value = it->second;
        if (value.sizes() != param.sizes()) {
            // A 512-row position table fills a longer one by tiling (PONET-SPEC §3.2.3).
            const bool tile = ends_with(name, "position_embeddings.weight") && value.dim() == 2 &&
                              param.dim() == 2 && value.size(1) == param.size(1) && value.size(0) > 0 &&
                              param.size(0) % value.size(0) == 0 && param.size(0) > value.size(0);
            if (tile) {
                const auto reps = param.size(0) / value.size(0);
                value = value.repeat({reps, 1});
                report.adapted.push_back(name + ": " + shape_str(it->second.sizes()) + " tiled " +
                                         std::to_string(reps) + "x to " + shape_str(param.sizes()));
            } else {
                report.mismatched.push_back(name + ": checkpoint " + shape_str(value.sizes()) + " vs model " +
                                            shape_str(param.sizes()));
                continue;
            }
        }
        if (!value.is_floating_point() && param.is_floating_point())
            report.mismatched.push_back(name + ": checkpoint dtype " +
                                        std::string(c10::toString(value.scalar_type())) +
                                        " is not a floating-point type");
        seen.insert(name);
    }
    if (decoder_weight.defined()) {
        auto word = assigned.count("ponet.embeddings.word_embeddings.weight")
                        ? assigned["ponet.embeddings.word_embeddings.weight"]
                        : torch::Tensor();
        if (!word.defined() || decoder_weight.sizes() != word.sizes() ||
            !torch::equal(decoder_weight.to(torch::kFloat), word.to(torch::kFloat)))
            report.mismatched.push_back(
                "cls.predictions.decoder.weight: differs from the word embeddings (an untied decoder is not "
                "supported)");
        else
            report.ignored.push_back("cls.predictions.decoder.weight (tied to the word embeddings)");
    }
    if (!report.ok()) throw InvalidInput("the checkpoint does not fit this model:\n" + report.describe());

    torch::NoGradGuard no_grad;
    for (const auto& name : seen) {
        auto& param = params[name];
        torch::Tensor value = assigned[name];
        if (value.sizes() != param.sizes()) value = value.repeat({param.size(0) / value.size(0), 1});
        param.copy_(value.to(param.device(), param.scalar_type()));
    }
    return report;
}

bool is_model_dir(const std::string& dir) {
    std::error_code ec;
    return fs::is_regular_file(fs::path(dir) / "config.json", ec) &&
           fs::is_regular_file(fs::path(dir) / "model.safetensors", ec);
}

LoadedModel load_model_dir(const std::string& dir, const torch::Device& device, const LoadOptions& options,
                           const ModelConfig* config_override) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw InvalidInput("'" + dir + "' is not a directory");
    const auto config_path = fs::path(dir) / "config.json";
    const auto weights_path = fs::path(dir) / "model.safetensors";
    if (!config_override && !fs::is_regular_file(config_path, ec))
        throw InvalidInput("'" + dir + "' is not a model directory: config.json is missing");
    if (!fs::is_regular_file(weights_path, ec))
        throw InvalidInput("'" + dir + "' is not a model directory: model.safetensors is missing");
    ModelConfig config = config_override ? *config_override : ModelConfig::load(config_path.string());
    LoadedModel out;
    // Without missing heads every tensor is overwritten below; with them, the heads keep the §1.7 initialisation.
    out.model = build_model(config, /*initialise=*/options.allow_missing_heads);
    auto content = read_safetensors(weights_path.string());
    try {
        out.report = load_state(*out.model, content.tensors, options);
    } catch (const InvalidInput& e) {
        throw InvalidInput(weights_path.string() + ": " + e.what());
    }
    out.model->to(device);
    out.model->eval();
    return out;
}

void save_model_dir(PoNetTaskModelImpl& model, const std::string& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error("cannot create model directory '" + dir + "': " + ec.message());
    // Weights first: a directory whose config.json is present always has matching weights beside it.
    write_safetensors((fs::path(dir) / "model.safetensors").string(), state_tensors(model),
                      {{"format", "pt"}});
    model.config().save((fs::path(dir) / "config.json").string());
}

}  // namespace ponet
