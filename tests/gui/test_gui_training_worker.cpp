// TrainingWorker: real tiny runs on the CPU driven from the GUI thread. A run reports every step, evaluation
// and checkpoint as signals in the GUI thread and finishes; Pause holds the loop between steps and Resume
// continues it; Stop ends the run at the step where it was held and saves that step's checkpoint, which the
// run then continues from; a corrupt dataset ends in a readable message; destroying the worker mid-run saves
// a checkpoint.
#include <QDir>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

#include "core/train/run_config.h"
#include "gui_test_support.h"
#include "widgets/training_worker.h"

using ponet::gui::TrainingWorker;

namespace {

constexpr int kRunTimeoutMs = 180000;

// The first-run example, cut down to a few short steps.
ponet::RunConfig tinyListOps(int64_t steps) {
    ponet::RunConfig c = ponet::load_preset("tiny-listops");
    c.data.dataset = "listops:train=256,dev=32,test=32,min_length=3,max_length=30,max_depth=3";
    c.train.device = "cpu";
    c.train.batch_size = 8;
    c.train.max_steps = steps;
    c.train.warmup_steps = 2;
    c.train.log_every = 1;
    c.train.eval_every = 5;
    c.train.checkpoint_every = 0;
    c.data.prefetch = 2;
    return c;
}

bool hasCheckpoint(const QString& runDir, qint64 step) {
    return QFile::exists(QDir(runDir).filePath(QStringLiteral("checkpoints/step-%1/model.safetensors").arg(step)));
}

ponet::RunOutcome outcomeOf(const QSignalSpy& finished) {
    return finished.isEmpty() ? ponet::RunOutcome() : finished.last().at(0).value<ponet::RunOutcome>();
}

}  // namespace

class TestTrainingWorker : public QObject {
    Q_OBJECT
  private:
    QTemporaryDir tmp_;
    QString dir(const char* name) const { return QDir(tmp_.path()).filePath(QLatin1String(name)); }

  private Q_SLOTS:
    void initTestCase() {
        ponet::gui::test::isolateSettings();
        QVERIFY(tmp_.isValid());
    }

    void runsToCompletionAndReportsEverything() {
        TrainingWorker worker;
        QSignalSpy steps(&worker, &TrainingWorker::stepReported);
        QSignalSpy evals(&worker, &TrainingWorker::evalReported);
        QSignalSpy checkpoints(&worker, &TrainingWorker::checkpointSaved);
        QSignalSpy logs(&worker, &TrainingWorker::logMessage);
        QSignalSpy finished(&worker, &TrainingWorker::finished);
        QSignalSpy states(&worker, &TrainingWorker::stateChanged);
        const QString run = dir("complete");
        QVERIFY(worker.start(tinyListOps(10), run));
        QCOMPARE(worker.state(), TrainingWorker::State::Running);
        QVERIFY(!worker.start(tinyListOps(10), dir("second")));  // one run at a time
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kRunTimeoutMs);
        const ponet::RunOutcome o = outcomeOf(finished);
        QVERIFY2(o.status == "finished", o.message.c_str());
        QCOMPARE(o.steps, int64_t{10});
        QCOMPARE(worker.state(), TrainingWorker::State::Idle);
        QCOMPARE(states.last().at(0).value<TrainingWorker::State>(), TrainingWorker::State::Idle);

