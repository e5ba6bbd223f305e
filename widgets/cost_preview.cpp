#include "widgets/cost_preview.h"

#include <QComboBox>
#include <QDateTime>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QStyle>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "core/bench/bench_cache.h"
#include "core/bench/cost_model.h"
#include "core/util/error.h"
#include "widgets/number_format.h"
#include "widgets/benchmark_plot.h"
#include "widgets/benchmark_worker.h"

namespace ponet::gui {
namespace {

constexpr qint64 kFirstLength = 256;
constexpr qint64 kLastLength = 4096;
constexpr qint64 kBatch = 8;
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

QString qs(const std::string& s) {
    return QString::fromStdString(s);
}

// The harness's shapes with `mixer`; presets whose resources are missing are left out.
std::vector<std::pair<std::string, ponet::ModelConfig>> presetShapes(ponet::MixerKind mixer) {
    std::vector<std::pair<std::string, ponet::ModelConfig>> out;
    for (const std::string& p : ponet::bench::preset_names()) {
        try {
            out.emplace_back(p, ponet::bench::bench_preset_config(p, mixer));
        } catch (const std::exception&) {
        }
    }
    return out;
}

// How far apart two shapes are in cost: the log of their FLOP ratio at 512 tokens.
double costDistance(const ponet::ModelConfig& a, const ponet::ModelConfig& b) {
    const double fa = ponet::bench::training_step_cost(a, a.mixer, kBatch, 512).flops;
    const double fb = ponet::bench::training_step_cost(b, a.mixer, kBatch, 512).flops;
    return std::abs(std::log(std::max(1.0, fa) / std::max(1.0, fb)));
}

QString shapeText(const ponet::ModelConfig& c) {
    return CostPreview::tr("hidden %1, %2 layers, %3 heads, feed-forward %4")
        .arg(c.hidden_size)
        .arg(c.num_hidden_layers)
        .arg(c.num_attention_heads)
        .arg(c.intermediate_size);
}

QString mixerTitle(const QString& mixer) {
    if (mixer == QLatin1String("ponet")) return CostPreview::tr("PoNet");
    if (mixer == QLatin1String("fnet")) return CostPreview::tr("FNet");
    if (mixer == QLatin1String("attention")) return CostPreview::tr("Attention");
    return mixer;
}

}  // namespace

CostPreview::CostPreview(QWidget* parent) : QWidget(parent), worker_(std::make_unique<BenchmarkWorker>()) {
    BenchmarkWorker::registerMetaTypes();

    device_ = new QComboBox(this);
    device_->setObjectName(QStringLiteral("costDevice"));
    device_->setToolTip(tr("The device whose measurements are shown and on which a measurement runs"));
    device_->addItem(QStringLiteral("cpu"), QStringLiteral("cpu"));
    connect(device_, &QComboBox::currentIndexChanged, this, [this] { refresh(); });
    auto* deviceLabel = new QLabel(tr("&Device:"), this);
    deviceLabel->setBuddy(device_);

    measureButton_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaPlay), tr("&Measure Now"), this);
    measureButton_->setObjectName(QStringLiteral("measureCostButton"));
    measureButton_->setToolTip(
        tr("Run a short benchmark of this model shape and mixer on the chosen device (a few training "
           "steps per length) and keep the result in the benchmark cache"));
    connect(measureButton_, &QPushButton::clicked, this, &CostPreview::measure);
    cancelButton_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaStop), tr("Cancel"), this);
    cancelButton_->setObjectName(QStringLiteral("cancelCostButton"));
    cancelButton_->setToolTip(tr("Stop after the step in progress"));
    cancelButton_->setVisible(false);
    connect(cancelButton_, &QPushButton::clicked, this, &CostPreview::cancel);

    progress_ = new QProgressBar(this);
    progress_->setObjectName(QStringLiteral("costProgress"));
    progress_->setVisible(false);

    status_ = new QLabel(this);
    status_->setObjectName(QStringLiteral("costStatus"));
    status_->setWordWrap(true);
    status_->setTextFormat(Qt::PlainText);

    timePlot_ = new BenchmarkPlot(tr("Time per training step"), this);
    timePlot_->setObjectName(QStringLiteral("costTimePlot"));
    memoryPlot_ = new BenchmarkPlot(tr("Peak memory per training step"), this);
    memoryPlot_->setObjectName(QStringLiteral("costMemoryPlot"));
    for (BenchmarkPlot* p : {timePlot_, memoryPlot_}) p->setMinimumSize(220, 200);

    auto* bar = new QHBoxLayout;
    bar->addWidget(deviceLabel);
    bar->addWidget(device_);
    bar->addStretch(1);
    bar->addWidget(progress_, 1);
    bar->addWidget(measureButton_);
    bar->addWidget(cancelButton_);
    auto* plots = new QHBoxLayout;
    plots->addWidget(timePlot_);
    plots->addWidget(memoryPlot_);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(bar);
    layout->addWidget(status_);
    layout->addLayout(plots, 1);

    worker_->moveToThread(&thread_);
    connect(this, &CostPreview::runRequested, worker_.get(), &BenchmarkWorker::run);
    connect(worker_.get(), &BenchmarkWorker::progress, this, &CostPreview::onProgress);
    connect(worker_.get(), &BenchmarkWorker::finished, this, &CostPreview::onFinished);
    connect(worker_.get(), &BenchmarkWorker::failed, this, &CostPreview::onFailed);
    connect(worker_.get(), &BenchmarkWorker::logMessage, this, &CostPreview::logMessage);
    thread_.setObjectName(QStringLiteral("ponet-cost-preview"));
    thread_.start();
    refresh();
}

