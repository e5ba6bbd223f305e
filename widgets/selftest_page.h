// The Self-test page: runs the core's parity and consistency checks on a worker thread and lists each result.
#pragma once
#include <QElapsedTimer>
#include <QThread>
#include <QVariantMap>
#include <QWidget>

#include <memory>

#include "widgets/core_metatypes.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QSortFilterProxyModel;
class QTableView;

namespace ponet::gui {

class CheckResultModel;
class SelfTestWorker;

class SelfTestPage : public QWidget {
    Q_OBJECT
  public:
    // `devices`: what ponet::available_devices() reported, e.g. {"cpu", "cuda:0"}.
    explicit SelfTestPage(const QStringList& devices, QWidget* parent = nullptr);
    ~SelfTestPage() override;

    void start();   // no-op while running
    void cancel();  // cooperative: the run stops after the check in progress
    bool isRunning() const { return running_; }

    // "" = all devices, else one device name. Unknown names fall back to all devices.
    QString deviceSelection() const;
    void setDeviceSelection(const QString& device);

    // How many checks earlier runs produced per device selection, so the progress bar can be determinate.
    QVariantMap checkCounts() const { return checkCounts_; }
    void setCheckCounts(const QVariantMap& counts) { checkCounts_ = counts; }

    const CheckResultModel* results() const { return model_; }
    QString summaryText() const;

  Q_SIGNALS:
    void runningChanged(bool running);
    void finished(int passed, int failed, bool cancelled);
    void logMessage(const QString& text);
    void deviceSelectionChanged(const QString& device);
    // Internal: the queued command to the worker.
    void runRequested(const QStringList& devices);

  private:
    void onResult(const ponet::CheckResult& result);
    void onFinished(int passed, int failed, bool cancelled, qint64 elapsedMs);
    void onFailed(const QString& message);
    void setRunning(bool running);
    void updateSummary();
    void updateFilter();

    QComboBox* deviceCombo_ = nullptr;
    QPushButton* runButton_ = nullptr;
    QPushButton* cancelButton_ = nullptr;
    QCheckBox* failuresOnly_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QLabel* summary_ = nullptr;
    QTableView* table_ = nullptr;
    CheckResultModel* model_ = nullptr;
    QSortFilterProxyModel* proxy_ = nullptr;

    bool running_ = false;
    bool cancelRequested_ = false;
    QString runKey_;  // the device selection of the run in progress
    QVariantMap checkCounts_;
    QElapsedTimer clock_;

    QThread thread_;
    std::unique_ptr<SelfTestWorker> worker_;
};

}  // namespace ponet::gui
