// The main window: the default model, switching shapes, bad directories, settings, About, shutdown,
// screenshot.
#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QLabel>
#include <QListWidget>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QStatusBar>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>

#include <memory>

#include "gui_test_support.h"
#include "widgets/check_result_model.h"
#include "widgets/main_window.h"
#include "widgets/model_page.h"
#include "widgets/model_source.h"
#include "widgets/selftest_page.h"
#include "widgets/train_page.h"

using ponet::gui::MainWindow;

namespace {

constexpr int kSummaryTimeoutMs = 120000;
constexpr qint64 kBaseParameters = 124281405;  // PoNetForPreTraining, decoder tied to the word embeddings

QStringList capturedWarnings;
void captureWarnings(QtMsgType type, const QMessageLogContext&, const QString& message) {
    // The offscreen platform plugin's own notice is about the test platform, not about us.
    if (message.contains(QLatin1String("propagateSizeHints"))) return;
    if (type != QtDebugMsg && type != QtInfoMsg) capturedWarnings << message;
}

QString builtinDirectory(const QString& name) {
    for (const ponet::gui::BuiltinModel& m : ponet::gui::builtinModels()) {
        if (m.name == name) return m.directory;
    }
    return {};
}

}  // namespace

class TestMainWindow : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void initTestCase();
    void init();
    void opensOnModelPageWithBaseModel();
    void switchingShapeUpdatesTable();
    void badDirectoryKeepsPreviousModel();
    void settingsPersistAcrossInstances();
    void aboutNamesVersionLicenceAndCitation();
    void closingDuringSelfTestJoinsCleanly();
    void commandLineOptionsChoosePageAndModel();
    void keyboardShortcutsSwitchPagesAndRunSelfTest();
    void longStatusMessagesKeepTheirEnd();
    void screenshotModelPage();
};

void TestMainWindow::initTestCase() {
    ponet::gui::test::isolateSettings();
    QVERIFY2(!builtinDirectory(QStringLiteral("ponet-base-uncased")).isEmpty(),
             "the built-in shapes are missing: is PONET_RESOURCES_DIR set?");
}

void TestMainWindow::init() {
    QSettings().clear();
}

void TestMainWindow::opensOnModelPageWithBaseModel() {
    MainWindow w;
    w.show();
    // A first start opens on the Train page's ready example; the Model page shows the default shape.
    QCOMPARE(w.currentPage(), QStringLiteral("train"));
    w.showPage(QStringLiteral("model"));
    QCOMPARE(w.currentPage(), QStringLiteral("model"));
    QTRY_COMPARE_WITH_TIMEOUT(w.modelPage()->currentModelName(), QStringLiteral("ponet-base-uncased"),
                              kSummaryTimeoutMs);
    QCOMPARE(w.modelPage()->currentSummary()->total_parameters, kBaseParameters);
    auto* total = w.findChild<QLabel*>(QStringLiteral("totalParameters"));
    QVERIFY(total);
    QVERIFY2(total->text().contains(QStringLiteral("124,281,405")), qPrintable(total->text()));
    auto* combo = w.findChild<QComboBox*>(QStringLiteral("modelCombo"));
    QCOMPARE(combo->currentText(), QStringLiteral("ponet-base-uncased"));
    // Every built-in shape on disk is offered, and only those.
    QCOMPARE(combo->count(), static_cast<int>(ponet::gui::builtinModels().size()));
    // Only the pages that exist are listed: no dead entries.
    auto* pages = w.findChild<QListWidget*>(QStringLiteral("pageList"));
    QCOMPARE(pages->count(), static_cast<int>(MainWindow::pageIds().size()));
    QVERIFY(w.findChild<QPlainTextEdit*>(QStringLiteral("configJsonView"))
                ->toPlainText()
                .contains(QStringLiteral("\"hidden_size\"")));
    QVERIFY(w.logText().contains(QStringLiteral("ponet-base-uncased")));
    QVERIFY(w.windowTitle().contains(QStringLiteral("ponet-base-uncased")));
}

