// Tests of the training loop on the CPU with tiny configurations: pre-training lowers the MLM loss on a
// fetched corpus, fine-tuning on Brown's four groups and a short-sequence ListOps run beat the majority
// class, resume is bit-exact, a NaN loss fails the run cleanly, a trainer killed mid-checkpoint leaves a
// valid newest checkpoint, and Stop saves a checkpoint that resume continues from.
#include <torch/torch.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/data/importers.h"
#include "core/data/lra.h"
#include "core/data/recipes.h"
#include "core/io/atomic_file.h"
#include "core/io/model_io.h"
#include "core/train/checkpoint.h"
#include "core/train/document_classifier.h"
#include "core/train/run_config.h"
#include "core/train/run_directory.h"
#include "core/train/trainer.h"

#include <QCoreApplication>
#include <QDir>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

namespace fs = std::filesystem;
using namespace ponet;

namespace {

// Collects what a run reports.
struct Recorder : TrainObserver {
    std::vector<StepMetrics> steps;
    std::vector<EvalMetrics> evals;
    std::vector<CheckpointEvent> checkpoints;
    std::function<void(const StepMetrics&)> on_step_hook;
    void on_step(const StepMetrics& m) override {
        steps.push_back(m);
        if (on_step_hook) on_step_hook(m);
    }
    void on_eval(const EvalMetrics& m) override { evals.push_back(m); }
    void on_checkpoint(const CheckpointEvent& e) override { checkpoints.push_back(e); }
    const EvalMetrics* last(const std::string& split) const {
        for (auto it = evals.rbegin(); it != evals.rend(); ++it)
            if (it->split == split) return &*it;
        return nullptr;
    }
};

// Share of the most frequent class in an evaluation, from its per-class support.
double majority_share(const EvalMetrics& m) {
    int64_t total = 0, most = 0;
    for (const auto& c : m.per_class) total += c.support, most = std::max(most, c.support);
    return total ? static_cast<double>(most) / static_cast<double>(total) : 1.0;
}

double mean(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? NAN : s / static_cast<double>(v.size());
}

RunConfig tiny(TaskKind task) {
    RunConfig c = load_preset("tiny");
    c.task = task;
    c.train.device = "cpu";
    c.train.log_every = 1;
    c.data.prefetch = 2;
    return c;
}

std::string text_of(const std::string& path) {
    std::ifstream f(path);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

}  // namespace

class TestTrainer : public QObject {
    Q_OBJECT

  private:
    QTemporaryDir tmp_;
    std::string corpus_;  // a small JSONL slice of Brown for the quick runs

    std::string dir(const char* sub) const { return QDir(tmp_.path()).filePath(sub).toStdString(); }

    // Tiny pre-training on the Brown slice: short sequences so that a step takes milliseconds.
    RunConfig quick_pretrain(int64_t steps) const {
        RunConfig c = tiny(TaskKind::Pretrain);
        c.data.train = corpus_;
        c.data.validation_fraction = 0.2;
        c.data.dupe_factor = 1;
        c.model.max_length = 32;
        c.train.batch_size = 4;
        c.train.max_steps = steps;
        c.train.warmup_steps = 2;
        c.train.eval_every = 1000;
        c.train.eval_batches = 2;
        c.train.checkpoint_every = 4;
        c.train.keep_last = 0;
        return c;
    }

    // Runs `c` in `name` with the loss of step `nan_step` turned into NaN.
    RunOutcome runWithNanLossAt(const RunConfig& c, int64_t nan_step, const char* name, Recorder& rec) const {
        Trainer t;
        TrainerHooks h;
        h.after_forward = [nan_step](int64_t step, torch::Tensor& loss) {
            if (step == nan_step) loss = loss * std::numeric_limits<float>::quiet_NaN();
        };
        t.set_hooks(h);
        RunControl ctl;
        return t.run(c, dir(name), rec, ctl);
    }

