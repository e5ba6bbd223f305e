// The benchmark run: for each (mixer, length) a fresh model from the project's presets, synthetic all-real
// tokens, warm-up steps, then timed steps with no host synchronisation inside a step.
#include "core/util/time_format.h"
#include "core/bench/bench.h"

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <ctime>
#include <exception>
#include <fstream>
#include <new>
#include <sstream>

#include "core/io/atomic_file.h"
#include "core/model/ponet_model.h"
#include "core/train/optimizer.h"
#include "core/train/run_config.h"
#include "core/train/step_graph.h"
#include "core/train/task_data.h"
#include "core/train/trainer.h"
#include "core/util/error.h"
#include "core/util/paths.h"
#include "core/util/runtime.h"
#include "core/util/torch_compat.h"

#if defined(PONET_WITH_CUDA)
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAGuard.h>
#define PONET_BENCH_CUDA_EVENTS 1
#endif
// Whole-step CUDA graphs need the capture mode argument of CUDAGraph::capture_begin and ATen's fused AdamW (2.1+).
#if defined(PONET_WITH_CUDA) && PONET_TORCH_AT_LEAST(2, 1)
#define PONET_BENCH_GRAPHS 1
#endif

namespace ponet::bench {
namespace {

struct Cancelled {};

// ---- devices and memory
// --------------------------------------------------------------------------------------

torch::Device resolve_device(const std::string& requested) {
    bool cuda = false;
    try {
        cuda = torch::cuda::is_available();
    } catch (const std::exception&) {
        // A broken driver means "no GPU" here; a CUDA request then fails below with the reason.
    }
    if (requested == "auto") return cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
    if (requested == "cpu") return torch::kCPU;
    if (requested.rfind("cuda", 0) == 0) {
        if (!cuda)
            throw InvalidInput("device '" + requested +
                               "' requested but no CUDA GPU is usable here (LibTorch " +
                               std::string(torch_version()) + ")");
        int index = 0;
        if (requested != "cuda") {
            const std::string digits = requested.size() > 5 && requested[4] == ':' ? requested.substr(5) : "";
            if (digits.empty() || digits.size() > 3 ||
                !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
                throw InvalidInput("unknown device '" + requested + "' (auto, cpu, cuda or cuda:N)");
            index = std::stoi(digits);
        }
        const int count = static_cast<int>(torch::cuda::device_count());
        if (index >= count)
            throw InvalidInput("device '" + requested + "' does not exist: " + std::to_string(count) +
                               " GPU(s) visible");
        return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
    }
    throw InvalidInput("unknown device '" + requested + "' (auto, cpu, cuda or cuda:N)");
}

int cuda_index(const torch::Device& d) {
    return d.has_index() ? d.index() : 0;
}

std::string cpu_model_name() {
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line)) {
        if (line.rfind("model name", 0) != 0) continue;
        const auto colon = line.find(':');
        if (colon == std::string::npos) break;
        const auto start = line.find_first_not_of(' ', colon + 1);
        return start == std::string::npos ? std::string() : line.substr(start);
    }
    return "CPU";
}

std::string device_name(const torch::Device& d) {
    if (d.is_cuda()) {
#if defined(PONET_WITH_CUDA)
        return at::cuda::getDeviceProperties(static_cast<c10::DeviceIndex>(cuda_index(d)))->name;
#else
        return "CUDA device " + std::to_string(cuda_index(d));
#endif
    }
    return cpu_model_name() + " (" + std::to_string(at::get_num_threads()) + " threads)";
}

void cuda_empty_cache() {
#if defined(PONET_WITH_CUDA)
    c10::cuda::CUDACachingAllocator::emptyCache();
#endif
}

// Before a cell: cuBLAS's per-stream workspaces are allocated through the caching allocator and kept; dropping them
// lets every cell count its own, as a fresh process would.
void cuda_release_library_workspaces() {
#if defined(PONET_WITH_CUDA) && PONET_TORCH_AT_LEAST(2, 1)
    at::cuda::clearCublasWorkspaces();
#endif
}

void cuda_reset_peak(const torch::Device& d) { cuda_reset_peak_memory(cuda_index(d)); }

int64_t cuda_peak_allocated(const torch::Device& d) { return cuda_peak_memory_allocated(cuda_index(d)); }

// The process's peak resident set (VmHWM) can be reset by writing 5 to /proc/self/clear_refs (Linux >= 4.0).
bool reset_peak_rss() {
    std::ofstream f("/proc/self/clear_refs");
    if (!f) return false;
    f << "5";
    f.flush();
    return static_cast<bool>(f);
}

int64_t peak_rss_bytes() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line)) {
        if (line.rfind("VmHWM:", 0) != 0) continue;
        std::istringstream in(line.substr(6));
        int64_t kib = -1;
        in >> kib;
        return kib >= 0 ? kib * 1024 : -1;
    }
    return -1;
}

