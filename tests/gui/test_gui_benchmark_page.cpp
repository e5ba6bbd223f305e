// The Benchmark page: a short CPU run goes to completion on the worker thread and fills the charts and the
// table; the JSON, CSV and PNG exports hold what the page shows; the cache previews the setting on a fresh
// page; a saved report loads for comparison and a broken one is refused with its reason; bad settings never
// start a run; Cancel stops a long run; and a screenshot of the main window on this page is saved.
#include <QComboBox>
#include <QFile>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

#include "core/bench/bench.h"
#include "gui_test_support.h"
#include "widgets/benchmark_page.h"
#include "widgets/benchmark_plot.h"
#include "widgets/inline_message.h"
#include "widgets/main_window.h"

using ponet::gui::BenchmarkPage;
using ponet::gui::BenchmarkPlot;

namespace {

constexpr int kRunTimeoutMs = 300000;

// Real numbers in a few seconds on two cores: the Table 2 model shape at short lengths.
ponet::bench::BenchSpec quickSpec() {
    ponet::bench::BenchSpec s;
    s.preset = "lra-text";
    s.mixers = {"ponet", "fnet", "attention"};
    s.lengths = {128, 256, 512, 1024};
    s.batch = 2;
    s.steps = 2;
    s.warmup = 1;
    s.device = "cpu";
    return s;
}

}  // namespace

class TestBenchmarkPage : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void initTestCase();
    void runsToCompletionOnCpu();
    void exportsHoldWhatThePageShows();
    void cachePreviewsTheSettingOnAFreshPage();
    void loadsReportsForComparison();
    void badSettingsNeverStartARun();
    void cancelStopsALongRun();
    void logAxisLabelsAreNumbers();
    void screenshotWithResults();

  private:
    QTemporaryDir tmp_;
    ponet::bench::BenchReport report_;
};

void TestBenchmarkPage::initTestCase() {
    QVERIFY(tmp_.isValid());
    ponet::gui::test::isolateSettings();
    qputenv("XDG_CACHE_HOME", QFile::encodeName(tmp_.filePath("cache")));
}

void TestBenchmarkPage::runsToCompletionOnCpu() {
    BenchmarkPage page({QStringLiteral("cpu")});
    page.show();
    QVERIFY(!page.hasResults());
    QVERIFY2(page.sourceText().contains(QStringLiteral("No results")), qPrintable(page.sourceText()));
    page.setSpec(quickSpec());
    QSignalSpy finished(&page, &BenchmarkPage::finished);
    QSignalSpy running(&page, &BenchmarkPage::runningChanged);

    page.start();
    QVERIFY(page.isRunning());
    QVERIFY(!page.findChild<QPushButton*>(QStringLiteral("runBenchmarkButton"))->isEnabled());
    QVERIFY(page.findChild<QPushButton*>(QStringLiteral("cancelBenchmarkButton"))->isEnabled());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kRunTimeoutMs);
    QCOMPARE(running.count(), 2);
    QVERIFY(!page.isRunning());
    const QList<QVariant> args = finished.takeFirst();
    QCOMPARE(args.at(0).toBool(), true);   // no cell failed
    QCOMPARE(args.at(1).toBool(), false);  // not cancelled

    report_ = page.shownReport();
    QCOMPARE(report_.rows.size(), size_t{12});
    for (const auto& r : report_.rows) {
        QVERIFY2(r.ok(), qPrintable(QString::fromStdString(r.mixer + ": " + r.message)));
        QVERIFY(r.steps_per_second > 0 && r.peak_bytes > 0);
    }
    QCOMPARE(page.resultRowCount(), 12);
    QCOMPARE(page.speedPlot()->curveCount(), 3);
    QCOMPARE(page.memoryPlot()->curveCount(), 3);
    QVERIFY2(page.sourceText().startsWith(QStringLiteral("This run on cpu")), qPrintable(page.sourceText()));
}

