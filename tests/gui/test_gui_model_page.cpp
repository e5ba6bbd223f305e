// The Model page on its own: sequence length, drag-and-drop, weights detection and configuration errors.
#include <QComboBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QUrl>
#include <QtTest>

#include "core/bench/bench_cache.h"
#include "core/bench/cost_model.h"
#include "gui_test_support.h"
#include "widgets/cost_preview.h"
#include "widgets/model_page.h"
#include "widgets/model_source.h"
#include "widgets/qcp.h"

using ponet::gui::CostPreview;
using ponet::gui::ModelPage;

namespace {

constexpr int kSummaryTimeoutMs = 120000;

QString builtinDirectory(const QString& name) {
    for (const ponet::gui::BuiltinModel& m : ponet::gui::builtinModels()) {
        if (m.name == name) return m.directory;
    }
    return {};
}

QByteArray readFile(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

bool writeFile(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size();
}

// Sends the enter and drop events a file manager's drag would; returns whether the page took the drop.
bool dropPath(QWidget* target, const QString& path) {
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(path)});
    QDragEnterEvent enter(QPoint(20, 20), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(target, &enter);
    if (!enter.isAccepted()) return false;
    QDropEvent drop(QPointF(20, 20), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(target, &drop);
    return drop.isAccepted();
}

}  // namespace

class TestModelPage : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void initTestCase();
    void sequenceLengthRecomputesActivations();
    void dropOpensDirectoryOrConfigJson();
    void reportsWeightsFile();
    void badConfigurationsKeepThePreviousModel();
    void builtinShapesAllSummarise();
    void costPreviewPlotsCachedPoints();
    void costPreviewOffersMeasurementWithoutCache();
    void costPreviewMeasuresTinyOnCpu();
    void costPreviewEstimatesAnyShape();
};

void TestModelPage::initTestCase() {
    ponet::gui::test::isolateSettings();
    QVERIFY(!builtinDirectory(QStringLiteral("ponet-base-uncased")).isEmpty());
    QVERIFY(!builtinDirectory(QStringLiteral("ponet-tiny")).isEmpty());
}

void TestModelPage::sequenceLengthRecomputesActivations() {
    ModelPage page;
    page.show();
    QVERIFY(page.openModelDirectory(builtinDirectory(QStringLiteral("ponet-tiny"))));
    QTRY_COMPARE_WITH_TIMEOUT(page.currentModelName(), QStringLiteral("ponet-tiny"), kSummaryTimeoutMs);
    QCOMPARE(page.currentSummary()->seq_len, qint64(512));  // the default length
    const qint64 at512 = page.currentSummary()->activation_bytes_per_sequence;
    auto* activation = page.findChild<QLabel*>(QStringLiteral("activationBytes"));
    const QString text512 = activation->text();

    auto* spin = page.findChild<QSpinBox*>(QStringLiteral("sequenceLengthSpin"));
    QSignalSpy shown(&page, &ModelPage::modelShown);
    spin->setValue(128);
    QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, kSummaryTimeoutMs);
    QCOMPARE(page.currentSummary()->seq_len, qint64(128));
    QVERIFY(page.currentSummary()->activation_bytes_per_sequence < at512);
    QVERIFY(activation->text() != text512);
    QCOMPARE(page.requestedSequenceLength(), 128);

    // Longer than the model's positions: capped for this model, remembered for the next one.
    page.setRequestedSequenceLength(100000);
    QTRY_COMPARE_WITH_TIMEOUT(page.currentSummary()->seq_len, qint64(512), kSummaryTimeoutMs);
    QCOMPARE(spin->value(), 512);
    QCOMPARE(page.requestedSequenceLength(), 100000);
}

void TestModelPage::dropOpensDirectoryOrConfigJson() {
    ModelPage page;
    page.show();
    page.showDefaultModel();
    QTRY_COMPARE_WITH_TIMEOUT(page.currentModelName(), QStringLiteral("ponet-base-uncased"),
                              kSummaryTimeoutMs);

    QVERIFY(dropPath(&page, builtinDirectory(QStringLiteral("ponet-tiny"))));
    QTRY_COMPARE_WITH_TIMEOUT(page.currentModelName(), QStringLiteral("ponet-tiny"), kSummaryTimeoutMs);

    QVERIFY(dropPath(
        &page, builtinDirectory(QStringLiteral("ponet-base-uncased")) + QStringLiteral("/config.json")));
    QTRY_COMPARE_WITH_TIMEOUT(page.currentModelName(), QStringLiteral("ponet-base-uncased"),
                              kSummaryTimeoutMs);

    // Something that is no model is refused at the door, not half-loaded.
    QTemporaryDir empty;
    QVERIFY(!dropPath(&page, empty.path()));
    QCOMPARE(page.currentModelName(), QStringLiteral("ponet-base-uncased"));
}

