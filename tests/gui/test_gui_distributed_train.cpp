// The Train page's data-parallel runs, on the CPU with Gloo on loopback: "CPU processes (Gloo)" starts the real
// `ponet` launcher with 2 worker processes for a tiny ListOps model; the page follows the run through the run
// directory (the plots receive points, the per-rank view shows 2 ranks with positive tokens/s) and the run ends
// with a valid checkpoint. Stop in the middle ends it with a checkpoint at the step where it stopped, which a
// second 2-process launch continues. A killed worker ends the run with a message and a valid checkpoint; a killed
// app leaves a stopped run with a checkpoint. Failures (a dataset that is not there, no ponet program, no NCCL for
// "All local GPUs") become a readable message and the page stays usable. Skipped, with the reason, where this
// build's LibTorch has no c10d Gloo.
#include <QAction>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QtTest>

#include <signal.h>

#include <exception>
#include <vector>

#include "core/io/safetensors_format.h"
#include "core/train/launcher.h"
#include "core/train/run_directory.h"
#include "gui_test_support.h"
#include "widgets/distributed_run.h"
#include "widgets/metric_plot.h"
#include "widgets/rank_throughput_view.h"
#include "widgets/run_config_form.h"
#include "widgets/train_page.h"

using ponet::gui::DistributedRun;
using ponet::gui::TrainPage;

namespace {

constexpr int kRunTimeoutMs = 300000;

// A tiny ListOps run on the CPU: a few hundred generated examples, batch 8 split over the workers.
ponet::RunConfig tinyConfig(int64_t steps, int64_t checkpointEvery) {
    ponet::RunConfig c = ponet::load_preset("tiny-listops");
    c.data.dataset = "listops:train=200,dev=16,test=16,min_length=3,max_length=30,max_depth=3,seed=3";
    c.train.batch_size = 8;
    c.train.max_steps = steps;
    c.train.warmup_steps = 0;
    c.train.log_every = 2;
    c.train.eval_every = std::max<int64_t>(1, steps / 2);
    c.train.checkpoint_every = checkpointEvery;
    c.train.keep_last = 0;
    return c;
}

// What ponet resume relies on, read without LibTorch: step-<N>/ with config.json, a model.safetensors whose header
// and extents are valid, and trainer_state.json saying step N.
QString checkpointProblem(const QString& runDir, qint64 step) {
    const QDir dir(QDir(runDir).filePath(QStringLiteral("checkpoints/step-%1").arg(step)));
    if (!dir.exists()) return QStringLiteral("no folder %1").arg(dir.path());
    if (!QFileInfo::exists(dir.filePath(QStringLiteral("config.json")))) return QStringLiteral("no config.json");
    try {
        const ponet::StHeader h = ponet::read_safetensors_header(dir.filePath(QStringLiteral("model.safetensors")).toStdString());
        if (h.tensors.empty()) return QStringLiteral("model.safetensors holds no tensors");
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
    QFile state(dir.filePath(QStringLiteral("trainer_state.json")));
    if (!state.open(QIODevice::ReadOnly)) return QStringLiteral("no trainer_state.json");
    const qint64 saved = QJsonDocument::fromJson(state.readAll()).object().value(QLatin1String("step")).toInteger(-1);
    if (saved != step) return QStringLiteral("trainer_state.json says step %1").arg(saved);
    return {};
}

QString statusOf(const QString& runDir) {
    const auto s = ponet::RunDirectory::open(runDir.toStdString()).read_status();
    return s ? QString::fromStdString(ponet::to_string(s->state)) : QString();
}

}  // namespace

class TestDistributedTrain : public QObject {
    Q_OBJECT
  private:
    QTemporaryDir data_;
    QString ponet_;

    void prepare(TrainPage& page, const ponet::RunConfig& c) {
        page.setRunsDirectory(data_.path() + QStringLiteral("/runs"));
        page.form()->setConfig(c);
        page.setTask(c.task);
        page.resize(1280, 800);
        page.show();
    }

