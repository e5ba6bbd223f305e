// The Race page, the mixer race: one task trained with PoNet, FNet and attention in turn on one device, their
// loss and dev-accuracy curves overlaid live against steps and against wall time, and a summary table (final and
// best accuracy, steps/s, tokens/s, peak memory, wall time) that shows the paper's claim, "accuracy competitive
// with attention at a fraction of the cost", or not. The race runs on a worker QThread through the core's race
// runner (core/train/race.h, also behind `ponet race`); its runs are ordinary runs in the runs folder.
#pragma once
#include <QString>
#include <QStringList>
#include <QWidget>

#include <memory>
#include <vector>

#include "core/train/race.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;
class QThread;

namespace ponet::gui {

class InlineMessage;
class MetricPlot;

class RacePage : public QWidget {
    Q_OBJECT
  public:
    // Task ids: "listops" (LRA ListOps generated on the spot), "bytes" (your labelled documents read byte by
    // byte, LRA Text style: no vocabulary), "finetune" (your labelled documents, WordPiece fine-tuning).
    static QStringList taskIds();
    // Model sizes: "tiny" (2 layers, 64 wide), "small" (4 layers, 256 wide).
    static QStringList sizeIds();
    // Plot ids: "accuracy-steps", "accuracy-time", "loss-steps", "loss-time".
    static QStringList plotIds();

    explicit RacePage(QWidget* parent = nullptr);
    // Stops a running race (its current run saves a checkpoint) and waits for it.
    ~RacePage() override;

    void setTask(const QString& id);
    QString task() const;
    void setDataset(const QString& path);
    void setModelSize(const QString& id);
    void setBudget(int steps);
    // The model's maximum length in tokens; ListOps is generated up to it. Each task change resets it to the
    // task's default (ListOps 32, byte-level text 512, WordPiece 128).
    void setMaxLength(int tokens);
    void setMixers(const QStringList& mixers);  // any of "ponet", "fnet", "attention"
    QStringList mixers() const;
    void setDevice(const QString& device);  // "cpu", "cuda:0": the window's compute device
    QString device() const { return device_; }
    void setRunsDirectory(const QString& dir);  // default: the application's runs folder
    QString runsDirectory() const { return runsDir_; }

    // Builds the race from the page's choices; false (with `error` set) when they do not make a race.
    bool buildRace(ponet::RaceConfig& race, QString* error) const;

    // Starts the race; false, with the reason shown on the page, when it cannot start.
    bool start();
    void stop();  // the current run stops within one step, with a checkpoint; the rest are skipped
    bool isRunning() const { return thread_ != nullptr; }

    MetricPlot* plot(const QString& id) const;
    QTableWidget* summaryTable() const { return table_; }
    QString raceName() const { return raceName_; }
    QString errorText() const;  // the page's error message, empty when none

  Q_SIGNALS:
    void runningChanged(bool running);
    void raceFinished(bool stopped);
    void logMessage(const QString& line);
    void openRunRequested(const QString& runDir);  // a summary row was activated

  private:
    QString runningText() const;
    struct Shared;
    class Forwarder;
    void onRunStarted(int index, const QString& mixer, const QString& runDir);
    void onStep(int index, const ponet::StepMetrics& m);
    void onEval(int index, const ponet::EvalMetrics& m, double seconds);
    void onRunFinished(int index, const ponet::RaceEntry& e);
    void onThreadFinished();
    void setRunning(bool running);
    void updateTaskWidgets();
    void chooseDataset();
    void updateVerdict();
    void setRow(int index, const ponet::RaceEntry& e);

    QComboBox* taskCombo_ = nullptr;
    QLineEdit* datasetEdit_ = nullptr;
    QPushButton* datasetButton_ = nullptr;
    QComboBox* sizeCombo_ = nullptr;
    QSpinBox* budgetSpin_ = nullptr;
    QSpinBox* lengthSpin_ = nullptr;
    QCheckBox* ponetCheck_ = nullptr;
    QCheckBox* fnetCheck_ = nullptr;
    QCheckBox* attentionCheck_ = nullptr;
    QLabel* deviceLabel_ = nullptr;
    QPushButton* startButton_ = nullptr;
    QPushButton* stopButton_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QLabel* status_ = nullptr;
    InlineMessage* message_ = nullptr;
    MetricPlot* accuracySteps_ = nullptr;
    MetricPlot* accuracyTime_ = nullptr;
    MetricPlot* lossSteps_ = nullptr;
    MetricPlot* lossTime_ = nullptr;
    QTableWidget* table_ = nullptr;
    QLabel* verdict_ = nullptr;

    QString device_ = QStringLiteral("cpu");
    QString runsDir_;
    QString raceName_;
    QStringList raceMixers_;
    qint64 budget_ = 0;
    std::vector<ponet::RaceEntry> entries_;
    QThread* thread_ = nullptr;
    std::shared_ptr<Shared> shared_;
};

}  // namespace ponet::gui