void synchronize(const torch::Device& d) {
    if (d.is_cuda()) torch::cuda::synchronize(cuda_index(d));
}

bool is_out_of_memory(const std::string& what) {
    return what.find("out of memory") != std::string::npos ||
           what.find("Out of memory") != std::string::npos ||
           what.find("not enough memory") != std::string::npos ||
           what.find("can't allocate memory") != std::string::npos ||
           what.find("OutOfMemory") != std::string::npos;
}

// ---- the model and its inputs
// ---------------------------------------------------------------------------------

// The preset's run configuration, turned into a classification task of two classes at `length` tokens.
RunConfig bench_run_config(const std::string& preset, const std::string& mixer, int64_t length,
                           const std::string& resources) {
    const std::string path = resources + "/presets/" + preset + ".json";
    RunConfig c = RunConfig::from_json_text(read_file(path, 1 << 20), path);
    if (c.task == TaskKind::Pretrain) c.task = TaskKind::Finetune;  // base and tiny: a sequence classifier
    c.model.mixer = mixer;
    c.model.max_length = length;
    c.train.grad_checkpointing = false;
    return c;
}

TaskData bench_task_data(const RunConfig& c, const std::string& resources) {
    TaskData data;
    data.task = c.task;
    data.labels = LabelMap({"0", "1"}, false);
    const ModelConfig base = ModelConfig::load(resources + "/models/" + c.model.preset + "/config.json");
    data.vocab_size = base.vocab_size;
    if (base.variant == ModelVariant::Lra) data.specials = SpecialTokens{0, -1, -1, -1, -1};
    return data;
}

// Synthetic, all-real tokens (no padding) from a fixed seed: bytes for the LRA skeleton; [CLS] words [SEP]
// with ids above BERT's reserved range for the BERT skeleton.
ModelInputs synthetic_inputs(const ModelConfig& mc, int64_t batch, int64_t length, int64_t seed,
                             const torch::Device& device) {
    auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(seed));
    ModelInputs in;
    if (mc.variant == ModelVariant::Lra) {
        const int64_t hi = std::min<int64_t>(mc.vocab_size, 257);
        in.input_ids = torch::randint(1, hi, {batch, length}, gen, torch::kLong);
    } else {
        const int64_t lo = std::min<int64_t>(1000, mc.vocab_size / 2);
        in.input_ids = torch::randint(lo, mc.vocab_size, {batch, length}, gen, torch::kLong);
        in.input_ids.index_put_({torch::indexing::Slice(), 0}, mc.cls_token_id);
        in.input_ids.index_put_({torch::indexing::Slice(), length - 1}, mc.sep_token_id);
        in.attention_mask = torch::ones({batch, length}, torch::kLong);
    }
    in.labels = torch::randint(0, mc.num_labels(), {batch}, gen, torch::kLong);
    // Filled once here, so the timed forward passes do no input completion (and no range-check sync).
    in = complete_inputs(mc, in, true);
    for (torch::Tensor* t :
         {&in.input_ids, &in.attention_mask, &in.token_type_ids, &in.segment_ids, &in.labels})
        if (t->defined()) *t = t->to(device);
    return in;
}

// ---- one cell
// -------------------------------------------------------------------------------------------------

struct CellContext {
    const BenchSpec& spec;
    const torch::Device device;
    const MixerImpl impl;
    const bool amp;
    const at::ScalarType amp_dtype;
    const std::string resources;
    const BenchCallbacks& cb;
    BenchProgress progress;
};

