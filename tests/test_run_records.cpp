// The core behind the Data page and the run library: label balance, length histograms, the split sizes the
// page promises (checked against what prepare_task_data really cuts), run notes and tags, metric curves read
// back from metrics.jsonl, and the diff of run configurations.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QTest>

#include <fstream>

#include "core/data/dataset_profile.h"
#include "core/train/run_compare.h"
#include "core/train/run_directory.h"
#include "core/train/run_notes.h"
#include "core/train/task_data.h"
#include "core/util/error.h"

using namespace ponet;

namespace {

Document doc(const std::string& text, std::vector<std::string> labels) {
    Document d;
    d.id = text;
    d.text = text;
    d.labels = std::move(labels);
    return d;
}

void writeText(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

class TestRunRecords : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void labelBalanceCountsEachLabel();
    void histogramBinsAreRoundAndCountEverything();
    void plannedSplitsMatchWhatTheTrainerCuts();
    void generatorSpecsOfTheDataPageRun();
    void idxFileByPathIsAPixelTask();
    void notesRoundTripAtomically();
    void malformedNotesAreReported();
    void metricsAreReadIntoSeries();
    void configDiffListsOnlyDifferences();
};

void TestRunRecords::labelBalanceCountsEachLabel() {
    const auto b = label_balance({doc("a", {"pos"}), doc("b", {"neg"}), doc("c", {"pos"}), doc("d", {}),
                                  doc("e", {"neg", "pos"})});
    QCOMPARE(b.size(), size_t(3));
    QCOMPARE(b[0].label, std::string());  // unlabelled
    QCOMPARE(b[0].documents, int64_t(1));
    QCOMPARE(b[1].label, std::string("neg"));
    QCOMPARE(b[1].documents, int64_t(2));
    QCOMPARE(b[2].documents, int64_t(3));
}

void TestRunRecords::histogramBinsAreRoundAndCountEverything() {
    const LengthHistogram h = length_histogram({0, 5, 9, 10, 99, 100, 1234}, 40, 512);
    // 0..1234 in at most 40 bins: width 50 (the smallest of 1, 2, 5 × 10^k covering 1235 / 40).
    QCOMPARE(h.bin_width, int64_t(50));
    QCOMPARE(h.counts.size(), size_t(1234 / 50 + 1));
    QCOMPARE(h.counts[0], int64_t(4));  // 0, 5, 9, 10
    QCOMPARE(h.counts[1], int64_t(1));  // 99
    QCOMPARE(h.counts[2], int64_t(1));  // 100
    QCOMPARE(h.counts.back(), int64_t(1));
    QCOMPARE(h.documents, int64_t(7));
    QCOMPARE(h.min, int64_t(0));
    QCOMPARE(h.max, int64_t(1234));
    QCOMPARE(h.median, int64_t(10));
    QCOMPARE(h.over_limit, int64_t(1));
    QVERIFY(std::abs(h.mean - 1457.0 / 7.0) < 1e-9);
    QCOMPARE(length_histogram({3, 3, 3}).bin_width, int64_t(1));
    QVERIFY(length_histogram({}).counts.empty());
    QVERIFY_THROWS_EXCEPTION(InvalidInput, length_histogram({-1}));
}

void TestRunRecords::plannedSplitsMatchWhatTheTrainerCuts() {
    QTemporaryDir dir;
    const std::string file = dir.filePath("docs.jsonl").toStdString();
    std::vector<Document> docs;
    std::string jsonl;
    for (int i = 0; i < 120; ++i) {
        // A few duplicates, which the split keeps together.
        const std::string text = "document " + std::to_string(i % 100) + " about " + (i % 3 ? "cats" : "dogs");
        const std::string label = i % 3 ? "cats" : "dogs";
        docs.push_back(doc(text, {label}));
        jsonl += "{\"text\": \"" + text + "\", \"label\": \"" + label + "\"}\n";
    }
    writeText(file, jsonl);
    RunConfig c = load_preset("tiny");
    c.task = TaskKind::Lra;  // byte-level classification: no vocabulary needed, and dev and test are held out
    c.data.dataset = file;
    c.data.tokenizer = "byte";
    c.data.validation_fraction = 0.2;
    c.train.seed = 11;
    const TaskData data = prepare_task_data(c);
    const SplitCounts planned = planned_split_counts(docs, 0.2, 11, true);
    QCOMPARE(planned.train, int64_t(data.train->size()));
    QCOMPARE(planned.dev, int64_t(data.dev->size()));
    QCOMPARE(planned.test, int64_t(data.test->size()));

    const SplitCounts none = planned_split_counts(docs, 0.0, 11, true);
    QCOMPARE(none.train, int64_t(120));
    QCOMPARE(none.dev + none.test, int64_t(0));
    const SplitCounts pretrain = planned_split_counts(docs, 0.1, 11, false);
    QCOMPARE(pretrain.test, int64_t(0));
    QCOMPARE(pretrain.train + pretrain.dev, int64_t(120));
}

// The data.dataset strings the Data page writes for its generated tasks are ones the trainer takes.
void TestRunRecords::generatorSpecsOfTheDataPageRun() {
    RunConfig c = load_preset("tiny");
    c.task = TaskKind::Lra;
    c.data.dataset = "listops:train=40,seed=3,max_length=64,min_length=32";
    TaskData d = prepare_task_data(c);
    QCOMPARE(d.lra_kind, std::string("listops"));
    QCOMPARE(d.train->size(), size_t(40));
    QCOMPARE(d.dev->size(), size_t(4));
    c.model.max_length = 1024;
    c.data.dataset = "pathfinder:train=20,seed=3,size=32";
    d = prepare_task_data(c);
    QCOMPARE(d.lra_kind, std::string("pathfinder"));
    QCOMPARE(d.train->size(), size_t(20));
    QCOMPARE(d.test->size(), size_t(2));
}

// IDX images named by path (not through the fashion-mnist recipe) are an LRA pixel task, not bytes of a file.
void TestRunRecords::idxFileByPathIsAPixelTask() {
    QTemporaryDir dir;
    const std::string images = dir.path().toStdString() + "/train-images-idx3-ubyte";
    const std::string labels = dir.path().toStdString() + "/train-labels-idx1-ubyte";
    std::string im = std::string("\0\0\x08\x03\0\0\0\x0a\0\0\0\x02\0\0\0\x02", 16);
    std::string lb = std::string("\0\0\x08\x01\0\0\0\x0a", 8);
    for (int i = 0; i < 10; ++i) {
        for (int k = 0; k < 4; ++k) im += char(i * 10 + k);
        lb += char(i % 2);
    }
    writeText(images, im);
    writeText(labels, lb);
    RunConfig c = load_preset("tiny");
    c.task = TaskKind::Lra;
    c.model.max_length = 4;
    c.data.train = images;
    c.data.validation_fraction = 0.2;
    const TaskData d = prepare_task_data(c);
    QCOMPARE(d.lra_kind, std::string("pixels"));
    QVERIFY(d.train->size() > 0);
}

void TestRunRecords::notesRoundTripAtomically() {
    QTemporaryDir dir;
    const std::string run = dir.path().toStdString();
    QVERIFY(read_run_notes(run).empty());  // no notes.json yet
    RunNotes n;
    n.tags = parse_tags(" baseline ,lr sweep,, baseline");
    n.notes = "first line\nsecond \"quoted\" line";
    QCOMPARE(n.tags, (std::vector<std::string>{"baseline", "lr sweep"}));
    write_run_notes(run, n);
    const RunNotes back = read_run_notes(run);
    QCOMPARE(back.tags, n.tags);
    QCOMPARE(back.notes, n.notes);
    QCOMPARE(join_tags(back.tags), std::string("baseline, lr sweep"));
    // No temporary file is left beside it.
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{QStringLiteral("notes.json")});
    QVERIFY_THROWS_EXCEPTION(Error, write_run_notes(run + "/missing", n));
}

