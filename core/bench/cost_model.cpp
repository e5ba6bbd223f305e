#include "core/bench/cost_model.h"

#include <algorithm>
#include <cmath>

#include "core/io/atomic_file.h"
#include "core/train/run_config.h"
#include "core/util/error.h"
#include "core/util/paths.h"

namespace ponet::bench {
namespace {

struct Point {
    double length, ms, flops, peak, bytes;
};

}  // namespace

StepCost training_step_cost(const ModelConfig& c, MixerKind mixer, int64_t batch, int64_t length) {
    const double B = static_cast<double>(std::max<int64_t>(1, batch));
    const double L = static_cast<double>(std::max<int64_t>(1, length));
    const double D = static_cast<double>(c.hidden_size), I = static_cast<double>(c.intermediate_size);
    const double N = static_cast<double>(c.num_hidden_layers), H = static_cast<double>(std::max<int64_t>(1, c.num_attention_heads));
    const double V = static_cast<double>(c.vocab_size), P = static_cast<double>(c.max_position_embeddings);

    // Forward FLOPs of one layer for one sequence (a multiply-add is 2): the mixer, its output projection, the
    // feed-forward block, and the element-wise work (norms, activations, pooling).
    double mixer_flops = 0, mixer_act = 0, mixer_params = 0;
    switch (mixer) {
        case MixerKind::PoNet:  // five D×D projections, then GA, SMP and LMP pooling over the sequence
            mixer_flops = 2 * 5 * L * D * D + 30 * L * D;
            mixer_act = 14 * L * D;
            mixer_params = 5 * D * D;
            break;
        case MixerKind::Attention:  // Q, K, V projections; scores and the weighted sum are quadratic in L
            mixer_flops = 2 * 3 * L * D * D + 4 * L * L * D + 5 * H * L * L;
            mixer_act = 6 * L * D + 3 * H * L * L;
            mixer_params = 3 * D * D;
            break;
        case MixerKind::FNet:  // a 2-D Fourier transform over hidden and sequence
            mixer_flops = 5 * L * D * (std::log2(std::max(2.0, L)) + std::log2(std::max(2.0, D)));
            mixer_act = 6 * L * D;
            mixer_params = 0;
            break;
    }
    // FNet has no projection after its mixing; the others have a D×D output dense.
    const double out_proj = mixer == MixerKind::FNet ? 0.0 : 1.0;
    const double layer_flops = mixer_flops + out_proj * 2 * L * D * D + 4 * L * D * I + 12 * L * D + 4 * L * I;
    const double layer_act = mixer_act + 8 * L * D + 2 * L * I;
    const double params = V * D + P * D + N * (mixer_params + out_proj * D * D + 2 * D * I + 10 * D) + D * D;

    StepCost cost;
    cost.flops = 3 * B * N * layer_flops;
    cost.bytes = 4.0 * (4 * params + B * (N * layer_act + 4 * L * D));
    return cost;
}

ModelConfig bench_preset_config(const std::string& preset, MixerKind mixer) {
    const std::string resources = resources_dir();
    if (resources.empty())
        throw Error("the built-in presets are missing (no resources directory; set PONET_RESOURCES_DIR)");
    const std::string path = resources + "/presets/" + preset + ".json";
    const RunConfig rc = RunConfig::from_json_text(read_file(path, 1 << 20), path);
    ModelConfig c = ModelConfig::load(resources + "/models/" + rc.model.preset + "/config.json");
    const ModelSection& m = rc.model;
    if (m.hidden_size > 0) c.hidden_size = m.hidden_size;
    if (m.num_layers > 0) c.num_hidden_layers = m.num_layers;
    if (m.num_heads > 0) c.num_attention_heads = m.num_heads;
    if (m.intermediate_size > 0) c.intermediate_size = m.intermediate_size;
    if (m.vocab_size > 0) c.vocab_size = m.vocab_size;
    if (m.max_length > 0) c.max_position_embeddings = std::max(c.max_position_embeddings, m.max_length);
    c.mixer = mixer;
    return c;
}

double work_ratio(const ModelConfig& a, const ModelConfig& b, MixerKind mixer) {
    return training_step_cost(a, mixer, 8, 512).flops / std::max(1.0, training_step_cost(b, mixer, 8, 512).flops);
}

bool same_shape(const ModelConfig& a, const ModelConfig& b) {
    return a.hidden_size == b.hidden_size && a.num_hidden_layers == b.num_hidden_layers &&
           a.num_attention_heads == b.num_attention_heads && a.intermediate_size == b.intermediate_size &&
           a.mixer == b.mixer;
}

CostCurve estimate_cost(const ModelConfig& target, MixerKind mixer, int64_t batch, const std::vector<int64_t>& lengths,
                        const BenchReport& calibration, const ModelConfig& calibration_config) {
    const std::string name = to_string(mixer);
    std::vector<Point> pts;
    for (const BenchRow& r : calibration.rows) {
        if (r.mixer != name || !r.ok() || r.median_ms <= 0) continue;
        const StepCost c = training_step_cost(calibration_config, mixer, calibration.spec.batch, r.length);
        pts.push_back({static_cast<double>(r.length), r.median_ms, c.flops,
                       r.peak_bytes >= 0 ? static_cast<double>(r.peak_bytes) : -1.0, c.bytes});
    }
    if (pts.empty())
        throw InvalidInput("the measurement of " + calibration.spec.preset + " on " + calibration.device +
                           " has no finished " + name + " row to scale from");
    std::sort(pts.begin(), pts.end(), [](const Point& a, const Point& b) { return a.length < b.length; });

    // One throughput (FLOPs per millisecond) pooled over the measured lengths: short CPU measurements are noisy,
    // and a rate per length let that noise bend the estimate (longer sequences looking cheaper).
    double flops = 0, ms = 0;
    for (const Point& p : pts) {
        flops += p.flops;
        ms += p.ms;
    }
    const double rate = flops / ms;

    // Peak memory = offset + slope × modelled bytes, least squares over the measured lengths; the offset is
    // what the process or the allocator holds whatever the model (never negative).
    std::vector<const Point*> mem;
    for (const Point& p : pts)
        if (p.peak >= 0) mem.push_back(&p);
    double offset = 0, slope = 0;
    if (mem.size() >= 2) {
        double mx = 0, my = 0;
        for (const Point* p : mem) {
            mx += p->bytes;
            my += p->peak;
        }
        mx /= static_cast<double>(mem.size());
        my /= static_cast<double>(mem.size());
        double sxy = 0, sxx = 0;
        for (const Point* p : mem) {
            sxy += (p->bytes - mx) * (p->peak - my);
            sxx += (p->bytes - mx) * (p->bytes - mx);
        }
        slope = sxx > 0 ? sxy / sxx : 0;
        offset = my - slope * mx;
    }
    if (mem.size() == 1 || slope <= 0 || offset < 0) {
        // One reading, or readings the line cannot follow: the mean ratio, no offset.
        offset = 0;
        slope = 0;
        for (const Point* p : mem) slope += p->peak / p->bytes;
        if (!mem.empty()) slope /= static_cast<double>(mem.size());
    }

    CostCurve out;
    for (int64_t l : lengths) {
        const StepCost c = training_step_cost(target, mixer, batch, l);
        out.lengths.push_back(l);
        out.ms.push_back(c.flops / rate);
        out.peak_bytes.push_back(mem.empty() ? -1.0 : offset + slope * c.bytes);
    }
    return out;
}

}  // namespace ponet::bench