void TestBenchmarkPage::exportsHoldWhatThePageShows() {
    QVERIFY(!report_.rows.empty());
    BenchmarkPage page({QStringLiteral("cpu")});
    QVERIFY(page.hasResults());  // the cached run, see below

    const QString json = tmp_.filePath("bench.json");
    QString error;
    QVERIFY2(page.saveReport(json, &error), qPrintable(error));
    const auto back = ponet::bench::BenchReport::load(json.toStdString());
    QCOMPARE(back.rows.size(), page.shownReport().rows.size());

    const QString csv = tmp_.filePath("bench.csv");
    QVERIFY2(page.exportCsv(csv, &error), qPrintable(error));
    QFile f(csv);
    QVERIFY(f.open(QIODevice::ReadOnly | QIODevice::Text));
    const QStringList lines = QString::fromUtf8(f.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 13);
    const QStringList header = lines[0].split(QLatin1Char(','));
    QCOMPARE(header.value(6), QStringLiteral("mixer"));
    QCOMPARE(header.value(10), QStringLiteral("steps_per_second"));
    // Every CSV row carries the same numbers as the report it came from.
    for (int i = 1; i < lines.size(); ++i) {
        const QStringList cells = lines[i].split(QLatin1Char(','));
        const auto* row = back.find(cells[6].toStdString(), cells[7].toLongLong());
        QVERIFY(row);
        QCOMPARE(cells[8], QStringLiteral("ok"));
        QVERIFY(std::abs(cells[10].toDouble() - row->steps_per_second) <= 1e-8 * row->steps_per_second);
        QCOMPARE(cells[12].toLongLong(), row->peak_bytes);
        QCOMPARE(header.value(14), QStringLiteral("cuda_graph"));
        QCOMPARE(cells[14], QStringLiteral("no"));  // the CPU never captures
    }

    // The CUDA-graph choice goes into the run's settings and is remembered.
    auto* graphs = page.findChild<QComboBox*>(QStringLiteral("benchGraphs"));
    QVERIFY(graphs);
    graphs->setCurrentIndex(graphs->findData(QStringLiteral("off")));
    ponet::bench::BenchSpec spec;
    QVERIFY2(page.readSpec(&spec, &error), qPrintable(error));
    QCOMPARE(QString::fromStdString(spec.cuda_graphs), QStringLiteral("off"));
    {
        BenchmarkPage again({QStringLiteral("cpu")});
        auto* remembered = again.findChild<QComboBox*>(QStringLiteral("benchGraphs"));
        QCOMPARE(remembered->currentData().toString(), QStringLiteral("off"));
    }
    graphs->setCurrentIndex(graphs->findData(QStringLiteral("auto")));

    const QString png = tmp_.filePath("bench.png");
    page.resize(1100, 700);
    page.show();
    QVERIFY2(page.exportPng(png, &error), qPrintable(error));
    QImage image(png);
    QVERIFY(!image.isNull());
    QVERIFY(ponet::gui::test::distinctColours(image) > 16);
}

void TestBenchmarkPage::cachePreviewsTheSettingOnAFreshPage() {
    // The page restores the last setting and shows what the cache holds for it, before anything runs.
    BenchmarkPage page({QStringLiteral("cpu")});
    QVERIFY(page.hasResults());
    QVERIFY2(page.sourceText().startsWith(QStringLiteral("Cached results")), qPrintable(page.sourceText()));
    QCOMPARE(page.resultRowCount(), 12);
    QCOMPARE(page.speedPlot()->curveCount(), 3);
    // Another setting has nothing cached.
    auto spec = quickSpec();
    spec.batch = 3;
    page.setSpec(spec);
    QVERIFY(!page.hasResults());
    QVERIFY(page.sourceText().contains(QStringLiteral("No results")));
    spec.batch = 2;
    page.setSpec(spec);
    QVERIFY(page.hasResults());
}

void TestBenchmarkPage::loadsReportsForComparison() {
    BenchmarkPage page({QStringLiteral("cpu")});
    const int cached = page.comparisonCount();
    QVERIFY(cached >= 1);

    // Another device's report, as a user would receive it.
    ponet::bench::BenchReport other = report_;
    other.device = "cuda:0";
    other.device_name = "NVIDIA Example GPU";
    for (auto& r : other.rows) r.steps_per_second *= 10;
    const QString path = tmp_.filePath("other-device.json");
    other.save(path.toStdString());
    QString error;
    QVERIFY2(page.loadComparison(path, &error), qPrintable(error));
    QCOMPARE(page.comparisonCount(), cached + 1);
    // Own curves plus the comparison's, dashed.
    QCOMPARE(page.speedPlot()->curveCount(), 6);
    QVERIFY(page.selectComparison(0));
    QCOMPARE(page.speedPlot()->curveCount(), 3);

    QFile broken(tmp_.filePath("broken.json"));
    QVERIFY(broken.open(QIODevice::WriteOnly));
    broken.write("{\"format\": \"ponet-bench\", \"version\": 1, \"rows\": 3}");
    broken.close();
    QVERIFY(!page.loadComparison(broken.fileName(), &error));
    QVERIFY2(error.contains(QStringLiteral("broken.json")), qPrintable(error));
    QCOMPARE(page.comparisonCount(), cached + 1);
}