  private Q_SLOTS:
    void initTestCase() {
        ponet::gui::test::isolateSettings();
        std::string why;
        if (!ponet::c10d_backend_available("cpu", &why)) QSKIP(why.c_str());
        QVERIFY(data_.isValid());
        qputenv("PONET_DATA_DIR", data_.path().toUtf8());
        // Two workers on a 2-core machine: one thread each.
        qputenv("OMP_NUM_THREADS", "1");
        ponet_ = QFileInfo(QCoreApplication::applicationDirPath() + QStringLiteral("/../ponet")).absoluteFilePath();
        QVERIFY2(QFileInfo(ponet_).isExecutable(), qPrintable(QStringLiteral("no ponet binary at ") + ponet_));
        qputenv("PONET_CLI", ponet_.toUtf8());
    }

    void choices() {
        TrainPage page;
        auto* combo = page.findChild<QComboBox*>(QStringLiteral("parallelismCombo"));
        auto* spin = page.findChild<QSpinBox*>(QStringLiteral("processCount"));
        QVERIFY(combo && spin);
        QCOMPARE(page.parallelism(), TrainPage::Parallelism::ThisDevice);
        QCOMPARE(page.workerProcesses(), 1);
        // No GPUs: no "All local GPUs" entry, and asking for it says why.
        QCOMPARE(combo->findData(static_cast<int>(TrainPage::Parallelism::AllGpus)), -1);
        QVERIFY(!page.setParallelism(TrainPage::Parallelism::AllGpus));
        QVERIFY2(page.errorText().contains(QStringLiteral("2 CUDA devices")), qPrintable(page.errorText()));
        page.setLocalGpuCount(4);
        QVERIFY(combo->findData(static_cast<int>(TrainPage::Parallelism::AllGpus)) >= 0);
        QVERIFY(page.setParallelism(TrainPage::Parallelism::AllGpus));
        QCOMPARE(page.workerProcesses(), 4);
        QVERIFY(page.setParallelism(TrainPage::Parallelism::CpuProcesses, 3));
        QCOMPARE(page.workerProcesses(), 3);
        QVERIFY(!spin->isHidden());
        QVERIFY2(page.effectiveBatchText().contains(QStringLiteral("3 worker processes")),
                 qPrintable(page.effectiveBatchText()));
        QVERIFY(!page.setParallelism(TrainPage::Parallelism::CpuProcesses, 1));
        QVERIFY(page.setParallelism(TrainPage::Parallelism::ThisDevice));
        QVERIFY(spin->isHidden());
    }

    void twoCpuProcessesTrainToTheEnd() {
        TrainPage page;
        prepare(page, tinyConfig(12, 6));
        QVERIFY(page.setParallelism(TrainPage::Parallelism::CpuProcesses, 2));
        QSignalSpy finished(&page, &TrainPage::runFinished);
        QSignalSpy steps(page.distributedRun(), &DistributedRun::stepReported);
        QVERIFY2(page.startTraining(), qPrintable(page.errorText()));
        QVERIFY(page.isTraining());
        QVERIFY(!page.startAction()->isEnabled());
        QVERIFY(!page.pauseAction()->isEnabled());  // worker processes cannot hold between steps
        QVERIFY(page.stopAction()->isEnabled());
        QVERIFY(!page.rankView()->isHidden());
        QVERIFY(finished.wait(kRunTimeoutMs) || !finished.isEmpty());
        const auto outcome = finished.first().first().value<ponet::RunOutcome>();
        QVERIFY2(outcome.status == "finished", outcome.message.c_str());
        QCOMPARE(outcome.steps, int64_t{12});
        QVERIFY(page.errorText().isEmpty());
        QVERIFY(page.startAction()->isEnabled());

        // The same plots as an in-process run, from rank 0's metrics.jsonl: a point per logging step.
        QCOMPARE(steps.size(), 6);
        ponet::gui::MetricPlot* loss = page.plot(QStringLiteral("loss"));
        QVERIFY(loss);
        const QString run = page.activeRunName();
        QCOMPARE(loss->points(run, QStringLiteral("train")).size(), 6);
        QVERIFY(!loss->points(run, QStringLiteral("dev")).isEmpty());  // evaluations arrived too
        QCOMPARE(page.plot(QStringLiteral("throughput"))->points(run, QStringLiteral("tokens_per_second")).size(), 6);

        // Per-rank throughput: both ranks, each with tokens of its own.
        QCOMPARE(page.rankView()->worldSize(), 2);
        const QVector<double> ranks = page.rankView()->tokensPerSecond();
        QCOMPARE(ranks.size(), 2);
        QVERIFY2(ranks[0] > 0 && ranks[1] > 0, qPrintable(QStringLiteral("%1 %2").arg(ranks[0]).arg(ranks[1])));
        QCOMPARE(page.rankView()->step(), qint64{12});
        QVERIFY2(page.rankView()->summaryText().contains(QStringLiteral("World size 2")),
                 qPrintable(page.rankView()->summaryText()));

        const QString dir = page.activeRunDirectory();
        QCOMPARE(statusOf(dir), QStringLiteral("finished"));
        const QString problem = checkpointProblem(dir, 12);
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        QVERIFY(page.grab().save(ponet::gui::test::screenshotPath(QStringLiteral("train-distributed.png"))));

        // Opening the finished run from disk shows its ranks again.
        TrainPage other;
        QVERIFY(other.openRun(dir));
        QVERIFY(!other.rankView()->isHidden());
        QCOMPARE(other.rankView()->tokensPerSecond().size(), 2);
    }

