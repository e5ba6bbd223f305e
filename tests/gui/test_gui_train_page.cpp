// The Train page inside the main window: the first start opens on the ready ListOps example; Start trains it
// and the plots and the status bar follow the run while the event loop stays responsive (a timer watchdog);
// the form is generated from the option table and checks what is typed; the schedule preview and effective
// batch follow the form; closing the window mid-run saves a checkpoint first; a corrupt dataset shows its
// message and the page stays usable; settings and recent runs persist across a restart.
#include <QAction>
#include <QComboBox>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenu>
#include <QProgressBar>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTimer>
#include <algorithm>
#include <ctime>
#include <functional>
#include <vector>
#include <QtTest>

#include "gui_test_support.h"
#include "widgets/main_window.h"
#include "widgets/metric_plot.h"
#include "widgets/plot_controls.h"
#include "widgets/qcp.h"
#include "widgets/run_config_form.h"
#include "widgets/train_page.h"
#include "widgets/training_worker.h"

using ponet::gui::MainWindow;
using ponet::gui::MetricPlot;
using ponet::gui::TrainPage;
using ponet::gui::TrainingWorker;

namespace {

constexpr int kRunTimeoutMs = 240000;

// Ticks a 5 ms timer on the GUI thread and records, between every two ticks, the wall-clock gap and the CPU time
// the GUI thread itself used: the work our code did there (handling the worker's signals, redrawing plots,
// painting) while the event loop could not turn. The wall-clock gap is reported but not held to a bound: on
// this project's machines (virtual, two cores, shared) a bare poll() loop with a 5 ms timeout and nothing else
// running saw its wake-up arrive 18 ms late with no run-queue wait reported, and CI runs of this test saw single
// gaps of 61 and 73 ms. Such a pause of the virtual CPU can also land while the thread is on the CPU (perf took
// 2 samples of the GUI thread, at 4 kHz, in a stretch the thread's CPU clock counted as 15 ms), so the test
// allows one long interval (see its bound). Waiting on a lock or a disk inside a handler would not show as CPU
// time; the GUI thread has no such waits while a run goes on (the worker's finished handler joins the thread
// after it has ended).
class EventLoopWatchdog : public QObject {
  public:
    EventLoopWatchdog() {
        timer_.setInterval(5);
        timer_.setTimerType(Qt::PreciseTimer);
        QObject::connect(&timer_, &QTimer::timeout, this, [this] {
            const qint64 now = clock_.nsecsElapsed();
            const qint64 cpu = threadCpuNs();
            if (last_ >= 0) {
                const qint64 gap = now - last_;
                const qint64 busy = cpu - lastCpu_;
                maxGapNs_ = std::max(maxGapNs_, gap);
                busy_.push_back(busy);
                if (busy > maxBusyNs_) {
                    maxBusyNs_ = busy;
                    worstAt_ = QStringLiteral("%1 ms after start").arg(static_cast<double>(now) / 1e6, 0, 'f', 1);
                    if (context_) worstAt_ += QStringLiteral(", ") + context_();
                }
            }
            last_ = now;
            lastCpu_ = cpu;
            ++ticks_;
        });
    }
    void start() {
        clock_.start();
        last_ = -1;
        maxGapNs_ = maxBusyNs_ = 0;
        busy_.clear();
        ticks_ = 0;
        timer_.start();
    }
    void stop() { timer_.stop(); }
    double maxGapMs() const { return static_cast<double>(maxGapNs_) / 1e6; }
    // The most CPU time the GUI thread spent between two ticks.
    double maxBusyMs() const { return static_cast<double>(maxBusyNs_) / 1e6; }
    int ticks() const { return ticks_; }
    // The busy time that only `count` intervals exceed.
    double busyMsExceededBy(int count) const {
        if (busy_.size() <= static_cast<size_t>(count)) return 0;
        std::vector<qint64> sorted = busy_;
        std::sort(sorted.begin(), sorted.end(), std::greater<>());
        return static_cast<double>(sorted[static_cast<size_t>(count)]) / 1e6;
    }
    // Where the longest busy stretch ended: the time and what the test says was happening then.
    QString worstAt() const { return worstAt_; }
    void setContext(std::function<QString()> context) { context_ = std::move(context); }