void TestModelPage::reportsWeightsFile() {
    QTemporaryDir dir;
    const QByteArray config =
        readFile(builtinDirectory(QStringLiteral("ponet-tiny")) + QStringLiteral("/config.json"));
    QVERIFY(!config.isEmpty());
    QVERIFY(writeFile(dir.filePath(QStringLiteral("config.json")), config));
    QVERIFY(writeFile(dir.filePath(QStringLiteral("model.safetensors")), QByteArray(2048, '\0')));

    ModelPage page;
    QVERIFY(page.openModelDirectory(dir.path()));
    QTRY_COMPARE_WITH_TIMEOUT(page.currentModelDirectory(), QFileInfo(dir.path()).canonicalFilePath(),
                              kSummaryTimeoutMs);
    const QString source = page.findChild<QLabel*>(QStringLiteral("modelSource"))->text();
    QVERIFY2(source.contains(QStringLiteral("model.safetensors")), qPrintable(source));
    // The raw view shows the file verbatim, not a re-serialisation.
    QCOMPARE(page.findChild<QPlainTextEdit*>(QStringLiteral("configJsonView"))->toPlainText(),
             QString::fromUtf8(config));
}

void TestModelPage::badConfigurationsKeepThePreviousModel() {
    ModelPage page;
    page.show();
    page.showDefaultModel();
    QTRY_COMPARE_WITH_TIMEOUT(page.currentModelName(), QStringLiteral("ponet-base-uncased"),
                              kSummaryTimeoutMs);

    const struct {
        const char* what;
        QByteArray json;
        QString expected;  // a word the message must contain
    } cases[] = {
        {"not JSON", "{ \"hidden_size\": ", QStringLiteral("config.json")},
        {"heads do not divide hidden size",
         R"({"model_type": "ponet", "hidden_size": 100, "num_attention_heads": 12})",
         QStringLiteral("hidden_size")},
        {"negative layer count", R"({"model_type": "ponet", "num_hidden_layers": -1})",
         QStringLiteral("num_hidden_layers")},
    };
    for (const auto& c : cases) {
        QTemporaryDir dir;
        QVERIFY(writeFile(dir.filePath(QStringLiteral("config.json")), c.json));
        QSignalSpy failed(&page, &ModelPage::loadFailed);
        QVERIFY2(!page.openModelDirectory(dir.path()), c.what);
        QCOMPARE(failed.count(), 1);
        QVERIFY2(page.errorText().contains(c.expected), qPrintable(page.errorText()));
        QCOMPARE(page.currentModelName(), QStringLiteral("ponet-base-uncased"));
        QVERIFY(page.findChild<QLabel*>(QStringLiteral("totalParameters"))
                    ->text()
                    .contains(QStringLiteral("124,281,405")));
    }

    // The next successful pick clears the error.
    QVERIFY(page.openModelDirectory(builtinDirectory(QStringLiteral("ponet-tiny"))));
    QVERIFY(page.errorText().isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(page.currentModelName(), QStringLiteral("ponet-tiny"), kSummaryTimeoutMs);
}

void TestModelPage::builtinShapesAllSummarise() {
    ModelPage page;
    for (const ponet::gui::BuiltinModel& m : ponet::gui::builtinModels()) {
        QVERIFY2(page.openModelDirectory(m.directory), qPrintable(page.errorText()));
        QTRY_COMPARE_WITH_TIMEOUT(page.currentModelName(), m.name, kSummaryTimeoutMs);
        QVERIFY2(page.errorText().isEmpty(), qPrintable(page.errorText()));
        QVERIFY(page.currentSummary()->total_parameters > 0);
        // The special-token row: the LRA skeleton has none (BERT's ids would lie outside its vocabulary).
        const bool lra = m.name.startsWith(QStringLiteral("lra-"));
        bool shown = false;
        for (const QLabel* label : page.findChildren<QLabel*>())
            shown = shown || label->text() == (lra ? QStringLiteral("none (id 0 is padding)")
                                                   : QStringLiteral("[PAD] 0 · [UNK] 100 · [CLS] 101 · [SEP] 102 · "
                                                                    "[MASK] 103"));
        QVERIFY2(shown, qPrintable(m.name));
    }
}

namespace {

ponet::bench::BenchRow cachedRow(const std::string& mixer, int64_t length, double ms, int64_t peak) {
    ponet::bench::BenchRow r;
    r.mixer = mixer;
    r.length = length;
    r.status = "ok";
    r.impl = mixer == "ponet" ? "reference" : "-";
    r.step_ms = {ms, ms};
    r.median_ms = r.min_ms = r.max_ms = ms;
    r.steps_per_second = 1000.0 / ms;
    r.tokens_per_second = 8.0 * static_cast<double>(length) * r.steps_per_second;
    r.peak_bytes = peak;
    r.parameters = 1000;
    return r;
}

}  // namespace

void TestModelPage::costPreviewPlotsCachedPoints() {
    QTemporaryDir cache;
    qputenv("XDG_CACHE_HOME", cache.path().toUtf8());
    ponet::bench::BenchReport report;
    report.spec.preset = "tiny";
    report.spec.mixers = {"ponet", "fnet"};
    report.spec.lengths = {256, 512};
    report.spec.batch = 8;
    report.device = "cpu";
    report.device_name = "Crafted Test CPU (2 threads)";
    report.precision = "fp32";
    report.started_at = "2026-01-02T03:04:05Z";
    report.rows = {cachedRow("ponet", 256, 12.5, 100 << 20), cachedRow("ponet", 512, 30.0, 180 << 20),
                   cachedRow("fnet", 256, 9.0, 90 << 20)};
    // A measurement on another device must not show up for the CPU.
    ponet::bench::BenchReport other = report;
    other.device = "cuda:0";
    other.device_name = "Crafted Test GPU";
    other.rows.push_back(cachedRow("ponet", 1024, 3.0, 300 << 20));
    const std::string path = ponet::bench::update_cache(report);
    QVERIFY(QFileInfo::exists(QString::fromStdString(path)));
    ponet::bench::update_cache(other);

    ModelPage page;
    page.setDevices({QStringLiteral("cpu"), QStringLiteral("cuda:0")});
    QVERIFY(page.openModelDirectory(builtinDirectory(QStringLiteral("ponet-tiny"))));
    QTRY_COMPARE_WITH_TIMEOUT(page.currentModelName(), QStringLiteral("ponet-tiny"), kSummaryTimeoutMs);
    CostPreview* preview = page.costPreview();
    // ponet-tiny (128 wide) is not the harness's tiny shape (64 wide): an estimate from it at the model's
    // lengths (256 and 512 positions), from this device's PoNet rows, not FNet's.
    QVERIFY(preview->isEstimate());
    QCOMPARE(preview->timePointCount(), 2);
    QCOMPARE(preview->memoryPointCount(), 2);
    QVERIFY2(preview->statusText().contains(QStringLiteral("Crafted Test CPU")),
             qPrintable(preview->statusText()));

    auto* device = preview->findChild<QComboBox*>(QStringLiteral("costDevice"));
    device->setCurrentIndex(device->findData(QStringLiteral("cuda:0")));
    QCOMPARE(preview->timePointCount(), 2);
    QVERIFY2(preview->statusText().contains(QStringLiteral("Crafted Test GPU")),
             qPrintable(preview->statusText()));
    // The window's device choice reaches the preview.
    page.setDevice(QStringLiteral("cpu"));
    QCOMPARE(preview->timePointCount(), 2);
    QVERIFY(!preview->setDevice(QStringLiteral("cuda:7")));

    // Any other shape is estimated too, and says from what.
    QVERIFY(page.openModelDirectory(builtinDirectory(QStringLiteral("lra-listops"))));
    QTRY_COMPARE_WITH_TIMEOUT(page.currentModelName(), QStringLiteral("lra-listops"), kSummaryTimeoutMs);
    QVERIFY(preview->isEstimate());
    QVERIFY(preview->timePointCount() >= 2);
    QVERIFY(preview->canMeasure());
    QVERIFY2(preview->statusText().contains(QStringLiteral("Estimate")) &&
                 preview->statusText().contains(QStringLiteral("tiny")),
             qPrintable(preview->statusText()));
}

// A shape no preset has (edited fields in a config.json): time and memory per step estimated from the cached
// measurement of the nearest shape, scaled by the cost model; a larger shape costs more at every length.
void TestModelPage::costPreviewEstimatesAnyShape() {
    QTemporaryDir cache;
    qputenv("XDG_CACHE_HOME", cache.path().toUtf8());
    ponet::bench::BenchReport report;
    report.spec.preset = "tiny";
    report.spec.mixers = {"attention"};
    report.spec.lengths = {256, 512};
    report.spec.batch = 8;
    report.device = "cpu";
    report.device_name = "Crafted Test CPU (2 threads)";
    report.precision = "fp32";
    report.started_at = "2026-01-02T03:04:05Z";
    report.rows = {cachedRow("attention", 256, 10.0, 200 << 20), cachedRow("attention", 512, 25.0, 260 << 20)};
    ponet::bench::update_cache(report);

    QTemporaryDir models;
    auto writeShape = [&](const QString& name, int hidden, int layers, int ffn) {
        QJsonObject o = QJsonDocument::fromJson(readFile(builtinDirectory(QStringLiteral("ponet-tiny")) +
                                                         QStringLiteral("/config.json")))
                            .object();
        o[QStringLiteral("hidden_size")] = hidden;
        o[QStringLiteral("num_hidden_layers")] = layers;
        o[QStringLiteral("num_attention_heads")] = 4;
        o[QStringLiteral("intermediate_size")] = ffn;
        o[QStringLiteral("max_position_embeddings")] = 2048;
        o[QStringLiteral("mixer")] = QStringLiteral("attention");
        const QString dir = models.filePath(name);
        QDir().mkpath(dir);
        return writeFile(dir + QStringLiteral("/config.json"), QJsonDocument(o).toJson()) ? dir : QString();
    };
    const QString small = writeShape(QStringLiteral("edited-small"), 96, 3, 384);
    const QString large = writeShape(QStringLiteral("edited-large"), 192, 6, 768);
    QVERIFY(!small.isEmpty() && !large.isEmpty());

    auto curve = [](CostPreview* preview) {
        QVector<double> v;
        auto* plot = preview->findChild<QCustomPlot*>(QStringLiteral("costTimePlot"));
        for (int i = 0; plot && i < plot->graphCount(); ++i)
            for (int k = 0; k < plot->graph(i)->dataCount(); ++k) v << plot->graph(i)->data()->at(k)->value;
        return v;
    };
    ModelPage page;
    page.show();
    QVERIFY(page.openModelDirectory(small));
    QTRY_COMPARE_WITH_TIMEOUT(page.currentModelName(), QStringLiteral("edited-small"), kSummaryTimeoutMs);
    CostPreview* preview = page.costPreview();
    QVERIFY(preview->isEstimate());
    QVERIFY2(preview->statusText().contains(QStringLiteral("Estimate")) &&
                 preview->statusText().contains(QStringLiteral("Crafted Test CPU")) &&
                 preview->statusText().contains(QStringLiteral("hidden 96, 3 layers")),
             qPrintable(preview->statusText()));
    QCOMPARE(preview->timePointCount(), 4);  // 256, 512, 1024, 2048
    QCOMPARE(preview->memoryPointCount(), 4);
    const QVector<double> smallMs = curve(preview);
    QCOMPARE(smallMs.size(), 4);
    for (int i = 1; i < smallMs.size(); ++i) QVERIFY(smallMs[i] > smallMs[i - 1]);

    // The plotted numbers are the cost model's, from the calibration.
    ponet::ModelConfig target = ponet::ModelConfig::load((small + QStringLiteral("/config.json")).toStdString());
    const ponet::bench::CostCurve expected = ponet::bench::estimate_cost(
        target, target.mixer, 8, {256, 512, 1024, 2048}, report,
        ponet::bench::bench_preset_config("tiny", ponet::MixerKind::Attention));
    for (int i = 0; i < 4; ++i) QVERIFY(std::abs(smallMs[i] - expected.ms[static_cast<size_t>(i)]) < 1e-6 * expected.ms[static_cast<size_t>(i)]);

    QVERIFY(page.openModelDirectory(large));
    QTRY_COMPARE_WITH_TIMEOUT(page.currentModelName(), QStringLiteral("edited-large"), kSummaryTimeoutMs);
    const QVector<double> largeMs = curve(preview);
    QCOMPARE(largeMs.size(), 4);
    for (int i = 0; i < 4; ++i) QVERIFY(largeMs[i] > 2 * smallMs[i]);
}

void TestModelPage::costPreviewOffersMeasurementWithoutCache() {
    QTemporaryDir cache;
    qputenv("XDG_CACHE_HOME", cache.path().toUtf8());
    ModelPage page;
    page.show();
    QVERIFY(page.openModelDirectory(builtinDirectory(QStringLiteral("ponet-base-uncased"))));
    QTRY_COMPARE_WITH_TIMEOUT(page.currentModelName(), QStringLiteral("ponet-base-uncased"),
                              kSummaryTimeoutMs);
    CostPreview* preview = page.costPreview();
    QCOMPARE(preview->timePointCount(), 0);
    QVERIFY(preview->canMeasure());
    QVERIFY2(preview->statusText().contains(QStringLiteral("no measurement")),
             qPrintable(preview->statusText()));
    // What the button would run: this shape and mixer, 256..4096 tokens (within 512 positions here).
    const ponet::bench::BenchSpec spec = preview->measurementSpec();
    QCOMPARE(spec.preset, std::string("base"));
    QCOMPARE(spec.mixers, std::vector<std::string>{"ponet"});
    QCOMPARE(spec.lengths, (std::vector<int64_t>{256, 512}));
    QCOMPARE(spec.device, std::string("cpu"));
}

void TestModelPage::costPreviewMeasuresTinyOnCpu() {
    QTemporaryDir cache;
    qputenv("XDG_CACHE_HOME", cache.path().toUtf8());
    ModelPage page;
    page.show();
    QVERIFY(page.openModelDirectory(builtinDirectory(QStringLiteral("ponet-tiny"))));
    QTRY_COMPARE_WITH_TIMEOUT(page.currentModelName(), QStringLiteral("ponet-tiny"), kSummaryTimeoutMs);
    CostPreview* preview = page.costPreview();
    preview->setMeasurementBudget(2, 1, 2);
    QVERIFY(preview->canMeasure());
    // ponet-tiny is no shape the harness measures: the button measures the nearest one, to estimate from.
    const std::string calibration = preview->measurementSpec().preset;
    QVERIFY(!calibration.empty());
    QSignalSpy finished(preview, &CostPreview::measurementFinished);
    QSignalSpy measuring(preview, &CostPreview::measuringChanged);
    QTest::mouseClick(preview->findChild<QPushButton*>(QStringLiteral("measureCostButton")), Qt::LeftButton);
    QVERIFY(preview->isMeasuring());
    QVERIFY(preview->findChild<QPushButton*>(QStringLiteral("cancelCostButton"))->isVisible());
    QVERIFY(finished.wait(60000));
    QCOMPARE(finished.front().front().toBool(), true);
    QCOMPARE(measuring.count(), 2);
    QCOMPARE(preview->timePointCount(), 2);
    QCOMPARE(preview->memoryPointCount(), 2);
    QVERIFY(preview->isEstimate());
    // The picture for the docs: the page at 1280×800, scrolled to the preview.
    page.resize(1280, 800);
    auto* scroll = page.findChild<QScrollArea*>();
    QVERIFY(scroll);
    scroll->ensureWidgetVisible(preview);
    QCoreApplication::processEvents();
    const QImage shot = page.grab().toImage();
    QVERIFY(shot.save(ponet::gui::test::screenshotPath(QStringLiteral("model-cost-preview.png"))));
    QVERIFY(ponet::gui::test::distinctColours(shot) >= 16);
    // Stored in the cache: a fresh page shows it without measuring.
    std::vector<ponet::bench::BenchReport> all = ponet::bench::load_cache();
    QCOMPARE(all.size(), size_t(1));
    QCOMPARE(all.front().spec.preset, calibration);
    QCOMPARE(all.front().rows.size(), size_t(2));
    ModelPage again;
    QVERIFY(again.openModelDirectory(builtinDirectory(QStringLiteral("ponet-tiny"))));
    QTRY_COMPARE_WITH_TIMEOUT(again.currentModelName(), QStringLiteral("ponet-tiny"), kSummaryTimeoutMs);
    QCOMPARE(again.costPreview()->timePointCount(), 2);
}

QTEST_MAIN(TestModelPage)
#include "test_gui_model_page.moc"