bool cancelled(const BenchCallbacks& cb) {
    return cb.cancel && cb.cancel->load();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

bool graph_wanted(const BenchSpec& spec, const torch::Device& device, int64_t length) {
#if defined(PONET_BENCH_GRAPHS)
    if (!device.is_cuda() || spec.cuda_graphs == "off" || graph_capture_failed()) return false;
    return spec.cuda_graphs == "on" || spec.batch * length <= kGraphAutoTokens;
#else
    (void)spec, (void)device, (void)length;
    return false;
#endif
}

void measure(CellContext& ctx, BenchRow& row) {
    const BenchSpec& spec = ctx.spec;
    const RunConfig rc = bench_run_config(spec.preset, row.mixer, row.length, ctx.resources);
    const TaskData data = bench_task_data(rc, ctx.resources);
    torch::manual_seed(static_cast<uint64_t>(spec.seed));
    if (ctx.device.is_cuda()) torch::cuda::manual_seed_all(static_cast<uint64_t>(spec.seed));
    std::shared_ptr<PoNetTaskModelImpl> model = build_task_model(rc, data);
    const ModelConfig mc = model->config();
    model->to(ctx.device);
    for (const auto& p : model->parameters()) row.parameters += p.numel();
    row.impl = mc.mixer == MixerKind::PoNet ? resolved_mixer_impl(ctx.impl, ctx.device) : "-";

    ModelInputs in = synthetic_inputs(mc, spec.batch, row.length, spec.seed, ctx.device);
    ForwardOptions fopt;
    fopt.impl = ctx.impl;
    fopt.validate_inputs = false;

    const bool train = spec.mode == BenchMode::Train;
    std::unique_ptr<torch::optim::AdamW> optimizer;
    if (train) {
        model->train();
        optimizer = build_adamw(*model, rc.train);
    } else {
        model->eval();
        in.labels = torch::Tensor();  // inference: logits only, no loss
    }

    // One step. `captured`: the step being recorded into a CUDA graph, whose AdamW keeps its step counts on the
    // device (a replay must not depend on the host).
    std::vector<torch::Tensor> device_steps;
    auto step = [&](bool captured) {
        if (train) {
            optimizer->zero_grad();
            ModelOutput out;
            {
                CudaAutocastGuard autocast(ctx.amp, ctx.amp_dtype);
                out = model->forward(in, fopt);
            }
            model->base().backward(out.loss.to(torch::kFloat));
            if (!captured) {
                adamw_step(*optimizer);
            } else if (!adamw_step_device_counts(*optimizer, device_steps)) {
                throw Error("the optimizer step cannot be captured (it needs the fused CUDA AdamW)");
            }
        } else {
            torch::NoGradGuard no_grad;
            CudaAutocastGuard autocast(ctx.amp, ctx.amp_dtype);
            ModelOutput out = model->forward(in, fopt);
        }
    };

    bool want_graph = graph_wanted(spec, ctx.device, row.length);
#if !defined(PONET_BENCH_GRAPHS)
    if (ctx.device.is_cuda() && spec.cuda_graphs == "on")
        row.message = "no CUDA graph: this build's LibTorch is older than 2.1; timed as ordinary steps";
#endif
    if (want_graph && row.impl == "reference") {
        // Known not capturable, so never tried: a failed capture would leave CUDA's random generator in capture
        // mode for the rest of the process.
        want_graph = false;
        row.message = "no CUDA graph: the reference mixing reads the segment count back to the host, which a "
                      "captured step cannot do; timed as ordinary steps";
        if (ctx.cb.on_log) ctx.cb.on_log(row.mixer + " at " + std::to_string(row.length) + ": " + row.message);
    }
    // A captured step needs a few ordinary ones first (optimizer state, cuBLAS workspaces, cuFFT plans, lazy
    // initialisation), run on the capture stream.
    const int64_t eager_warmup = want_graph ? std::max<int64_t>(spec.warmup, 3) : spec.warmup;
    const int64_t total = eager_warmup + spec.steps;
    ctx.progress.step = 0;
    ctx.progress.steps = total;
    ctx.progress.timing = false;
    auto report_step = [&](int64_t done) {
        if (cancelled(ctx.cb)) throw Cancelled{};
        ctx.progress.step = done;
        ctx.progress.timing = done >= eager_warmup;
        if (ctx.cb.on_progress) ctx.cb.on_progress(ctx.progress);
    };

    std::function<void()> timed_step = [&] { step(false); };
#if defined(PONET_BENCH_GRAPHS)
    std::unique_ptr<StepGraph> graph;
    if (want_graph) {
        struct NoGraph {
            std::string why;
        };
        std::string no_graph;  // why the cell is timed as ordinary steps instead
        bool capture_failed = false;
        // An error of the eager warm-up before the capture is the cell's own (an OOM is reported as the cell's
        // OOM, as without a graph), not a failed capture: it propagates.
        try {
            CaptureStreamScope on_side(ctx.device);
            for (int64_t i = 0; i < eager_warmup; ++i) {
                step(false);
                report_step(i + 1);
            }
            // The optimizer's device-side step counts are made here, outside the capture (made inside, every
            // replay would reset them); a setup the captured update cannot take is found before capturing.
            if (train && !prepare_adamw_device_counts(*optimizer, device_steps))
                throw NoGraph{"the optimizer step cannot be captured (it needs ATen's fused CUDA AdamW and a "
                              "gradient for every parameter)"};
            if (train) optimizer->zero_grad();  // gradients are born inside the graph's memory pool
            // A capture that failed on another thread since graph_wanted() makes this cell ordinary steps too.
            if (graph_capture_failed()) throw NoGraph{"an earlier CUDA graph capture failed in this process"};
            auto g = std::make_unique<StepGraph>();
            g->capture([&] { step(true); });
            graph = std::move(g);
        } catch (const NoGraph& n) {
            no_graph = n.why;
        } catch (const GraphCaptureError& e) {
            capture_failed = true;
            no_graph = std::string("CUDA graph capture failed: ") + e.what();
        }
        if (!no_graph.empty()) {
            graph.reset();
            const std::string restart = " (restart the program before training on this GPU)";
            if (capture_failed && spec.cuda_graphs == "on")
                throw Error(no_graph + restart + "; --cuda-graphs off avoids it");
            row.message = "no CUDA graph: " + no_graph + "; timed as ordinary steps" + (capture_failed ? restart : "");
            if (ctx.cb.on_log) ctx.cb.on_log(row.mixer + " at " + std::to_string(row.length) + ": " + row.message);
        }
        if (graph) {
            graph->replay();  // the first replay uploads the graph
            row.cuda_graph = true;
            timed_step = [&] { graph->replay(); };
        }
    }
#endif
    if (!row.cuda_graph) {
        for (int64_t i = 0; i < (want_graph ? 0 : eager_warmup); ++i) {
            step(false);
            report_step(i + 1);
        }
    }
    synchronize(ctx.device);

    row.step_ms.assign(static_cast<size_t>(spec.steps), 0.0);
    bool timed = false;
#if defined(PONET_BENCH_CUDA_EVENTS)
    if (ctx.device.is_cuda()) {
        // Events at the step boundaries, on the stream the work runs on; the host only waits once, at the
        // end.
        // Timing-enabled CUDA events (cudaEventDefault; the generic c10::Event's default flag disables timing).
        const auto stream = at::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(cuda_index(ctx.device)));
        std::vector<at::cuda::CUDAEvent> marks;
        marks.reserve(static_cast<size_t>(spec.steps) + 1);
        for (int64_t i = 0; i <= spec.steps; ++i) marks.emplace_back(cudaEventDefault);
        marks[0].record(stream);
        for (int64_t i = 0; i < spec.steps; ++i) {
            timed_step();
            marks[static_cast<size_t>(i) + 1].record(stream);
            report_step(eager_warmup + i + 1);
        }
        marks.back().synchronize();
        for (int64_t i = 0; i < spec.steps; ++i)
            row.step_ms[static_cast<size_t>(i)] =
                marks[static_cast<size_t>(i)].elapsed_time(marks[static_cast<size_t>(i) + 1]);
        timed = true;
    }
#endif
    if (!timed) {
        for (int64_t i = 0; i < spec.steps; ++i) {
            const auto t0 = std::chrono::steady_clock::now();
            timed_step();
            synchronize(ctx.device);  // a no-op on the CPU, whose operations finish before they return
            const auto t1 = std::chrono::steady_clock::now();
            row.step_ms[static_cast<size_t>(i)] = std::chrono::duration<double, std::milli>(t1 - t0).count();
            report_step(eager_warmup + i + 1);
        }
    }
    row.median_ms = median(row.step_ms);
    row.min_ms = *std::min_element(row.step_ms.begin(), row.step_ms.end());
    row.max_ms = *std::max_element(row.step_ms.begin(), row.step_ms.end());
    row.steps_per_second = row.median_ms > 0 ? 1000.0 / row.median_ms : 0.0;
    row.tokens_per_second =
        row.steps_per_second * static_cast<double>(spec.batch) * static_cast<double>(row.length);
}