CostPreview::~CostPreview() {
    worker_->requestCancel();  // the harness stops after the step in progress
    thread_.quit();
    thread_.wait();
}

void CostPreview::setDevices(const QStringList& devices) {
    const QString previous = device();
    const QSignalBlocker blocker(device_);
    device_->clear();
    for (const QString& d : devices) device_->addItem(d, d);
    if (device_->count() == 0) device_->addItem(QStringLiteral("cpu"), QStringLiteral("cpu"));
    device_->setCurrentIndex(std::max(0, device_->findData(previous)));
    refresh();
}

bool CostPreview::setDevice(const QString& device) {
    const int index = device_->findData(device);
    if (index < 0 || measuring_) return false;
    device_->setCurrentIndex(index);
    return true;
}

QString CostPreview::presetForShape(const ponet::ModelConfig& config) {
    for (const auto& [name, shape] : presetShapes(config.mixer))
        if (ponet::bench::same_shape(shape, config)) return QString::fromStdString(name);
    return {};
}

void CostPreview::setModel(const ponet::ModelConfig& config, const QString& name) {
    modelName_ = name;
    config_ = config;
    mixer_ = QString::fromStdString(ponet::to_string(config.mixer));
    maxPositions_ = config.max_position_embeddings;
    preset_ = presetForShape(config);
    exact_ = !preset_.isEmpty();
    if (!exact_) {
        // Calibrate with the nearest shape in cost the harness measures.
        double best = 1e300;
        for (const auto& [p, shape] : presetShapes(config.mixer)) {
            const double d = costDistance(config, shape);
            if (d < best) {
                best = d;
                preset_ = QString::fromStdString(p);
            }
        }
    }
    refresh();
}

void CostPreview::setMeasurementBudget(int lengths, int warmup, int steps) {
    budgetLengths_ = std::max(1, lengths);
    budgetWarmup_ = std::max(0, warmup);
    budgetSteps_ = std::max(1, steps);
}

ponet::bench::BenchSpec CostPreview::measurementSpec() const {
    ponet::bench::BenchSpec spec;
    spec.preset = preset_.toStdString();
    spec.mixers = {mixer_.toStdString()};
    spec.lengths.clear();
    // Its own shape: the lengths it allows. A calibration: at least two lengths, so memory fits a line.
    const qint64 cap = exact_ ? maxPositions_ : std::max<qint64>(2 * kFirstLength, maxPositions_);
    for (qint64 l = kFirstLength;
         l <= kLastLength && l <= cap && static_cast<int>(spec.lengths.size()) < budgetLengths_; l *= 2)
        spec.lengths.push_back(l);
    spec.batch = kBatch;
    spec.device = device().toStdString();
    spec.mode = ponet::bench::BenchMode::Train;
    spec.warmup = budgetWarmup_;
    spec.steps = budgetSteps_;
    return spec;
}

QString CostPreview::device() const {
    return device_->currentData().toString();
}

QString CostPreview::statusText() const {
    return status_->text();
}

bool CostPreview::canMeasure() const {
    return measureButton_->isVisibleTo(this) && measureButton_->isEnabled();
}

int CostPreview::timePointCount() const {
    int n = 0;
    for (int i = 0; i < timePlot_->graphCount(); ++i) n += timePlot_->graph(i)->dataCount();
    return n;
}