        // Every step, in order, with the numbers the plots draw.
        QCOMPARE(steps.count(), 10);
        for (int i = 0; i < steps.count(); ++i) {
            const auto m = steps.at(i).at(0).value<ponet::StepMetrics>();
            QCOMPARE(m.step, int64_t{i + 1});
            QCOMPARE(m.max_steps, int64_t{10});
            QVERIFY(std::isfinite(m.loss) && m.loss > 0);
            QVERIFY(std::isfinite(m.accuracy));
            QVERIFY(i == 0 ? m.learning_rate == 0 : m.learning_rate > 0);  // warm-up starts at 0
            QVERIFY(m.tokens_per_second > 0);
        }
        // Dev evaluations at steps 5 and 10, then the test split once.
        QStringList splits;
        for (const auto& e : evals) splits << QString::fromStdString(e.at(0).value<ponet::EvalMetrics>().split);
        QCOMPARE(splits, (QStringList{"dev", "dev", "test"}));
        const auto dev = evals.at(0).at(0).value<ponet::EvalMetrics>();
        QCOMPARE(dev.step, int64_t{5});
        QVERIFY(dev.values.count("accuracy") && dev.values.count("macro_f1"));
        QVERIFY(!checkpoints.isEmpty());
        QVERIFY(hasCheckpoint(run, 10));
        QVERIFY(!logs.isEmpty());
        QVERIFY(QFile::exists(QDir(run).filePath(QStringLiteral("metrics.jsonl"))));
    }

    void pauseHoldsResumeContinuesStopSavesCheckpoint() {
        TrainingWorker worker;
        QSignalSpy steps(&worker, &TrainingWorker::stepReported);
        QSignalSpy paused(&worker, &TrainingWorker::pausedChanged);
        QSignalSpy checkpoints(&worker, &TrainingWorker::checkpointSaved);
        QSignalSpy finished(&worker, &TrainingWorker::finished);
        const QString run = dir("paused");
        QVERIFY(worker.start(tinyListOps(100000), run));
        QTRY_VERIFY_WITH_TIMEOUT(steps.count() >= 2, kRunTimeoutMs);

        worker.pause();
        QTRY_COMPARE_WITH_TIMEOUT(paused.count(), 1, kRunTimeoutMs);
        QCOMPARE(paused.at(0).at(0).toBool(), true);
        QCOMPARE(worker.state(), TrainingWorker::State::Paused);
        const qint64 heldAt = paused.at(0).at(1).toLongLong();
        QTRY_COMPARE_WITH_TIMEOUT(steps.last().at(0).value<ponet::StepMetrics>().step, int64_t{heldAt}, 10000);
        // Held: no step is taken while paused (the loop reports every step).
        QTest::qWait(400);
        QCOMPARE(steps.last().at(0).value<ponet::StepMetrics>().step, int64_t{heldAt});

        worker.resume();
        QTRY_COMPARE_WITH_TIMEOUT(paused.count(), 2, kRunTimeoutMs);
        QCOMPARE(paused.at(1).at(0).toBool(), false);
        QTRY_VERIFY_WITH_TIMEOUT(steps.last().at(0).value<ponet::StepMetrics>().step > heldAt + 1, kRunTimeoutMs);
        QCOMPARE(worker.state(), TrainingWorker::State::Running);

        // Pause again, then Stop: the run ends exactly at the held step, with that step's checkpoint.
        worker.pause();
        QTRY_COMPARE_WITH_TIMEOUT(paused.count(), 3, kRunTimeoutMs);
        const qint64 stopAt = paused.at(2).at(1).toLongLong();
        worker.stop();
        QCOMPARE(worker.state(), TrainingWorker::State::Stopping);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kRunTimeoutMs);
        const ponet::RunOutcome o = outcomeOf(finished);
        QVERIFY2(o.status == "stopped", o.message.c_str());
        QCOMPARE(o.steps, int64_t{stopAt});
        QVERIFY(!checkpoints.isEmpty());
        QCOMPARE(checkpoints.last().at(0).value<ponet::CheckpointEvent>().step, int64_t{stopAt});
        QVERIFY(hasCheckpoint(run, stopAt));

        // The stopped run continues from that checkpoint.
        QSignalSpy again(&worker, &TrainingWorker::stepReported);
        QVERIFY(worker.continueRun(run));
        QTRY_VERIFY_WITH_TIMEOUT(!again.isEmpty(), kRunTimeoutMs);
        QCOMPARE(again.first().at(0).value<ponet::StepMetrics>().step, int64_t{stopAt + 1});
        worker.stop();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, kRunTimeoutMs);
        QCOMPARE(outcomeOf(finished).status, std::string("stopped"));
    }

    void corruptDatasetEndsInAMessage() {
        const QString data = dir("corrupt.jsonl");
        {
            QFile f(data);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("{\"text\": \"a fine document\", \"label\": \n");  // cut off mid-object
            f.write("\x00\x01\x02\xff garbage \xfe\n", 16);
            f.write("[1, 2, 3]\n");
        }
        ponet::RunConfig c = tinyListOps(5);
        c.task = ponet::TaskKind::Finetune;
        c.data.dataset.clear();
        c.data.train = data.toStdString();
        c.data.format = "jsonl";
        c.model.preset = "ponet-tiny";
        TrainingWorker worker;
        QSignalSpy finished(&worker, &TrainingWorker::finished);
        QVERIFY(worker.start(c, dir("corrupt-run")));
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kRunTimeoutMs);
        const ponet::RunOutcome o = outcomeOf(finished);
        QCOMPARE(o.status, std::string("failed"));
        qInfo("message: %s", o.message.c_str());
        QVERIFY2(QString::fromStdString(o.message).contains(QStringLiteral("corrupt.jsonl")), o.message.c_str());
        // The worker is ready for the next run.
        QCOMPARE(worker.state(), TrainingWorker::State::Idle);
        QSignalSpy again(&worker, &TrainingWorker::finished);
        QVERIFY(worker.start(tinyListOps(2), dir("after-corrupt")));
        QTRY_COMPARE_WITH_TIMEOUT(again.count(), 1, kRunTimeoutMs);
        QCOMPARE(outcomeOf(again).status, std::string("finished"));
    }

    void destroyingTheWorkerMidRunSavesACheckpoint() {
        const QString run = dir("destroyed");
        {
            auto worker = std::make_unique<TrainingWorker>();
            QSignalSpy steps(worker.get(), &TrainingWorker::stepReported);
            QVERIFY(worker->start(tinyListOps(100000), run));
            QTRY_VERIFY_WITH_TIMEOUT(steps.count() >= 2, kRunTimeoutMs);
        }  // the destructor stops the run and waits for its checkpoint
        const QStringList saved = QDir(QDir(run).filePath(QStringLiteral("checkpoints")))
                                      .entryList({QStringLiteral("step-*")}, QDir::Dirs | QDir::NoDotAndDotDot);
        QVERIFY2(!saved.isEmpty(), qPrintable(run));
        QFile status(QDir(run).filePath(QStringLiteral("status.json")));
        QVERIFY(status.open(QIODevice::ReadOnly));
        QVERIFY(status.readAll().contains("\"stopped\""));
    }
};

QTEST_MAIN(TestTrainingWorker)
#include "test_gui_training_worker.moc"
