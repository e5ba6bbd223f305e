// TrainingWorker: the one QObject that runs a core Trainer, on a QThread of its own that owns every tensor of
// the run. Commands (start, pause, resume, stop) come from the GUI thread and take effect within one
// optimizer step; the trainer's observer callbacks come back as signals in the GUI thread, carrying the
// core's small value structs. Stop, and destroying the worker mid-run, save a checkpoint first.
#pragma once
#include <QObject>
#include <QPointer>
#include <QString>

#include <memory>

#include "widgets/core_metatypes.h"

class QThread;

namespace ponet::gui {

class TrainingWorker : public QObject {
    Q_OBJECT
  public:
    enum class State { Idle, Running, Paused, Stopping };
    Q_ENUM(State)

    explicit TrainingWorker(QObject* parent = nullptr);
    // Asks a running run to stop and waits for it: the trainer saves its checkpoint before it returns.
    ~TrainingWorker() override;

    // Starts `config` in `runDir`. False (and nothing happens) while a run is active.
    bool start(const ponet::RunConfig& config, const QString& runDir);
    // Continues the run in `runDir` from its newest valid checkpoint. False while a run is active.
    bool continueRun(const QString& runDir);

    void pause();   // the loop holds between steps; pausedChanged(true, step) says when it does
    void resume();  // from a pause
    void stop();    // ends the run within one step, with a checkpoint

    State state() const { return state_; }
    bool isActive() const { return state_ != State::Idle; }
    QString runDirectory() const { return runDir_; }
    // Blocks the calling thread until the run's thread has ended (tests, shutdown). True when it has.
    bool wait(int timeoutMs = -1);

  Q_SIGNALS:
    void started(const QString& runDir);
    void stepReported(const ponet::StepMetrics& metrics);
    void evalReported(const ponet::EvalMetrics& metrics);
    void checkpointSaved(const ponet::CheckpointEvent& event);
    void logMessage(const QString& level, const QString& message);
    void pausedChanged(bool paused, qint64 step);
    // Once per run, after the last of the signals above. outcome.status: finished, stopped or failed, with
    // the core's message (bad data, a NaN loss, out of memory...) in words a user can act on.
    void finished(const ponet::RunOutcome& outcome);
    void stateChanged(ponet::gui::TrainingWorker::State state);

  private:
    bool launch(std::function<ponet::RunOutcome(ponet::TrainObserver&, ponet::RunControl&)> job,
                const QString& runDir);
    void setState(State s);

    class Observer;
    State state_ = State::Idle;
    QString runDir_;
    std::shared_ptr<ponet::RunControl> control_;
    QPointer<QThread> thread_;
};

}  // namespace ponet::gui