BenchRow run_cell(CellContext& ctx, const std::string& mixer, int64_t length, bool* stop) {
    BenchRow row;
    row.mixer = mixer;
    row.length = length;
    const bool cuda = ctx.device.is_cuda();
    bool rss_reset = false;
    if (cuda) {
        synchronize(ctx.device);
        if (ctx.cb.exclusive_device) cuda_release_library_workspaces();
        cuda_empty_cache();
        cuda_reset_peak(ctx.device);
    } else {
        rss_reset = reset_peak_rss();
    }
    try {
        measure(ctx, row);
        row.status = "ok";
    } catch (const Cancelled&) {
        row.status = "cancelled";
        row.message = "cancelled";
        *stop = true;
    } catch (const c10::Error& e) {
        const std::string what = e.what_without_backtrace();
        row.status = is_out_of_memory(what) ? "oom" : "error";
        row.message = row.status == "oom" ? "out of memory: " + first_line(what) : first_line(what);
    } catch (const std::bad_alloc&) {
        row.status = "oom";
        row.message = "out of host memory";
    } catch (const std::exception& e) {
        row.status = is_out_of_memory(e.what()) ? "oom" : "error";
        row.message = first_line(e.what());
    }
    if (row.status != "ok") {
        row.step_ms.clear();
        row.median_ms = row.min_ms = row.max_ms = NAN;
        row.steps_per_second = row.tokens_per_second = NAN;
    }
    // Everything of the cell is out of scope by now: the peak is final, and an OOM's blocks can be released.
    if (cuda) {
        row.peak_bytes = cuda_peak_allocated(ctx.device);
        cuda_empty_cache();
    } else {
        row.peak_bytes = rss_reset ? peak_rss_bytes() : -1;
    }
    if (row.status == "oom" && ctx.cb.on_log)
        ctx.cb.on_log(mixer + " at " + std::to_string(length) +
                      " tokens: out of memory; memory released, going on");
    return row;
}

}  // namespace