  private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        // The data tests keep fetched recipes here; sharing the folder means nothing is downloaded twice.
        const QString cache = QCoreApplication::applicationDirPath() + "/../test-data-cache";
        qputenv("PONET_DATA_DIR", QDir(cache).absolutePath().toUtf8());
        at::set_num_threads(2);
        for (const char* name : {"bert-vocab", "brown"}) {
            const FetchResult r = fetch_dataset(*find_recipe(name));
            QVERIFY2(r.status.ready, r.status.problem.c_str());
        }
        const DatasetStatus brown = dataset_status(*find_recipe("brown"));
        ImportResult docs = import_documents(brown.directory + "/brown.jsonl");
        std::string slice;
        for (size_t i = 0; i < docs.documents.size() && i < 500; i += 25)
            slice += document_to_json_line(docs.documents[i]) + "\n";
        corpus_ = dir("brown-slice.jsonl");
        write_file_atomic(corpus_, slice);
    }

    // A pre-training corpus is text only: a JSONL file without any label field is read whole, not skipped line by
    // line for lacking the (classification) label field.
    void pretrainingReadsUnlabelledJsonl() {
        std::string text_only;
        for (const auto& line : QString::fromStdString(text_of(corpus_)).split('\n', Qt::SkipEmptyParts)) {
            const auto obj = QJsonDocument::fromJson(line.toUtf8()).object();
            QVERIFY(obj.contains("label"));
            text_only += QJsonDocument(QJsonObject{{"text", obj.value("text")}}).toJson(QJsonDocument::Compact)
                             .toStdString() +
                         "\n";
        }
        const std::string path = dir("text-only.jsonl");
        write_file_atomic(path, text_only);
        RunConfig c = quick_pretrain(1);
        c.data.train = path;
        QCOMPARE(c.data.label_field, std::string("label"));  // the default stays in place
        const TaskData data = prepare_task_data(c);
        QVERIFY(data.train && data.train->size() > 0);
        QVERIFY(data.dev && data.dev->size() > 0);
    }