    void stopInTheMiddleSavesACheckpointThatContinues() {
        TrainPage page;
        // Long enough that only Stop ends it; no periodic checkpoint, so the one found is Stop's.
        prepare(page, tinyConfig(100000, 0));
        QVERIFY(page.setParallelism(TrainPage::Parallelism::CpuProcesses, 2));
        QSignalSpy finished(&page, &TrainPage::runFinished);
        QVERIFY2(page.startTraining(), qPrintable(page.errorText()));
        QTRY_VERIFY_WITH_TIMEOUT(page.rankView()->step() >= 4, kRunTimeoutMs);
        page.stopTraining();
        QVERIFY(!page.stopAction()->isEnabled());
        QVERIFY(finished.wait(kRunTimeoutMs) || !finished.isEmpty());
        const auto outcome = finished.first().first().value<ponet::RunOutcome>();
        QVERIFY2(outcome.status == "stopped", outcome.message.c_str());
        QVERIFY(outcome.steps >= 4 && outcome.steps < 100000);
        const QString dir = page.activeRunDirectory();
        QCOMPARE(statusOf(dir), QStringLiteral("stopped"));
        const QString problem = checkpointProblem(dir, outcome.steps);
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        QVERIFY(page.continueAction()->isEnabled());

        // Continue: `ponet resume` on 2 workers again, from that checkpoint; stopped once more after new steps.
        finished.clear();
        QVERIFY2(page.continueActiveRun(), qPrintable(page.errorText()));
        QTRY_VERIFY_WITH_TIMEOUT(page.rankView()->step() >= outcome.steps + 2, kRunTimeoutMs);
        page.stopTraining();
        QVERIFY(finished.wait(kRunTimeoutMs) || !finished.isEmpty());
        const auto second = finished.first().first().value<ponet::RunOutcome>();
        QVERIFY2(second.status == "stopped", second.message.c_str());
        QVERIFY(second.steps > outcome.steps);
        QVERIFY(checkpointProblem(dir, second.steps).isEmpty());
    }

