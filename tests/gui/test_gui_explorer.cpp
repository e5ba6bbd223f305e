// The explorer page offscreen: a tiny random model and a document go in, the worker thread finishes, every view
// is populated, go-to-token, search, compare, exports and bad input behave. With PONET_EXPLORER_MODEL (and
// PONET_EXPLORER_TEXT, PONET_SCREENSHOT_DIR) it inspects that model instead and saves one 1280×800 screenshot
// per view: tests/gui/explorer_screenshots.sh makes the pictures in docs/images that way.
#include <QFile>
#include <QListWidget>
#include <QScrollBar>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include "core/inspect/inspection.h"
#include "gui_test_support.h"
#include "widgets/explorer_page.h"
#include "widgets/qcp.h"
#include "widgets/token_track_view.h"

using ponet::gui::ExplorerPage;

namespace {

const char* kText =
    "The whale rose near the ship. Sailors shouted from the deck! The captain watched the sea and the whale. "
    "Nobody slept that night. At dawn the ship turned north, and the whale was gone. The sea was calm. "
    "The sailors watched the sea from the deck, and the captain slept.";

std::vector<std::string> vocabulary() {
    std::vector<std::string> v = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "!"};
    for (const char* w : {"the", "whale", "rose", "near", "ship", "sailors", "shouted", "from", "deck", "captain",
                          "watched", "sea", "and", "nobody", "slept", "that", "night", "at", "dawn", "turned",
                          "north", "was", "gone", "calm"})
        v.emplace_back(w);
    return v;
}

}  // namespace