int CostPreview::memoryPointCount() const {
    int n = 0;
    for (int i = 0; i < memoryPlot_->graphCount(); ++i) n += memoryPlot_->graph(i)->dataCount();
    return n;
}

void CostPreview::refresh() {
    if (measuring_) return;  // the result redraws when the measurement ends
    estimate_ = false;
    if (!config_ || mixer_.isEmpty()) {
        measureButton_->setVisible(false);
        status_->setText(tr("No model shown."));
        plot(nullptr);
        return;
    }
    if (preset_.isEmpty()) {
        measureButton_->setVisible(false);
        status_->setText(tr("The built-in benchmark shapes are missing (no resources directory), so there is "
                            "nothing to measure or estimate from."));
        plot(nullptr);
        return;
    }
    std::vector<std::string> problems;
    cache_ = ponet::bench::load_cache(&problems);
    for (const auto& p : problems) Q_EMIT logMessage(tr("Benchmark cache: skipped %1").arg(qs(p)));
    const std::string dev = device().toStdString(), mixer = mixer_.toStdString();
    auto usable = [&](const ponet::bench::BenchReport& r) {
        return r.device == dev && r.spec.mode == ponet::bench::BenchMode::Train &&
               std::any_of(r.rows.begin(), r.rows.end(), [&](const auto& row) { return row.mixer == mixer && row.ok(); });
    };
    auto when = [](const ponet::bench::BenchReport& r) {
        return QDateTime::fromString(qs(r.started_at), Qt::ISODate).toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm"));
    };
    measureButton_->setVisible(true);
    measureButton_->setEnabled(true);
    if (exact_) {
        // The newest training measurement of this very shape and mixer on this device (newest first).
        for (const auto& r : cache_) {
            if (!usable(r) || qs(r.spec.preset) != preset_) continue;
            status_->setText(tr("Measured %1 on %2 (%3): %4, batch %5, %6. Measure again to refresh.")
                                 .arg(when(r), qs(r.device), qs(r.device_name), qs(r.spec.preset))
                                 .arg(r.spec.batch)
                                 .arg(qs(r.precision)));
            measureButton_->setText(tr("&Measure Again"));
            plot(&r);
            return;
        }
    }
    if (plotEstimate()) return;
    measureButton_->setText(tr("&Measure Now"));
    status_->setText(
        exact_ ? tr("The benchmark cache has no measurement of %1 (%2) on %3 yet. Measure it now: a few training "
                    "steps at each length, which takes a moment.")
                     .arg(modelName_, mixerTitle(mixer_), device())
               : tr("No %1 measurement on %2 to estimate “%3” from yet. Measure the nearest built-in shape "
                    "(%4) now, a few training steps at each length; this shape is then estimated from it.")
                     .arg(mixerTitle(mixer_), device(), modelName_, preset_));
    plot(nullptr);
}

