// Tests of the benchmark harness (core/bench) on the CPU with the tiny preset and short sequences: every cell
// finishes with positive numbers, the JSON report has its documented shape and round-trips, cancellation
// stops between steps, an out-of-memory cell is reported and the run goes on, bad specs are rejected with the
// reason, and the per-device cache merges runs. No timing is asserted.
#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <fstream>

#include "core/bench/bench.h"
#include "core/bench/bench_cache.h"
#include "core/util/error.h"
#include "core/util/runtime.h"

#include <QTemporaryDir>
#include <QTest>

using namespace ponet;
using namespace ponet::bench;

namespace {

BenchSpec tinySpec() {
    BenchSpec s;
    s.preset = "tiny";
    s.mixers = {"ponet", "fnet", "attention"};
    s.lengths = {32, 64};
    s.batch = 2;
    s.steps = 2;
    s.warmup = 1;
    s.device = "cpu";
    return s;
}

template <typename F>
QString invalidInputMessage(F&& f) {
    try {
        f();
    } catch (const InvalidInput& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

}  // namespace

class TestBench : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    void initTestCase();
    void parsesLists();
    void rejectsBadSpecs_data();
    void rejectsBadSpecs();
    void rejectsUnusableDevice();
    void trainRunCompletes();
    void inferenceRunCompletes();
    void jsonShapeAndRoundTrip();
    void rejectsBadJson();
    void cancellationStopsBetweenSteps();
    void outOfMemoryCellIsReportedAndRunGoesOn();
    void tableListsEveryCell();
    void cacheMergesRunsPerDevice();

  private:
    QTemporaryDir tmp_;
    BenchReport trained_;
};

void TestBench::initTestCase() {
    QVERIFY(tmp_.isValid());
    // The cache goes to a private folder, never the developer's.
    qputenv("XDG_CACHE_HOME", QFile::encodeName(tmp_.filePath("cache")));
    ponet::init_runtime();
}

void TestBench::parsesLists() {
    QCOMPARE(parse_lengths("512, 1K,4k,16384"), (std::vector<int64_t>{512, 1024, 4096, 16384}));
    QCOMPARE(parse_mixers("fnet,ponet"), (std::vector<std::string>{"fnet", "ponet"}));
    QVERIFY(invalidInputMessage([] { parse_lengths("512,12x"); }).contains("'12x'"));
    QVERIFY(invalidInputMessage([] { parse_lengths("512,,1024"); }).contains("empty item"));
    QVERIFY(invalidInputMessage([] { parse_lengths("-4"); }).contains("'-4'"));
    const QString m = invalidInputMessage([] { parse_mixers("ponet,linformer"); });
    QVERIFY2(m.contains("'linformer'") && m.contains("attention"), qPrintable(m));
}

void TestBench::rejectsBadSpecs_data() {
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("value");
    QTest::addColumn<QString>("expected");
    QTest::newRow("mixer") << "mixer"
                           << "nystrom"
                           << "unknown mixer 'nystrom'";
    QTest::newRow("duplicate mixer") << "mixer"
                                     << "ponet"
                                     << "listed twice";
    QTest::newRow("length 1") << "length"
                              << "1"
                              << "out of range";
    QTest::newRow("length too long") << "length"
                                     << "2000000"
                                     << "out of range";
    QTest::newRow("duplicate length") << "length"
                                      << "64"
                                      << "listed twice";
    QTest::newRow("preset") << "preset"
                            << "huge"
                            << "unknown preset 'huge'";
    QTest::newRow("batch") << "batch"
                           << "0"
                           << "batch 0";
    QTest::newRow("steps") << "steps"
                           << "0"
                           << "steps 0";
    QTest::newRow("warmup") << "warmup"
                            << "-1"
                            << "warm-up -1";
    QTest::newRow("impl") << "impl"
                          << "triton"
                          << "'triton'";
    QTest::newRow("precision") << "precision"
                               << "int8"
                               << "'int8'";
}

void TestBench::rejectsBadSpecs() {
    QFETCH(QString, field);
    QFETCH(QString, value);
    QFETCH(QString, expected);
    BenchSpec s = tinySpec();
    const std::string v = value.toStdString();
    if (field == "mixer") s.mixers.push_back(v);
    if (field == "length") s.lengths.push_back(std::stoll(v));
    if (field == "preset") s.preset = v;
    if (field == "batch") s.batch = std::stoll(v);
    if (field == "steps") s.steps = std::stoll(v);
    if (field == "warmup") s.warmup = std::stoll(v);
    if (field == "impl") s.impl = v;
    if (field == "precision") s.precision = v;
    const QString m = invalidInputMessage([&] { run_bench(s); });
    QVERIFY2(m.contains(expected), qPrintable("got: '" + m + "'"));
}

void TestBench::rejectsUnusableDevice() {
    BenchSpec s = tinySpec();
    s.device = "gpu0";
    QVERIFY(invalidInputMessage([&] { run_bench(s); }).contains("unknown device 'gpu0'"));
    s.device = "cpu";
    s.precision = "bf16";
    QVERIFY(invalidInputMessage([&] { run_bench(s); }).contains("needs a CUDA device"));
    s.precision = "auto";
    s.device = "cuda:99";
    const QString m = invalidInputMessage([&] { run_bench(s); });
    QVERIFY2(m.contains("cuda:99"), qPrintable(m));
}

void TestBench::trainRunCompletes() {
    const BenchSpec spec = tinySpec();
    int progressCalls = 0;
    std::vector<std::string> rowsSeen;
    bool sawTiming = false;
    BenchCallbacks cb;
    cb.on_progress = [&](const BenchProgress& p) {
        ++progressCalls;
        QVERIFY(p.rows == 6 && p.row >= 0 && p.row < 6);
        QVERIFY(p.step <= p.steps && p.steps == 3);
        sawTiming = sawTiming || p.timing;
    };
    cb.on_row = [&](const BenchRow& r) { rowsSeen.push_back(r.mixer + "@" + std::to_string(r.length)); };
    trained_ = run_bench(spec, cb);

    QVERIFY(!trained_.cancelled);
    QCOMPARE(trained_.device, std::string("cpu"));
    QCOMPARE(trained_.precision, std::string("fp32"));
    QVERIFY(!trained_.device_name.empty() && !trained_.timing_method.empty() &&
            !trained_.memory_metric.empty());
    QCOMPARE(rowsSeen, (std::vector<std::string>{"ponet@32", "ponet@64", "fnet@32", "fnet@64", "attention@32",
                                                 "attention@64"}));
    QVERIFY(sawTiming);
    QVERIFY(progressCalls >= 6 * 3);
    QCOMPARE(trained_.rows.size(), size_t{6});
    for (const BenchRow& r : trained_.rows) {
        QVERIFY2(r.ok(), qPrintable(QString::fromStdString(r.mixer + ": " + r.message)));
        QCOMPARE(r.step_ms.size(), size_t{2});
        for (double ms : r.step_ms) QVERIFY(ms > 0);
        QVERIFY(r.min_ms <= r.median_ms && r.median_ms <= r.max_ms);
        QVERIFY(r.steps_per_second > 0);
        QVERIFY(std::abs(r.steps_per_second - 1000.0 / r.median_ms) < 1e-9 * r.steps_per_second);
        QVERIFY(std::abs(r.tokens_per_second - r.steps_per_second * 2 * static_cast<double>(r.length)) <
                1e-6 * r.tokens_per_second);
        QVERIFY(r.peak_bytes > 0);  // peak RSS on the CPU
        QVERIFY(r.parameters > 0);
        QCOMPARE(r.impl, r.mixer == "ponet" ? r.impl : std::string("-"));
        if (r.mixer == "ponet") QCOMPARE(r.impl, std::string("fused-cpu"));  // auto on the CPU
    }
    // PoNet has its five projections; FNet has none of attention's three.
    QVERIFY(trained_.find("ponet", 32)->parameters > trained_.find("attention", 32)->parameters);
    QVERIFY(trained_.find("attention", 32)->parameters > trained_.find("fnet", 32)->parameters);
    // Both lengths fit the preset's 512 positions, so the model is the same.
    QCOMPARE(trained_.find("fnet", 64)->parameters, trained_.find("fnet", 32)->parameters);
}

void TestBench::inferenceRunCompletes() {
    BenchSpec spec = tinySpec();
    spec.mode = BenchMode::Infer;
    spec.mixers = {"ponet", "attention"};
    spec.lengths = {48};
    spec.preset = "lra-text";
    const BenchReport r = run_bench(spec);
    QCOMPARE(r.rows.size(), size_t{2});
    for (const BenchRow& row : r.rows) {
        QVERIFY2(row.ok(), qPrintable(QString::fromStdString(row.message)));
        QVERIFY(row.steps_per_second > 0 && row.tokens_per_second > 0);
    }
}

void TestBench::jsonShapeAndRoundTrip() {
    QVERIFY(!trained_.rows.empty());
    const std::string text = trained_.to_json_text();
    const auto j = nlohmann::json::parse(text);
    QCOMPARE(j.at("format").get<std::string>(), std::string("ponet-bench"));
    QCOMPARE(j.at("version").get<int>(), 1);
    for (const char* key : {"spec", "device", "device_name", "precision", "torch_version", "ponet_version",
                            "started_at", "timing_method", "memory_metric", "threads", "cancelled", "rows"})
        QVERIFY2(j.contains(key), key);
    QCOMPARE(j.at("spec").at("lengths").get<std::vector<int64_t>>(), (std::vector<int64_t>{32, 64}));
    QCOMPARE(j.at("spec").at("mode").get<std::string>(), std::string("train"));
    QCOMPARE(j.at("rows").size(), size_t{6});
    for (const auto& row : j.at("rows")) {
        for (const char* key :
             {"mixer", "length", "status", "impl", "median_ms", "min_ms", "max_ms", "steps_per_second",
              "tokens_per_second", "peak_bytes", "parameters", "step_ms"})
            QVERIFY2(row.contains(key), key);
        QVERIFY(row.at("steps_per_second").get<double>() > 0);
        QCOMPARE(row.at("step_ms").size(), size_t{2});
    }
    const BenchReport back = BenchReport::from_json_text(text);
    QCOMPARE(back.to_json_text(), text);

    const std::string path = tmp_.filePath("report.json").toStdString();
    trained_.save(path);
    QCOMPARE(BenchReport::load(path).rows.size(), size_t{6});
}

void TestBench::rejectsBadJson() {
    QVERIFY(invalidInputMessage([] {
                BenchReport::from_json_text("{", "a.json");
            }).contains("a.json: not valid JSON"));
    QVERIFY(invalidInputMessage([] {
                BenchReport::from_json_text("{\"format\": \"x\"}", "a.json");
            }).contains("not a ponet bench report"));
    auto j = nlohmann::json::parse(trained_.to_json_text());
    j["version"] = 99;
    QVERIFY(
        invalidInputMessage([&] { BenchReport::from_json_text(j.dump(), "a.json"); }).contains("version 99"));
    j = nlohmann::json::parse(trained_.to_json_text());
    j["rows"][1]["steps_per_second"] = 0;
    QVERIFY(invalidInputMessage([&] {
                BenchReport::from_json_text(j.dump(), "a.json");
            }).contains("rows[1].steps_per_second"));
    j = nlohmann::json::parse(trained_.to_json_text());
    j["rows"][0]["status"] = "great";
    QVERIFY(
        invalidInputMessage([&] { BenchReport::from_json_text(j.dump(), "a.json"); }).contains("'great'"));
    j = nlohmann::json::parse(trained_.to_json_text());
    j["rows"][0].erase("length");
    QVERIFY(invalidInputMessage([&] {
                BenchReport::from_json_text(j.dump(), "a.json");
            }).contains("missing or mistyped"));
}

void TestBench::cancellationStopsBetweenSteps() {
    // Cancelled inside a cell: that cell stops after the step in progress and is listed without numbers.
    BenchSpec spec = tinySpec();
    spec.steps = 500;  // minutes if the flag were not polled
    std::atomic<bool> cancel{false};
    int64_t lastStep = 0;
    BenchCallbacks cb;
    cb.cancel = &cancel;
    cb.on_progress = [&](const BenchProgress& p) {
        lastStep = p.step;
        if (p.step >= 2) cancel.store(true);
    };
    BenchReport r = run_bench(spec, cb);
    QVERIFY(r.cancelled);
    QCOMPARE(r.rows.size(), size_t{1});
    QCOMPARE(r.rows[0].status, std::string("cancelled"));
    QCOMPARE(lastStep, int64_t{2});
    QVERIFY(r.rows[0].step_ms.empty());
    QVERIFY(std::isnan(r.rows[0].steps_per_second));
    QVERIFY(format_table(r).find("cancelled") != std::string::npos);

    // Cancelled between cells: the finished cell stays, the next one never starts.
    spec.steps = 1;
    cancel.store(false);
    BenchCallbacks between;
    between.cancel = &cancel;
    between.on_row = [&](const BenchRow&) { cancel.store(true); };
    r = run_bench(spec, between);
    QVERIFY(r.cancelled);
    QCOMPARE(r.rows.size(), size_t{1});
    QVERIFY(r.rows[0].ok());
}

void TestBench::outOfMemoryCellIsReportedAndRunGoesOn() {
    // 32,768 sequences of 1,048,576 tokens: the token ids alone need 256 GiB. Linux refuses a single
    // allocation larger than RAM + swap at once (heuristic or strict overcommit), without touching memory;
    // with "always overcommit", or on a machine that large, the allocation could succeed, so the test does
    // not run there. The next cell (2 tokens each) fits.
    {
        std::ifstream mode("/proc/sys/vm/overcommit_memory");
        int overcommit = -1;
        mode >> overcommit;
        if (overcommit != 0 && overcommit != 2) QSKIP("vm.overcommit_memory is not 0 or 2");
        std::ifstream meminfo("/proc/meminfo");
        std::string name, unit;
        int64_t kib = 0, total = 0;
        while (meminfo >> name >> kib >> unit)
            if (name == "MemTotal:" || name == "SwapTotal:") total += kib;
        if (total <= 0 || total * 1024 >= (int64_t{256} << 30)) QSKIP("this machine could grant 256 GiB");
    }
    BenchSpec spec = tinySpec();
    spec.mixers = {"fnet"};
    spec.lengths = {1048576, 2};
    spec.batch = 32768;
    spec.steps = 1;
    spec.warmup = 0;
    std::vector<std::string> logs;
    BenchCallbacks cb;
    cb.on_log = [&](const std::string& s) { logs.push_back(s); };
    BenchReport r;
    try {
        r = run_bench(spec, cb);
    } catch (const std::exception& e) {
        QFAIL(e.what());
    }
    QCOMPARE(r.rows.size(), size_t{2});
    QCOMPARE(r.rows[0].status, std::string("oom"));
    QVERIFY(std::isnan(r.rows[0].steps_per_second));
    // The run went on with the next cell.
    QVERIFY2(r.rows[1].ok(), qPrintable(QString::fromStdString(r.rows[1].message)));
    bool logged = false;
    for (const auto& s : logs) logged = logged || s.find("out of memory") != std::string::npos;
    QVERIFY(logged);
    const std::string table = format_table(r);
    QVERIFY2(table.find("OOM") != std::string::npos, table.c_str());
}

void TestBench::tableListsEveryCell() {
    BenchReport r = trained_;
    r.rows[3].status = "oom";
    r.rows[3].message = "out of memory: CUDA out of memory";
    const std::string t = format_table(r);
    QVERIFY2(t.find("steps/s (peak GiB)") != std::string::npos, t.c_str());
    QVERIFY(t.find("tokens/s") != std::string::npos);
    QVERIFY(t.find("PoNet mixing implementation:") != std::string::npos);
    QVERIFY(t.find("device: cpu") != std::string::npos);
    for (const char* m : {"ponet", "fnet", "attention"}) QVERIFY(t.find(m) != std::string::npos);
    QVERIFY(t.find("OOM") != std::string::npos);
    QVERIFY(t.find("fnet at 64: out of memory") != std::string::npos);
}

void TestBench::cacheMergesRunsPerDevice() {
    const std::string path = update_cache(trained_);
    QVERIFY(QFile::exists(QString::fromStdString(path)));
    QVERIFY(QString::fromStdString(path).startsWith(tmp_.filePath("cache/ponet-studio/bench/")));

    // A second run of the same setting at another length and one length again: both kept, the newer wins.
    BenchReport second = trained_;
    second.rows = {trained_.rows[0], trained_.rows[1]};
    second.rows[0].length = 128;
    second.rows[1].steps_per_second = 12345.0;
    second.spec.lengths = {128, 64};
    update_cache(second);

    BenchReport cached;
    QVERIFY(find_cached(trained_.device_name, trained_, &cached));
    QCOMPARE(cached.rows.size(), size_t{7});
    QVERIFY(cached.find("ponet", 128));
    QCOMPARE(cached.find("ponet", 64)->steps_per_second, 12345.0);
    QCOMPARE(cached.spec.lengths, (std::vector<int64_t>{32, 64, 128}));

    // Another setting of the same device is a report of its own.
    BenchReport infer = trained_;
    infer.spec.mode = BenchMode::Infer;
    update_cache(infer);
    std::vector<std::string> problems;
    std::ofstream(tmp_.filePath("cache/ponet-studio/bench/broken.json").toStdString()) << "{ nope";
    const auto all = load_cache(&problems);
    QCOMPARE(all.size(), size_t{2});
    QCOMPARE(problems.size(), size_t{1});
    QVERIFY(problems[0].find("broken.json") != std::string::npos);

    BenchReport other = trained_;
    other.device_name = "Some Other Device";
    QVERIFY(!find_cached(other.device_name, other, nullptr));
}

QTEST_GUILESS_MAIN(TestBench)
#include "test_bench.moc"