    // Stop at once, while ponet is still loading or its workers are: the run ends as stopped, not failed.
    void stopRightAfterStart() {
        TrainPage page;
        prepare(page, tinyConfig(100000, 0));
        QVERIFY(page.setParallelism(TrainPage::Parallelism::CpuProcesses, 2));
        QSignalSpy finished(&page, &TrainPage::runFinished);
        QVERIFY2(page.startTraining(), qPrintable(page.errorText()));
        page.stopTraining();
        QVERIFY(finished.wait(kRunTimeoutMs) || !finished.isEmpty());
        const auto outcome = finished.first().first().value<ponet::RunOutcome>();
        QVERIFY2(outcome.status == "stopped", outcome.message.c_str());
        QVERIFY(page.errorText().isEmpty());
        QVERIFY(!page.isTraining());
        QVERIFY(page.startAction()->isEnabled());

        // Again just after the launcher has started its workers, while they load.
        finished.clear();
        bool workersStarted = false;
        connect(&page, &TrainPage::logMessage, this, [&](const QString& text) {
            if (text.startsWith(QStringLiteral("launcher: started 2 workers"))) workersStarted = true;
        });
        QVERIFY2(page.startTraining(), qPrintable(page.errorText()));
        QTRY_VERIFY_WITH_TIMEOUT(workersStarted || !finished.isEmpty(), kRunTimeoutMs);
        page.stopTraining();
        QVERIFY(finished.wait(kRunTimeoutMs) || !finished.isEmpty());
        const auto second = finished.first().first().value<ponet::RunOutcome>();
        qInfo("stopped while starting: %s", second.message.c_str());
        QVERIFY2(second.status == "stopped", second.message.c_str());
        QVERIFY2(page.errorText().isEmpty(), qPrintable(page.errorText()));
    }

    void killedWorkerEndsTheRunWithAMessage() {
        TrainPage page;
        prepare(page, tinyConfig(100000, 3));
        QVERIFY(page.setParallelism(TrainPage::Parallelism::CpuProcesses, 2));
        QSignalSpy finished(&page, &TrainPage::runFinished);
        // The launcher's own lines reach the page's log: "launcher: rank 1: pid N ...".
        qint64 rank1 = 0;
        const QRegularExpression pidLine(QStringLiteral("rank 1: pid (\\d+)"));
        connect(&page, &TrainPage::logMessage, this, [&](const QString& text) {
            if (const auto m = pidLine.match(text); m.hasMatch()) rank1 = m.captured(1).toLongLong();
        });
        QVERIFY2(page.startTraining(), qPrintable(page.errorText()));
        QTRY_VERIFY_WITH_TIMEOUT(page.rankView()->step() >= 4, kRunTimeoutMs);
        QVERIFY(rank1 > 0);
        QCOMPARE(::kill(static_cast<pid_t>(rank1), SIGKILL), 0);
        QVERIFY(finished.wait(kRunTimeoutMs) || !finished.isEmpty());
        const auto outcome = finished.first().first().value<ponet::RunOutcome>();
        QCOMPARE(QString::fromStdString(outcome.status), QStringLiteral("failed"));
        qInfo("the page says: %s", qPrintable(page.errorText()));
        QVERIFY2(page.errorText().startsWith(QStringLiteral("The run failed: ")), qPrintable(page.errorText()));
        // The worker that failed first, as the launcher saw it, then what rank 0 saw.
        QVERIFY2(page.errorText().contains(QStringLiteral("rank 1 (pid %1) was killed by signal 9").arg(rank1)),
                 qPrintable(page.errorText()));
        QVERIFY(!page.isTraining());
        QVERIFY(page.startAction()->isEnabled());
        // The newest checkpoint rank 0 wrote before the failure is still whole.
        const QStringList saved = QDir(page.activeRunDirectory() + QStringLiteral("/checkpoints"))
                                      .entryList({QStringLiteral("step-*")}, QDir::Dirs, QDir::Name);
        QVERIFY(!saved.isEmpty());
        qint64 newest = 0;
        for (const QString& name : saved) newest = std::max(newest, name.mid(5).toLongLong());
        const QString problem = checkpointProblem(page.activeRunDirectory(), newest);
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
    }

