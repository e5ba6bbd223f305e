// DistributedRun: a data-parallel training run started as the `ponet` CLI's own launcher (`ponet <task>
// --nproc-per-node N`, one worker process per GPU or N CPU workers over Gloo) in a QProcess, and followed live
// through the run directory that rank 0 writes (metrics.jsonl, status.json). It reports with TrainingWorker's
// signals, so the Train page plots both kinds of run the same way. The GUI thread only reads small files on a
// timer; every tensor lives in the worker processes.
//
// Stop sends the launcher SIGINT, which it passes on once, as Ctrl-C in a terminal: every worker finishes its
// step, they agree to stop, rank 0 saves a checkpoint and the launcher exits with 130. A failure (a worker that
// dies, bad options, no c10d backend) becomes a "failed" outcome whose message is rank 0's status.json message
// or else the launcher's own last words.
#pragma once
#include <QObject>
#include <QPointer>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QTimer>

#include <memory>

#include "widgets/core_metatypes.h"

class QTemporaryDir;

namespace ponet::gui {

class DistributedRun : public QObject {
    Q_OBJECT
  public:
    enum class State { Idle, Running, Stopping };
    Q_ENUM(State)

    explicit DistributedRun(QObject* parent = nullptr);
    // A live run is stopped (with its checkpoint) and waited for, up to a minute; then its processes are ended.
    ~DistributedRun() override;

    // Where the app finds `ponet`: $PONET_CLI when set, else next to the application's executable, else on the
    // PATH. Empty when it is nowhere.
    static QString findPonetExecutable();
    void setPonetExecutable(const QString& path) { ponet_ = path; }
    QString ponetExecutable() const { return ponet_; }

    // Starts `config` in `runDir` on `processes` local workers (train.device "cpu": Gloo; "cuda"/"auto": one GPU
    // each). False, with the reason in *error, when it cannot start (a run is active, no ponet, fewer than 2).
    bool start(const ponet::RunConfig& config, const QString& runDir, int processes, QString* error);
    // `ponet resume runDir --nproc-per-node processes`: the same or another number of workers.
    bool continueRun(const QString& runDir, int processes, QString* error);
    void stop();

    State state() const { return state_; }
    bool isActive() const { return state_ != State::Idle; }
    QString runDirectory() const { return runDir_; }
    int processes() const { return processes_; }
    // The launcher's output, for a person reading why a run failed (the last lines only).
    QStringList outputTail() const { return tail_; }

  Q_SIGNALS:
    void started(const QString& runDir);
    void stepReported(const ponet::StepMetrics& metrics);
    void evalReported(const ponet::EvalMetrics& metrics);
    void checkpointSaved(const ponet::CheckpointEvent& event);
    void logMessage(const QString& level, const QString& message);
    // Once per run, after every event of metrics.jsonl has been reported.
    void finished(const ponet::RunOutcome& outcome);
    void stateChanged(ponet::gui::DistributedRun::State state);

  private:
    bool launch(const QStringList& arguments, const QString& runDir, int processes, bool fromStart, QString* error);
    void readMetrics();
    void readOutput(QProcess::ProcessChannel channel);
    void onProcessFinished(int exitCode, QProcess::ExitStatus status);
    void onProcessError(QProcess::ProcessError error);
    void finish(const ponet::RunOutcome& outcome);
    ponet::RunOutcome outcomeFromExit(int exitCode, QProcess::ExitStatus status) const;
    void setState(State s);

    QString ponet_;
    QPointer<QProcess> process_;
    std::unique_ptr<QTemporaryDir> configDir_;
    QTimer poll_;
    State state_ = State::Idle;
    QString runDir_;
    int processes_ = 0;
    qint64 metricsOffset_ = 0;
    qint64 lastStep_ = 0;
    bool stopRequested_ = false;
    QByteArray partial_[2];  // an unfinished output line of stdout, stderr
    QStringList tail_;
};

}  // namespace ponet::gui
