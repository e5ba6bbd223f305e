// The Model page's cost preview: time and peak memory per training step against sequence length for the shown
// model, its mixer and a device. A shape the benchmark harness measures (its tiny, base and lra-text presets)
// shows the measurement from the per-device benchmark cache (bench_cache.h); any other shape gets an estimate,
// scaled from the cached measurement of the nearest measured shape with the same mixer on that device by a
// FLOP and memory cost model (cost_model.h), and says so. Without a measurement to use, it offers a short one
// on a worker thread (the harness behind `ponet bench`), with progress and Cancel; the result is cached.
#pragma once
#include <QStringList>
#include <QThread>
#include <QWidget>

#include <memory>
#include <optional>
#include <vector>

#include "core/bench/bench.h"
#include "core/model/model_config.h"

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
    // The shown model (any shape; its mixer is config.mixer) and the name the preview calls it by.
    void setModel(const ponet::ModelConfig& config, const QString& name);

    // The harness preset whose shape equals `config` (hidden size, layers, heads, feed-forward, mixer), or
    // empty when none does.
    static QString presetForShape(const ponet::ModelConfig& config);
    // What the measure button runs for the current model and device: its own shape when the harness has it,
    // else the nearest measured shape (to calibrate the estimate); lengths 256..4096 within the positions.
    ponet::bench::BenchSpec measurementSpec() const;
    // Whether the curves shown are an estimate (scaled from another shape's measurement), not a measurement.
    bool isEstimate() const { return estimate_; }
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
    bool plotEstimate();
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
    std::optional<ponet::ModelConfig> config_;
    bool exact_ = false;     // preset_ is the shown shape itself
    bool estimate_ = false;  // the plots show an estimate
    qint64 maxPositions_ = 0;
    int budgetLengths_ = 5, budgetWarmup_ = 1, budgetSteps_ = 3;
    bool measuring_ = false;
    std::vector<ponet::bench::BenchReport> cache_;

    QThread thread_;
    std::unique_ptr<BenchmarkWorker> worker_;
};

}  // namespace ponet::gui
