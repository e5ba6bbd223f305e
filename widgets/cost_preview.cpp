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

#include "core/bench/bench_cache.h"
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

QString CostPreview::presetForModel(const QString& directoryName) {
    if (directoryName == QLatin1String("ponet-tiny")) return QStringLiteral("tiny");
    if (directoryName == QLatin1String("ponet-base-uncased")) return QStringLiteral("base");
    if (directoryName == QLatin1String("lra-text")) return QStringLiteral("lra-text");
    return {};
}

void CostPreview::setModel(const QString& directoryName, const QString& mixer, qint64 maxPositions) {
    modelName_ = directoryName;
    preset_ = presetForModel(directoryName);
    mixer_ = mixer;
    maxPositions_ = maxPositions;
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
    for (qint64 l = kFirstLength;
         l <= kLastLength && l <= maxPositions_ && static_cast<int>(spec.lengths.size()) < budgetLengths_;
         l *= 2)
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
    if (preset_.isEmpty() || mixer_.isEmpty()) {
        measureButton_->setVisible(false);
        status_->setText(
            modelName_.isEmpty()
                ? tr("No model shown.")
                : tr("The benchmark harness measures the built-in shapes ponet-tiny, ponet-base-uncased and "
                     "lra-text; “%1” is none of them, so there is no cost preview for it.")
                      .arg(modelName_));
        plot(nullptr);
        return;
    }
    if (measurementSpec().lengths.empty()) {
        measureButton_->setVisible(false);
        status_->setText(tr("This model allows %1 positions, fewer than the shortest measured length (%2).")
                             .arg(maxPositions_)
                             .arg(kFirstLength));
        plot(nullptr);
        return;
    }
    std::vector<std::string> problems;
    cache_ = ponet::bench::load_cache(&problems);
    for (const auto& p : problems) Q_EMIT logMessage(tr("Benchmark cache: skipped %1").arg(qs(p)));
    const std::string dev = device().toStdString(), preset = preset_.toStdString(),
                      mixer = mixer_.toStdString();
    // The newest training measurement of this shape and mixer on this device (load_cache is newest first).
    for (const auto& r : cache_) {
        if (r.device != dev || r.spec.preset != preset || r.spec.mode != ponet::bench::BenchMode::Train)
            continue;
        if (std::none_of(r.rows.begin(), r.rows.end(), [&](const auto& row) { return row.mixer == mixer; }))
            continue;
        const QString when = QDateTime::fromString(qs(r.started_at), Qt::ISODate)
                                 .toLocalTime()
                                 .toString(QStringLiteral("yyyy-MM-dd HH:mm"));
        status_->setText(tr("Measured %1 on %2 (%3): %4, batch %5, %6. Measure again to refresh.")
                             .arg(when, qs(r.device), qs(r.device_name), qs(r.spec.preset))
                             .arg(r.spec.batch)
                             .arg(qs(r.precision)));
        measureButton_->setText(tr("&Measure Again"));
        measureButton_->setVisible(true);
        measureButton_->setEnabled(true);
        plot(&r);
        return;
    }
    status_->setText(tr("The benchmark cache has no measurement of %1 (%2) on %3 yet. Measure it now: "
                        "a few training steps at each length, which takes a moment.")
                         .arg(modelName_, mixerTitle(mixer_), device()));
    measureButton_->setText(tr("&Measure Now"));
    measureButton_->setVisible(true);
    measureButton_->setEnabled(true);
    plot(nullptr);
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
    const ponet::bench::BenchSpec spec = measurementSpec();
    if (spec.lengths.empty()) return;
    setMeasuring(true);
    progress_->setRange(
        0, static_cast<int>(spec.lengths.size() * static_cast<size_t>(spec.warmup + spec.steps)));
    progress_->setValue(0);
    status_->setText(tr("Measuring %1 (%2) on %3…").arg(modelName_, mixerTitle(mixer_), device()));
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