void TestBenchmarkPage::badSettingsNeverStartARun() {
    BenchmarkPage page({QStringLiteral("cpu")});
    auto spec = quickSpec();
    page.setSpec(spec);
    auto* lengths = page.findChild<QLineEdit*>(QStringLiteral("benchLengths"));
    QVERIFY(lengths);
    lengths->setText(QStringLiteral("512,12x"));
    QSignalSpy running(&page, &BenchmarkPage::runningChanged);
    page.start();
    QVERIFY(!page.isRunning());
    QCOMPARE(running.count(), 0);
    auto* message = page.findChild<ponet::gui::InlineMessage*>();
    QVERIFY(message && message->isVisibleTo(&page));
    QVERIFY2(message->text().contains(QStringLiteral("'12x'")), qPrintable(message->text()));

    lengths->setText(QStringLiteral("512"));
    for (const char* m : {"ponet", "fnet", "attention"})
        page.findChild<QCheckBox*>(QStringLiteral("benchMixer_%1").arg(QLatin1String(m)))->setChecked(false);
    page.start();
    QVERIFY(!page.isRunning());
    QVERIFY2(message->text().contains(QStringLiteral("mixer")), qPrintable(message->text()));
}

void TestBenchmarkPage::cancelStopsALongRun() {
    BenchmarkPage page({QStringLiteral("cpu")});
    auto spec = quickSpec();
    spec.steps = 1000;  // minutes if not cancelled
    page.setSpec(spec);
    QSignalSpy finished(&page, &BenchmarkPage::finished);
    auto* bar = page.findChild<QProgressBar*>(QStringLiteral("benchProgress"));
    QSignalSpy progress(bar, &QProgressBar::valueChanged);
    QVERIFY(bar->isHidden());  // no empty bar before the first run
    page.start();
    QVERIFY(!bar->isHidden());
    QTRY_VERIFY_WITH_TIMEOUT(progress.count() >= 2, kRunTimeoutMs);  // the run is inside its first cell
    page.cancel();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
    QCOMPARE(finished.at(0).at(1).toBool(), true);  // cancelled
    QVERIFY(page.shownReport().cancelled);
    QVERIFY(page.shownReport().rows.size() < 12);
    QVERIFY(page.findChild<QPushButton*>(QStringLiteral("runBenchmarkButton"))->isEnabled());
}

void TestBenchmarkPage::screenshotWithResults() {
    // Back to the setting of the finished run, so the window opens on its cached results.
    {
        BenchmarkPage page({QStringLiteral("cpu")});
        page.setSpec(quickSpec());
    }
    ponet::gui::MainWindow w({QStringLiteral("benchmark"), QString()});
    w.resize(1280, 800);
    w.show();
    QCOMPARE(w.currentPage(), QStringLiteral("benchmark"));
    QVERIFY(w.benchmarkPage()->hasResults());
    QTRY_VERIFY_WITH_TIMEOUT(!w.isBusy(), kRunTimeoutMs);
    const QImage image = w.grab().toImage();
    QVERIFY(!image.isNull());
    QVERIFY(ponet::gui::test::distinctColours(image) > 16);
    const QString path = ponet::gui::test::screenshotPath(QStringLiteral("studio-benchmark.png"));
    QVERIFY(image.save(path));
    qInfo("screenshot: %s", qPrintable(path));
}

QTEST_MAIN(TestBenchmarkPage)
void TestBenchmarkPage::logAxisLabelsAreNumbers() {
    // Milliseconds from 150 to 1,500 and tokens/s in the tens of millions on a log axis: the labels read as
    // numbers ("1,000", "20M"), not as "10³" beside "700" (QCustomPlot draws an exponent label such as 1e+03 as a
    // power).
    BenchmarkPlot plot(QStringLiteral("Time per step"));
    plot.resize(420, 300);
    BenchmarkPlot::Series s;
    s.label = QStringLiteral("PoNet");
    s.color = BenchmarkPlot::mixerColor(QStringLiteral("ponet"));
    s.lengths = {256, 512, 1024};
    for (const QVector<double>& values : {QVector<double>{150, 500, 1500}, QVector<double>{1.2e7, 3.1e7, 4.9e7}}) {
        s.values = values;
        plot.setSeries({s}, QStringLiteral("value"), QString());
        plot.replot(QCustomPlot::rpImmediateRefresh);
        const QVector<double> ticks = plot.yAxis->tickVector();
        const QVector<QString> labels = plot.yAxis->tickVectorLabels();
        QVERIFY(ticks.contains(1000.0) || ticks.contains(2e7));
        for (int i = 0; i < labels.size(); ++i) {
            QVERIFY2(!labels[i].contains(QLatin1Char('e')), qPrintable(labels[i]));
            QString number = labels[i];
            double unit = 1;
            if (number.endsWith(QLatin1Char('k'))) unit = 1e3;
            if (number.endsWith(QLatin1Char('M'))) unit = 1e6;
            if (unit > 1) number.chop(1);
            bool ok = false;
            const double value = QLocale().toDouble(number, &ok);
            QVERIFY2(ok, qPrintable(labels[i]));
            QCOMPARE(value * unit, ticks[i]);
        }
    }
}

#include "test_gui_benchmark_page.moc"