void TestMainWindow::switchingShapeUpdatesTable() {
    MainWindow w;
    w.show();
    QTRY_COMPARE_WITH_TIMEOUT(w.modelPage()->currentModelName(), QStringLiteral("ponet-base-uncased"),
                              kSummaryTimeoutMs);
    auto* table = w.findChild<QTableWidget*>(QStringLiteral("parameterGroupTable"));
    QVERIFY(table->rowCount() > 0);
    const QString baseFirstCount = table->item(0, 1)->text();

    auto* combo = w.findChild<QComboBox*>(QStringLiteral("modelCombo"));
    const int tiny = combo->findText(QStringLiteral("ponet-tiny"));
    QVERIFY(tiny >= 0);
    QSignalSpy shown(w.modelPage(), &ponet::gui::ModelPage::modelShown);
    combo->setCurrentIndex(tiny);
    Q_EMIT combo->activated(tiny);  // what a user's pick sends
    QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, kSummaryTimeoutMs);
    QCOMPARE(w.modelPage()->currentModelName(), QStringLiteral("ponet-tiny"));

    const ponet::ModelSummary summary = *w.modelPage()->currentSummary();
    QVERIFY(summary.total_parameters > 0 && summary.total_parameters < kBaseParameters);
    QCOMPARE(table->rowCount(), static_cast<int>(summary.groups.size()));
    QVERIFY(table->item(0, 1)->text() != baseFirstCount);
    qint64 sum = 0;
    for (const auto& g : summary.groups) sum += g.count;
    QCOMPARE(sum, summary.total_parameters);
    auto* total = w.findChild<QLabel*>(QStringLiteral("totalParameters"));
    QVERIFY(!total->text().contains(QStringLiteral("124,281,405")));
    QVERIFY(w.findChild<QPlainTextEdit*>(QStringLiteral("configJsonView"))
                ->toPlainText()
                .contains(QStringLiteral("\"hidden_size\": 128")));
}

void TestMainWindow::badDirectoryKeepsPreviousModel() {
    MainWindow w;
    w.show();
    QTRY_COMPARE_WITH_TIMEOUT(w.modelPage()->currentModelName(), QStringLiteral("ponet-base-uncased"),
                              kSummaryTimeoutMs);
    QVERIFY(w.modelPage()->errorText().isEmpty());
    QSignalSpy failed(w.modelPage(), &ponet::gui::ModelPage::loadFailed);

    QTemporaryDir empty;
    QVERIFY(!w.modelPage()->openModelDirectory(empty.path()));
    QCOMPARE(failed.count(), 1);
    QVERIFY2(w.modelPage()->errorText().contains(QStringLiteral("config.json")),
             qPrintable(w.modelPage()->errorText()));
    QCOMPARE(w.modelPage()->currentModelName(), QStringLiteral("ponet-base-uncased"));
    QCOMPARE(w.findChild<QComboBox*>(QStringLiteral("modelCombo"))->currentText(),
             QStringLiteral("ponet-base-uncased"));
    QVERIFY(w.findChild<QLabel*>(QStringLiteral("totalParameters"))
                ->text()
                .contains(QStringLiteral("124,281,405")));
    QVERIFY(w.logText().contains(QStringLiteral("config.json")));
}