  private:
    static qint64 threadCpuNs() {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return static_cast<qint64>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
    }
    QTimer timer_;
    QElapsedTimer clock_;
    qint64 last_ = -1, lastCpu_ = 0, maxGapNs_ = 0, maxBusyNs_ = 0;
    int ticks_ = 0;
    std::vector<qint64> busy_;
    QString worstAt_;
    std::function<QString()> context_;
};

void setOption(TrainPage* page, const char* key, const QString& value) {
    QString error;
    QVERIFY2(page->form()->setValue(QString::fromLatin1(key), value, &error), qPrintable(error));
}

// The example, shortened for a test.
void shortRun(TrainPage* page, int steps, int logEvery = 1) {
    setOption(page, "data.dataset",
              QStringLiteral("listops:train=512,dev=64,test=64,min_length=3,max_length=30,max_depth=3"));
    setOption(page, "train.warmup_steps", QStringLiteral("2"));
    setOption(page, "train.max_steps", QString::number(steps));
    setOption(page, "train.batch_size", QStringLiteral("8"));
    setOption(page, "train.log_every", QString::number(logEvery));
    setOption(page, "train.eval_every", QString::number(std::max(1, steps / 2)));
}

QStringList checkpointsOf(const QString& runDir) {
    return QDir(QDir(runDir).filePath(QStringLiteral("checkpoints")))
        .entryList({QStringLiteral("step-*")}, QDir::Dirs | QDir::NoDotAndDotDot);
}

}  // namespace

class TestTrainPage : public QObject {
    Q_OBJECT
  private:
    QTemporaryDir data_;

  private Q_SLOTS:
    void initTestCase() {
        ponet::gui::test::isolateSettings();
        QVERIFY(data_.isValid());
        // Runs go to this test's own data folder.
        qputenv("PONET_DATA_DIR", data_.path().toUtf8());
    }
    void init() { QSettings().clear(); }

    void firstStartOpensOnTheListOpsExample() {
        MainWindow w;
        w.show();
        QCOMPARE(w.currentPage(), QStringLiteral("train"));
        TrainPage* page = w.trainPage();
        QCOMPARE(page->presetName(), QStringLiteral("tiny-listops"));
        QCOMPARE(page->task(), ponet::TaskKind::Lra);
        QVERIFY(page->form()->valueText(QStringLiteral("data.dataset")).startsWith(QStringLiteral("listops")));
        QVERIFY(page->startAction()->isEnabled());
        QVERIFY(!page->pauseAction()->isEnabled());
        QVERIFY(!page->stopAction()->isEnabled());
        QCOMPARE(page->runsDirectory(), QDir(data_.path()).filePath(QStringLiteral("runs")));
        // The LRA plots: loss, accuracy, macro-F1, learning rate, throughput.
        QCOMPARE(page->plots().size(), 5);
        QVERIFY(page->plot(QStringLiteral("macro_f1")));
        // Navigation lists only pages that exist, the toolbar carries the run's controls.
        QCOMPARE(w.findChild<QListWidget*>(QStringLiteral("pageList"))->count(), MainWindow::pageIds().size());
        QVERIFY(MainWindow::pageIds().contains(QStringLiteral("train")));
        QVERIFY(w.findChild<QLabel*>(QStringLiteral("activeRunLabel")));
        auto* device = w.findChild<QComboBox*>(QStringLiteral("deviceCombo"));
        QCOMPARE(device->itemData(0).toString(), QStringLiteral("cpu"));
        QVERIFY2(device->itemText(0).contains(QStringLiteral("RAM")), qPrintable(device->itemText(0)));
        QCOMPARE(w.computeDevice(), QStringLiteral("cpu"));
    }

