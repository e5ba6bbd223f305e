#include "widgets/distributed_run.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcessEnvironment>
#include <QStandardPaths>
#include <QTemporaryDir>

#include <netinet/in.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <exception>

#include "core/train/run_directory.h"
#include "widgets/metrics_events.h"

namespace ponet::gui {
namespace {

constexpr int kPollMs = 250;
constexpr int kTailLines = 40;
constexpr int kShutdownWaitMs = 60000;

// A loopback port nobody listens on right now (the kernel picks it), for rank 0's rendezvous store; 0 when none.
int freeLoopbackPort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    ::close(fd);
    return port;
}

}  // namespace

DistributedRun::DistributedRun(QObject* parent) : QObject(parent), ponet_(findPonetExecutable()) {
    registerCoreMetaTypes();
    qRegisterMetaType<ponet::gui::DistributedRun::State>();
    poll_.setInterval(kPollMs);
    connect(&poll_, &QTimer::timeout, this, &DistributedRun::readMetrics);
}

DistributedRun::~DistributedRun() {
    if (!process_ || process_->state() == QProcess::NotRunning) return;
    disconnect(process_, nullptr, this, nullptr);
    if (const qint64 pid = process_->processId(); state_ == State::Running && pid > 0)
        ::kill(static_cast<pid_t>(pid), SIGINT);
    if (!process_->waitForFinished(kShutdownWaitMs)) {
        process_->terminate();  // the launcher ends its workers (SIGTERM, then SIGKILL)
        if (!process_->waitForFinished(15000)) process_->kill();
        process_->waitForFinished(5000);
    }
}

QString DistributedRun::findPonetExecutable() {
    const QString fromEnv = qEnvironmentVariable("PONET_CLI");
    if (!fromEnv.isEmpty()) return QFileInfo(fromEnv).isExecutable() ? QFileInfo(fromEnv).absoluteFilePath() : QString();
    const QFileInfo beside(QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("ponet")));
    if (beside.isFile() && beside.isExecutable()) return beside.absoluteFilePath();
    return QStandardPaths::findExecutable(QStringLiteral("ponet"));
}

bool DistributedRun::start(const ponet::RunConfig& config, const QString& runDir, int processes, QString* error) {
    if (isActive()) {
        *error = tr("A run is already in progress.");
        return false;
    }
    configDir_ = std::make_unique<QTemporaryDir>();
    const QString configPath = configDir_->isValid() ? configDir_->filePath(QStringLiteral("run.json")) : QString();
    QFile file(configPath);
    const QByteArray json = QByteArray::fromStdString(config.to_json_text());
    if (configPath.isEmpty() || !file.open(QIODevice::WriteOnly) || file.write(json) != json.size()) {
        *error = tr("Could not write the run configuration for ponet to a temporary folder (%1).")
                     .arg(configPath.isEmpty() ? QDir::tempPath() : file.errorString());
        return false;
    }
    file.close();
    return launch({qstr(ponet::to_string(config.task)), QStringLiteral("--config"), configPath,
                   QStringLiteral("--run-dir"), runDir},
                  runDir, processes, true, error);
}

bool DistributedRun::continueRun(const QString& runDir, int processes, QString* error) {
    if (isActive()) {
        *error = tr("A run is already in progress.");
        return false;
    }
    return launch({QStringLiteral("resume"), runDir}, runDir, processes, false, error);
}

bool DistributedRun::launch(const QStringList& arguments, const QString& runDir, int processes, bool fromStart,
                            QString* error) {
    if (processes < 2) {
        *error = tr("A multi-process run needs at least 2 worker processes, not %1.").arg(processes);
        return false;
    }
    if (ponet_.isEmpty() || !QFileInfo(ponet_).isExecutable()) {
        *error = tr("Multi-process training runs the ponet command-line program, which was found neither next to "
                    "the application (%1) nor on the PATH. Install it with PoNet Studio, or set PONET_CLI to its "
                    "path.")
                     .arg(QCoreApplication::applicationDirPath());
        return false;
    }
    const int port = freeLoopbackPort();
    if (port <= 0) {
        *error = tr("No free TCP port on 127.0.0.1 for the workers' rendezvous.");
        return false;
    }
    QStringList args = arguments;
    args << QStringLiteral("--nproc-per-node") << QString::number(processes) << QStringLiteral("--master-port")
         << QString::number(port);

    auto* p = new QProcess(this);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    // A GUI that was itself started by a torchrun-style launcher must not pass its own place in a world on.
    for (const char* var : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "PONET_DIST_WORKER"})
        env.remove(QString::fromLatin1(var));
    p->setProcessEnvironment(env);
#ifdef __linux__
    // Should the app itself die, the launcher gets what Stop sends, so the run still ends with a checkpoint
    // instead of training on unwatched; and writing to the dead app's pipes must not kill the launcher or its
    // workers (an ignored SIGPIPE is inherited across exec, so the workers ignore it too).
    p->setChildProcessModifier([] {
        ::signal(SIGPIPE, SIG_IGN);
        ::prctl(PR_SET_PDEATHSIG, SIGINT);
    });