void TestMainWindow::settingsPersistAcrossInstances() {
    const QString tinyDir = builtinDirectory(QStringLiteral("ponet-tiny"));
    QVERIFY(!tinyDir.isEmpty());
    QSize savedSize;
    {
        MainWindow first;
        first.show();
        QTRY_COMPARE_WITH_TIMEOUT(first.modelPage()->currentModelName(), QStringLiteral("ponet-base-uncased"),
                                  kSummaryTimeoutMs);
        first.resize(1240, 700);  // wider than the window's minimum with every page and the toolbar
        QVERIFY(first.modelPage()->openModelDirectory(tinyDir));
        QTRY_COMPARE_WITH_TIMEOUT(first.modelPage()->currentModelName(), QStringLiteral("ponet-tiny"),
                                  kSummaryTimeoutMs);
        first.modelPage()->setRequestedSequenceLength(256);
        QTRY_COMPARE_WITH_TIMEOUT(first.modelPage()->currentSummary()->seq_len, qint64(256),
                                  kSummaryTimeoutMs);
        first.selfTestPage()->setDeviceSelection(QStringLiteral("cpu"));
        first.showPage(QStringLiteral("selftest"));
        savedSize = first.size();  // the window's minimum size may round the height up
        QCOMPARE(savedSize.width(), 1240);
        QVERIFY(first.close());
    }
    MainWindow second;
    second.show();
    QCOMPARE(second.currentPage(), QStringLiteral("selftest"));
    QCOMPARE(second.selfTestPage()->deviceSelection(), QStringLiteral("cpu"));
    QCOMPARE(second.size(), savedSize);
    QCOMPARE(second.modelPage()->requestedSequenceLength(), 256);
    QTRY_COMPARE_WITH_TIMEOUT(second.modelPage()->currentModelName(), QStringLiteral("ponet-tiny"),
                              kSummaryTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(second.modelPage()->currentSummary()->seq_len, qint64(256), kSummaryTimeoutMs);
    QCOMPARE(second.modelPage()->currentModelDirectory(), QFileInfo(tinyDir).canonicalFilePath());
}

void TestMainWindow::aboutNamesVersionLicenceAndCitation() {
    MainWindow w;
    w.show();
    auto* about = w.findChild<QAction*>(QStringLiteral("aboutAction"));
    QVERIFY(about);
    QString text;
    // The About box is modal: read and close it from inside its own event loop.
    QTimer::singleShot(0, this, [&text] {
        auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
        if (!box) return;
        text = box->text();
        box->accept();
    });
    about->trigger();
    QVERIFY2(text.contains(QStringLiteral(PONET_VERSION)), qPrintable(text));
    QVERIFY(text.contains(QStringLiteral("GPL-3.0-or-later")));
    QVERIFY(
        text.contains(QStringLiteral("PoNet: Pooling Network for Efficient Token Mixing in Long Sequences")));
    QVERIFY(text.contains(QStringLiteral("ICLR")));
    QVERIFY(text.contains(QStringLiteral("2022")));
}

void TestMainWindow::closingDuringSelfTestJoinsCleanly() {
    capturedWarnings.clear();
    const QtMessageHandler previous = qInstallMessageHandler(captureWarnings);
    {
        // Closed before the worker has even started...
        auto w = std::make_unique<MainWindow>();
        w->show();
        w->runSelfTest();
        QVERIFY(w->selfTestPage()->isRunning());
        w->close();
    }
    {
        // ...and in the middle of the checks.
        auto w = std::make_unique<MainWindow>();
        w->show();
        w->selfTestPage()->setDeviceSelection(QStringLiteral("cpu"));
        w->runSelfTest();
        QTRY_VERIFY_WITH_TIMEOUT(w->selfTestPage()->results()->rowCount() > 0, 60000);
        w->close();
    }
    qInstallMessageHandler(previous);
    QVERIFY2(capturedWarnings.isEmpty(), qPrintable(capturedWarnings.join(QLatin1Char('\n'))));
}

void TestMainWindow::commandLineOptionsChoosePageAndModel() {
    const QString tinyDir = builtinDirectory(QStringLiteral("ponet-tiny"));
    {
        MainWindow w({QStringLiteral("selftest"), tinyDir});
        w.show();
        QCOMPARE(w.currentPage(), QStringLiteral("selftest"));
        QTRY_COMPARE_WITH_TIMEOUT(w.modelPage()->currentModelName(), QStringLiteral("ponet-tiny"),
                                  kSummaryTimeoutMs);
    }
    QSettings().clear();
    {
        // A bad --model says why and still shows the default shape.
        QTemporaryDir empty;
        MainWindow w({QString(), empty.path()});
        w.show();
        QTRY_COMPARE_WITH_TIMEOUT(w.modelPage()->currentModelName(), QStringLiteral("ponet-base-uncased"),
                                  kSummaryTimeoutMs);
        QVERIFY(w.modelPage()->errorText().contains(QStringLiteral("config.json")));
    }
}

void TestMainWindow::keyboardShortcutsSwitchPagesAndRunSelfTest() {
    MainWindow w;
    w.show();
    QApplication::setActiveWindow(&w);
    QVERIFY(QTest::qWaitForWindowActive(&w));
    QCOMPARE(w.currentPage(), QStringLiteral("train"));
    // Ctrl+N shows the N-th page of the list.
    const auto shortcut = [](const char* page) {
        return static_cast<Qt::Key>(Qt::Key_1 + MainWindow::pageIds().indexOf(QLatin1String(page)));
    };
    QTest::keyClick(&w, shortcut("selftest"), Qt::ControlModifier);
    QCOMPARE(w.currentPage(), QStringLiteral("selftest"));
    QTest::keyClick(&w, shortcut("model"), Qt::ControlModifier);
    QCOMPARE(w.currentPage(), QStringLiteral("model"));
    // The status bar names the Model page's model beside that page only (on the Train page a run's model is at work).
    const auto* modelStatus = w.statusBar()->findChild<QLabel*>(QStringLiteral("modelStatus"));
    QVERIFY(modelStatus);
    QVERIFY(modelStatus->isVisible());
    QTest::keyClick(&w, shortcut("train"), Qt::ControlModifier);
    QCOMPARE(w.currentPage(), QStringLiteral("train"));
    QVERIFY(!modelStatus->isVisible());

    QSignalSpy finished(w.selfTestPage(), &ponet::gui::SelfTestPage::finished);
    QTest::keyClick(&w, Qt::Key_F5);
    QCOMPARE(w.currentPage(), QStringLiteral("selftest"));
    QVERIFY(w.selfTestPage()->isRunning());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 300000);
    QCOMPARE(finished.at(0).at(1).toInt(), 0);
}

