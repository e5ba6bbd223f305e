// `ponet forward`: one forward pass from a safetensors file of inputs to a safetensors file of every output, so
// users can check our numbers against their Python tooling.
#include <torch/torch.h>

#include <unistd.h>

#include <iostream>

#include "commands.h"
#include "core/io/model_io.h"
#include "core/io/safetensors.h"
#include "core/util/error.h"

namespace ponet::cli {

std::string resolve_device(const std::string& requested) {
    if (requested == "cpu") return "cpu";
    if (requested.rfind("cuda", 0) == 0) {
        const bool available = torch::cuda::is_available();
        if (!available)
            throw InvalidInput("device '" + requested + "' requested but no CUDA GPU is usable here (LibTorch " +
                               std::string(TORCH_VERSION) + ")");
        if (requested == "cuda") return "cuda:0";
        try {
            torch::Device d(requested);
            if (d.index() >= static_cast<int>(torch::cuda::device_count()))
                throw InvalidInput("device '" + requested + "' does not exist: " +
                                   std::to_string(torch::cuda::device_count()) + " GPU(s) visible");
            return requested;
        } catch (const c10::Error&) {
        }
    }
    throw InvalidInput("unknown device '" + requested + "' (cpu, cuda or cuda:N)");
}

namespace {

torch::Tensor input_tensor(const std::map<std::string, torch::Tensor>& in, const std::string& name, bool required,
                           const std::string& path) {
    auto it = in.find(name);
    if (it == in.end()) {
        if (required) throw InvalidInput(path + ": no tensor named '" + name + "'");
        return {};
    }
    if (it->second.scalar_type() != torch::kLong)
        throw InvalidInput(path + ": '" + name + "' must be int64 (I64), got " +
                           std::string(c10::toString(it->second.scalar_type())));
    if (it->second.dim() != 2) throw InvalidInput(path + ": '" + name + "' must be [batch, seq]");
    return it->second;
}

int run_forward(const ParsedArgs& a) {
    const std::string device = resolve_device(a.get("device"));
    const std::string input_path = a.get("input");
    // A missing input is the user's mistake (exit 2), not a failure of ours.
    if (::access(input_path.c_str(), R_OK) != 0) throw InvalidInput("cannot read input file '" + input_path + "'");
    auto inputs = read_safetensors(input_path).tensors;
    ModelInputs in;
    in.input_ids = input_tensor(inputs, "input_ids", true, input_path);
    in.attention_mask = input_tensor(inputs, "attention_mask", false, input_path);
    in.token_type_ids = input_tensor(inputs, "token_type_ids", false, input_path);
    in.segment_ids = input_tensor(inputs, "segment_ids", false, input_path);
    for (const auto& [name, t] : inputs) {
        (void)t;
        if (name != "input_ids" && name != "attention_mask" && name != "token_type_ids" && name != "segment_ids")
            std::cerr << "ponet forward: ignoring input tensor '" << name << "'\n";
    }
    const torch::Device dev(device);
    for (torch::Tensor* t : {&in.input_ids, &in.attention_mask, &in.token_type_ids, &in.segment_ids})
        if (t->defined()) *t = t->to(dev);

    auto loaded = load_model_dir(a.get("model"), dev);
    ForwardOptions opt;
    opt.output_hidden_states = true;
    opt.output_ga = true;
    opt.impl = mixer_impl_from_string(a.get("mixer-impl"));
    torch::NoGradGuard no_grad;
    auto out = loaded.model->forward(in, opt);

    std::map<std::string, torch::Tensor> result;
    auto put = [&](const std::string& name, const torch::Tensor& t) {
        if (t.defined()) result[name] = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
    };
    put("last_hidden_state", out.encoder.last_hidden_state);
    put("pooler_output", out.encoder.pooler_output);
    put("prediction_logits", out.prediction_logits);
    put("seq_relationship_logits", out.seq_relationship_logits);
    put("logits", out.logits);
    for (size_t i = 0; i < out.encoder.hidden_states.size(); ++i)
        put("hidden_states." + std::to_string(i), out.encoder.hidden_states[i]);
    for (size_t i = 0; i < out.encoder.ga_attention.size(); ++i)
        put("ga_attention." + std::to_string(i), out.encoder.ga_attention[i]);
    write_safetensors(a.get("output"), result,
                      {{"format", "pt"}, {"producer", std::string("ponet ") + PONET_VERSION}, {"device", device}});
    std::cout << "wrote " << result.size() << " tensors to " << a.get("output") << " (batch "
              << in.input_ids.size(0) << ", length " << in.input_ids.size(1) << ", " << device << ")\n";
    return 0;
}

}  // namespace

CommandSpec forward_command() {
    CommandSpec c;
    c.name = "forward";
    c.summary = "run one forward pass and write every output as safetensors";
    c.description =
        "Reads input_ids and optionally attention_mask, token_type_ids and segment_ids (int64 [batch, seq]) from "
        "the input file and writes last_hidden_state, pooler_output, the head outputs (prediction_logits and "
        "seq_relationship_logits, or logits), hidden_states.N (0 = embeddings) and ga_attention.N in float32.";
    c.options = {
        OptionSpec::required_value("model", "DIR", "model directory with config.json and model.safetensors"),
        OptionSpec::required_value("input", "IN.safetensors", "input tensors"),
        OptionSpec::required_value("output", "OUT.safetensors", "where to write the outputs"),
        OptionSpec::value("device", "DEVICE", "cpu, cuda or cuda:N", "cpu"),
        OptionSpec::value("mixer-impl", "IMPL", "PoNet mixing implementation: auto, fused or reference", "auto"),
    };
    c.run = run_forward;
    return c;
}

}  // namespace ponet::cli