#endif
    p->setProgram(ponet_);
    p->setArguments(args);
    connect(p, &QProcess::readyReadStandardOutput, this, [this] { readOutput(QProcess::StandardOutput); });
    connect(p, &QProcess::readyReadStandardError, this, [this] { readOutput(QProcess::StandardError); });
    connect(p, &QProcess::started, this, [this, p] {
        if (stopRequested_ && p->processId() > 0) ::kill(static_cast<pid_t>(p->processId()), SIGINT);
    });
    connect(p, &QProcess::finished, this, &DistributedRun::onProcessFinished);
    connect(p, &QProcess::errorOccurred, this, &DistributedRun::onProcessError);
    process_ = p;
    runDir_ = runDir;
    processes_ = processes;
    lastStep_ = 0;
    stopRequested_ = false;
    tail_.clear();
    partial_[0].clear();
    partial_[1].clear();
    // A continued run's earlier events are on the page already; follow only what the workers add.
    metricsOffset_ = fromStart ? 0 : QFileInfo(QDir(runDir).filePath(QStringLiteral("metrics.jsonl"))).size();
    setState(State::Running);
    p->start();
    poll_.start();
    Q_EMIT logMessage(QStringLiteral("info"), tr("Started %1 %2").arg(ponet_, args.join(QLatin1Char(' '))));
    Q_EMIT started(runDir);
    return true;
}

void DistributedRun::stop() {
    if (state_ != State::Running || !process_) return;
    stopRequested_ = true;
    // Still starting: started() sends it. (A pid of 0 would signal our own process group.)
    if (const qint64 pid = process_->processId(); process_->state() == QProcess::Running && pid > 0)
        ::kill(static_cast<pid_t>(pid), SIGINT);
    setState(State::Stopping);
}

void DistributedRun::readMetrics() {
    QFile f(QDir(runDir_).filePath(QStringLiteral("metrics.jsonl")));
    if (!f.open(QIODevice::ReadOnly)) return;  // rank 0 has not written anything yet
    if (f.size() < metricsOffset_) metricsOffset_ = 0;
    if (f.size() == metricsOffset_ || !f.seek(metricsOffset_)) return;
    const QByteArray data = f.readAll();
    // Rank 0 appends each event with one write(2); a line without its newline is not complete yet.
    const qsizetype end = data.lastIndexOf('\n');
    if (end < 0) return;
    metricsOffset_ += end + 1;
    for (const QByteArray& line : data.left(end).split('\n')) {
        if (line.trimmed().isEmpty()) continue;
        const MetricsEvent e = parseMetricsLine(line);
        switch (e.kind) {
            case MetricsEvent::Kind::Step:
                lastStep_ = e.step.step;
                Q_EMIT stepReported(e.step);
                break;
            case MetricsEvent::Kind::Eval: Q_EMIT evalReported(e.eval); break;
            case MetricsEvent::Kind::Checkpoint: Q_EMIT checkpointSaved(e.checkpoint); break;
            case MetricsEvent::Kind::None: break;
        }
    }
}

void DistributedRun::readOutput(QProcess::ProcessChannel channel) {
    if (!process_) return;
    const bool err = channel == QProcess::StandardError;
    QByteArray& buffer = partial_[err ? 1 : 0];
    buffer += err ? process_->readAllStandardError() : process_->readAllStandardOutput();
    qsizetype nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
        // A terminal progress bar would rewrite its line with \r; keep the last version of such a line.
        QString line = QString::fromUtf8(buffer.left(nl)).section(QLatin1Char('\r'), -1).trimmed();
        buffer.remove(0, nl + 1);
        if (line.isEmpty()) continue;
        tail_ << line;
        while (tail_.size() > kTailLines) tail_.removeFirst();
        if (!err) {
            // Steps, evaluations and checkpoints arrive through metrics.jsonl; the rest of rank 0's output (data
            // preparation, notes) goes to the log.
            for (const char* skip : {"step ", "eval ", "checkpoint ", "run directory:", "run finished", "run stopped",
                                     "run failed"})
                if (line.startsWith(QLatin1String(skip))) line.clear();
            if (!line.isEmpty()) Q_EMIT logMessage(QStringLiteral("info"), line);
            continue;
        }
        static const QLatin1String launcher("ponet launcher: ");
        if (line.startsWith(launcher))
            Q_EMIT logMessage(QStringLiteral("info"), tr("launcher: %1").arg(line.mid(launcher.size())));
        else if (line.contains(QLatin1String("error"), Qt::CaseInsensitive))
            Q_EMIT logMessage(QStringLiteral("error"), line);
        else
            Q_EMIT logMessage(QStringLiteral("warning"), line);
    }
}

