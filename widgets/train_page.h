// The Train page: the task, a preset, the training options (generated from the RunConfig option table) with
// a learning-rate schedule preview and the effective batch, Start / Pause / Stop, and live plots of the run
// (MLM and SSO loss and accuracy for pre-training; loss, accuracy and macro-F1, train against evaluation, for
// fine-tuning and LRA; the learning rate; tokens/s and memory). A run goes through TrainingWorker in this process
// on the toolbar's device, or, data-parallel, through DistributedRun (the `ponet` launcher with one worker process
// per local GPU, or N CPU workers over Gloo), followed through its run directory with the same plots and a
// per-rank throughput view.
#pragma once
#include <QHash>
#include <QPointer>
#include <QWidget>

#include "widgets/core_metatypes.h"
#include "widgets/metric_plot.h"

class QAction;
class QComboBox;
class QCustomPlot;
class QGridLayout;
class QLabel;
class QSpinBox;
class QToolButton;

namespace ponet::gui {

class DistributedRun;
class InlineMessage;
class PlotControls;
class RankThroughputView;
class RunConfigForm;
class TrainingWorker;

class TrainPage : public QWidget {
    Q_OBJECT
  public:
    static constexpr const char* kDefaultPreset = "tiny-listops";

    // Where a new run trains: in this process on the toolbar's device, or as a data-parallel run of worker
    // processes (one per local GPU, or an explicit number of CPU workers over Gloo).
    enum class Parallelism { ThisDevice, AllGpus, CpuProcesses };

    explicit TrainPage(QWidget* parent = nullptr);
    ~TrainPage() override;

    TrainingWorker* worker() const { return worker_; }
    DistributedRun* distributedRun() const { return distributed_; }
    RankThroughputView* rankView() const { return rankView_; }
    RunConfigForm* form() const { return form_; }
    PlotControls* plotControls() const { return plotControls_; }
    QAction* startAction() const { return startAction_; }
    QAction* pauseAction() const { return pauseAction_; }  // Pause, or Resume while paused
    QAction* stopAction() const { return stopAction_; }
    QAction* continueAction() const { return continueAction_; }  // a stopped run from its checkpoint

    // The configuration Start would run: the form, the task and the toolbar's device.
    ponet::RunConfig currentConfig() const;
    ponet::TaskKind task() const;
    void setTask(ponet::TaskKind task);
    QString presetName() const;
    bool loadPreset(const QString& name);  // false, with the message on the page, for an unknown preset
    // Restores a configuration saved by configJson(); false (keeping the current one) when it does not read.
    bool restoreConfigJson(const QString& json);
    QString configJson() const;
    void setDevice(const QString& deviceId);
    QString device() const { return device_; }
    // The CUDA cards this machine has; with 2 or more, "All local GPUs" can be chosen.
    void setLocalGpuCount(int count);
    int localGpuCount() const { return localGpus_; }
    // False, with the reason on the page, for a choice this machine or build cannot run (too few GPUs, no c10d
    // Gloo); `cpuProcesses` (2 or more) applies to CpuProcesses.
    bool setParallelism(Parallelism parallelism, int cpuProcesses = 2);
    Parallelism parallelism() const;
    int workerProcesses() const;  // 1 for ThisDevice

    // Runs go to <runsDirectory>/<name>; default: the application's runs folder.
    void setRunsDirectory(const QString& dir) { runsDir_ = dir; }
    QString runsDirectory() const { return runsDir_; }

    bool startTraining();  // false, with the reason on the page, when the configuration cannot run
    void togglePause();
    void stopTraining();
    bool continueActiveRun();
    // Shows a run from disk: its configuration in the form and its curves in the plots.
    bool openRun(const QString& runDir);

    bool isTraining() const;
    QString activeRunDirectory() const { return activeRunDir_; }
    QString activeRunName() const;
    QString errorText() const;  // the page's error message; empty when none is shown
    QList<MetricPlot*> plots() const;
    MetricPlot* plot(const QString& id) const { return plots_.value(id); }
    QCustomPlot* schedulePreview() const { return schedulePlot_; }
    QString effectiveBatchText() const;

  Q_SIGNALS:
    void logMessage(const QString& text);
    void runStarted(const QString& runDir);
    void runFinished(const ponet::RunOutcome& outcome);
    // The toolbar's run label: the run's name and what it is doing, in words.
    void activeRunChanged(const QString& name, const QString& state);
    void progressChanged(qint64 step, qint64 maxSteps, double etaSeconds, double tokensPerSecond);
    void trainingActiveChanged(bool active);

  private:
    struct SeriesSpec {
        QString metric;  // series name inside the plot
        QString label;
        bool eval = false;        // from evaluations (values[key]) rather than training steps
        QString key;              // StepMetrics field name, or the EvalMetrics value key
        bool rightAxis = false;
        double scale = 1;         // bytes -> MiB
        bool smoothable = true;
    };
    struct PlotSpec {
        QString id, title, yLabel, rightLabel;
        QList<SeriesSpec> series;
    };
    static QList<PlotSpec> plotSpecs(ponet::TaskKind task);

    void buildPlots(ponet::TaskKind task);
    void resetPlots(ponet::TaskKind task);  // empty plots for the task, reusing the current ones if they fit
    void addStep(const QString& run, const ponet::StepMetrics& m);
    void onStep(const ponet::StepMetrics& m);
    void onRunStateChanged();
    void placeRankView();
    void showRankView(bool show, int worldSize = 0);
    void updateParallelismChoices();
    void addEval(const QString& run, const ponet::EvalMetrics& m);
    void onFinished(const ponet::RunOutcome& outcome);
    void updateActions();
    void updatePreview();
    void showError(const QString& text);
    void showInfo(const QString& text);
    void setActiveRun(const QString& dir, const QString& state);
    QString uniqueRunDirectory(const QString& name, bool userChosen, QString* error) const;

    TrainingWorker* worker_ = nullptr;
    DistributedRun* distributed_ = nullptr;
    QComboBox* parallelCombo_ = nullptr;
    QSpinBox* processSpin_ = nullptr;
    RankThroughputView* rankView_ = nullptr;
    bool rankViewShown_ = false;
    int localGpus_ = 0;
    QComboBox* taskCombo_ = nullptr;
    QComboBox* presetCombo_ = nullptr;
    RunConfigForm* form_ = nullptr;
    QCustomPlot* schedulePlot_ = nullptr;
    QLabel* scheduleNote_ = nullptr;
    QLabel* effectiveBatch_ = nullptr;
    InlineMessage* message_ = nullptr;
    PlotControls* plotControls_ = nullptr;
    QGridLayout* plotGrid_ = nullptr;
    QWidget* plotArea_ = nullptr;
    QHash<QString, MetricPlot*> plots_;
    QList<PlotSpec> specs_;
    QAction* startAction_ = nullptr;
    QAction* pauseAction_ = nullptr;
    QAction* stopAction_ = nullptr;
    QAction* continueAction_ = nullptr;

    QString device_ = QStringLiteral("cpu");
    QString runsDir_;
    QString activeRunDir_;
    ponet::TaskKind plotsTask_ = ponet::TaskKind::Lra;
    ponet::StepMetrics lastStep_;
    bool loadingPreset_ = false;
};

}  // namespace ponet::gui
