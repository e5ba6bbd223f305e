#include "widgets/training_worker.h"

#include <QThread>

#include <exception>
#include <utility>

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "core/train/training_session.h"

namespace ponet::gui {

// Lives on the run's thread; every callback is posted to the worker in the GUI thread, so receivers (and
// QSignalSpy) see the signals there. Values are copied: the core's structs hold no pointers.
class TrainingWorker::Observer : public ponet::TrainObserver {
  public:
    explicit Observer(TrainingWorker* worker) : worker_(worker) {}

    void on_step(const ponet::StepMetrics& m) override {
        post([w = worker_, m] { Q_EMIT w->stepReported(m); });
    }
    void on_eval(const ponet::EvalMetrics& m) override {
        post([w = worker_, m] { Q_EMIT w->evalReported(m); });
    }
    void on_checkpoint(const ponet::CheckpointEvent& e) override {
        post([w = worker_, e] { Q_EMIT w->checkpointSaved(e); });
    }
    void on_log(const std::string& level, const std::string& message) override {
        post([w = worker_, level = qstr(level), message = qstr(message)] {
            Q_EMIT w->logMessage(level, message);
        });
    }
    void on_pause_changed(bool paused, int64_t step) override {
        post([w = worker_, paused, step] {
            if (w->state_ == State::Running || w->state_ == State::Paused)
                w->setState(paused ? State::Paused : State::Running);
            Q_EMIT w->pausedChanged(paused, static_cast<qint64>(step));
        });
    }

  private:
    template <class F>
    void post(F&& f) {
        QMetaObject::invokeMethod(worker_, std::forward<F>(f), Qt::QueuedConnection);
    }
    TrainingWorker* worker_;
};

TrainingWorker::TrainingWorker(QObject* parent) : QObject(parent) {
    registerCoreMetaTypes();
    qRegisterMetaType<ponet::gui::TrainingWorker::State>();
}

TrainingWorker::~TrainingWorker() {
    if (thread_) {
        control_->pause.store(false);
        control_->stop.store(true);
        thread_->wait();
        delete thread_.data();
    }
}

bool TrainingWorker::start(const ponet::RunConfig& config, const QString& runDir) {
    const std::string dir = runDir.toStdString();
    return launch(
        [config, dir](ponet::TrainObserver& o, ponet::RunControl& c) { return ponet::run_training(config, dir, o, c); },
        runDir);
}

bool TrainingWorker::continueRun(const QString& runDir) {
    const std::string dir = runDir.toStdString();
    return launch([dir](ponet::TrainObserver& o, ponet::RunControl& c) { return ponet::resume_training(dir, o, c); },
                  runDir);
}

bool TrainingWorker::launch(std::function<ponet::RunOutcome(ponet::TrainObserver&, ponet::RunControl&)> job,
                            const QString& runDir) {
    if (isActive() || thread_) return false;
    control_ = std::make_shared<ponet::RunControl>();
    runDir_ = runDir;
    auto outcome = std::make_shared<ponet::RunOutcome>();
    auto control = control_;
    QThread* thread = QThread::create([this, job = std::move(job), control, outcome, runDir] {
#ifdef __linux__
        // Training is background work: a lower priority (children such as LibTorch's OpenMP threads inherit
        // it) keeps the GUI thread and the rest of the desktop responsive on a busy laptop.
        ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
#endif
        Observer observer(this);
        try {
            *outcome = job(observer, *control);
        } catch (const std::exception& e) {
            outcome->status = "failed";
            outcome->message = e.what();
        } catch (...) {
            outcome->status = "failed";
            outcome->message = "the run ended with an unknown error";
        }
        if (outcome->run_dir.empty()) outcome->run_dir = runDir.toStdString();
    });
    thread->setObjectName(QStringLiteral("ponet-training"));
    thread_ = thread;
    // Queued to the GUI thread after every signal the observer posted, so `finished` really is the last.
    connect(thread, &QThread::finished, this, [this, thread, outcome] {
        thread->wait();  // QThread::finished comes from the thread just before it ends
        if (thread_ == thread) thread_ = nullptr;
        thread->deleteLater();
        setState(State::Idle);
        Q_EMIT finished(*outcome);
    }, Qt::QueuedConnection);
    setState(State::Running);
    thread->start();
    Q_EMIT started(runDir);
    return true;
}

void TrainingWorker::pause() {
    if (state_ != State::Running || !control_) return;
    control_->pause.store(true);
}

void TrainingWorker::resume() {
    if (!control_ || (state_ != State::Paused && state_ != State::Running)) return;
    control_->pause.store(false);
}

void TrainingWorker::stop() {
    if (!isActive() || !control_) return;
    control_->stop.store(true);
    control_->pause.store(false);
    setState(State::Stopping);
}

bool TrainingWorker::wait(int timeoutMs) {
    if (!thread_) return true;
    return timeoutMs < 0 ? thread_->wait() : thread_->wait(QDeadlineTimer(timeoutMs));
}

void TrainingWorker::setState(State s) {
    if (s == state_) return;
    state_ = s;
    Q_EMIT stateChanged(s);
}

}  // namespace ponet::gui