void TestMainWindow::longStatusMessagesKeepTheirEnd() {
    MainWindow w({QStringLiteral("train"), QString()});
    w.resize(900, 700);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    const QString dir = QStringLiteral("/home/someone/a/rather/deep/folder/of/experiments/for/the/thesis/chapter/three/"
                                       "second/attempt/after/the/holidays/runs/lra-20261126-153915");
    const QString text = QStringLiteral("Checkpoint at step 50: %1/checkpoints/step-50").arg(dir);
    Q_EMIT w.trainPage()->logMessage(text);
    const QString shown = w.statusBar()->currentMessage();
    // Cut in the middle to the room beside the permanent widgets: the step and the checkpoint's name stay.
    QVERIFY2(shown.startsWith(QStringLiteral("Checkpoint at step 50")), qPrintable(shown));
    QVERIFY2(shown.endsWith(QStringLiteral("checkpoints/step-50")), qPrintable(shown));
    QVERIFY2(shown.contains(QChar(0x2026)), qPrintable(shown));
    QVERIFY(w.statusBar()->fontMetrics().horizontalAdvance(shown) < w.statusBar()->width());
    QVERIFY(w.logText().contains(text));  // the log keeps it whole
    // A short message is shown as it is.
    Q_EMIT w.trainPage()->logMessage(QStringLiteral("Opened run x"));
    QCOMPARE(w.statusBar()->currentMessage(), QStringLiteral("Opened run x"));
}

void TestMainWindow::screenshotModelPage() {
    MainWindow w({QStringLiteral("model"), QString()});
    w.resize(1180, 760);
    w.show();
    QTRY_COMPARE_WITH_TIMEOUT(w.modelPage()->currentModelName(), QStringLiteral("ponet-base-uncased"),
                              kSummaryTimeoutMs);
    QTRY_VERIFY(!w.isBusy());
    const QImage image = w.grab().toImage();
    QVERIFY(!image.isNull());
    QVERIFY(ponet::gui::test::distinctColours(image) > 8);
    const QString path = ponet::gui::test::screenshotPath(QStringLiteral("studio-model.png"));
    QVERIFY(image.save(path));
    qInfo("screenshot: %s", qPrintable(path));
}

QTEST_MAIN(TestMainWindow)
#include "test_gui_main_window.moc"