bool CostPreview::plotEstimate() {
    const std::string dev = device().toStdString(), mixer = mixer_.toStdString();
    // The calibration: a cached training measurement of this mixer on this device, the nearest shape first,
    // then the newest.
    const ponet::bench::BenchReport* best = nullptr;
    ponet::ModelConfig bestShape;
    double bestDistance = 1e300;
    for (const auto& r : cache_) {
        if (r.device != dev || r.spec.mode != ponet::bench::BenchMode::Train) continue;
        if (std::none_of(r.rows.begin(), r.rows.end(), [&](const auto& row) { return row.mixer == mixer && row.ok(); }))
            continue;
        ponet::ModelConfig shape;
        try {
            shape = ponet::bench::bench_preset_config(r.spec.preset, config_->mixer);
        } catch (const std::exception&) {
            continue;
        }
        const double d = costDistance(*config_, shape);
        if (d < bestDistance - 1e-9) {
            bestDistance = d;
            best = &r;
            bestShape = shape;
        }
    }
    if (!best) return false;
    std::vector<int64_t> lengths;
    const qint64 cap = std::min<qint64>(maxPositions_, 16384);
    for (qint64 l = kFirstLength; l <= cap; l *= 2) lengths.push_back(l);
    if (lengths.empty()) lengths.push_back(std::max<qint64>(2, maxPositions_));
    ponet::bench::CostCurve curve;
    try {
        curve = ponet::bench::estimate_cost(*config_, config_->mixer, kBatch, lengths, *best, bestShape);
    } catch (const ponet::Error& e) {
        Q_EMIT logMessage(tr("Cost preview: %1").arg(qs(e.what())));
        return false;
    }
    estimate_ = true;
    BenchmarkPlot::Series time, memory;
    time.label = memory.label = tr("%1 (estimate)").arg(mixerTitle(mixer_));
    time.color = memory.color = BenchmarkPlot::mixerColor(mixer_);
    for (size_t i = 0; i < curve.lengths.size(); ++i) {
        const double l = static_cast<double>(curve.lengths[i]);
        time.lengths << l;
        time.values << curve.ms[i];
        if (curve.peak_bytes[i] >= 0) {
            memory.lengths << l;
            memory.values << curve.peak_bytes[i] / kGiB;
        }
    }
    const QString empty = tr("No measurement");
    timePlot_->setSeries({time}, tr("ms per step (estimate)"), empty);
    memoryPlot_->setSeries(memory.lengths.isEmpty() ? QVector<BenchmarkPlot::Series>{} : QVector<BenchmarkPlot::Series>{memory},
                           dev == "cpu" ? tr("peak resident memory (GiB, estimate)")
                                        : tr("peak GPU memory (GiB, estimate)"),
                           empty);
    const QString when = QDateTime::fromString(qs(best->started_at), Qt::ISODate)
                             .toLocalTime()
                             .toString(QStringLiteral("yyyy-MM-dd HH:mm"));
    status_->setText(
        tr("Estimate, not a measurement: %1 (%2) is not a shape the benchmark measures, so its time per step is "
           "scaled by FLOPs and its memory by modelled bytes from the measurement of %3 (%4) on %5 (%6, %7, batch "
           "%8, %9).")
            .arg(modelName_, shapeText(*config_), qs(best->spec.preset), mixerTitle(mixer_), qs(best->device),
                 qs(best->device_name), when)
            .arg(best->spec.batch)
            .arg(qs(best->precision)));
    if (exact_) {
        status_->setText(tr("Estimate, not a measurement: %1 has no measurement on %2 yet, so it is scaled from %3 "
                            "(%4, %5). Measure it now for measured numbers.")
                             .arg(modelName_, qs(best->device), qs(best->spec.preset), qs(best->device_name), when));
        measureButton_->setText(tr("&Measure Now"));
    } else {
        // preset_ stays the nearest shape the harness measures: what "Measure" runs.
        measureButton_->setText(qs(best->spec.preset) == preset_ ? tr("&Measure %1 Again").arg(preset_)
                                                                  : tr("&Measure %1").arg(preset_));
    }
    // Far from its calibration the estimate is rough (small models spend their time on other things than
    // FLOPs); say so, and what to measure for a close one.
    const double ratio = ponet::bench::work_ratio(*config_, bestShape, config_->mixer);
    if (ratio > 16 || ratio < 1.0 / 16) {
        const QString factor = QString::number(ratio > 1 ? ratio : 1 / ratio, 'f', 0);
        const QString nearest = exact_ ? modelName_ : preset_;
        status_->setText(status_->text() + QLatin1Char(' ') +
                         (nearest != qs(best->spec.preset)
                              ? tr("The two differ %1× in work per step, so take it as a rough guide; measuring %2 "
                                   "gives a close one.")
                                    .arg(factor, nearest)
                              : tr("The two differ %1× in work per step, so take it as a rough guide.").arg(factor)));
    }

    timePlot_->setToolTip(tr("Estimated from %1 by a FLOP count of each layer").arg(qs(best->spec.preset)));
    memoryPlot_->setToolTip(
        tr("Estimated from %1 by a count of weights, optimizer state and activations").arg(qs(best->spec.preset)));
    Q_EMIT previewChanged();
    return true;
}