    void formIsGeneratedFromTheOptionTableAndChecksInput() {
        TrainPage page;
        ponet::gui::RunConfigForm* form = page.form();
        // Every option has a field except those the page shows elsewhere.
        for (const ponet::OptionInfo& o : ponet::run_options()) {
            const QString key = QString::fromStdString(o.key);
            if (key == QLatin1String("task") || key == QLatin1String("train.device")) {
                QVERIFY(!form->fieldFor(key));
                continue;
            }
            QWidget* field = form->fieldFor(key);
            QVERIFY2(field, qPrintable(key));
            QVERIFY(field->toolTip().contains(QString::fromStdString(o.help).toHtmlEscaped()));
        }
        QSignalSpy validity(form, &ponet::gui::RunConfigForm::validityChanged);
        QString error;
        QVERIFY(!form->setValue(QStringLiteral("train.lr"), QStringLiteral("fast"), &error));
        QVERIFY2(error.contains(QStringLiteral("train.lr")), qPrintable(error));
        QVERIFY(!page.startAction()->isEnabled());
        QCOMPARE(validity.count(), 1);
        QCOMPARE(form->config().train.lr, 1e-3);  // the last good value stays
        QVERIFY(!page.startTraining());
        QVERIFY2(page.errorText().contains(QStringLiteral("train.lr")), qPrintable(page.errorText()));
        QVERIFY(form->setValue(QStringLiteral("train.lr"), QStringLiteral("3e-4")));
        QCOMPARE(form->config().train.lr, 3e-4);
        QVERIFY(page.startAction()->isEnabled());

        // A value that contradicts another field is marked until that field is changed too.
        QVERIFY(!form->setValue(QStringLiteral("train.max_steps"), QStringLiteral("10"), &error));
        QVERIFY2(error.contains(QStringLiteral("warmup_steps")), qPrintable(error));
        QVERIFY(!page.startAction()->isEnabled());
        QVERIFY(form->setValue(QStringLiteral("train.warmup_steps"), QStringLiteral("5")));
        QVERIFY(form->errors().isEmpty());
        QCOMPARE(form->config().train.max_steps, int64_t{10});
        QVERIFY(page.startAction()->isEnabled());

        // Effective batch and schedule preview follow the form.
        QVERIFY(form->setValue(QStringLiteral("train.batch_size"), QStringLiteral("16")));
        QVERIFY(form->setValue(QStringLiteral("train.grad_accum"), QStringLiteral("4")));
        QVERIFY2(page.effectiveBatchText().contains(QStringLiteral("<b>64</b>")), qPrintable(page.effectiveBatchText()));
        QCPGraph* lr = page.schedulePreview()->graph(0);
        QVERIFY(lr->dataCount() > 10);
        auto lastValue = [lr] { return (lr->data()->constEnd() - 1)->value; };
        QCOMPARE(lastValue(), 0.0);  // linear decays to zero
        QVERIFY(form->setValue(QStringLiteral("train.schedule"), QStringLiteral("constant")));
        QCOMPARE(lastValue(), 3e-4);
    }

