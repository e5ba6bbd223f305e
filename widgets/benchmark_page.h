// The Benchmark page: speed and peak memory against sequence length for PoNet, FNet and attention on the
// user's device (the PoNet paper's Table 2), run by the core's harness on a worker thread. Results are cached
// per device, so the page previews what a setting costs before anything runs; saved reports of other devices
// load for comparison; the results export as JSON, CSV and PNG.
#pragma once
#include <QString>
#include <QStringList>
#include <QThread>
#include <QWidget>

#include <memory>
#include <vector>

#include "core/bench/bench.h"
#include "widgets/benchmark_worker.h"  // the value types' Q_DECLARE_METATYPE, needed by this header's moc

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace ponet::gui {

class BenchmarkPlot;
class BenchmarkWorker;
class InlineMessage;

class BenchmarkPage : public QWidget {
    Q_OBJECT
  public:
    // `devices`: what ponet::available_devices() reported, e.g. {"cpu", "cuda:0"}.
    explicit BenchmarkPage(const QStringList& devices, QWidget* parent = nullptr);
    ~BenchmarkPage() override;

    // The form as a spec; returns false with the reason (bad lengths, no mixer) in `error`.
    bool readSpec(ponet::bench::BenchSpec* spec, QString* error) const;
    void setSpec(
        const ponet::bench::BenchSpec& spec);  // fills the form (unknown values are left as they are)

    void start();   // no-op while running; a bad form shows its reason on the page
    void cancel();  // cooperative: stops after the step in progress
    bool isRunning() const { return running_; }

    // What the plots and the table show: this session's run, or the cached results for the form's setting.
    bool hasResults() const { return !shown_.rows.empty(); }
    const ponet::bench::BenchReport& shownReport() const { return shown_; }
    QString sourceText() const;
    int resultRowCount() const;
    int comparisonCount() const;       // choices in "Compare with", "None" excluded
    bool selectComparison(int index);  // 0 = none, 1.. = the choices

    // File actions (also behind the buttons); return false with a message a user can act on.
    bool saveReport(const QString& path, QString* error) const;
    bool loadComparison(const QString& path, QString* error);
    bool exportCsv(const QString& path, QString* error) const;
    bool exportPng(const QString& path, QString* error);

    BenchmarkPlot* speedPlot() const { return speedPlot_; }
    BenchmarkPlot* memoryPlot() const { return memoryPlot_; }

  Q_SIGNALS:
    void runningChanged(bool running);
    void finished(bool ok, bool cancelled);
    void logMessage(const QString& text);
    // Internal: the queued command to the worker.
    void runRequested(const ponet::bench::BenchSpec& spec);

  private:
    void buildForm();
    void restoreSettings();
    void saveSettings() const;
    void onSettingsChanged();
    void onProgress(const ponet::bench::BenchProgress& p);
    void onRow(const ponet::bench::BenchRow& row);
    void onFinished(const ponet::bench::BenchReport& report);
    void onFailed(const QString& message);
    void setRunning(bool running);
    void reloadCache();
    void refreshComparisons();
    void showReport(const ponet::bench::BenchReport& report, const QString& source);
    void refreshViews();
    void refreshPlots();
    void refreshTable();
    QString resolvedPrecision() const;
    QString settingKeyOfForm() const;
    void chooseSaveReport();
    void chooseLoadComparison();
    void chooseExportCsv();
    void chooseExportPng();

    QStringList devices_;
    QCheckBox* mixerChecks_[3] = {nullptr, nullptr, nullptr};
    QLineEdit* lengths_ = nullptr;
    QComboBox* preset_ = nullptr;
    QComboBox* mode_ = nullptr;
    QSpinBox* batch_ = nullptr;
    QComboBox* device_ = nullptr;
    QComboBox* precision_ = nullptr;
    QComboBox* impl_ = nullptr;
    QComboBox* graphs_ = nullptr;
    QSpinBox* steps_ = nullptr;
    QSpinBox* warmup_ = nullptr;
    QPushButton* runButton_ = nullptr;
    QPushButton* cancelButton_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QLabel* status_ = nullptr;
    InlineMessage* message_ = nullptr;

    QComboBox* speedQuantity_ = nullptr;
    QComboBox* compare_ = nullptr;
    QPushButton* saveButton_ = nullptr;
    QPushButton* csvButton_ = nullptr;
    QPushButton* pngButton_ = nullptr;
    QLabel* source_ = nullptr;
    QWidget* plots_ = nullptr;
    BenchmarkPlot* speedPlot_ = nullptr;
    BenchmarkPlot* memoryPlot_ = nullptr;
    QTableWidget* table_ = nullptr;

    bool running_ = false;
    bool restoring_ = true;
    ponet::bench::BenchReport shown_;
    QString shownSource_;
    bool haveRun_ = false;                           // shown_ holds this session's run (possibly in progress)
    std::vector<ponet::bench::BenchReport> cache_;   // every cached report, newest first
    std::vector<ponet::bench::BenchReport> loaded_;  // reports the user loaded from files
    std::vector<ponet::bench::BenchReport> choices_;  // what "Compare with" offers, in its order
    int comparison_ = -1;                             // index into choices_, -1 = none

    QThread thread_;
    std::unique_ptr<BenchmarkWorker> worker_;
};

}  // namespace ponet::gui
