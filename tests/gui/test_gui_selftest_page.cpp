// The Self-test page: a full run on the CPU passes, cancelling works at any point, and a screenshot is taken.
#include <QCheckBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableView>
#include <QtTest>

#include "gui_test_support.h"
#include "widgets/check_result_model.h"
#include "widgets/main_window.h"
#include "widgets/model_page.h"
#include "widgets/selftest_page.h"
#include "widgets/selftest_worker.h"

using ponet::gui::SelfTestPage;

namespace {
// A full CPU run takes well under a minute on the CI machine; leave room for slow builds.
constexpr int kRunTimeoutMs = 300000;
}  // namespace

class TestSelfTestPage : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void initTestCase();
    void runsToCompletionOnCpu();
    void cancelBeforeTheFirstCheck();
    void workerStopsAtTheNextCheckAfterCancel();
    void screenshotAfterRun();

  private:
    int fullCount_ = 0;
};

void TestSelfTestPage::initTestCase() {
    ponet::gui::test::isolateSettings();
}

void TestSelfTestPage::runsToCompletionOnCpu() {
    SelfTestPage page({QStringLiteral("cpu")});
    page.show();
    page.setDeviceSelection(QStringLiteral("cpu"));
    QCOMPARE(page.deviceSelection(), QStringLiteral("cpu"));
    QSignalSpy finished(&page, &SelfTestPage::finished);
    QSignalSpy running(&page, &SelfTestPage::runningChanged);
    auto* progress = page.findChild<QProgressBar*>(QStringLiteral("selfTestProgress"));
    QVERIFY(!progress->isVisible());  // no empty bar before the first run
    const QRect barRoom = progress->geometry();

    page.start();
    QVERIFY(page.isRunning());
    QVERIFY(progress->isVisible());
    QCOMPARE(progress->geometry(), barRoom);  // its room was kept: nothing moved
    QVERIFY(!page.findChild<QPushButton*>(QStringLiteral("runSelfTestButton"))->isEnabled());
    QVERIFY(page.findChild<QPushButton*>(QStringLiteral("cancelSelfTestButton"))->isEnabled());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kRunTimeoutMs);
    QCOMPARE(running.count(), 2);
    QVERIFY(!page.isRunning());

    const QList<QVariant> args = finished.takeFirst();
    const int passed = args.at(0).toInt();
    const int failed = args.at(1).toInt();
    QCOMPARE(args.at(2).toBool(), false);  // not cancelled
    const ponet::gui::CheckResultModel* results = page.results();
    QVERIFY(results->rowCount() > 10);
    for (int row = 0; row < results->rowCount(); ++row) {
        const ponet::CheckResult& r = results->result(row);
        QVERIFY2(r.passed, qPrintable(QString::fromStdString(ponet::format_result_line(r))));
        QCOMPARE(QString::fromStdString(r.device), QStringLiteral("cpu"));
    }
    QCOMPARE(failed, 0);
    QCOMPARE(passed, results->rowCount());
    QCOMPARE(page.summaryText(), QStringLiteral("%1 passed, 0 failed").arg(passed));
    QCOMPARE(progress->value(), progress->maximum());
    QVERIFY(page.findChild<QPushButton*>(QStringLiteral("runSelfTestButton"))->isEnabled());
    // The count is remembered so the next run's progress bar can be determinate.
    QCOMPARE(page.checkCounts().value(QStringLiteral("cpu")).toInt(), passed);

    // All passed, so "failures only" leaves nothing to show.
    auto* table = page.findChild<QTableView*>(QStringLiteral("selfTestTable"));
    QCOMPARE(table->model()->rowCount(), passed);
    page.findChild<QCheckBox*>(QStringLiteral("failuresOnlyCheck"))->setChecked(true);
    QCOMPARE(table->model()->rowCount(), 0);
    fullCount_ = passed;
}

void TestSelfTestPage::cancelBeforeTheFirstCheck() {
    QVERIFY2(fullCount_ > 0, "needs the full run's count");
    SelfTestPage page({QStringLiteral("cpu")});
    page.show();
    QSignalSpy finished(&page, &SelfTestPage::finished);
    page.start();
    // Clicked before the worker has (most likely) picked the run up; either way the run must stop early.
    QTest::mouseClick(page.findChild<QPushButton*>(QStringLiteral("cancelSelfTestButton")), Qt::LeftButton);
    QVERIFY(!page.findChild<QPushButton*>(QStringLiteral("cancelSelfTestButton"))->isEnabled());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kRunTimeoutMs);
    QCOMPARE(finished.at(0).at(2).toBool(), true);
    QVERIFY(page.results()->rowCount() < fullCount_);
    QVERIFY2(page.summaryText().contains(QStringLiteral("cancelled")), qPrintable(page.summaryText()));
    QVERIFY(!page.isRunning());

    // A cancelled run leaves the worker ready for the next one.
    page.start();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, kRunTimeoutMs);
    QCOMPARE(finished.at(1).at(2).toBool(), false);
    QCOMPARE(page.results()->rowCount(), fullCount_);
    QCOMPARE(page.results()->failed(), 0);
}

void TestSelfTestPage::workerStopsAtTheNextCheckAfterCancel() {
    QVERIFY2(fullCount_ > 0, "needs the full run's count");
    QThread thread;
    ponet::gui::SelfTestWorker worker;
    worker.moveToThread(&thread);
    thread.start();
    // Cancel from inside the first result's report, on the worker's thread: deterministic "mid-run".
    connect(
        &worker, &ponet::gui::SelfTestWorker::resultReady, &worker, [&worker] { worker.requestCancel(); },
        Qt::DirectConnection);
    int results = 0;
    int finished = 0;
    bool cancelled = false;
    connect(&worker, &ponet::gui::SelfTestWorker::resultReady, this, [&results] { ++results; });
    connect(&worker, &ponet::gui::SelfTestWorker::finished, this,
            [&](int, int, bool c, qint64) { ++finished, cancelled = c; });
    worker.rearm();
    QVERIFY(QMetaObject::invokeMethod(&worker, "run", Qt::QueuedConnection,
                                      Q_ARG(QStringList, QStringList{QStringLiteral("cpu")})));
    QTRY_COMPARE_WITH_TIMEOUT(finished, 1, kRunTimeoutMs);
    thread.quit();
    thread.wait();
    QVERIFY(cancelled);
    QVERIFY(results > 0);
    QVERIFY2(results < fullCount_,
             qPrintable(QStringLiteral("%1 of %2 checks ran").arg(results).arg(fullCount_)));
}

void TestSelfTestPage::screenshotAfterRun() {
    ponet::gui::MainWindow w;
    w.resize(1180, 760);
    w.show();
    QSignalSpy finished(w.selfTestPage(), &SelfTestPage::finished);
    w.runSelfTest();
    QCOMPARE(w.currentPage(), QStringLiteral("selftest"));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kRunTimeoutMs);
    QTRY_VERIFY_WITH_TIMEOUT(!w.isBusy(), kRunTimeoutMs);
    QVERIFY(w.selfTestPage()->summaryText().endsWith(QStringLiteral(" 0 failed")));
    const QImage image = w.grab().toImage();
    QVERIFY(!image.isNull());
    QVERIFY(ponet::gui::test::distinctColours(image) > 8);
    const QString path = ponet::gui::test::screenshotPath(QStringLiteral("studio-selftest.png"));
    QVERIFY(image.save(path));
    qInfo("screenshot: %s", qPrintable(path));
}

QTEST_MAIN(TestSelfTestPage)
#include "test_gui_selftest_page.moc"
