// Parameter counts come from the configuration (ModelConfig::parameter_groups, checked against the built model by
// the tests); memory figures are estimates.
#include "core/model/model_summary.h"

#include <cstdio>
#include <map>

#include "core/model/ponet_model.h"

namespace ponet {

namespace {
std::string group_of(const std::string& name, int64_t layers) {
    auto first = name.substr(0, name.find('.'));
    if (first != "ponet") return first == "cls" ? "cls (MLM + SSO heads)" : first;
    auto rest = name.substr(6);
    auto second = rest.substr(0, rest.find('.'));
    if (second == "encoder") {
        if (rest.rfind("encoder.layer.", 0) == 0) return "encoder layers (x" + std::to_string(layers) + ")";
        return "encoder final norm";
    }
    return second;
}
}  // namespace

ModelSummary summarize_model(const ModelConfig& config, int64_t seq_len) {
    ModelSummary s;
    s.architecture = config.architecture();
    s.seq_len = seq_len > 0 ? seq_len : config.max_position_embeddings;
    // Building the model to count it took 3.6 s and 650 MB for the base shape (LibTorch initialises every
    // layer it constructs), at every start of the application; the counts need only the shapes.
    config.validate();
    check_architecture(config);
    for (const auto& [name, count] : config.parameter_groups()) {
        s.groups.push_back({name, static_cast<int64_t>(count)});
        s.total_parameters += static_cast<int64_t>(count);
    }
    s.weights_bytes_fp32 = s.total_parameters * 4;
    s.training_state_bytes = s.total_parameters * 16;  // weights, gradients, two AdamW moments

    // Floats kept for backward per token and layer: the mixer's 5 projections and ~6 pooling/fusion
    // intermediates, its input and output, the output projection, two LayerNorms and the FFN's two I-wide tensors.
    const int64_t D = config.hidden_size, I = config.intermediate_size, L = s.seq_len;
    int64_t per_token_layer = 16 * D + 2 * I;
    if (config.mixer == MixerKind::Attention) per_token_layer += 2 * config.num_attention_heads * L;  // scores, probs
    int64_t per_token = config.num_hidden_layers * per_token_layer + 4 * D;
    if (s.architecture == "PoNetForPreTraining" || s.architecture == "PoNetForMaskedLM")
        per_token += 2 * config.vocab_size + 2 * D;  // MLM transform and logits (+ their softmax)
    s.activation_bytes_per_sequence = per_token * L * 4;
    return s;
}

std::vector<ParameterGroup> built_parameter_groups(const ModelConfig& config) {
    auto model = build_model(config, /*initialise=*/false);
    std::map<std::string, int64_t> groups;
    std::vector<std::string> order;
    for (const auto& p : model->named_parameters()) {
        const auto g = group_of(p.key(), config.num_hidden_layers);
        if (!groups.count(g)) order.push_back(g);
        groups[g] += p.value().numel();
    }
    std::vector<ParameterGroup> out;
    for (const auto& g : order) out.push_back({g, groups[g]});
    return out;
}

std::string format_bytes(int64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
    return buf;
}

}  // namespace ponet