class TestGuiExplorer : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    QString model_;
    QString text_ = QString::fromLatin1(kText);
    bool external_ = false;

    bool inspectAndWait(ExplorerPage& page) {
        QSignalSpy done(&page, &ExplorerPage::inspected);
        QSignalSpy failed(&page, &ExplorerPage::failed);
        page.inspect();
        for (int i = 0; i < 600 && done.isEmpty() && failed.isEmpty(); ++i) done.wait(100);
        if (!failed.isEmpty()) qWarning() << failed.first().first().toString();
        return done.size() == 1;
    }

  private Q_SLOTS:
    void initTestCase() {
        ponet::gui::test::isolateSettings();
        QVERIFY(tmp_.isValid());
        const QString external = qEnvironmentVariable("PONET_EXPLORER_MODEL");
        if (!external.isEmpty()) {
            external_ = true;
            model_ = external;
            const QString textFile = qEnvironmentVariable("PONET_EXPLORER_TEXT");
            if (!textFile.isEmpty()) {
                QFile f(textFile);
                QVERIFY(f.open(QIODevice::ReadOnly));
                text_ = QString::fromUtf8(f.readAll());
            }
            return;
        }
        const auto vocab = vocabulary();
        ponet::ModelConfig c;
        c.architectures = {"PoNetModel"};
        c.vocab_size = static_cast<int64_t>(vocab.size());
        c.hidden_size = 32;
        c.num_hidden_layers = 2;
        c.num_attention_heads = 4;
        c.intermediate_size = 64;
        c.max_position_embeddings = 512;
        c.pad_token_id = 0;
        c.unk_token_id = 1;
        c.cls_token_id = 2;
        c.sep_token_id = 3;
        c.mask_token_id = 4;
        model_ = tmp_.filePath(QStringLiteral("model"));
        ponet::write_random_model(model_.toStdString(), c, vocab, 5);
    }

    void inspectsOnAWorkerAndPopulatesTheViews() {
        if (external_) QSKIP("screenshot mode");
        ExplorerPage page;
        page.resize(1280, 800);
        page.show();
        page.setModelPath(model_);
        page.setDocumentText(text_, QStringLiteral("whale.txt"));
        QVERIFY(inspectAndWait(page));
        QVERIFY(!page.isBusy());
        const auto r = page.inspection();
        QVERIFY(r);
        QCOMPARE(r->layers, int64_t(2));
        QVERIFY(r->length > 40);
        QCOMPARE(page.viewport()->length(), r->length);
        QVERIFY(page.topTokensList()->count() > 0);
        // Each entry fits the list's width (no words under a horizontal scroll bar); the tooltip has the long form.
        page.topTokensList()->doItemsLayout();  // the delayed layout, with the vertical scroll bar if it needs one
        QCoreApplication::processEvents();
        QCOMPARE(page.topTokensList()->horizontalScrollBar()->maximum(), 0);
        for (int i = 0; i < page.topTokensList()->count(); ++i)
            QVERIFY(page.topTokensList()->item(i)->toolTip().contains(QStringLiteral("uniform share")));
        auto* map = qobject_cast<QCPColorMap*>(page.heatmap()->plottable(0));
        QVERIFY(map);
        QCOMPARE(map->data()->keySize(), static_cast<int>(r->length));
        QCOMPARE(map->data()->valueSize(), 2);
        for (const QString& id : {QStringLiteral("ga"), QStringLiteral("smp"), QStringLiteral("lmp"), QStringLiteral("shares")}) {
            page.showView(id);
            QCOMPARE(page.currentView(), id);
            QCOMPARE(page.trackView(id)->inspection().get(), r.get());
            QVERIFY(ponet::gui::test::distinctColours(page.trackView(id)->grab().toImage()) > 8);
        }

        // Go to token: selected, on screen, described.
        page.goToToken(37);
        QCOMPARE(page.selectedToken(), qint64(37));
        QVERIFY(page.viewport()->first() <= 37 && 37 < page.viewport()->first() + page.viewport()->visibleTokens());
        QVERIFY(page.detailsText().contains(QStringLiteral("#37")));
        int features = 0;
        for (int i = 0; i < page.smpSourcesList()->count(); ++i) {
            const qint64 src = page.smpSourcesList()->item(i)->data(Qt::UserRole).toLongLong();
            QCOMPARE(r->segment_of[static_cast<size_t>(src)], r->segment_of[37]);
            features += static_cast<int>(page.smpSourcesList()->item(i)->text().section(QStringLiteral("— "), 1).section(QLatin1Char(' '), 0, 0).toInt());
        }
        QCOMPARE(int64_t(features), r->hidden);
        page.goToToken(100000);  // out of range: ignored
        QCOMPARE(page.selectedToken(), qint64(37));

        // Search: every hit is a "whale", next wraps around.
        const auto expected = r->find("whale");
        QVERIFY(expected.size() >= 3);
        QCOMPARE(page.search(QStringLiteral("Whale")), static_cast<int>(expected.size()));
        QCOMPARE(page.selectedToken(), qint64(expected[0]));
        page.findNext(1);
        QCOMPARE(page.selectedToken(), qint64(expected[1]));
        page.findNext(-1);
        page.findNext(-1);
        QCOMPARE(page.selectedToken(), qint64(expected.back()));
        QCOMPARE(page.search(QStringLiteral("zebra")), 0);

        // Zoom and pan through the shared viewport.
        page.viewport()->fit();
        QCOMPARE(page.viewport()->first(), 0.0);
        const double fitPpt = page.viewport()->pixelsPerToken();
        page.viewport()->zoomBy(4.0, 10);
        QVERIFY(page.viewport()->pixelsPerToken() > fitPpt);
        page.viewport()->panBy(5);
        QVERIFY(page.viewport()->first() > 0);

        // Layer and head choice reach the lists.
        page.setLayer(1);
        page.setHead(2);
        QVERIFY(page.topTokensList()->item(0)->text().contains(QStringLiteral("α")));

        // Exports: CSV of each view, PNG and PDF images, a clear error for other formats.
        for (const QString& id : {QStringLiteral("ga"), QStringLiteral("smp"), QStringLiteral("lmp"), QStringLiteral("shares"), QStringLiteral("teach")}) {
            page.showView(id);
            const QString path = tmp_.filePath(id + QStringLiteral(".csv"));
            QString error;
            QVERIFY2(page.exportCsv(path, &error), qPrintable(error));
            QFile f(path);
            QVERIFY(f.open(QIODevice::ReadOnly));
            const QByteArray head = f.readLine();
            QVERIFY(head.contains(id == QLatin1String("teach") ? "alpha" : "token_index"));
        }
        page.showView(QStringLiteral("ga"));
        QString error;
        QVERIFY(page.exportImage(tmp_.filePath(QStringLiteral("ga.png")), &error));
        QImage png(tmp_.filePath(QStringLiteral("ga.png")));
        QVERIFY(ponet::gui::test::distinctColours(png) > 16);
        QVERIFY(page.exportImage(tmp_.filePath(QStringLiteral("ga.pdf")), &error));
        QVERIFY(QFileInfo(tmp_.filePath(QStringLiteral("ga.pdf"))).size() > 1000);
        QVERIFY(!page.exportImage(tmp_.filePath(QStringLiteral("ga.bmp")), &error));
        QVERIFY(error.contains(QStringLiteral("PNG")));

        // Compare with a second document: side B gets its own result; A is kept.
        QSignalSpy compared(&page, &ExplorerPage::compareInspected);
        page.compareWithDocument(QStringLiteral("The sea was calm. The whale was gone."), QStringLiteral("short.txt"));
        QVERIFY(compared.wait(60000));
        QVERIFY(page.compareInspection());
        QVERIFY(page.compareInspection()->length < r->length);
        QCOMPARE(page.inspection().get(), r.get());
        page.showView(QStringLiteral("compare"));
        QVERIFY(page.exportCsv(tmp_.filePath(QStringLiteral("compare.csv")), &error));

        // Teach mode shows the numbers of every step.
        const QString teach = page.teachHtml();
        for (const char* step : {"softmax", "segment maxima", "window max", "y = (g′ + Ŝ) ⊙ O + L̂"})
            QVERIFY2(teach.contains(QString::fromUtf8(step)), step);
        QVERIFY(page.scrubSteps().isEmpty());  // a model directory has no checkpoints to scrub
        page.grab().save(ponet::gui::test::screenshotPath(QStringLiteral("explorer-test.png")));
    }

    void badInputIsReportedAndNothingIsLost() {
        if (external_) QSKIP("screenshot mode");
        ExplorerPage page;
        page.setModelPath(model_);
        page.setDocumentText(text_, QStringLiteral("whale.txt"));
        QVERIFY(inspectAndWait(page));
        const auto before = page.inspection();
        QSignalSpy failed(&page, &ExplorerPage::failed);
        page.setModelPath(tmp_.filePath(QStringLiteral("no-such-model")));
        page.inspect();
        QVERIFY(failed.wait(30000));
        QVERIFY(!failed.first().first().toString().isEmpty());
        QCOMPARE(page.inspection().get(), before.get());  // the last good result stays on screen
        QVERIFY(!page.isBusy());
        page.setModelPath(model_);
        page.setDocumentText(QStringLiteral("   "), QStringLiteral("blank"));
        page.inspect();  // refused at once: nothing to inspect
        QCOMPARE(failed.size(), 2);
        QVERIFY(!page.openDocument(tmp_.filePath(QStringLiteral("missing.txt"))));
    }

    void cancelStopsTheWorker() {
        if (external_) QSKIP("screenshot mode");
        ExplorerPage page;
        page.setModelPath(model_);
        page.setDocumentText(text_, QStringLiteral("whale.txt"));
        QSignalSpy busy(&page, &ExplorerPage::busyChanged);
        page.inspect();
        page.cancel();
        QTRY_VERIFY_WITH_TIMEOUT(!page.isBusy(), 30000);
    }

    // Screenshot mode: one picture per view of the given model and document.
    void screenshots() {
        if (!external_) QSKIP("set PONET_EXPLORER_MODEL for the documentation screenshots");
        ExplorerPage page;
        page.resize(1280, 800);
        page.show();
        page.setModelPath(model_);
        page.setDocumentText(text_, QFileInfo(qEnvironmentVariable("PONET_EXPLORER_TEXT")).fileName());
        QVERIFY(inspectAndWait(page));
        const auto r = page.inspection();
        const QList<qint64> whale = [&] {
            QList<qint64> out;
            for (int64_t t : r->find(qEnvironmentVariable("PONET_EXPLORER_FIND", QStringLiteral("the")).toStdString())) out << t;
            return out;
        }();
        page.setLayer(static_cast<int>(r->layers) - 1);
        auto shoot = [&](const QString& id) {
            page.showView(id);
            QTest::qWait(200);
            page.grab().save(ponet::gui::test::screenshotPath(QStringLiteral("explorer-%1.png").arg(id)));
        };
        page.viewport()->fit();
        shoot(QStringLiteral("ga"));
        page.goToToken(whale.isEmpty() ? r->length / 3 : whale.value(whale.size() / 2));
        page.viewport()->setView(page.viewport()->first(), 26);
        page.goToToken(page.selectedToken());
        shoot(QStringLiteral("smp"));
        shoot(QStringLiteral("lmp"));
        shoot(QStringLiteral("shares"));
        if (page.scrubSteps().size() >= 2) {
            QSignalSpy compared(&page, &ExplorerPage::compareInspected);
            page.scrubToStep(page.scrubSteps().first());
            QVERIFY(compared.wait(120000));
        }
        page.viewport()->fit();
        shoot(QStringLiteral("compare"));
        shoot(QStringLiteral("teach"));
    }
};

QTEST_MAIN(TestGuiExplorer)
#include "test_gui_explorer.moc"
