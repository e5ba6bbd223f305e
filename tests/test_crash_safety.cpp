// Crash safety of a real training process: `ponet lra` on a generated ListOps task with a tiny model and a
// checkpoint every few steps is SIGKILLed while it writes a checkpoint and at random moments; after every kill
// each file of the run directory still loads and `ponet resume` continues from the newest complete
// checkpoint. A full disk (RLIMIT_FSIZE in the child) during a checkpoint write fails with a message, leaves
// the previous checkpoint intact, and the run completes once the limit is gone.
// PONET_CRASH_KILLS=N (default 3) sets the number of random kills; tests/crash/kill-loop.sh runs many.
#include <signal.h>
#include <sys/resource.h>

#include <QCoreApplication>
#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest>

#include <fstream>
#include <sstream>
#include <string>

#include "core/io/safetensors.h"
#include "core/model/model_config.h"
#include "core/train/checkpoint.h"
#include "core/train/run_config.h"
#include "core/train/run_directory.h"

namespace {

struct Finished {
    int exitCode = -1;  // -1: killed or did not finish
    QString output;
};

std::string slurp(const QString& path) {
    std::ifstream in(path.toStdString(), std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

class TestCrashSafety : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    void initTestCase();
    void killInsideCheckpointWrite();
    void randomKillsThenResume();
    void diskFullDuringCheckpoint();

  private:
    QStringList trainArgs(const QString& runDir, int maxSteps) const;
    void start(QProcess& p, const QStringList& args, int delayMs = 0);
    Finished finish(QProcess& p, int timeoutMs = 300000);
    Finished ponet(const QStringList& args, int timeoutMs = 300000);
    // Every file of the run directory loads; returns the newest complete checkpoint step (-1: none).
    int64_t verifyRunDirectory(const QString& runDir);
    void resumeToTheEnd(const QString& runDir, int maxSteps, int64_t newestBefore);

    QString binary_;
    QTemporaryDir tmp_;
};

void TestCrashSafety::initTestCase() {
    binary_ = QFileInfo(QCoreApplication::applicationDirPath() + "/../ponet").absoluteFilePath();
    QVERIFY2(QFileInfo(binary_).isExecutable(),
             qPrintable("the ponet binary is not at " + binary_ + "; build the 'ponet' target first"));
    QVERIFY(tmp_.isValid());
}

// Short sequences (3..30 symbols) and a 2-layer, 32-wide model: a step takes milliseconds on a CPU, so the
// time goes into checkpoints, which is where the kills should land.
QStringList TestCrashSafety::trainArgs(const QString& runDir, int maxSteps) const {
    QStringList a = {"lra", "--preset", "lra-listops", "--run-dir", runDir};
    for (const char* s : {"data.dataset=listops:train=400,dev=32,test=32,min_length=3,max_length=30,max_depth=3",
                          "model.max_length=32", "model.hidden_size=32", "model.num_layers=2", "model.num_heads=2",
                          "model.intermediate_size=64", "train.batch_size=16", "train.warmup_steps=5",
                          "train.eval_every=10", "train.eval_batches=1", "train.checkpoint_every=3",
                          "train.keep_last=2", "train.precision=fp32", "train.device=cpu", "train.log_every=3"})
        a << "--set" << s;
    a << "--set" << QString("train.max_steps=%1").arg(maxSteps);
    return a;
}

void TestCrashSafety::start(QProcess& p, const QStringList& args, int delayMs) {
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("OMP_NUM_THREADS", "1");
    if (delayMs > 0)
        env.insert("PONET_FAULT_WRITE_DELAY_MS", QString::number(delayMs));
    else
        env.remove("PONET_FAULT_WRITE_DELAY_MS");
    p.setProcessEnvironment(env);
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(binary_, args);
    QVERIFY2(p.waitForStarted(30000), qPrintable(p.errorString()));
}

Finished TestCrashSafety::finish(QProcess& p, int timeoutMs) {
    Finished f;
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished(10000);
    }
    f.output = QString::fromUtf8(p.readAll());
    f.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    return f;
}

Finished TestCrashSafety::ponet(const QStringList& args, int timeoutMs) {
    QProcess p;
    start(p, args);
    return finish(p, timeoutMs);
}

int64_t TestCrashSafety::verifyRunDirectory(const QString& runDir) {
    const std::string dir = runDir.toStdString();
    int64_t newest = -1;
    if (!QFileInfo::exists(runDir + "/config.json") && !QFileInfo::exists(runDir + "/status.json")) {
        // Killed during start-up, before the run wrote its configuration: there must be nothing to resume.
        if (!ponet::list_checkpoints(dir).empty()) {
            QTest::qFail("checkpoints exist in a run directory without config.json", __FILE__, __LINE__);
            return -2;
        }
        return -1;
    }
    // The checkpoints: every step-N folder is complete, and every file in it loads.
    for (const auto& info : ponet::list_checkpoints(dir)) {
        if (!info.valid) {
            QTest::qFail(qPrintable(QString::fromStdString("incomplete checkpoint " + info.path + ": " + info.problem)),
                         __FILE__, __LINE__);
            return -2;
        }
        try {
            const auto model = ponet::read_safetensors(info.path + "/model.safetensors");
            const auto optimizer = ponet::read_safetensors(info.path + "/optimizer.safetensors");
            const auto state = ponet::read_trainer_state(info.path);
            (void)ponet::ModelConfig::load(info.path + "/config.json");
            if (model.tensors.empty() || optimizer.tensors.empty() || state.step != info.step)
                throw ponet::Error("checkpoint " + info.path + " is empty or has the wrong step");
        } catch (const std::exception& e) {
            QTest::qFail(e.what(), __FILE__, __LINE__);
            return -2;
        }
        newest = info.step;
    }
    // The run's own files: configuration, status, labels, every line of metrics.jsonl.
    try {
        const auto run = ponet::RunDirectory::open(dir);
        (void)run.load_config();
        (void)run.read_status();
        if (QFileInfo::exists(QString::fromStdString(run.labels_path()))) (void)run.load_labels();
        std::istringstream metrics(slurp(QString::fromStdString(run.metrics_path())));
        std::string line;
        int n = 0;
        while (std::getline(metrics, line)) {
            ++n;
            if (!nlohmann::json::accept(line))
                throw ponet::Error("metrics.jsonl line " + std::to_string(n) + " is not JSON: " + line);
        }
    } catch (const std::exception& e) {
        QTest::qFail(e.what(), __FILE__, __LINE__);
        return -2;
    }
    // Nothing half-written sits under a final name; temporary files and folders are allowed (the next run
    // removes them) but must never be mistaken for a checkpoint.
    QDirIterator it(runDir, QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        if (path.endsWith(".safetensors") && !path.contains("/.tmp-")) {
            try {
                (void)ponet::read_safetensors_header(path.toStdString());
            } catch (const std::exception& e) {
                QTest::qFail(e.what(), __FILE__, __LINE__);
                return -2;
            }
        }
    }
    return newest;
}

void TestCrashSafety::resumeToTheEnd(const QString& runDir, int maxSteps, int64_t newestBefore) {
    const Finished r = ponet({"resume", runDir});
    QVERIFY2(r.exitCode == 0, qPrintable(r.output));
    const auto status = ponet::RunDirectory::open(runDir.toStdString()).read_status();
    QVERIFY(status.has_value());
    QCOMPARE(status->step, int64_t(maxSteps));
    if (newestBefore >= 0) {
        // The resume started from the newest complete checkpoint, not an older one.
        const std::string log = slurp(runDir + "/log.txt");
        const auto at = log.rfind("resumed from ");
        const std::string line = at == std::string::npos ? "" : log.substr(at, log.find('\n', at) - at);
        const std::string from = "/step-" + std::to_string(newestBefore) + " ";
        QVERIFY2(line.find(from) != std::string::npos,
                 qPrintable(QString::fromStdString("the last resume did not start from" + from + ":\n" + log)));
    }
    QVERIFY(verifyRunDirectory(runDir) == maxSteps);
}

// Deterministic: the kill comes while a checkpoint's temporary file exists and is being filled (the delay
// hook holds every write open for a few milliseconds).
void TestCrashSafety::killInsideCheckpointWrite() {
    const QString runDir = tmp_.filePath("mid-write");
    const int maxSteps = 12;
    QProcess p;
    start(p, trainArgs(runDir, maxSteps), 15);
    QElapsedTimer clock;
    clock.start();
    bool killed = false;
    int checkpointsSeen = 0;
    while (!killed && p.state() == QProcess::Running && clock.elapsed() < 240000) {
        QDirIterator it(runDir + "/checkpoints", QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
        while (it.hasNext()) {
            const QString path = it.next();
            // A temporary file inside a temporary checkpoint folder, after at least one finished checkpoint.
            if (path.contains("/.tmp-step-") && path.contains(".safetensors.tmp-")) {
                checkpointsSeen = QDir(runDir + "/checkpoints").entryList({"step-*"}, QDir::Dirs).size();
                if (checkpointsSeen >= 1) {
                    ::kill(static_cast<pid_t>(p.processId()), SIGKILL);
                    killed = true;
                }
                break;
            }
        }
        QThread::msleep(2);
    }
    const Finished f = finish(p);
    QVERIFY2(killed, qPrintable("never saw a checkpoint being written; output:\n" + f.output));
    QCOMPARE(f.exitCode, -1);
    const int64_t newest = verifyRunDirectory(runDir);
    QVERIFY2(newest >= 3, qPrintable(QString("newest complete checkpoint: %1").arg(newest)));
    resumeToTheEnd(runDir, maxSteps, newest);
}

void TestCrashSafety::randomKillsThenResume() {
    const int kills = qEnvironmentVariableIntValue("PONET_CRASH_KILLS") > 0
                          ? qEnvironmentVariableIntValue("PONET_CRASH_KILLS")
                          : 3;
    const int maxSteps = 400;  // more than the kills will let it reach
    const QString runDir = tmp_.filePath("random");
    auto* rng = QRandomGenerator::global();
    int64_t newest = -1;
    for (int k = 0; k < kills; ++k) {
        QProcess p;
        start(p, k == 0 || newest < 0 ? trainArgs(runDir, maxSteps) : QStringList{"resume", runDir}, 3);
        // Past start-up (LibTorch loads in about a second), then anywhere in the next two seconds.
        QThread::msleep(800 + rng->bounded(2000));
        if (p.state() != QProcess::Running) {
            const Finished f = finish(p);
            QFAIL(qPrintable("the run ended before the kill:\n" + f.output));
        }
        ::kill(static_cast<pid_t>(p.processId()), SIGKILL);
        const Finished f = finish(p);
        QCOMPARE(f.exitCode, -1);
        const int64_t now = verifyRunDirectory(runDir);
        QVERIFY(now >= -1);
        QVERIFY2(now >= newest, "a kill lost a checkpoint that was complete before it");
        newest = now;
    }
    qInfo("%d kills; newest complete checkpoint: step %lld", kills, static_cast<long long>(newest));
    if (newest < 0) {
        // Every kill came before the first checkpoint (a slow start-up): the run starts over and finishes.
        const Finished f = ponet(trainArgs(runDir, 6));
        QVERIFY2(f.exitCode == 0, qPrintable(f.output));
        QCOMPARE(verifyRunDirectory(runDir), int64_t(6));
        return;
    }
    // Shorten the run so that the final resume finishes quickly: the configuration is ours to edit.
    auto config = ponet::RunDirectory::open(runDir.toStdString()).load_config();
    config.train.max_steps = newest + 6;
    config.save((runDir + "/config.json").toStdString());
    resumeToTheEnd(runDir, int(newest + 6), newest);
}

// RLIMIT_FSIZE makes every write past the limit fail with EFBIG, as a full disk fails with ENOSPC. SIGXFSZ
// is ignored in the child so that the write returns the error instead of killing the process.
void TestCrashSafety::diskFullDuringCheckpoint() {
    const QString runDir = tmp_.filePath("disk-full");
    const int maxSteps = 9;
    // A first run that completes its first checkpoint (step 3) and is then killed.
    {
        QProcess p;
        start(p, trainArgs(runDir, maxSteps), 0);
        QElapsedTimer clock;
        clock.start();
        while (p.state() == QProcess::Running && clock.elapsed() < 240000 &&
               !QFileInfo::exists(runDir + "/checkpoints/step-3/trainer_state.json"))
            QThread::msleep(5);
        ::kill(static_cast<pid_t>(p.processId()), SIGKILL);
        finish(p);
    }
    const int64_t before = verifyRunDirectory(runDir);
    QVERIFY2(before >= 3, qPrintable(QString("no checkpoint before the disk-full run (%1)").arg(before)));
    const qint64 modelBytes = QFileInfo(runDir + QString("/checkpoints/step-%1/model.safetensors").arg(before)).size();
    // Room for the logs and small JSON files, not for a model file.
    const rlim_t limit = static_cast<rlim_t>(std::min<qint64>(modelBytes / 2, 64 * 1024));
    QVERIFY(modelBytes > 2 * 32 * 1024);

    QProcess p;
    p.setChildProcessModifier([limit] {
        ::signal(SIGXFSZ, SIG_IGN);
        const rlimit r{limit, limit};
        ::setrlimit(RLIMIT_FSIZE, &r);
    });
    start(p, {"resume", runDir}, 0);
    const Finished full = finish(p);
    QVERIFY2(full.exitCode == 1, qPrintable(QString("exit %1:\n%2").arg(full.exitCode).arg(full.output)));
    QVERIFY2(full.output.contains("File too large") && full.output.contains("model.safetensors"),
             qPrintable("the message does not say which write failed and why:\n" + full.output));
    QVERIFY2(full.output.contains(QString("the newest complete checkpoint is still %1/checkpoints/step-%2")
                                      .arg(runDir)
                                      .arg(before)),
             qPrintable("the message does not say which checkpoint survives:\n" + full.output));
    // The previous checkpoint is intact and still the newest; no half-written checkpoint appeared.
    QCOMPARE(verifyRunDirectory(runDir), before);
    QVERIFY(QDir(runDir + "/checkpoints").entryList({".tmp-*"}, QDir::Dirs | QDir::Hidden).isEmpty());
    // Space is back: the run continues from that checkpoint to the end.
    resumeToTheEnd(runDir, maxSteps, before);
}

QTEST_GUILESS_MAIN(TestCrashSafety)
#include "test_crash_safety.moc"