ponet::RunOutcome DistributedRun::outcomeFromExit(int exitCode, QProcess::ExitStatus exitStatus) const {
    ponet::RunOutcome o;
    o.run_dir = runDir_.toStdString();
    o.steps = lastStep_;
    std::optional<ponet::RunStatus> status;
    try {
        status = ponet::RunDirectory::open(o.run_dir).read_status();
    } catch (const std::exception&) {
        // No run directory yet: the launcher failed before rank 0 wrote anything (bad options, no c10d).
    }
    if (status) {
        o.steps = std::max<int64_t>(o.steps, status->step);
        o.best_metric_name = status->best_metric_name;
        if (status->best_metric) o.best_metric = *status->best_metric;
    }
    const bool ranFailed = status && status->state == ponet::RunState::Failed;
    if (exitStatus == QProcess::NormalExit && exitCode == 0 && !ranFailed) {
        o.status = "finished";
        return o;
    }
    if (exitStatus == QProcess::NormalExit && exitCode == 130 && !ranFailed) {
        o.status = "stopped";
        o.message = "stopped on request";
        return o;
    }
    // Stop came while ponet was still loading, before it had a handler for SIGINT (and before any worker
    // existed): nothing ran, so nothing needed saving.
    const bool launcherSpoke = std::any_of(tail_.cbegin(), tail_.cend(), [](const QString& line) {
        return line.startsWith(QLatin1String("ponet launcher: "));
    });
    if (stopRequested_ && exitStatus == QProcess::CrashExit && !launcherSpoke) {
        o.status = "stopped";
        o.message = "stopped before the workers started";
        return o;
    }
    // The same a moment later: the launcher passed the interrupt on to workers that were still loading, so it
    // ended them; none had trained, so the newest checkpoint (if any) is where the run stands.
    const bool interruptedWhileStarting =
        stopRequested_ && !ranFailed && lastStep_ == 0 &&
        std::any_of(tail_.cbegin(), tail_.cend(), [](const QString& line) {
            return line.startsWith(QLatin1String("ponet launcher: the run failed: ")) &&
                   line.contains(QLatin1String("was killed by signal 2 "));
        });
    if (interruptedWhileStarting) {
        o.status = "stopped";
        o.message = "stopped while the workers were starting";
        return o;
    }
    o.status = "failed";
    // The launcher's verdict names the worker that failed first ("rank 1 (pid N) was killed by signal 9");
    // rank 0's status.json says what it saw (a bad data file, or the broken connection to that worker).
    static const QLatin1String verdictPrefix("ponet launcher: the run failed: ");
    QString verdict;
    for (auto it = tail_.crbegin(); it != tail_.crend() && verdict.isEmpty(); ++it)
        if (it->startsWith(verdictPrefix)) verdict = it->mid(verdictPrefix.size());
    const QString rank0 = ranFailed ? qstr(status->message) : QString();
    if (!rank0.isEmpty()) {
        o.message = (verdict.isEmpty()                              ? rank0
                     : verdict.startsWith(QLatin1String("rank 0 ")) ? tr("%1 (%2)").arg(rank0, verdict)
                                                                    : tr("%1. Rank 0 reported: %2").arg(verdict, rank0))
                        .toStdString();
        return o;
    }
    // Else the last thing any process said.
    QString message = verdict;
    for (auto it = tail_.crbegin(); it != tail_.crend() && message.isEmpty(); ++it)
        if (it->startsWith(QLatin1String("ponet")) || it->contains(QLatin1String("error"), Qt::CaseInsensitive))
            message = *it;
    if (message.isEmpty() && !tail_.isEmpty())
        message = tail_.mid(std::max<qsizetype>(0, tail_.size() - 3)).join(QLatin1Char(' '));
    const QString how = exitStatus == QProcess::CrashExit
                            ? tr("the ponet launcher was ended by a signal")
                            : tr("ponet exited with code %1").arg(exitCode);
    o.message = (message.isEmpty() ? how : tr("%1 (%2)").arg(message, how)).toStdString();
    return o;
}

void DistributedRun::onProcessFinished(int exitCode, QProcess::ExitStatus exitStatus) {
    readOutput(QProcess::StandardOutput);
    readOutput(QProcess::StandardError);
    for (QByteArray& rest : partial_) rest.append('\n');  // the last line, when it had no newline
    readOutput(QProcess::StandardOutput);
    readOutput(QProcess::StandardError);
    readMetrics();
    finish(outcomeFromExit(exitCode, exitStatus));
}

void DistributedRun::onProcessError(QProcess::ProcessError error) {
    if (error != QProcess::FailedToStart || !process_) return;  // the others end in finished()
    ponet::RunOutcome o;
    o.status = "failed";
    o.run_dir = runDir_.toStdString();
    o.message = tr("could not start %1: %2").arg(ponet_, process_->errorString()).toStdString();
    finish(o);
}

void DistributedRun::finish(const ponet::RunOutcome& outcome) {
    if (state_ == State::Idle) return;
    poll_.stop();
    if (process_) process_->deleteLater();
    process_ = nullptr;
    configDir_.reset();
    setState(State::Idle);
    Q_EMIT finished(outcome);
}

void DistributedRun::setState(State s) {
    if (s == state_) return;
    state_ = s;
    Q_EMIT stateChanged(s);
}

}  // namespace ponet::gui