    // The app killed outright (a crash, `kill -9`): the launcher gets SIGINT from the kernel as its parent dies,
    // so the workers stop as they would for Stop, with a checkpoint, instead of training on unwatched.
    void appThatDiesLeavesAStoppedRunWithACheckpoint() {
        const QString studio = QFileInfo(QCoreApplication::applicationDirPath() + QStringLiteral("/../ponet-studio"))
                                   .absoluteFilePath();
        if (!QFileInfo(studio).isExecutable()) QSKIP("ponet-studio is not built");
        QTemporaryDir home;
        QVERIFY(home.isValid());
        QProcess app;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("PONET_DATA_DIR"), home.path());
        env.insert(QStringLiteral("XDG_CONFIG_HOME"), home.filePath(QStringLiteral("config")));
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        app.setProcessEnvironment(env);
        app.setProcessChannelMode(QProcess::MergedChannels);
        // The first-run example (300 steps) on 2 CPU workers.
        app.start(studio, {QStringLiteral("--train"), QStringLiteral("--train-processes"), QStringLiteral("2")});
        QVERIFY(app.waitForStarted(30000));
        const QDir runs(home.filePath(QStringLiteral("runs")));
        auto runDir = [&] {
            const QStringList names = runs.entryList(QDir::Dirs | QDir::NoDotAndDotDot);
            return names.isEmpty() ? QString() : runs.filePath(names.first());
        };
        auto stepsLogged = [&] {
            QFile f(runDir() + QStringLiteral("/metrics.jsonl"));
            return f.open(QIODevice::ReadOnly) ? f.readAll().count("\"event\":\"step\"") : 0;
        };
        QTRY_VERIFY_WITH_TIMEOUT(stepsLogged() >= 1 || app.state() == QProcess::NotRunning, 120000);
        QVERIFY2(app.state() == QProcess::Running, app.readAll().constData());
        QCOMPARE(::kill(static_cast<pid_t>(app.processId()), SIGKILL), 0);
        QVERIFY(app.waitForFinished(30000));
        const QString dir = runDir();
        // The kernel sends the death signal once per thread of the app as each ends; the launcher counts the
        // burst as one interrupt, so the workers stop with a checkpoint instead of being ended by a second one.
        QTRY_VERIFY_WITH_TIMEOUT(statusOf(dir) != QStringLiteral("running"), 120000);
        const auto status = ponet::RunDirectory::open(dir.toStdString()).read_status();
        QVERIFY(status.has_value());
        QVERIFY2(status->state == ponet::RunState::Stopped, status->message.c_str());
        QVERIFY(status->step < 300);
        const QString problem = checkpointProblem(dir, status->step);
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
    }

    void failuresBecomeMessages() {
        TrainPage page;
        ponet::RunConfig c = tinyConfig(4, 0);
        c.data.dataset.clear();
        c.data.train = (data_.path() + QStringLiteral("/missing.jsonl")).toStdString();
        c.task = ponet::TaskKind::Finetune;
        prepare(page, c);
        QVERIFY(page.setParallelism(TrainPage::Parallelism::CpuProcesses, 2));
        QSignalSpy finished(&page, &TrainPage::runFinished);
        if (page.startTraining()) {
            QVERIFY(finished.wait(kRunTimeoutMs) || !finished.isEmpty());
            const auto outcome = finished.first().first().value<ponet::RunOutcome>();
            QCOMPARE(QString::fromStdString(outcome.status), QStringLiteral("failed"));
            QVERIFY2(outcome.message.find("missing.jsonl") != std::string::npos, outcome.message.c_str());
        }
        qInfo("the page says: %s", qPrintable(page.errorText()));
        // Either way the page says what is wrong and can start again.
        QVERIFY2(page.errorText().contains(QStringLiteral("missing.jsonl")), qPrintable(page.errorText()));
        QVERIFY(!page.isTraining());
        QVERIFY(page.startAction()->isEnabled());

        // No ponet program: a message naming it, nothing started.
        page.form()->setConfig(tinyConfig(4, 0));
        page.setTask(ponet::TaskKind::Lra);
        page.distributedRun()->setPonetExecutable(QString());
        QVERIFY(!page.startTraining());
        QVERIFY2(page.errorText().contains(QStringLiteral("ponet command-line program")), qPrintable(page.errorText()));
        QVERIFY(!page.isTraining());

        // "All local GPUs" in a build without NCCL (this CPU build) says so before launching anything.
        page.setLocalGpuCount(2);
        QVERIFY(page.setParallelism(TrainPage::Parallelism::AllGpus));
        std::string why;
        if (!ponet::c10d_backend_available("cuda", &why)) {
            QVERIFY(!page.startTraining());
            QVERIFY2(page.errorText().contains(QStringLiteral("NCCL")), qPrintable(page.errorText()));
        }
    }
};

QTEST_MAIN(TestDistributedTrain)
#include "test_gui_distributed_train.moc"
