// The Model page's cost preview: time and peak memory per training step against sequence length for the
// shown model's benchmark shape, mixer and a device, from the per-device benchmark cache (bench_cache.h).
// When the cache has nothing for them, it says so and offers a short measurement on a worker thread (the
// harness behind `ponet bench`), with progress and Cancel; the result is plotted and cached.
#pragma once
#include <QStringList>
#include <QThread>
#include <QWidget>

#include <memory>
#include <vector>

#include "core/bench/bench.h"

class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;

namespace ponet::gui {

class BenchmarkPlot;
class BenchmarkWorker;

class CostPreview : public QWidget {
    Q_OBJECT
  public:
    explicit CostPreview(QWidget* parent = nullptr);
    ~CostPreview() override;

    // `devices`: what ponet::available_devices() reported, e.g. {"cpu", "cuda:0"}; the first is chosen.
    void setDevices(const QStringList& devices);
    // Shows `device` (one of the devices) when it is not measuring; returns false when it cannot.
    bool setDevice(const QString& device);
    // The shown model: its directory name picks the benchmark shape (ponet-tiny → tiny,
    // ponet-base-uncased → base, lra-text → lra-text); `mixer` is "ponet", "fnet" or "attention".
    void setModel(const QString& directoryName, const QString& mixer, qint64 maxPositions);

    // The benchmark preset for a model directory name, or empty when the harness has no such shape.
    static QString presetForModel(const QString& directoryName);
    // What the measure button runs for the current model and device (lengths 256..4096 capped by the
    // model's max positions).
    ponet::bench::BenchSpec measurementSpec() const;
    // For tests and slow machines: at most `lengths` lengths, `warmup` untimed and `steps` timed steps.
    void setMeasurementBudget(int lengths, int warmup, int steps);

    QString statusText() const;
    bool canMeasure() const;  // the measure button is offered and enabled
    bool isMeasuring() const { return measuring_; }
    int timePointCount() const;    // points on the time plot
    int memoryPointCount() const;  // points on the memory plot

    // Rereads the cache and redraws.
    void refresh();
    void measure();
    void cancel();

  Q_SIGNALS:
    void previewChanged();
    void measuringChanged(bool measuring);
    void measurementFinished(bool ok);
    void logMessage(const QString& text);
    // Internal: the queued command to the worker.
    void runRequested(const ponet::bench::BenchSpec& spec);

  private:
    void plot(const ponet::bench::BenchReport* report);
    void setMeasuring(bool measuring);
    void onProgress(const ponet::bench::BenchProgress& p);
    void onFinished(const ponet::bench::BenchReport& report);
    void onFailed(const QString& message);
    QString device() const;

    QComboBox* device_ = nullptr;
    QLabel* status_ = nullptr;
    QPushButton* measureButton_ = nullptr;
    QPushButton* cancelButton_ = nullptr;
    QProgressBar* progress_ = nullptr;
    BenchmarkPlot* timePlot_ = nullptr;
    BenchmarkPlot* memoryPlot_ = nullptr;

    QString preset_, mixer_, modelName_;
    qint64 maxPositions_ = 0;
    int budgetLengths_ = 5, budgetWarmup_ = 1, budgetSteps_ = 3;
    bool measuring_ = false;
    std::vector<ponet::bench::BenchReport> cache_;

    QThread thread_;
    std::unique_ptr<BenchmarkWorker> worker_;
};

}  // namespace ponet::gui