void TestRunRecords::malformedNotesAreReported() {
    QTemporaryDir dir;
    const std::string run = dir.path().toStdString();
    for (const char* bad : {"{ not json", "[1, 2]", "{\"tags\": [1]}", "{\"version\": 99}"}) {
        writeText(run_notes_path(run), bad);
        try {
            read_run_notes(run);
            QFAIL(bad);
        } catch (const InvalidInput& e) {
            QVERIFY2(std::string(e.what()).find("notes.json") != std::string::npos, e.what());
        }
    }
}

void TestRunRecords::metricsAreReadIntoSeries() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("metrics.jsonl").toStdString();
    QVERIFY(read_run_metrics(path).series.empty());  // no file: no metrics, no error
    writeText(path,
              "{\"event\":\"step\",\"step\":10,\"max_steps\":20,\"loss\":2.5,\"accuracy\":null,\"lr\":0.001}\n"
              "{\"event\":\"eval\",\"step\":10,\"split\":\"dev\",\"values\":{\"accuracy\":0.5,\"loss\":2.0}}\n"
              "not json at all\n"
              "{\"event\":\"checkpoint\",\"step\":10,\"path\":\"x\",\"is_best\":true}\n"
              "{\"event\":\"step\",\"step\":20,\"max_steps\":20,\"loss\":1.5,\"accuracy\":null,\"lr\":0.0005}\n"
              "{\"event\":\"step\",\"step\":30,\"lo");  // a live run's torn last line
    const RunMetrics m = read_run_metrics(path);
    QCOMPARE(m.bad_lines, int64_t(2));
    QCOMPARE(m.events, int64_t(4));
    const MetricSeries* loss = m.find("train/loss");
    QVERIFY(loss);
    QCOMPARE(loss->points.size(), size_t(2));
    QCOMPARE(loss->points[1].step, int64_t(20));
    QCOMPARE(loss->points[1].value, 1.5);
    QVERIFY(m.find("train/lr"));
    QVERIFY(!m.find("train/accuracy"));   // only nulls
    QVERIFY(!m.find("train/max_steps"));  // bookkeeping, not a measurement
    QCOMPARE(m.find("dev/accuracy")->points.front().value, 0.5);
    QCOMPARE(m.find("dev/loss")->points.size(), size_t(1));
}

void TestRunRecords::configDiffListsOnlyDifferences() {
    RunConfig a = load_preset("tiny"), b = a, c = a;
    a.name = "a";
    b.name = "b";
    c.name = "c";
    b.train.lr = 5e-4;
    c.train.lr = 5e-4;
    c.data.dataset = "other.jsonl";
    QVERIFY(diff_run_configs({a}).empty());
    QVERIFY(diff_run_configs({a, a}).empty());
    auto d = diff_run_configs({a, b});
    QCOMPARE(d.size(), size_t(1));
    QCOMPARE(d[0].key, std::string("train.lr"));
    QCOMPARE(d[0].values, (std::vector<std::string>{get_option(a, "train.lr"), get_option(b, "train.lr")}));
    d = diff_run_configs({a, b, c});
    QCOMPARE(d.size(), size_t(2));
    QCOMPARE(d[0].key, std::string("data.dataset"));  // table order: data before train
    QCOMPARE(d[1].key, std::string("train.lr"));
}

QTEST_GUILESS_MAIN(TestRunRecords)
#include "test_run_records.moc"