    void startTrainsWithLivePlotsAndAResponsiveGui() {
        MainWindow w;
        w.resize(1280, 800);
        w.show();
        TrainPage* page = w.trainPage();
        shortRun(page, 30);
        // The window's first paint (fonts rasterised, every widget laid out) comes with showing it, not with
        // training: it is over before the watchdog starts.
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        w.repaint();
        QCoreApplication::processEvents();
        MetricPlot* loss = page->plot(QStringLiteral("loss"));
        QSignalSpy points(loss, &MetricPlot::pointsAppended);
        QSignalSpy redrawn(loss, &MetricPlot::redrawn);
        QSignalSpy finished(page->worker(), &TrainingWorker::finished);
        EventLoopWatchdog watchdog;
        watchdog.setContext([&] {
            return QStringLiteral("%1 points and %2 redraws of the loss plot in, run %3")
                .arg(points.count())
                .arg(redrawn.count())
                .arg(finished.isEmpty() ? QStringLiteral("going") : QStringLiteral("finished"));
        });
        watchdog.start();
        page->startAction()->trigger();
        QVERIFY(page->isTraining());
        QVERIFY(page->stopAction()->isEnabled());
        QVERIFY(!page->startAction()->isEnabled());
        // QSignalSpy::wait runs a real event loop, as the application does; QTRY_* would sleep 10 ms at a time
        // between its polls and hold the watchdog's ticks back.
        QVERIFY(finished.count() == 1 || finished.wait(kRunTimeoutMs));
        watchdog.stop();
        QCOMPARE(finished.count(), 1);
        const auto outcome = finished.at(0).at(0).value<ponet::RunOutcome>();
        QVERIFY2(outcome.status == "finished", outcome.message.c_str());

        // Every step reached the plots; the evaluations too, as their own series.
        const QString run = page->activeRunName();
        QVERIFY(run.startsWith(QStringLiteral("lra-")));
        QCOMPARE(loss->points(run, QStringLiteral("train")).size(), 30);
        QCOMPARE(loss->points(run, QStringLiteral("dev")).size(), 2);
        QVERIFY(points.count() >= 32);
        // Drawn on the UI timer (test_gui_metric_plot shows that points arriving together draw once).
        QVERIFY(redrawn.count() >= 1);
        QCOMPARE(page->plot(QStringLiteral("lr"))->points(run, QStringLiteral("lr")).size(), 30);
        QCOMPARE(page->plot(QStringLiteral("throughput"))->points(run, QStringLiteral("tokens_per_second")).size(), 30);
        QCOMPARE(page->plot(QStringLiteral("macro_f1"))->points(run, QStringLiteral("dev")).size(), 2);
        QCOMPARE(page->plot(QStringLiteral("accuracy"))->points(run, QStringLiteral("test")).size(), 1);
        QVERIFY(!loss->readoutAt(15).isEmpty());

        auto* progress = w.findChild<QProgressBar*>(QStringLiteral("trainingProgress"));
        QCOMPARE(progress->value(), 30);
        QCOMPARE(progress->maximum(), 30);
        QVERIFY(w.findChild<QLabel*>(QStringLiteral("speedStatus"))->text().contains(QStringLiteral("tokens/s")));
        QVERIFY(w.findChild<QLabel*>(QStringLiteral("activeRunLabel"))->text().contains(run));
        QVERIFY(page->startAction()->isEnabled());
        QVERIFY(w.recentRuns().contains(page->activeRunDirectory()));
        QVERIFY(checkpointsOf(page->activeRunDirectory()).contains(QStringLiteral("step-30")));

        qInfo("event loop: %d ticks; longest wall-clock gap %.1f ms; most GUI-thread CPU time between two ticks "
              "%.1f ms, ending %s; 2nd %.1f, 5th %.1f, 10th %.1f ms",
              watchdog.ticks(), watchdog.maxGapMs(), watchdog.maxBusyMs(), qPrintable(watchdog.worstAt()),
              watchdog.busyMsExceededBy(1), watchdog.busyMsExceededBy(4), watchdog.busyMsExceededBy(9));
        QVERIFY(watchdog.ticks() > 10);
        // Work our code does on the GUI thread recurs (every step, every redraw) or happens at start and finish; a
        // pause of the virtual machine lands once, anywhere. So the bound holds for every interval but the longest,
        // and the longest still may not reach five times the bound.
        QVERIFY2(watchdog.busyMsExceededBy(1) < 50.0,
                 qPrintable(QStringLiteral("the GUI thread was busy for %1 ms more than once; the longest: %2 ms, ending %3")
                                .arg(watchdog.busyMsExceededBy(1))
                                .arg(watchdog.maxBusyMs())
                                .arg(watchdog.worstAt())));
        QVERIFY2(watchdog.maxBusyMs() < 250.0, qPrintable(QStringLiteral("the GUI thread was busy for %1 ms, ending %2")
                                                               .arg(watchdog.maxBusyMs())
                                                               .arg(watchdog.worstAt())));
    }