void CostPreview::plot(const ponet::bench::BenchReport* report) {
    BenchmarkPlot::Series time, memory;
    time.label = memory.label = mixerTitle(mixer_);
    time.color = memory.color = BenchmarkPlot::mixerColor(mixer_);
    if (report) {
        std::vector<const ponet::bench::BenchRow*> rows;
        for (const auto& r : report->rows)
            if (qs(r.mixer) == mixer_) rows.push_back(&r);
        std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->length < b->length; });
        for (const auto* r : rows) {
            const double l = static_cast<double>(r->length);
            if (r->ok()) {
                time.lengths << l;
                time.values << r->median_ms;
                if (r->peak_bytes >= 0) {
                    memory.lengths << l;
                    memory.values << static_cast<double>(r->peak_bytes) / kGiB;
                }
            } else if (r->status == "oom") {
                time.oomLengths << l;
                memory.oomLengths << l;
            }
        }
    }
    QVector<BenchmarkPlot::Series> t, m;
    if (!time.lengths.isEmpty() || !time.oomLengths.isEmpty()) t << time;
    if (!memory.lengths.isEmpty() || !memory.oomLengths.isEmpty()) m << memory;
    const QString empty = measuring_ ? tr("Measuring…") : tr("No measurement");
    timePlot_->setSeries(t, tr("ms per step (median)"), empty);
    const bool cpu = report ? report->device == "cpu" : device() == QLatin1String("cpu");
    memoryPlot_->setSeries(m, cpu ? tr("peak resident memory (GiB)") : tr("peak GPU memory (GiB)"), empty);
    if (report) {
        timePlot_->setToolTip(qs(report->timing_method));
        memoryPlot_->setToolTip(qs(report->memory_metric));
    }
    Q_EMIT previewChanged();
}

void CostPreview::measure() {
    if (measuring_ || preset_.isEmpty()) return;
    estimate_ = false;
    const ponet::bench::BenchSpec spec = measurementSpec();
    if (spec.lengths.empty()) return;
    setMeasuring(true);
    progress_->setRange(
        0, static_cast<int>(spec.lengths.size() * static_cast<size_t>(spec.warmup + spec.steps)));
    progress_->setValue(0);
    status_->setText(exact_ ? tr("Measuring %1 (%2) on %3…").arg(modelName_, mixerTitle(mixer_), device())
                            : tr("Measuring %1 (%2) on %3 to estimate %4 from…")
                                  .arg(preset_, mixerTitle(mixer_), device(), modelName_));
    plot(nullptr);
    worker_->rearm();
    Q_EMIT logMessage(
        tr("Cost preview: measuring %1 (%2) on %3").arg(modelName_, mixerTitle(mixer_), device()));
    Q_EMIT runRequested(spec);
}

void CostPreview::cancel() {
    if (!measuring_) return;
    worker_->requestCancel();
    cancelButton_->setEnabled(false);
    status_->setText(tr("Cancelling after the step in progress…"));
}

void CostPreview::setMeasuring(bool measuring) {
    measuring_ = measuring;
    measureButton_->setVisible(!measuring);
    cancelButton_->setVisible(measuring);
    cancelButton_->setEnabled(measuring);
    progress_->setVisible(measuring);
    device_->setEnabled(!measuring);
    Q_EMIT measuringChanged(measuring);
}

void CostPreview::onProgress(const ponet::bench::BenchProgress& p) {
    const int perCell = progress_->maximum() / std::max(1, p.rows);
    progress_->setValue(p.row * perCell + static_cast<int>(p.step));
    progress_->setFormat(tr("%1 tokens: step %2 of %3").arg(p.length).arg(p.step).arg(p.steps));
}

void CostPreview::onFinished(const ponet::bench::BenchReport& report) {
    setMeasuring(false);
    const bool ok =
        !report.cancelled && std::any_of(report.rows.begin(), report.rows.end(),
                                         [](const auto& r) { return r.ok() || r.status == "oom"; });
    int errors = 0;
    QString firstError;
    for (const auto& r : report.rows) {
        if (r.status == "error") {
            if (errors++ == 0) firstError = qs(r.message);
        }
    }
    refresh();  // the worker has stored the finished cells in the cache
    if (timePointCount() == 0 && memoryPointCount() == 0) plot(&report);  // e.g. the cache was not writable
    if (report.cancelled) {
        status_->setText(tr("Measurement cancelled. ") + status_->text());
    } else if (errors > 0) {
        status_->setText(tr("%n length(s) failed: %1. ", nullptr, errors).arg(firstError) + status_->text());
    }
    Q_EMIT logMessage(
        report.cancelled
            ? tr("Cost preview: measurement cancelled")
            : tr("Cost preview: measured on %1 (%2)").arg(qs(report.device), qs(report.device_name)));
    Q_EMIT measurementFinished(ok && errors == 0);
}

void CostPreview::onFailed(const QString& message) {
    setMeasuring(false);
    refresh();
    status_->setText(tr("The measurement could not run: %1").arg(message));
    Q_EMIT logMessage(tr("Cost preview: %1").arg(message));
    Q_EMIT measurementFinished(false);
}

}  // namespace ponet::gui