    // (a) MLM loss on Brown falls clearly within a couple of hundred steps.
    void pretrainingLowersMlmLoss() {
        RunConfig c = tiny(TaskKind::Pretrain);
        c.data.dataset = "brown";
        c.data.dupe_factor = 1;
        c.data.max_examples = 3000;
        c.model.max_length = 64;
        c.train.batch_size = 8;
        c.train.max_steps = 120;
        c.train.eval_every = 1000;  // once, at the end
        c.train.eval_batches = 4;
        c.train.checkpoint_every = 0;
        Recorder rec;
        RunControl ctl;
        const auto t0 = std::chrono::steady_clock::now();
        const RunOutcome o = Trainer().run(c, dir("pretrain"), rec, ctl);
        QVERIFY2(o.status == "finished", o.message.c_str());
        QCOMPARE(static_cast<int64_t>(rec.steps.size()), int64_t(120));
        std::vector<double> first, last;
        for (size_t i = 0; i < 20; ++i) first.push_back(rec.steps[i].mlm_loss);
        for (size_t i = rec.steps.size() - 20; i < rec.steps.size(); ++i)
            last.push_back(rec.steps[i].mlm_loss);
        qInfo("MLM loss: first 20 steps %.3f, last 20 steps %.3f (%.1f s)", mean(first), mean(last),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        QVERIFY2(mean(last) < mean(first) - 1.0, "the MLM loss did not fall by 1 nat");
        QVERIFY(std::isfinite(rec.steps.back().sso_loss));
        const EvalMetrics* dev = rec.last("dev");
        QVERIFY(dev);
        QVERIFY(dev->values.count("mlm_accuracy") && dev->values.count("sso_accuracy"));
        // metrics.jsonl has one line per step, evaluation and checkpoint.
        const std::string metrics = text_of(dir("pretrain") + "/metrics.jsonl");
        QCOMPARE(std::count(metrics.begin(), metrics.end(), '\n'), std::ptrdiff_t(120 + 1 + 1));
        QVERIFY(fs::exists(dir("pretrain") + "/tokenizer/vocab.txt"));
    }

    // (b) Brown's four groups, 10 % held out as test, against the majority class of that test split.
    void finetuningBeatsMajorityClass() {
        RunConfig c = tiny(TaskKind::Finetune);
        c.data.dataset = "brown";
        c.data.label_field = "group";
        c.data.validation_fraction = 0.1;
        c.model.max_length = 128;
        c.train.batch_size = 16;
        c.train.max_steps = 150;
        c.train.warmup_steps = 15;
        c.train.eval_every = 25;
        c.train.checkpoint_every = 0;
        c.train.log_every = 10;
        Recorder rec;
        RunControl ctl;
        const auto t0 = std::chrono::steady_clock::now();
        const RunOutcome o = Trainer().run(c, dir("finetune"), rec, ctl);
        QVERIFY2(o.status == "finished", o.message.c_str());
        const EvalMetrics* test = rec.last("test");
        QVERIFY(test);
        const double acc = test->values.at("accuracy"), base = majority_share(*test);
        qInfo("Brown 4-class test accuracy %.3f vs majority %.3f (%lld examples, %.1f s)", acc, base,
              static_cast<long long>(test->values.at("examples")),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        QVERIFY(acc > base);
        QCOMPARE(test->confusion.size(), size_t(4));
        QCOMPARE(RunDirectory::open(dir("finetune")).load_labels().size(), size_t(4));
        QVERIFY(best_checkpoint_step(dir("finetune")).has_value());
    }

    // (c) ListOps with short generated sequences (3..30 symbols, depth <= 3) so that it trains in seconds.
    void listopsBeatsMajorityClass() {
        RunConfig c = tiny(TaskKind::Lra);
        c.data.dataset = "listops:train=3000,dev=300,test=300,min_length=3,max_length=30,max_depth=3";
        c.model.preset = "lra-listops";
        c.model.max_length = 32;
        c.train.batch_size = 32;
        c.train.max_steps = 300;
        c.train.warmup_steps = 30;
        c.train.eval_every = 100;
        c.train.eval_batches = 2;  // caps the dev evaluations only
        c.train.checkpoint_every = 0;
        c.train.log_every = 50;
        Recorder rec;
        RunControl ctl;
        const auto t0 = std::chrono::steady_clock::now();
        const RunOutcome o = Trainer().run(c, dir("listops"), rec, ctl);
        QVERIFY2(o.status == "finished", o.message.c_str());
        const EvalMetrics* dev = rec.last("dev");
        QVERIFY(dev);
        QCOMPARE(dev->values.at("examples"), 64.0);
        const EvalMetrics* test = rec.last("test");
        QVERIFY(test);
        QCOMPARE(test->values.at("examples"), 300.0);  // the whole test split, whatever eval_batches says
        // The checkpoint's count of training examples (it once added the logging interval's running count every
        // step): 300 batches of 32 from 3,000 examples, each epoch ending on a batch of 24 = 3 epochs + 18 batches.
        const auto latest = latest_valid_checkpoint(dir("listops"));
        QVERIFY(latest.has_value());
        const QJsonObject state =
            QJsonDocument::fromJson(QByteArray::fromStdString(text_of(latest->path + "/trainer_state.json"))).object();
        QCOMPARE(state.value("examples_seen").toInteger(), qint64{3 * 3000 + 18 * 32});
        const double acc = test->values.at("accuracy"), base = majority_share(*test);
        qInfo("ListOps (short) test accuracy %.3f vs majority %.3f (%.1f s)", acc, base,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        QVERIFY(acc > base);
    }

    // (c2) LRA rows are padded to the model's full length (PONET-SPEC §4.1): the MEAN pooling divides by every
    // position, so a row padded only to its batch's longest would get logits that depend on the rows beside it.
    void lraLogitsDoNotDependOnTheBatch() {
        RunConfig c = tiny(TaskKind::Lra);
        c.data.dataset = "listops:train=64,dev=8,test=0,min_length=3,max_length=30,max_depth=3";
        c.model.preset = "lra-listops";
        c.model.max_length = 32;
        for (const char* mixer : {"ponet", "fnet"}) {  // FNet mixes the padding in as well
            c.model.mixer = mixer;
            const TaskData data = prepare_task_data(c);
            QCOMPARE(data.collate.fixed_length, int64_t(32));
            const auto& ex = *data.train;
            auto by_length = [](const Example& a, const Example& b) { return a.input_ids.size() < b.input_ids.size(); };
            const Example& shortest = *std::min_element(ex.begin(), ex.end(), by_length);
            const Example& longest = *std::max_element(ex.begin(), ex.end(), by_length);
            QVERIFY(shortest.input_ids.size() + 5 < longest.input_ids.size());
            torch::manual_seed(3);
            auto model = build_task_model(c, data);
            model->eval();
            torch::NoGradGuard no_grad;
            const Batch alone = collate({&shortest}, data.collate), pair = collate({&shortest, &longest}, data.collate);
            QCOMPARE(alone.input_ids.size(1), int64_t(32));
            QCOMPARE(pair.input_ids.size(1), int64_t(32));
            const torch::Tensor a = model->forward(alone.to_model_inputs()).logits[0];
            const torch::Tensor b = model->forward(pair.to_model_inputs()).logits[0];
            QVERIFY2(torch::allclose(a, b, 1e-5, 1e-6), mixer);
        }
    }

    // Two steps of `c` in `name`, for the tests that only need a trained run to load.
    void trainBriefly(RunConfig c, const char* name) const {
        c.train.batch_size = 4;
        c.train.max_steps = 2;
        c.train.warmup_steps = 1;
        c.train.eval_every = 1000;
        c.train.checkpoint_every = 0;
        Recorder rec;
        RunControl ctl;
        const RunOutcome o = Trainer().run(c, dir(name), rec, ctl);
        QVERIFY2(o.status == "finished", o.message.c_str());
    }

    // The newest checkpoint of run `name`, copied out of the run into `name`-copied (as a user would copy it);
    // empty (with the test failed) where there is none.
    std::string copyLatestCheckpoint(const char* name) const {
        const auto latest = latest_valid_checkpoint(dir(name));
        if (!latest) {
            QTest::qFail("the run has no checkpoint", __FILE__, __LINE__);
            return {};
        }
        const std::string copy = dir(name) + "-copied";
        fs::copy(latest->path, copy, fs::copy_options::recursive);
        return copy;
    }

    // (c3) A checkpoint copied out of its run folder classifies as the run does: its config.json records the length
    // the model was trained at and what an LRA model reads, which only the run's own config said before (a copied
    // LRA text model had no byte tokenizer and would have padded to all its positions, changing its mean pooling).
    void copiedCheckpointClassifiesLikeItsRun() {
        RunConfig c = tiny(TaskKind::Lra);
        c.data.train = corpus_;
        c.data.validation_fraction = 0.2;
        c.model.preset = "lra-text";
        c.model.max_length = 64;
        trainBriefly(c, "lra-bytes");
        if (QTest::currentTestFailed()) return;
        const std::string copy = copyLatestCheckpoint("lra-bytes");
        if (copy.empty()) return;
        const ModelConfig mc = ModelConfig::load(copy + "/config.json");
        QCOMPARE(mc.trained_length, int64_t(64));
        QCOMPARE(mc.lra_input, std::string("bytes"));
        QVERIFY(mc.max_position_embeddings > 64);
        auto from_run = DocumentClassifier::open(dir("lra-bytes")), from_copy = DocumentClassifier::open(copy);
        QCOMPARE(from_copy->max_length(), int64_t(64));
        QCOMPARE(from_run->max_length(), int64_t(64));
        const std::vector<std::string> texts{"A short note.", "Another text, a little longer than the first one."};
        const auto a = from_run->classify(texts), b = from_copy->classify(texts);
        for (size_t i = 0; i < texts.size(); ++i) {
            QCOMPARE(b[i].label, a[i].label);
            QVERIFY(std::abs(b[i].confidence - a[i].confidence) < 1e-6);
        }
    }

    // (c3b) A ListOps model scores ListOps files (`ponet eval RUN --data listops.jsonl`), from its run and from a
    // checkpoint copied out of it alike; a symbol outside ListOps' fifteen is refused, naming the document.
    void listopsModelsScoreListOpsFiles() {
        RunConfig c = tiny(TaskKind::Lra);
        c.data.dataset = "listops:train=64,dev=8,test=0,min_length=3,max_length=30,max_depth=3";
        c.model.preset = "lra-listops";
        c.model.max_length = 32;
        trainBriefly(c, "listops-eval");
        if (QTest::currentTestFailed()) return;
        ListOpsOptions o;
        o.min_length = 3;
        o.max_length = 30;
        o.max_depth = 3;
        o.seed = 11;
        ListOpsGenerator gen(o);
        std::vector<Document> docs(12);
        for (size_t i = 0; i < docs.size(); ++i) {
            const ListOpsExample e = gen.next();
            docs[i].id = "doc-" + std::to_string(i);
            docs[i].text = e.source;
            docs[i].labels = {std::to_string(e.label)};
        }
        const std::string copy = copyLatestCheckpoint("listops-eval");
        if (copy.empty()) return;
        std::vector<double> losses;
        for (const std::string& path : {dir("listops-eval"), copy}) {
            InferenceModel im = load_inference_model(path, "best", torch::kCPU);
            QCOMPARE(im.data.lra_kind, std::string("listops"));
            const auto ex = classification_examples(docs, im.data.tokenizer.get(), im.data.labels, im.max_length,
                                                    im.data.lra_kind);
            QCOMPARE(ex.size(), docs.size());
            QCOMPARE(ex[3].label, std::stoll(docs[3].labels.front()));
            const EvalMetrics m = evaluate_examples(*im.model, ex, im.data, EvalSettings{}, torch::kCPU);
            QCOMPARE(m.values.at("examples"), 12.0);
            losses.push_back(m.values.at("loss"));
            Document bad = docs[0];
            bad.id = "broken-7";
            bad.text += " [SUM 3 ]";
            std::string refused;
            try {
                classification_examples({bad}, nullptr, im.data.labels, im.max_length, im.data.lra_kind);
            } catch (const InvalidInput& e) {
                refused = e.what();
            }
            QVERIFY2(refused.find("broken-7") != std::string::npos, refused.c_str());
        }
        QVERIFY(std::abs(losses[0] - losses[1]) < 1e-9);
    }

    // (c4) FNet mixes the padding in, so an FNet classifier pads every row to its trained length: a document's
    // prediction must not depend on the documents dropped beside it. The run's checkpoint, copied out of it, reads
    // text with the tokenizer files it carries.
    void fnetPredictionsDoNotDependOnTheBatch() {
        RunConfig c = tiny(TaskKind::Finetune);
        c.data.train = corpus_;
        c.data.validation_fraction = 0.2;
        c.model.mixer = "fnet";
        c.model.max_length = 48;
        trainBriefly(c, "fnet-classifier");
        if (QTest::currentTestFailed()) return;
        auto classifier = DocumentClassifier::open(dir("fnet-classifier"));
        const std::string short_text = "Rain fell.";
        const std::string long_text = "The committee met for three hours on Tuesday and agreed on nothing at all, "
                                      "although every member spoke at length about the budget.";
        const auto alone = classifier->classify({short_text});
        const auto beside = classifier->classify({short_text, long_text});
        QCOMPARE(beside[0].top.size(), alone[0].top.size());
        for (size_t j = 0; j < alone[0].top.size(); ++j) {
            QCOMPARE(beside[0].top[j].first, alone[0].top[j].first);
            QVERIFY2(std::abs(beside[0].top[j].second - alone[0].top[j].second) < 1e-6,
                     (std::to_string(alone[0].top[j].second) + " alone, " + std::to_string(beside[0].top[j].second) +
                      " beside a longer text").c_str());
        }
        // A checkpoint copied out of the run carries the run's tokenizer files and classifies the same.
        const std::string copy = copyLatestCheckpoint("fnet-classifier");
        if (copy.empty()) return;
        QVERIFY(fs::exists(copy + "/vocab.txt") && fs::exists(copy + "/tokenizer.json"));
        const auto copied = DocumentClassifier::open(copy)->classify({short_text, long_text});
        QCOMPARE(copied[0].label, beside[0].label);
        QVERIFY(std::abs(copied[0].confidence - beside[0].confidence) < 1e-6);
    }

    // (c4b) On CUDA the trainer pads training batches to model.max_length where that costs little (the examples
    // average at least 3/4 of it), so that every step replays the recorded CUDA graph.
    void fixedLengthPaysWhereExamplesAreLong() {
        auto examples = [](std::initializer_list<size_t> lengths) {
            std::vector<Example> v;
            for (size_t n : lengths) {
                Example e;
                e.input_ids.assign(n, 5);
                v.push_back(e);
            }
            return v;
        };
        QVERIFY(fixed_length_pays(examples({128, 128, 64, 128}), 128));   // 112 on average: 7/8
        QVERIFY(fixed_length_pays(examples({96, 96}), 128));              // exactly 3/4
        QVERIFY(!fixed_length_pays(examples({95, 96}), 128));
        QVERIFY(!fixed_length_pays(examples({20, 30, 128}), 128));        // short sentences: padding would triple
        QVERIFY(!fixed_length_pays({}, 128));
    }

    // (c5) train.cuda_graphs = on where steps cannot be recorded (here: the CPU) says so in the log; the run trains
    // as usual.
    void cudaGraphsOnTheCpuSaySo() {
        RunConfig c = quick_pretrain(2);
        c.train.cuda_graphs = "on";
        struct Logs : Recorder {
            std::vector<std::string> lines;
            void on_log(const std::string& level, const std::string& m) override { lines.push_back(level + ": " + m); }
        } rec;
        RunControl ctl;
        const RunOutcome o = Trainer().run(c, dir("graphs-cpu"), rec, ctl);
        QVERIFY2(o.status == "finished", o.message.c_str());
        const bool said = std::any_of(rec.lines.begin(), rec.lines.end(), [](const std::string& l) {
            return l.rfind("warning: ", 0) == 0 && l.find("train.cuda_graphs = on") != std::string::npos &&
                   l.find("cpu") != std::string::npos;
        });
        QVERIFY(said);
    }

    // (d) N steps straight == N/2 steps, stop, resume, N/2 steps: bit for bit (dropout and MLM masks
    // included).
    void resumeIsBitExact() {
        const int64_t n = 12;
        RunConfig c = quick_pretrain(n);
        Recorder a_rec;
        RunControl a_ctl;
        QCOMPARE(Trainer().run(c, dir("straight"), a_rec, a_ctl).status, std::string("finished"));

        Recorder b_rec;
        RunControl b_ctl;
        b_rec.on_step_hook = [&](const StepMetrics& m) {
            if (m.step == n / 2) b_ctl.stop = true;
        };
        const RunOutcome stopped = Trainer().run(c, dir("halves"), b_rec, b_ctl);
        QCOMPARE(stopped.status, std::string("stopped"));
        QCOMPARE(stopped.steps, n / 2);
        Recorder r_rec;
        RunControl r_ctl;
        const RunOutcome resumed = Trainer().resume(dir("halves"), r_rec, r_ctl);
        QVERIFY2(resumed.status == "finished", resumed.message.c_str());
        QCOMPARE(resumed.steps, n);

        const std::string last = "/checkpoints/" + checkpoint_dir_name(n);
        auto wa = state_tensors(*load_model_dir(dir("straight") + last).model);
        auto wb = state_tensors(*load_model_dir(dir("halves") + last).model);
        QCOMPARE(wa.size(), wb.size());
        for (const auto& [name, t] : wa) QVERIFY2(torch::equal(t, wb.at(name)), name.c_str());
        // The losses after the resume are the straight run's too.
        QCOMPARE(r_rec.steps.front().loss, a_rec.steps[n / 2].loss);
    }

    // Fine-tuning starts from a pre-training run's weights (fresh classifier head); a shape setting that
    // contradicts those weights fails the run with a message instead of silently rebuilding the model.
    void finetuningFromPretrainedWeights() {
        Recorder p_rec;
        RunControl p_ctl;
        QCOMPARE(Trainer().run(quick_pretrain(4), dir("pt-for-ft"), p_rec, p_ctl).status, std::string("finished"));

        RunConfig c = tiny(TaskKind::Finetune);
        c.data.train = corpus_;
        c.data.validation_fraction = 0.2;
        c.model.init_checkpoint = dir("pt-for-ft");
        c.model.max_length = 32;
        c.train.batch_size = 4;
        c.train.max_steps = 2;
        c.train.warmup_steps = 1;
        c.train.eval_every = 2;
        Recorder f_rec;
        RunControl f_ctl;
        const RunOutcome ft = Trainer().run(c, dir("ft-from-pt"), f_rec, f_ctl);
        QVERIFY2(ft.status == "finished", ft.message.c_str());
        const std::string log = text_of(dir("ft-from-pt") + "/log.txt");
        QVERIFY2(log.find("weights from " + dir("pt-for-ft")) != std::string::npos, log.c_str());
        QVERIFY2(log.find("fresh heads: 2 tensors") != std::string::npos, log.c_str());

        c.model.hidden_size = 128;
        Recorder b_rec;
        RunControl b_ctl;
        const RunOutcome bad = Trainer().run(c, dir("ft-bad-shape"), b_rec, b_ctl);
        QCOMPARE(bad.status, std::string("failed"));
        QVERIFY2(bad.message.find("model.hidden_size = 128 differs") != std::string::npos, bad.message.c_str());
    }

    // (e) A NaN loss at step 10 fails the run naming the step; the newest checkpoint is step 8.
    void nanLossFailsWithLastGoodCheckpoint() {
        Recorder rec;
        const RunOutcome o = runWithNanLossAt(quick_pretrain(16), 10, "nan", rec);
        QCOMPARE(o.status, std::string("failed"));
        QVERIFY2(o.message.find("step 10") != std::string::npos, o.message.c_str());
        QVERIFY2(o.message.find("NaN") != std::string::npos, o.message.c_str());
        const auto latest = latest_valid_checkpoint(dir("nan"));
        QVERIFY(latest.has_value());
        QCOMPARE(latest->step, int64_t(8));
        const auto status = RunDirectory::open(dir("nan")).read_status();
        QVERIFY(status && status->state == RunState::Failed);
        QVERIFY(status->message.find("step 10") != std::string::npos);
    }

    // (e2) The same with the step's numbers kept on the device (train.metrics_sync = log, the CUDA default; forced
    // here on the CPU): a NaN at step 9 is found at the next read (the log of step 10), named by the step it
    // appeared at, and nothing after step 8's checkpoint is written or reported.
    void nanLossWithDeferredMetrics() {
        RunConfig c = quick_pretrain(16);
        c.train.metrics_sync = "log";
        c.train.log_every = 5;
        Recorder rec;
        const RunOutcome o = runWithNanLossAt(c, 9, "nan-deferred", rec);
        QCOMPARE(o.status, std::string("failed"));
        QVERIFY2(o.message.find("at step 9 (seen at step 10") != std::string::npos, o.message.c_str());
        QVERIFY2(o.message.find("NaN") != std::string::npos, o.message.c_str());
        const auto latest = latest_valid_checkpoint(dir("nan-deferred"));
        QVERIFY(latest.has_value());
        QCOMPARE(latest->step, int64_t(8));
        QCOMPARE(static_cast<int64_t>(rec.steps.size()), int64_t(1));  // step 5's report; step 10's never came
        QVERIFY(std::isfinite(rec.steps[0].loss));
    }

    // (e3) Reading the numbers every step or once per log gives the same reports: losses, accuracies and gradient
    // norms of pre-training and of a classifier, step by step.
    void deferredMetricsMatchStepReads() {
        auto run = [&](RunConfig c, const std::string& sync, const char* name) {
            c.train.metrics_sync = sync;
            Recorder rec;
            RunControl ctl;
            const RunOutcome o = Trainer().run(c, dir(name), rec, ctl);
            if (o.status != "finished") qWarning("%s: %s", name, o.message.c_str());
            return rec.steps;
        };
        RunConfig pt = quick_pretrain(12);
        pt.train.log_every = 4;
        pt.train.clip_norm = 0.5;  // clipping on, so the clipped update is compared too
        RunConfig cls = tiny(TaskKind::Lra);
        cls.data.dataset = "listops:train=200,dev=40,test=0,min_length=3,max_length=30,max_depth=3";
        cls.model.preset = "lra-listops";
        cls.model.max_length = 32;
        cls.train.batch_size = 12;
        cls.train.grad_accum = 3;  // not a power of two: a loss divided in fp32 would differ in the last bits
        cls.train.max_steps = 12;
        cls.train.warmup_steps = 2;
        cls.train.log_every = 3;
        cls.train.eval_every = 6;
        cls.train.checkpoint_every = 0;
        for (const auto& [c, name] : {std::pair{pt, "sync-pt"}, std::pair{cls, "sync-cls"}}) {
            const auto a = run(c, "step", (std::string(name) + "-step").c_str());
            const auto b = run(c, "log", (std::string(name) + "-log").c_str());
            QCOMPARE(a.size(), b.size());
            QVERIFY(!a.empty());
            auto same = [](double x, double y) {
                return (std::isnan(x) && std::isnan(y)) || std::abs(x - y) <= 1e-9 * std::max(1.0, std::abs(x));
            };
            for (size_t i = 0; i < a.size(); ++i) {
                QCOMPARE(a[i].step, b[i].step);
                QVERIFY2(same(a[i].loss, b[i].loss), name);
                QVERIFY2(same(a[i].grad_norm, b[i].grad_norm), name);
                QVERIFY2(a[i].grad_norm > 0, name);
                QVERIFY2(same(a[i].accuracy, b[i].accuracy), name);
                QVERIFY2(same(a[i].mlm_loss, b[i].mlm_loss), name);
                QVERIFY2(same(a[i].sso_loss, b[i].sso_loss), name);
                QVERIFY2(same(a[i].mlm_accuracy, b[i].mlm_accuracy), name);
                QVERIFY2(same(a[i].sso_accuracy, b[i].sso_accuracy), name);
            }
        }
    }

    // (f) A training process killed with SIGKILL while it writes a checkpoint: the newest checkpoint on disk
    // is valid and the run resumes from it.
    void killedTrainerLeavesValidCheckpoint() {
        const std::string run = dir("killed");
        RunConfig c = quick_pretrain(100000);
        c.train.checkpoint_every = 1;
        c.train.keep_last = 3;
        const pid_t child = ::fork();
        QVERIFY(child >= 0);
        if (child == 0) {
            at::set_num_threads(1);  // OpenMP's thread pool does not survive fork()
            try {
                TrainObserver quiet;
                RunControl ctl;
                Trainer().run(c, run, quiet, ctl);
            } catch (...) {
            }
            ::_exit(3);
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
        bool writing = false;
        while (!writing && std::chrono::steady_clock::now() < deadline) {
            std::error_code ec;
            const bool have_one = fs::is_directory(run + "/checkpoints/step-2", ec);
            for (const auto& e : fs::directory_iterator(run + "/checkpoints", ec))
                if (have_one && e.path().filename().string().rfind(".tmp-step-", 0) == 0 &&
                    !fs::is_empty(e.path(), ec))
                    writing = true;
            std::this_thread::yield();
        }
        ::kill(child, SIGKILL);
        int wstatus = 0;
        ::waitpid(child, &wstatus, 0);
        QVERIFY2(writing, "the trainer never wrote a second checkpoint");
        QVERIFY(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL);

        const auto latest = latest_valid_checkpoint(run);
        QVERIFY(latest.has_value());
        for (const auto& ck : list_checkpoints(run))
            QVERIFY2(ck.valid, (ck.path + ": " + ck.problem).c_str());
        // The run continues from there for a few more steps.
        RunDirectory rd = RunDirectory::open(run);
        RunConfig more = rd.load_config();
        more.train.max_steps = latest->step + 3;
        rd.save_config(more);
        Recorder rec;
        RunControl ctl;
        const RunOutcome o = Trainer().resume(run, rec, ctl);
        QVERIFY2(o.status == "finished", o.message.c_str());
        QCOMPARE(o.steps, latest->step + 3);
        QCOMPARE(rec.steps.front().step, latest->step + 1);
    }

    // (g) Stop from the control token saves a checkpoint, reports "stopped", and resume finishes the run.
    void stopSavesCheckpointAndResumeContinues() {
        RunConfig c = tiny(TaskKind::Finetune);
        c.data.train = corpus_;
        c.model.max_length = 64;
        c.train.batch_size = 4;
        c.train.max_steps = 8;
        c.train.warmup_steps = 2;
        c.train.eval_every = 4;
        c.train.checkpoint_every = 0;
        Recorder rec;
        RunControl ctl;
        rec.on_step_hook = [&](const StepMetrics& m) {
            if (m.step == 3) ctl.stop = true;
        };
        const RunOutcome o = Trainer().run(c, dir("stop"), rec, ctl);
        QVERIFY2(o.status == "stopped", o.message.c_str());
        QCOMPARE(o.steps, int64_t(3));
        const auto latest = latest_valid_checkpoint(dir("stop"));
        QVERIFY(latest && latest->step == 3);
        QVERIFY(RunDirectory::open(dir("stop")).read_status()->state == RunState::Stopped);
        Recorder r2;
        RunControl c2;
        const RunOutcome done = Trainer().resume(dir("stop"), r2, c2);
        QVERIFY2(done.status == "finished", done.message.c_str());
        QCOMPARE(done.steps, int64_t(8));
        QCOMPARE(r2.steps.front().step, int64_t(4));
        QVERIFY(latest_valid_checkpoint(dir("stop"))->step == 8);
    }
};

QTEST_GUILESS_MAIN(TestTrainer)
#include "test_trainer.moc"
