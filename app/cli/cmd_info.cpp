// `ponet info`: what a model is (config, parameters, memory) before anyone trains it.
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "commands.h"
#include "core/model/model_summary.h"
#include "core/util/error.h"
#include "core/util/paths.h"

namespace ponet::cli {
namespace fs = std::filesystem;

namespace {

std::string with_commas(int64_t v) {
    std::string s = std::to_string(v);
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
    return s;
}

// A model directory, a config.json file, or the name of a built-in shape in <resources>/models.
ModelConfig resolve_config(const std::string& what, std::string* weights) {
    std::error_code ec;
    if (fs::is_directory(what, ec)) {
        const auto cfg = fs::path(what) / "config.json";
        if (!fs::is_regular_file(cfg, ec)) throw InvalidInput("'" + what + "' has no config.json");
        if (fs::is_regular_file(fs::path(what) / "model.safetensors", ec))
            *weights = (fs::path(what) / "model.safetensors").string();
        return ModelConfig::load(cfg.string());
    }
    if (fs::is_regular_file(what, ec)) return ModelConfig::load(what);
    const auto builtin = fs::path(resources_dir()) / "models" / what / "config.json";
    if (!resources_dir().empty() && fs::is_regular_file(builtin, ec)) return ModelConfig::load(builtin.string());
    std::string names;
    if (!resources_dir().empty())
        for (const auto& e : fs::directory_iterator(fs::path(resources_dir()) / "models", ec))
            names += (names.empty() ? "" : ", ") + e.path().filename().string();
    throw InvalidInput("'" + what + "' is neither a model directory, a config.json nor a built-in shape (" +
                       (names.empty() ? "none installed" : names) + ")");
}

int run_info(const ParsedArgs& a) {
    std::string weights;
    const ModelConfig c = resolve_config(a.get("model"), &weights);
    int64_t seq_len = 0;
    try {
        seq_len = std::stoll(a.get("seq-len", "0"));
    } catch (const std::exception&) {
        throw InvalidInput("--seq-len must be an integer");
    }
    const ModelSummary s = summarize_model(c, seq_len);
    std::cout << "architecture     " << s.architecture << "\n"
              << "mixer            " << to_string(c.mixer) << " (" << to_string(c.variant) << " skeleton"
              << (c.mixer == MixerKind::PoNet ? std::string(", clsgsepg ") + (c.clsgsepg ? "on" : "off") : "")
              << ")\n"
              << "shape            " << c.num_hidden_layers << " layers x " << c.hidden_size << " hidden, "
              << c.num_attention_heads << " heads, FFN " << c.intermediate_size << ", vocab " << c.vocab_size
              << ", " << c.max_position_embeddings << " positions\n"
              << "segments         "
              << (c.segment_strategy == SegmentStrategy::Fixed
                      ? "fixed chunks of floor(L/" + std::to_string(c.segment_num) + ")+1 tokens"
                      : std::string("derived from [CLS]/[SEP] unless given"))
              << "\n";
    // The LRA skeleton has no special tokens (PONET-SPEC §4.2.2): id 0 is padding and the other ids are symbols.
    if (c.variant == ModelVariant::Lra)
        std::cout << "special tokens   none (id " << c.pad_token_id << " is padding)\n";
    else
        std::cout << "special tokens   pad " << c.pad_token_id << ", cls " << c.cls_token_id << ", sep "
                  << c.sep_token_id << ", mask " << c.mask_token_id << "\n";
    if (c.trained_length > 0)
        std::cout << "trained at       " << c.trained_length << " tokens"
                  << (c.lra_input.empty() ? "" : " (reads " + c.lra_input + ")") << "\n";
    if (s.architecture != "PoNetModel" && s.architecture != "PoNetForPreTraining")
        std::cout << "labels           " << c.num_labels() << " (" << c.problem_type << ")\n";
    std::cout << "\nparameters       " << with_commas(s.total_parameters) << "\n";
    for (const auto& g : s.groups) std::cout << "  " << std::left << std::setw(30) << g.name << with_commas(g.count) << "\n";
    std::cout << "\nmemory (estimates)\n"
              << "  weights (fp32)                " << format_bytes(s.weights_bytes_fp32) << "\n"
              << "  training state (+grad, AdamW) " << format_bytes(s.training_state_bytes) << "\n"
              << "  activations per sequence      " << format_bytes(s.activation_bytes_per_sequence) << " at "
              << s.seq_len << " tokens (fp32, no checkpointing)\n";
    if (!weights.empty()) {
        std::error_code ec;
        const auto bytes = static_cast<int64_t>(fs::file_size(weights, ec));
        std::cout << "\nweights file     " << weights << " (" << format_bytes(bytes) << ")\n";
    }
    return 0;
}

}  // namespace

CommandSpec info_command() {
    CommandSpec c;
    c.name = "info";
    c.summary = "show a model's configuration, parameter count and memory estimate";
    c.options = {
        OptionSpec::required_value("model", "DIR|CONFIG|NAME", "model directory, config.json, or built-in shape name"),
        OptionSpec::value("seq-len", "N", "sequence length for the activation estimate (default: max_position_embeddings)"),
    };
    c.run = run_info;
    return c;
}

}  // namespace ponet::cli
