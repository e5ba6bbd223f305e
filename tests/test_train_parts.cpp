// Tests of the trainer's independent parts: the run configuration and its option table, presets,
// learning-rate schedules (PONET-SPEC A.4), AdamW groups and bit-exact optimizer resume, metrics, the run
// directory and crash-safe checkpoints (including a writer killed with SIGKILL mid-checkpoint).
#include <torch/torch.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "core/check/checks.h"
#include "core/io/model_io.h"
#include "core/model/ponet_model.h"
#include "core/train/checkpoint.h"
#include "core/train/metrics.h"
#include "core/train/optimizer.h"
#include "core/train/run_config.h"
#include "core/train/run_directory.h"
#include "core/train/schedule.h"
#include "core/util/error.h"
#include "core/util/torch_compat.h"

#include <QTemporaryDir>
#include <QTest>

namespace fs = std::filesystem;
using namespace ponet;

namespace {

// Runs `f` and returns the InvalidInput message, or "(no exception)".
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const InvalidInput& e) {
        return e.what();
    }
    return "(no exception)";
}

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

ModelConfig tiny_config(const std::string& arch) { return check::tiny_config(arch); }

// A fixed pre-training batch: [CLS] a.. [SEP] b.. [SEP] [PAD].., MLM labels on a few positions, SSO labels.
ModelInputs fixed_batch() {
    auto gen = at::detail::createCPUGenerator(1234);
    const int64_t B = 4, L = 24;
    auto ids = at::randint(104, 160, {B, L}, gen, torch::TensorOptions().dtype(torch::kLong));
    auto mask = torch::zeros({B, L}, torch::kLong);
    auto labels = torch::full({B, L}, -100, torch::kLong);
    const int64_t lengths[B] = {24, 20, 15, 11};
    for (int64_t b = 0; b < B; ++b) {
        const int64_t n = lengths[b];
        ids[b][0] = 101;
        ids[b][n / 2] = 102;
        ids[b][n - 1] = 102;
        for (int64_t i = n; i < L; ++i) ids[b][i] = 0;
        mask[b].narrow(0, 0, n).fill_(1);
        for (int64_t i = 2; i < n - 2; i += 3) {
            labels[b][i] = ids[b][i].item<int64_t>();
            ids[b][i] = 103;
        }
    }
    ModelInputs in;
    in.input_ids = ids;
    in.attention_mask = mask;
    in.labels = labels;
    in.sso_labels = torch::tensor({0, 1, 2, 0}, torch::kLong);
    return in;
}

std::vector<torch::Tensor> params_of(PoNetTaskModelImpl& m) {
    std::vector<torch::Tensor> out;
    for (auto& [name, p] : named_trainable_parameters(m)) out.push_back(p);
    return out;
}

// Optimizer steps [from, to) on the fixed batch, in training mode (dropout draws from the CPU generator).
void train_steps(PoNetTaskModelImpl& model, torch::optim::AdamW& opt, const LrSchedule& sched,
                 const ModelInputs& in, int64_t from, int64_t to) {
    model.train();
    for (int64_t s = from; s < to; ++s) {
        apply_schedule(opt, sched, s);
        opt.zero_grad();
        auto out = model.forward(in);
        out.loss.backward();
        clip_grad_norm(params_of(model), 1.0);
        opt.step();
    }
}

TrainConfig adamw_settings() {
    TrainConfig t = RunConfig().train;
    t.lr = 1e-2;
    t.weight_decay = 0.05;
    t.schedule = ScheduleKind::OneCycle;
    t.warmup_steps = 2;
    t.max_steps = 6;
    return t;
}

std::map<std::string, torch::Tensor> clone_state(PoNetTaskModelImpl& m) {
    std::map<std::string, torch::Tensor> out;
    for (auto& [k, v] : state_tensors(m)) out[k] = v.clone();
    return out;
}

bool same_weights(PoNetTaskModelImpl& a, PoNetTaskModelImpl& b, std::string* differing = nullptr) {
    const auto sa = state_tensors(a), sb = state_tensors(b);
    if (sa.size() != sb.size()) return false;
    for (const auto& [k, v] : sa) {
        if (!torch::equal(v, sb.at(k))) {
            if (differing) *differing = k;
            return false;
        }
    }
    return true;
}

void truncate_to_half(const std::string& path) {
    struct stat st {};
    QVERIFY(::stat(path.c_str(), &st) == 0);
    QVERIFY(::truncate(path.c_str(), st.st_size / 2) == 0);
}

// The pid of a process that has certainly exited (forked, reaped).
pid_t dead_pid() {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return pid;
}

std::vector<int64_t> steps_on_disk(const std::string& run) {
    std::vector<int64_t> out;
    for (const auto& c : list_checkpoints(run)) out.push_back(c.step);
    return out;
}

}  // namespace