    void closingMidRunSavesACheckpointFirst() {
        auto w = std::make_unique<MainWindow>();
        w->show();
        TrainPage* page = w->trainPage();
        shortRun(page, 100000);
        QSignalSpy steps(page->worker(), &TrainingWorker::stepReported);
        QSignalSpy finished(page->worker(), &TrainingWorker::finished);
        QVERIFY(page->startTraining());
        const QString run = page->activeRunDirectory();
        QTRY_VERIFY_WITH_TIMEOUT(steps.count() >= 2, kRunTimeoutMs);
        QVERIFY(!w->close());       // held open until the checkpoint is written...
        QVERIFY(w->isVisible());
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kRunTimeoutMs);
        QTRY_VERIFY(!w->isVisible());  // ...then it closes by itself
        QCOMPARE(finished.at(0).at(0).value<ponet::RunOutcome>().status, std::string("stopped"));
        QVERIFY(!checkpointsOf(run).isEmpty());
    }

    void corruptDatasetShowsItsMessageAndThePageStaysUsable() {
        QTemporaryDir tmp;
        const QString data = tmp.filePath(QStringLiteral("broken.jsonl"));
        {
            QFile f(data);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("{\"text\": \"cut off\n\x01\x02\x03\n");
        }
        TrainPage page;
        page.setRunsDirectory(tmp.path());
        page.setTask(ponet::TaskKind::Finetune);
        setOption(&page, "data.dataset", QString());
        setOption(&page, "data.train", data);
        setOption(&page, "model.preset", QStringLiteral("ponet-tiny"));
        QSignalSpy finished(page.worker(), &TrainingWorker::finished);
        QVERIFY(page.startTraining());
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kRunTimeoutMs);
        QVERIFY2(page.errorText().contains(QStringLiteral("broken.jsonl")), qPrintable(page.errorText()));
        QVERIFY(page.startAction()->isEnabled());
        QVERIFY(page.form()->isEnabled());

        // A run folder that is not one says so.
        QVERIFY(!page.openRun(tmp.filePath(QStringLiteral("nothing-here"))));
        QVERIFY(page.errorText().contains(QStringLiteral("config.json")));
    }

    void settingsAndRecentRunsPersistAcrossARestart() {
        QString runDir;
        {
            MainWindow first;
            first.show();
            TrainPage* page = first.trainPage();
            shortRun(page, 4, 1);
            setOption(page, "train.lr", QStringLiteral("2e-3"));
            ponet::gui::PlotStyle style;
            style.logY = true;
            style.xAxis = ponet::gui::XAxisKind::Epoch;
            style.smoothing = ponet::gui::Smoothing::MovingAverage;
            style.window = 7;
            page->plotControls()->setPlotStyle(style);
            QSignalSpy finished(page->worker(), &TrainingWorker::finished);
            QVERIFY(page->startTraining());
            QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kRunTimeoutMs);
            runDir = page->activeRunDirectory();
            first.showPage(QStringLiteral("selftest"));
            QVERIFY(first.close());
        }
        MainWindow second;
        second.show();
        QCOMPARE(second.currentPage(), QStringLiteral("selftest"));
        TrainPage* page = second.trainPage();
        QCOMPARE(page->form()->config().train.lr, 2e-3);
        QCOMPARE(page->form()->config().train.max_steps, int64_t{4});
        const ponet::gui::PlotStyle style = page->plotControls()->plotStyle();
        QVERIFY(style.logY);
        QCOMPARE(style.xAxis, ponet::gui::XAxisKind::Epoch);
        QCOMPARE(style.smoothing, ponet::gui::Smoothing::MovingAverage);
        QCOMPARE(style.window, 7);
        QVERIFY(page->plot(QStringLiteral("loss"))->plotStyle().logY);
        QCOMPARE(second.recentRuns().value(0), runDir);

        // The recent run opens with its curves from metrics.jsonl.
        auto* recent = second.findChild<QMenu*>(QStringLiteral("recentRunsMenu"));
        QVERIFY(recent && !recent->actions().isEmpty());
        recent->actions().first()->trigger();
        QCOMPARE(second.currentPage(), QStringLiteral("train"));
        QCOMPARE(page->activeRunDirectory(), runDir);
        QCOMPARE(page->plot(QStringLiteral("loss"))->points(page->activeRunName(), QStringLiteral("train")).size(), 4);
        QVERIFY(!page->continueAction()->isEnabled());  // finished runs have nothing to continue
    }
};

QTEST_MAIN(TestTrainPage)
#include "test_gui_train_page.moc"