BenchReport run_bench(const BenchSpec& spec, const BenchCallbacks& callbacks) {
    spec.validate();
    const torch::Device device = resolve_device(spec.device);
    std::string precision = spec.precision;
    if (precision == "auto") precision = device.is_cuda() ? "bf16" : "fp32";
    if (!device.is_cuda() && precision != "fp32")
        throw InvalidInput("precision " + precision +
                           " needs a CUDA device (the CPU runs in fp32; use --precision fp32 or auto)");
    const MixerImpl impl = mixer_impl_from_string(spec.impl);
    const std::string resources = resources_dir();
    if (resources.empty())
        throw Error("the built-in presets are missing (no resources directory; set PONET_RESOURCES_DIR)");

    BenchReport report;
    report.spec = spec;
    report.device = device.str();
    report.device_name = device_name(device);
    report.precision = precision;
    report.torch_version = torch_version();
    report.ponet_version = PONET_VERSION;
    report.started_at = iso_time_utc(std::time(nullptr));
    report.threads = at::get_num_threads();
    if (!device.is_cuda()) {
        report.timing_method = "wall clock around each step (CPU operations finish before they return)";
        report.memory_metric =
            "peak resident set size of the whole process during the cell (VmHWM reset before it; includes "
            "LibTorch itself)";
    } else {
#if defined(PONET_BENCH_CUDA_EVENTS)
        report.timing_method =
            "CUDA events recorded on the compute stream at every step boundary; the host synchronises once "
            "after the timed steps, never inside a step";
#endif
        report.memory_metric =
            "peak bytes allocated by the CUDA caching allocator during the cell (reset before it): weights, "
            "optimizer state, activations";
    }
    if (callbacks.on_log)
        callbacks.on_log("bench on " + report.device + " (" + report.device_name + "), " + precision + ", " +
                         spec.preset + ", batch " + std::to_string(spec.batch));

    CellContext ctx{spec,
                    device,
                    impl,
                    device.is_cuda() && precision != "fp32",
                    precision == "fp16" ? at::kHalf : at::kBFloat16,
                    resources,
                    callbacks,
                    {}};
    ctx.progress.rows = static_cast<int>(spec.mixers.size() * spec.lengths.size());
    int index = 0;
    bool stop = false;
    for (const std::string& mixer : spec.mixers) {
        for (int64_t length : spec.lengths) {
            if (cancelled(callbacks)) stop = true;
            if (stop) break;
            ctx.progress.row = index++;
            ctx.progress.mixer = mixer;
            ctx.progress.length = length;
            ctx.progress.step = 0;
            ctx.progress.steps = spec.warmup + spec.steps;
            ctx.progress.timing = false;
            if (callbacks.on_progress) callbacks.on_progress(ctx.progress);
            BenchRow row = run_cell(ctx, mixer, length, &stop);
            report.rows.push_back(row);
            if (callbacks.on_row) callbacks.on_row(row);
        }
        if (stop) break;
    }
    report.cancelled = stop;
    return report;
}

}  // namespace ponet::bench