class TestTrainParts : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    void initTestCase() {
        at::set_num_threads(2);
        QVERIFY(tmp_.isValid());
    }

    // ---------------------------------------------------------------- run configuration
    void optionTableDefaults() {
        const RunConfig defaults;
        QVERIFY(run_options().size() > 50);
        std::set<std::string> keys;
        for (const auto& o : run_options()) {
            QVERIFY2(keys.insert(o.key).second, o.key.c_str());
            QVERIFY2(!o.help.empty(), o.key.c_str());
            if (o.type == OptionType::Choice) QVERIFY2(!o.allowed.empty(), o.key.c_str());
            // The default, set through the table, reads back as itself.
            RunConfig c;
            set_option(c, o.key, o.default_value);
            QCOMPARE(get_option(c, o.key), get_option(defaults, o.key));
            if (o.type == OptionType::Float || o.type == OptionType::Int)
                QCOMPARE(std::stod(get_option(defaults, o.key)), std::stod(o.default_value));
            else
                QCOMPARE(get_option(defaults, o.key), o.default_value);
            QVERIFY(find_option(o.key) != nullptr);
        }
        defaults.validate();
        QCOMPARE(defaults.train.lr, 5e-5);
        QCOMPARE(defaults.train.schedule, ScheduleKind::Linear);
        QCOMPARE(defaults.task, TaskKind::Finetune);
        QCOMPARE(to_string(Precision::Bf16), std::string("bf16"));
        QVERIFY(contains(error_of([&] { defaults.validate_runnable(); }), "data.dataset"));
    }

    void optionOverrides() {
        RunConfig c;
        apply_override(c, "train.lr=3e-5");
        QCOMPARE(c.train.lr, 3e-5);
        apply_override(c, "train.max_steps=1e4");
        QCOMPARE(c.train.max_steps, int64_t{10000});
        apply_override(c, "train.schedule=onecycle");
        QCOMPARE(c.train.schedule, ScheduleKind::OneCycle);
        apply_override(c, "train.grad_checkpointing=yes");
        QVERIFY(c.train.grad_checkpointing);
        apply_override(c, "train.early_stopping.mode=min");
        QCOMPARE(c.train.early_stopping.mode, MetricMode::Min);
        apply_override(c, "data.text_field=body=text");  // only the first '=' separates
        QCOMPARE(c.data.text_field, std::string("body=text"));
        QCOMPARE(get_option(c, "train.lr"), std::string("3e-05"));

        QVERIFY(contains(error_of([&] { apply_override(c, "train.lr=abc"); }), "train.lr expects a number"));
        QVERIFY(
            contains(error_of([&] { apply_override(c, "train.batch_size=0"); }), "train.batch_size must be"));
        QVERIFY(contains(error_of([&] { apply_override(c, "train.batch_size=2.5"); }), "expects an integer"));
        QVERIFY(contains(error_of([&] { apply_override(c, "train.schedule=cyclic"); }),
                         "one of linear, constant, cosine, onecycle"));
        QVERIFY(contains(error_of([&] { apply_override(c, "train.lr"); }), "expected key=value"));
        QVERIFY(contains(error_of([&] { apply_override(c, "train.lrr=1"); }), "did you mean 'train.lr'?"));
        QVERIFY(contains(error_of([&] { apply_override(c, "model.lr=1"); }), "did you mean 'train.lr'?"));
        QVERIFY(contains(error_of([&] { apply_override(c, "train.learning_rate=1"); }),
                         "did you mean 'train.lr'?"));
        QCOMPARE(suggest_option("zzzzzzzzzzzz"), std::string());
        QCOMPARE(c.train.lr, 3e-5);  // failed overrides changed nothing
    }

    void configJson() {
        RunConfig c;
        c.task = TaskKind::Lra;
        c.name = "listops \"quoted\"";
        c.train.lr = 1.25e-4;
        c.train.precision = Precision::Bf16;
        c.model.preset = "lra-listops";
        c.data.multi_label = true;
        const std::string text = c.to_json_text();
        const RunConfig back = RunConfig::from_json_text(text);
        QCOMPARE(back.to_json_text(), text);
        QCOMPARE(back.train.precision, Precision::Bf16);
        QCOMPARE(back.name, c.name);

        // Dotted keys and nested objects mix; absent keys keep their defaults.
        const auto d = RunConfig::from_json_text(R"({"train.lr": 2e-4, "model": {"max_length": 1024}})");
        QCOMPARE(d.train.lr, 2e-4);
        QCOMPARE(d.model.max_length, int64_t{1024});
        QCOMPARE(d.train.batch_size, int64_t{32});

        QVERIFY(contains(
            error_of([] { RunConfig::from_json_text(R"({"train": {"learning_rate": 1e-4}})", "x.json"); }),
            "x.json: unknown key 'train.learning_rate'; did you mean 'train.lr'?"));
        QVERIFY(contains(error_of([] { RunConfig::from_json_text(R"({"trian": {"lr": 1e-4}})"); }),
                         "unknown key 'trian.lr'; did you mean 'train.lr'?"));
        QVERIFY(contains(error_of([] { RunConfig::from_json_text(R"({"train": {"lr": "fast"}})"); }),
                         "train.lr expects a number"));
        QVERIFY(
            contains(error_of([] { RunConfig::from_json_text(R"({"train": 3})"); }), "must be an object"));
        QVERIFY(contains(error_of([] { RunConfig::from_json_text(R"({"version": 99})"); }), "newer"));
        QVERIFY(contains(error_of([] { RunConfig::from_json_text("{"); }), "not valid JSON"));

        const std::string path = dir("config-json") + "/config.json";
        c.save(path);
        QCOMPARE(RunConfig::load(path).to_json_text(), text);
    }

    void configValidation() {
        auto invalid = [](const std::vector<std::string>& sets) {
            RunConfig c;
            for (const auto& s : sets) apply_override(c, s);
            return error_of([&] { c.validate(); });
        };
        QVERIFY(contains(invalid({"train.schedule=onecycle"}), "needs train.max_steps"));
        QVERIFY(
            contains(invalid({"train.schedule=onecycle", "train.max_steps=100"}), "1 <= train.warmup_steps"));
        QVERIFY(
            contains(invalid({"train.max_steps=10", "train.warmup_steps=11"}), "exceeds train.max_steps"));
        QVERIFY(contains(invalid({"train.max_steps=0", "train.epochs=0"}),
                         "set train.max_steps or train.epochs"));
        QVERIFY(contains(invalid({"train.precision=fp16", "train.device=cpu"}), "fp16 needs a CUDA device"));
        QVERIFY(contains(invalid({"train.device=gpu0"}), "train.device must be"));
        // A shape setting beside loaded weights is checked against those weights by the trainer (test_trainer's
        // finetuningFromPretrainedWeights), not refused up front: a preset's matching shape must stay usable.
        QCOMPARE(invalid({"model.dir=/some/model", "model.hidden_size=64"}), std::string("(no exception)"));
        QVERIFY(
            contains(invalid({"model.hidden_size=60", "model.num_heads=8"}), "multiple of model.num_heads"));
        QVERIFY(contains(invalid({"train.adam_beta1=1"}), "must be < 1"));
        QVERIFY(contains(invalid({"model.preset=ponet-huge"}), "ponet-base-uncased"));
        QCOMPARE(invalid({"train.device=cuda:1", "train.precision=fp16"}), std::string("(no exception)"));
        RunConfig c;
        c.train.lr = -1;  // set directly, past the table: validate() still catches it
        const auto msg = error_of([&] { c.validate(); });
        QVERIFY2(contains(msg, "train.lr must be between 0 and 10"), msg.c_str());
    }

    void presets() {
        const auto names = list_presets();
        for (const char* want :
             {"tiny", "small", "base", "lra-listops", "lra-text", "lra-image", "lra-pathfinder"})
            QVERIFY2(std::find(names.begin(), names.end(), want) != names.end(), want);
        for (const auto& n : names) {
            const RunConfig c = load_preset(n);  // validates
            QVERIFY2(!c.description.empty(), n.c_str());
        }
        const auto tiny = load_preset("tiny");
        QCOMPARE(tiny.model.hidden_size, int64_t{64});
        QCOMPARE(tiny.model.num_layers, int64_t{2});
        QCOMPARE(tiny.model.num_heads, int64_t{2});
        QCOMPARE(tiny.model.intermediate_size, int64_t{128});
        QCOMPARE(tiny.model.max_length, int64_t{128});
        QCOMPARE(tiny.train.batch_size, int64_t{16});

        const auto base = load_preset("base");
        QCOMPARE(base.train.batch_size * base.train.grad_accum, int64_t{192});
        QCOMPARE(base.train.lr, 1e-4);
        QCOMPARE(base.train.warmup_steps, int64_t{5000});
        QCOMPARE(base.train.precision, Precision::Fp16);

        struct Lra {
            const char* name;
            int64_t length, batch, warmup, steps, eval_every, eval_batches;
        };
        for (const Lra& t : {Lra{"lra-listops", 2048, 32, 1000, 5000, 50, 62},
                             Lra{"lra-text", 4096, 32, 8000, 20000, 500, 781},
                             Lra{"lra-image", 1024, 256, 175, 35000, 175, 20},
                             Lra{"lra-pathfinder", 1024, 256, 312, 62400, 312, 312}}) {
            const auto c = load_preset(t.name);
            QCOMPARE(c.task, TaskKind::Lra);
            QCOMPARE(c.model.max_length, t.length);
            QCOMPARE(c.train.batch_size, t.batch);
            QCOMPARE(c.train.warmup_steps, t.warmup);
            QCOMPARE(c.train.max_steps, t.steps);
            QCOMPARE(c.train.eval_every, t.eval_every);
            QCOMPARE(c.train.eval_batches, t.eval_batches);
            QCOMPARE(c.train.lr, 1e-4);
            QCOMPARE(c.train.adam_eps, 1e-6);
            QCOMPARE(c.train.weight_decay, 0.0);
            QCOMPARE(c.train.clip_norm, 0.0);
            QCOMPARE(c.train.schedule, ScheduleKind::OneCycle);
            QCOMPARE(c.model.preset, std::string(t.name));
        }
        QVERIFY(contains(error_of([] { load_preset("tiyn"); }), "presets are"));
    }

    // ---------------------------------------------------------------- schedules
    void oneCycleMatchesAppendixA4() {
        TrainConfig t = RunConfig().train;
        t.schedule = ScheduleKind::OneCycle;
        t.lr = 1e-4;
        t.warmup_steps = 1000;
        t.max_steps = 5000;
        const auto s = LrSchedule::from_config(t, t.max_steps);
        struct Row {
            int64_t t;
            const char* lr;
            const char* beta1;
        };
        const Row rows[] = {
            {0, "4.0000e-06", "0.9500"},    {1, "4.0961e-06", "0.9499"},    {500, "5.2048e-05", "0.8999"},
            {998, "9.9904e-05", "0.8501"},  {999, "1.0000e-04", "0.8500"},  {1000, "9.9975e-05", "0.8500"},
            {3000, "4.9975e-05", "0.9000"}, {4998, "2.5400e-08", "0.9500"}, {4999, "4.0000e-10", "0.9500"}};
        for (const auto& r : rows) {
            QCOMPARE(QString::asprintf("%.4e", s.lr(r.t)), QString(r.lr));
            QCOMPARE(QString::asprintf("%.4f", s.beta1_at(r.t)), QString(r.beta1));
        }
        QCOMPARE(s.lr(999), 1e-4);
        QCOMPARE(s.lr(7000), s.lr(4999));  // held after the horizon
        QVERIFY(LrSchedule::from_json_text(s.to_json_text()) == s);
        QVERIFY(contains(error_of([&] { LrSchedule::from_config(t, 1000); }), "onecycle needs"));

        // One warm-up step: the peak is step 0 (the phase boundary is 0; this was 0/0 = NaN and a NaN loss).
        t.warmup_steps = 1;
        t.max_steps = 2;
        const auto one = LrSchedule::from_config(t, t.max_steps);
        QCOMPARE(one.lr(0), 1e-4);
        QCOMPARE(one.beta1_at(0), 0.85);
        QVERIFY(std::isfinite(one.lr(1)) && one.lr(1) < one.lr(0));
    }

    void warmupSchedules() {
        TrainConfig t = RunConfig().train;
        t.lr = 1.0;
        t.warmup_steps = 10;
        t.schedule = ScheduleKind::Linear;
        const auto lin = LrSchedule::from_config(t, 100);
        QCOMPARE(lin.lr(0), 0.0);  // HF: the first step runs at 0 with warm-up
        QCOMPARE(lin.lr(5), 0.5);
        QCOMPARE(lin.lr(10), 1.0);
        QCOMPARE(lin.lr(55), 0.5);
        QCOMPARE(lin.lr(100), 0.0);
        QCOMPARE(lin.lr(150), 0.0);
        QCOMPARE(lin.beta1_at(50), 0.9);
        t.schedule = ScheduleKind::Cosine;
        const auto cos = LrSchedule::from_config(t, 100);
        QCOMPARE(cos.lr(5), 0.5);
        QCOMPARE(cos.lr(10), 1.0);
        QVERIFY(std::abs(cos.lr(55) - 0.5) < 1e-12);
        QVERIFY(std::abs(cos.lr(100)) < 1e-12);
        QVERIFY(cos.lr(30) > lin.lr(30));  // cosine stays higher early on
        t.schedule = ScheduleKind::Constant;
        const auto con = LrSchedule::from_config(t, 0);
        QCOMPARE(con.lr(2), 0.2);
        QCOMPARE(con.lr(10), 1.0);
        QCOMPARE(con.lr(1000000), 1.0);
        t.warmup_steps = 0;
        t.schedule = ScheduleKind::Linear;
        QCOMPARE(LrSchedule::from_config(t, 4).lr(0), 1.0);  // no warm-up: full rate at once (§3.2.4)
        QCOMPARE(LrSchedule::from_config(t, 4).lr(3), 0.25);
    }

    // ---------------------------------------------------------------- optimizer
    void adamwGroups() {
        QVERIFY(!uses_weight_decay("ponet.embeddings.LayerNorm.weight"));
        QVERIFY(!uses_weight_decay("ponet.embeddings.LayerNorm.bias"));
        QVERIFY(!uses_weight_decay("ponet.encoder.layer.0.output.LayerNorm.weight"));
        QVERIFY(!uses_weight_decay("ponet.encoder.final_layer_norm.weight"));
        QVERIFY(!uses_weight_decay("ponet.encoder.layer.1.attention.self.dense_q.bias"));
        QVERIFY(!uses_weight_decay("cls.predictions.bias"));
        QVERIFY(uses_weight_decay("ponet.embeddings.word_embeddings.weight"));
        QVERIFY(uses_weight_decay("ponet.embeddings.position_embeddings.weight"));
        QVERIFY(uses_weight_decay("ponet.encoder.layer.0.attention.self.dense_q.weight"));
        QVERIFY(uses_weight_decay("cls.predictions.transform.dense.weight"));

        auto model = build_model(tiny_config("PoNetForPreTraining"));
        const auto named = named_trainable_parameters(*model);
        auto opt = build_adamw(*model, adamw_settings());
        QCOMPARE(opt->param_groups().size(), size_t{2});
        auto& g0 = opt->param_groups()[0];
        auto& g1 = opt->param_groups()[1];
        QCOMPARE(static_cast<torch::optim::AdamWOptions&>(g0.options()).weight_decay(), 0.05);
        QCOMPARE(static_cast<torch::optim::AdamWOptions&>(g1.options()).weight_decay(), 0.0);
        QCOMPARE(g0.params().size() + g1.params().size(), named.size());
        std::set<const void*> no_decay;
        for (const auto& p : g1.params()) no_decay.insert(p.unsafeGetTensorImpl());
        int64_t layer_norm_weights = 0;
        for (const auto& [name, p] : named) {
            QCOMPARE(no_decay.count(p.unsafeGetTensorImpl()) == 1, !uses_weight_decay(name));
            layer_norm_weights += contains(name, "LayerNorm.weight");
        }
        QVERIFY(layer_norm_weights >= 6);  // embeddings, 2 per layer, the MLM transform

        const auto sched = LrSchedule::from_config(adamw_settings(), 6);
        apply_schedule(*opt, sched, 0);
        for (auto& g : opt->param_groups()) {
            auto& o = static_cast<torch::optim::AdamWOptions&>(g.options());
            QCOMPARE(o.lr(), sched.lr(0));
            QCOMPARE(std::get<0>(o.betas()), 0.95);
            QCOMPARE(std::get<1>(o.betas()), 0.999);
        }
    }

    void clipGradNorm() {
        auto a = torch::zeros({2}, torch::requires_grad());
        auto b = torch::zeros({1}, torch::requires_grad());
        auto none = torch::zeros({3}, torch::requires_grad());  // no gradient: ignored
        a.mutable_grad() = torch::tensor({3.0f, 4.0f});
        b.mutable_grad() = torch::tensor({12.0f});
        QCOMPARE(clip_grad_norm({a, b, none}, 0.0), 13.0);  // measure only
        QCOMPARE(a.grad()[1].item<float>(), 4.0f);
        QVERIFY(std::abs(clip_grad_norm({a, b, none}, 1.0) - 13.0) < 1e-5);
        const double after = torch::cat({a.grad(), b.grad()}).norm().item<double>();
        QVERIFY(std::abs(after - 1.0) < 1e-5);
    }

    void optimizerResumeIsBitExact() {
        const auto cfg = tiny_config("PoNetForPreTraining");
        const auto train = adamw_settings();
        const auto sched = LrSchedule::from_config(train, train.max_steps);
        const auto batch = fixed_batch();
        torch::manual_seed(3);
        auto straight = build_model(cfg);
        const auto initial = clone_state(*straight);

        torch::manual_seed(77);
        auto opt = build_adamw(*straight, train);
        train_steps(*straight, *opt, sched, batch, 0, 6);

        // Half, checkpoint (with the generator that dropout draws from), then a fresh model and optimizer.
        auto first = build_model(cfg);
        load_state(*first, initial);
        auto opt1 = build_adamw(*first, train);
        torch::manual_seed(77);
        train_steps(*first, *opt1, sched, batch, 0, 3);
        TrainerState st;
        st.step = st.scheduler_step = 3;
        st.torch_cpu_rng = capture_cpu_rng_state();
        const std::string run = dir("resume");
        const auto ck = write_checkpoint(run, *first, opt1.get(), st);
        QVERIFY(!same_weights(*first, *straight));

        torch::manual_seed(999);  // a different generator state and initialisation, all to be replaced
        auto resumed = build_model(cfg);
        auto opt2 = build_adamw(*resumed, train);
        const auto back = load_checkpoint(ck, *resumed, opt2.get());
        QCOMPARE(back.step, int64_t{3});
        restore_cpu_rng_state(back.torch_cpu_rng);
        train_steps(*resumed, *opt2, sched, batch, back.scheduler_step, 6);

        std::string differing;
        QVERIFY2(same_weights(*straight, *resumed, &differing), differing.c_str());
        for (const auto& [name, p] : named_trainable_parameters(*resumed)) {
            const auto it = opt2->state().find(optimizer_state_key(p));
            QVERIFY2(it != opt2->state().end(), name.c_str());
            QCOMPARE(static_cast<torch::optim::AdamWParamState&>(*it->second).step(), int64_t{6});
        }
        // Without the optimizer state the continuation differs: the test can see a broken resume.
        auto no_state = build_model(cfg);
        auto opt3 = build_adamw(*no_state, train);
        const auto again = load_checkpoint(ck, *no_state, nullptr);
        restore_cpu_rng_state(again.torch_cpu_rng);
        train_steps(*no_state, *opt3, sched, batch, 3, 6);
        QVERIFY(!same_weights(*straight, *no_state));

        // A state file of another model is refused by name.
        auto other_cfg = cfg;
        other_cfg.hidden_size = 16;
        auto other = build_model(other_cfg);
        auto opt4 = build_adamw(*other, train);
        QVERIFY(
            contains(error_of([&] { load_optimizer_state(*opt4, *other, ck + "/optimizer.safetensors"); }),
                     "has shape"));
    }

    // ---------------------------------------------------------------- metrics
    void classificationMetrics() {
        const std::vector<int64_t> gold{0, 0, 1, 1, 2, 2}, pred{0, 1, 1, 1, 0, 2};
        const auto r = classification_report(pred, gold, 4);
        QCOMPARE(r.examples, int64_t{6});
        QCOMPARE(r.accuracy, 4.0 / 6.0);
        QCOMPARE(r.per_class[0].precision, 0.5);
        QCOMPARE(r.per_class[0].recall, 0.5);
        QCOMPARE(r.per_class[0].f1, 0.5);
        QCOMPARE(r.per_class[1].precision, 2.0 / 3.0);
        QCOMPARE(r.per_class[1].recall, 1.0);
        QCOMPARE(r.per_class[1].f1, 0.8);
        QCOMPARE(r.per_class[2].precision, 1.0);
        QCOMPARE(r.per_class[2].recall, 0.5);
        QCOMPARE(r.per_class[2].f1, 2.0 / 3.0);
        QCOMPARE(r.per_class[3].support, int64_t{0});
        QCOMPARE(r.per_class[3].f1, 0.0);
        // Class 3 is neither gold nor predicted: left out of the macro average, as sklearn does.
        QVERIFY(std::abs(r.macro_f1 - (0.5 + 0.8 + 2.0 / 3.0) / 3.0) < 1e-15);
        QCOMPARE(r.micro_f1, 4.0 / 6.0);
        QVERIFY(std::abs(r.weighted_f1 - (0.5 + 0.8 + 2.0 / 3.0) / 3.0) < 1e-15);
        const std::vector<std::vector<int64_t>> confusion{
            {1, 1, 0, 0}, {0, 2, 0, 0}, {1, 0, 1, 0}, {0, 0, 0, 0}};
        QCOMPARE(r.confusion, confusion);
        QCOMPARE(macro_f1(pred, gold, 4), r.macro_f1);
        QCOMPARE(micro_f1(pred, gold, 4), r.micro_f1);
        QCOMPARE(accuracy(pred, gold), r.accuracy);

        // zero_division = 0: a class never predicted and a class never gold both score 0, without NaN.
        const auto z = classification_report({1, 1}, {0, 0}, 2);
        QCOMPARE(z.per_class[0].precision, 0.0);
        QCOMPARE(z.per_class[0].recall, 0.0);
        QCOMPARE(z.per_class[1].recall, 0.0);
        QCOMPARE(z.macro_f1, 0.0);
        QCOMPARE(z.accuracy, 0.0);
        const auto empty = classification_report({}, {}, 3);
        QCOMPARE(empty.accuracy, 0.0);
        QCOMPARE(empty.macro_f1, 0.0);

        QCOMPARE(binary_f1({1, 1, 0, 1, 0}, {1, 0, 1, 1, 0}), 2.0 / 3.0);
        QCOMPARE(binary_f1({0, 0}, {0, 0}), 0.0);
        QVERIFY(contains(error_of([] { classification_report({0, 1}, {0}, 2); }), "2 predictions for 1"));
        QVERIFY(contains(error_of([] { classification_report({0, 5}, {0, 1}, 2); }), "classes are 0..1"));
    }

    void multiLabelAndMaskedMetrics() {
        const auto r = multi_label_report({{1, 0, 0}, {0, 1, 1}}, {{1, 0, 1}, {0, 1, 0}}, 3);
        QCOMPARE(r.per_label[0].f1, 1.0);
        QCOMPARE(r.per_label[1].f1, 1.0);
        QCOMPARE(r.per_label[2].f1, 0.0);
        QCOMPARE(r.macro_f1, 2.0 / 3.0);
        QCOMPARE(r.micro_precision, 2.0 / 3.0);
        QCOMPARE(r.micro_recall, 2.0 / 3.0);
        QCOMPARE(r.micro_f1, 2.0 / 3.0);
        QCOMPARE(r.exact_match, 0.0);
        QCOMPARE(r.hamming_accuracy, 4.0 / 6.0);
        // A label nobody has and nobody predicts counts 0 in the macro average over all columns.
        const auto z = multi_label_report({{1, 0}}, {{1, 0}}, 2);
        QCOMPARE(z.exact_match, 1.0);
        QCOMPARE(z.micro_f1, 1.0);
        QCOMPARE(z.macro_f1, 0.5);
        QVERIFY(contains(error_of([] { multi_label_report({{1}}, {{1, 0}}, 2); }), "not 2 labels wide"));

        MaskedAccuracy mlm;
        mlm.add({5, 6, 7, 8}, {5, -100, 1, 8});
        QCOMPARE(mlm.counted, int64_t{3});
        QCOMPARE(mlm.value(), 2.0 / 3.0);
        mlm.add({1}, {-100});
        QCOMPARE(mlm.value(), 2.0 / 3.0);
        QCOMPARE(MaskedAccuracy().value(), 0.0);

        RunningMean m;
        m.add(2.0);
        m.add(4.0, 3.0);
        QCOMPARE(m.mean(), 3.5);
        QCOMPARE(m.count(), int64_t{2});
        Ema e(0.5);
        QCOMPARE(e.value(), 0.0);
        e.add(4.0);
        QCOMPARE(e.value(), 4.0);
        e.add(2.0);
        QVERIFY(std::abs(e.value() - 8.0 / 3.0) < 1e-15);
    }

    // ---------------------------------------------------------------- run directory and checkpoints
    void checkpointRoundTrip() {
        const std::string run = dir("roundtrip");
        auto model = build_model(tiny_config("PoNetForSequenceClassification"));
        TrainerState st;
        st.step = 12;
        st.epoch = 2;
        st.data_cursor = {{"epoch", 2}, {"position", 17}, {"seed", 5}};
        torch::manual_seed(21);
        st.torch_cpu_rng = capture_cpu_rng_state();
        const auto expected_draw = torch::rand({4});
        std::mt19937_64 mt(99);
        mt();
        st.rng_states["masker"] = mt19937_state(mt);
        st.scheduler_step = 12;
        st.scaler = {true, 1024.0, 7};
        st.best_metric_name = "accuracy";
        st.best_metric = 0.8125;
        st.best_step = 10;
        st.patience_counter = 1;
        st.examples_seen = 384;
        st.tokens_seen = 12345;
        st.elapsed_seconds = 3.5;
        const auto path = write_checkpoint(run, *model, nullptr, st);
        QCOMPARE(path, run + "/checkpoints/step-12");
        QVERIFY(is_model_dir(path));  // a checkpoint is also a model folder

        const auto back = read_trainer_state(path);
        QCOMPARE(back.to_json_text(), st.to_json_text());
        QCOMPARE(back.data_cursor["position"].get<int>(), 17);
        QCOMPARE(back.scaler.scale, 1024.0);
        QVERIFY(back.best_metric && *back.best_metric == 0.8125);
        restore_cpu_rng_state(back.torch_cpu_rng);
        QVERIFY(torch::equal(torch::rand({4}), expected_draw));
        std::mt19937_64 restored;
        restore_mt19937(restored, back.rng_states.at("masker"));
        QCOMPARE(restored(), mt());

        torch::manual_seed(8);
        auto fresh = build_model(tiny_config("PoNetForSequenceClassification"));
        QVERIFY(!same_weights(*model, *fresh));
        load_checkpoint(path, *fresh, nullptr);
        QVERIFY(same_weights(*model, *fresh));

        // Saving the same step again replaces it whole.
        st.epoch = 3;
        write_checkpoint(run, *model, nullptr, st);
        QCOMPARE(read_trainer_state(path).epoch, int64_t{3});
        QCOMPARE(steps_on_disk(run), std::vector<int64_t>{12});

        // Older files (fewer fields) load with defaults; newer versions are refused.
        const auto old = TrainerState::from_json_text(R"({"version": 1, "step": 4})", "old.json");
        QCOMPARE(old.step, int64_t{4});
        QVERIFY(!old.torch_cpu_rng.defined());
        QVERIFY(contains(
            error_of([] { TrainerState::from_json_text(R"({"version": 2, "step": 4})", "new.json"); }),
            "version 2"));
    }

    void retentionBestAndLatestValid() {
        const std::string run = dir("retention");
        auto model = build_model(tiny_config("PoNetForSequenceClassification"));
        TrainerState st;
        for (int64_t s = 1; s <= 5; ++s) {
            st.step = s;
            write_checkpoint(run, *model, nullptr, st);
        }
        set_best_checkpoint(run, 2);
        QCOMPARE(best_checkpoint_step(run).value_or(-1), int64_t{2});
        char target[256] = {};
        QVERIFY(::readlink((run + "/best").c_str(), target, sizeof target - 1) > 0);
        QCOMPARE(std::string(target),
                 std::string("checkpoints/step-2"));  // relative: the run folder can move
        QVERIFY(fs::is_regular_file(run + "/best/trainer_state.json"));

        const auto removed = prune_checkpoints(run, 2);
        QCOMPARE(removed.size(), size_t{2});
        QCOMPARE(steps_on_disk(run), (std::vector<int64_t>{2, 4, 5}));
        set_best_checkpoint(run, 5);
        QCOMPARE(best_checkpoint_step(run).value_or(-1), int64_t{5});

        // A torn newest checkpoint and an abandoned temporary folder are skipped, with a reason.
        truncate_to_half(run + "/checkpoints/step-5/model.safetensors");
        const std::string leftover = run + "/checkpoints/.tmp-step-6-" + std::to_string(dead_pid());
        fs::create_directories(leftover);
        std::ofstream(leftover + "/trainer_state.json") << "{\"version\": 1, \"ste";
        std::vector<CheckpointInfo> skipped;
        const auto latest = latest_valid_checkpoint(run, &skipped);
        QVERIFY(latest.has_value());
        QCOMPARE(latest->step, int64_t{4});
        QCOMPARE(skipped.size(), size_t{1});
        QCOMPARE(skipped[0].step, int64_t{5});
        QVERIFY2(contains(skipped[0].problem, "model.safetensors"), skipped[0].problem.c_str());

        // A state whose step disagrees with its folder is not valid either.
        std::ofstream(run + "/checkpoints/step-4/trainer_state.json") << TrainerState().to_json_text();
        QVERIFY(contains(check_checkpoint(run + "/checkpoints/step-4").problem, "says step 0"));
        QCOMPARE(latest_valid_checkpoint(run)->step, int64_t{2});

        // Pruning removes the dead writer's folder and the broken checkpoints but never the best (step 5).
        prune_checkpoints(run, 1);
        QVERIFY(!fs::exists(leftover));
        QCOMPARE(steps_on_disk(run), (std::vector<int64_t>{2, 5}));
    }

    void killedWriterLeavesValidCheckpoint() {
        const std::string run = dir("killed");
        // Big enough that one checkpoint takes a while to write (~30 MB of weights).
        auto cfg = tiny_config("PoNetForSequenceClassification");
        cfg.vocab_size = 30522;
        cfg.hidden_size = 256;
        auto model = build_model(cfg, /*initialise=*/false);
        const pid_t child = ::fork();
        QVERIFY(child >= 0);
        if (child == 0) {
            // The child writes checkpoints until it is killed; it never returns into the test framework.
            at::set_num_threads(1);  // OpenMP's thread pool does not survive fork()
            try {
                TrainerState st;
                for (st.step = 1;; ++st.step) write_checkpoint(run, *model, nullptr, st);
            } catch (...) {
            }
            ::_exit(3);
        }
        auto kill_child = [&] {
            ::kill(child, SIGKILL);
            int status = 0;
            ::waitpid(child, &status, 0);
            return status;
        };
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        const std::string tmp_prefix = ".tmp-step-";
        // Wait until a first checkpoint is complete and the next one is being written.
        bool writing = false;
        while (!writing && std::chrono::steady_clock::now() < deadline) {
            std::error_code ec;
            const bool have_first = fs::is_directory(run + "/checkpoints/step-1", ec);
            for (const auto& e : fs::directory_iterator(run + "/checkpoints", ec))
                if (have_first && e.path().filename().string().rfind(tmp_prefix, 0) == 0 &&
                    !fs::is_empty(e.path(), ec))
                    writing = true;
            std::this_thread::yield();
        }
        if (!writing) kill_child();
        QVERIFY2(writing, "the child never started a second checkpoint");
        // Then a random moment within the write, measured by polling the clock.
        std::mt19937 rng(std::random_device{}());
        const auto kill_at = std::chrono::steady_clock::now() +
                             std::chrono::microseconds(std::uniform_int_distribution<int>(0, 30000)(rng));
        while (std::chrono::steady_clock::now() < kill_at) std::this_thread::yield();
        const int status = kill_child();
        QVERIFY(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

        // Every folder under a step name is complete; the newest of them is the newest valid checkpoint.
        const auto all = list_checkpoints(run);
        QVERIFY(!all.empty());
        for (const auto& c : all) QVERIFY2(c.valid, (c.path + ": " + c.problem).c_str());
        const auto latest = latest_valid_checkpoint(run);
        QVERIFY(latest.has_value());
        QCOMPARE(latest->step, all.back().step);
        auto fresh = build_model(cfg, false);
        QCOMPARE(load_checkpoint(latest->path, *fresh, nullptr).step, latest->step);
        // The dead writer's temporary folder goes at the next prune.
        prune_checkpoints(run, 1);
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(run + "/checkpoints", ec))
            QVERIFY2(e.path().filename().string().rfind(tmp_prefix, 0) != 0, e.path().c_str());
        QCOMPARE(steps_on_disk(run), std::vector<int64_t>{latest->step});
    }

    void runDirectoryAndListing() {
        const std::string runs = dir("runs");
        auto a = RunDirectory::create(runs + "/alpha");
        RunConfig cfg;
        cfg.task = TaskKind::Lra;
        a.save_config(cfg);
        QCOMPARE(a.load_config().task, TaskKind::Lra);
        a.append_metrics(R"({"event": "step", "step": 1, "loss": 2.5})");
        a.append_metrics("{\n \"event\": \"eval\",\n \"step\": 1\n}");  // re-serialised on one line
        QVERIFY(contains(error_of([&] { a.append_metrics("[1, 2]"); }), "JSON object"));
        QVERIFY(contains(error_of([&] { a.append_metrics("{\"x\": "); }), "not JSON"));
        a.append_log("started");
        std::ifstream metrics(a.metrics_path());
        std::string line;
        int lines = 0;
        while (std::getline(metrics, line)) {
            ++lines;
            QVERIFY(nlohmann::json::parse(line).is_object());
        }
        QCOMPARE(lines, 2);
        a.save_labels({"neg", "pos"});
        QCOMPARE(a.load_labels(), (std::vector<std::string>{"neg", "pos"}));

        RunStatus st;
        st.task = "lra";
        st.state = RunState::Running;
        st.step = 40;
        a.write_status(st);
        const auto read = a.read_status();
        QVERIFY(read.has_value());
        QCOMPARE(read->pid, static_cast<int64_t>(::getpid()));
        QVERIFY(!read->started.empty());
        st.state = RunState::Finished;
        st.step = 50;
        st.best_metric_name = "accuracy";
        st.best_metric = 0.375;
        a.write_status(st);
        QCOMPARE(a.read_status()->started, read->started);  // kept across rewrites

        // A run whose writer died without a final status reads as stopped.
        auto b = RunDirectory::create(runs + "/beta");
        b.save_config(RunConfig());
        RunStatus dead;
        dead.task = "finetune";
        dead.step = 7;
        dead.state = RunState::Running;
        b.write_status(dead);  // records this host
        auto text = RunStatus::from_json_text(read_file_text(b.status_path()), "status");
        text.pid = dead_pid();
        std::ofstream(b.status_path()) << text.to_json_text();
        fs::create_directories(runs + "/not-a-run");

        // A run folder copied without its status.json: steps, end and best metric come from metrics.jsonl (a torn
        // last line is skipped).
        auto g = RunDirectory::create(runs + "/gamma");
        RunConfig lra_config;
        lra_config.task = TaskKind::Lra;
        g.save_config(lra_config);
        std::ofstream(g.metrics_path())
            << "{\"event\":\"step\",\"step\":100,\"max_steps\":200,\"loss\":1.5}\n"
            << "{\"event\":\"eval\",\"split\":\"dev\",\"step\":100,\"is_best\":true,\"values\":{\"accuracy\":0.4}}\n"
            << "{\"event\":\"step\",\"step\":200,\"max_steps\":200,\"loss\":1.2}\n"
            << "{\"event\":\"eval\",\"split\":\"dev\",\"step\":200,\"is_best\":false,\"values\":{\"accuracy\":0.3}}\n"
            << "{\"event\":\"eval\",\"split\":\"te";

        const auto runs_listed = list_runs(runs);
        QCOMPARE(runs_listed.size(), size_t{3});
        std::map<std::string, RunSummary> by_name;
        for (const auto& r : runs_listed) by_name[r.name] = r;
        QCOMPARE(by_name["alpha"].state, RunState::Finished);
        QCOMPARE(by_name["alpha"].task, std::string("lra"));
        QCOMPARE(by_name["alpha"].steps, int64_t{50});
        QVERIFY(by_name["alpha"].best_metric && *by_name["alpha"].best_metric == 0.375);
        QVERIFY(by_name["alpha"].last_modified > 0);
        QCOMPARE(by_name["beta"].state, RunState::Stopped);
        QCOMPARE(by_name["beta"].steps, int64_t{7});
        QCOMPARE(by_name["gamma"].state, RunState::Finished);
        QCOMPARE(by_name["gamma"].steps, int64_t{200});
        QCOMPARE(by_name["gamma"].best_metric_name, std::string("accuracy"));
        QVERIFY(by_name["gamma"].best_metric && *by_name["gamma"].best_metric == 0.4);
        QVERIFY(contains(by_name["gamma"].message, "metrics.jsonl"));
        QVERIFY(contains(error_of([&] { RunDirectory::open(runs + "/not-a-run"); }), "not a run directory"));
        QCOMPARE(default_run_name(TaskKind::Pretrain, 0).rfind("pretrain-19", 0), size_t{0});
    }

  private:
    std::string dir(const std::string& name) {
        const std::string d = tmp_.path().toStdString() + "/" + name;
        fs::create_directories(d);
        return d;
    }
    static std::string read_file_text(const std::string& path) {
        std::ifstream in(path);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

    QTemporaryDir tmp_;
};

QTEST_GUILESS_MAIN(TestTrainParts)
#include "test_train_parts.moc"
