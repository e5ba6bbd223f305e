#include "widgets/benchmark_page.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPixmap>
#include <QProgressBar>
#include <QPushButton>
#include <QSaveFile>
#include <QScrollArea>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardPaths>
#include <QStyle>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "core/bench/bench_cache.h"
#include "core/util/error.h"
#include "widgets/benchmark_plot.h"
#include "widgets/benchmark_worker.h"
#include "widgets/inline_message.h"
#include "widgets/widget_helpers.h"

namespace ponet::gui {
namespace {

const char* const kMixers[3] = {"ponet", "fnet", "attention"};

namespace key {
const char mixers[] = "benchmark/mixers";
const char lengths[] = "benchmark/lengths";
const char preset[] = "benchmark/preset";
const char mode[] = "benchmark/mode";
const char batch[] = "benchmark/batch";
const char device[] = "benchmark/device";
const char precision[] = "benchmark/precision";
const char impl[] = "benchmark/impl";
const char graphs[] = "benchmark/cudaGraphs";
const char steps[] = "benchmark/steps";
const char warmup[] = "benchmark/warmup";
const char speedQuantity[] = "benchmark/speedQuantity";
const char lastFolder[] = "benchmark/lastFolder";
}  // namespace key

enum SpeedQuantity { StepsPerSecond = 0, MsPerStep = 1, TokensPerSecond = 2 };

QString qs(const std::string& s) {
    return QString::fromStdString(s);
}

QString mixerTitle(const QString& mixer) {
    if (mixer == QLatin1String("ponet")) return QStringLiteral("PoNet");
    if (mixer == QLatin1String("fnet")) return QStringLiteral("FNet");
    if (mixer == QLatin1String("attention")) return BenchmarkPage::tr("Attention");
    return mixer;
}

QString joinLengths(const std::vector<int64_t>& lengths) {
    QStringList parts;
    for (int64_t l : lengths) parts << QString::number(l);
    return parts.join(QLatin1Char(','));
}

QString gib(int64_t bytes) {
    if (bytes < 0) return BenchmarkPage::tr("n/a");
    return QLocale().toString(static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0), 'f', 2) +
           BenchmarkPage::tr(" GiB");
}

QString rate(double v, int decimals = 2) {
    if (!std::isfinite(v) || v <= 0) return QStringLiteral("–");
    return QLocale().toString(v, 'f', v >= 100 ? 0 : decimals);
}

QString statusText(const ponet::bench::BenchRow& r) {
    if (r.status == "ok") return BenchmarkPage::tr("ok");
    if (r.status == "oom") return BenchmarkPage::tr("out of memory");
    if (r.status == "cancelled") return BenchmarkPage::tr("cancelled");
    return BenchmarkPage::tr("error");
}

QString reportLabel(const ponet::bench::BenchReport& r) {
    const QString when = QDateTime::fromString(qs(r.started_at), Qt::ISODate)
                             .toLocalTime()
                             .toString(QStringLiteral("yyyy-MM-dd HH:mm"));
    return BenchmarkPage::tr("%1 · %2 · %3 · batch %4 · %5 · %6")
        .arg(qs(r.device_name), qs(r.spec.preset),
             r.spec.mode == ponet::bench::BenchMode::Train ? BenchmarkPage::tr("train")
                                                           : BenchmarkPage::tr("infer"))
        .arg(r.spec.batch)
        .arg(qs(r.precision), when);
}

QString csvField(const QString& s) {
    if (!s.contains(QLatin1Char(',')) && !s.contains(QLatin1Char('"')) && !s.contains(QLatin1Char('\n')))
        return s;
    QString q = s;
    q.replace(QLatin1String("\""), QLatin1String("\"\""));
    return QLatin1Char('"') + q + QLatin1Char('"');
}

}  // namespace

BenchmarkPage::BenchmarkPage(const QStringList& devices, QWidget* parent)
    : QWidget(parent), devices_(devices), worker_(std::make_unique<BenchmarkWorker>()) {
    BenchmarkWorker::registerMetaTypes();
    if (devices_.isEmpty()) devices_ << QStringLiteral("cpu");
    buildForm();
    restoreSettings();
    reloadCache();
    onSettingsChanged();
    restoring_ = false;

    worker_->moveToThread(&thread_);
    connect(this, &BenchmarkPage::runRequested, worker_.get(), &BenchmarkWorker::run);
    connect(worker_.get(), &BenchmarkWorker::progress, this, &BenchmarkPage::onProgress);
    connect(worker_.get(), &BenchmarkWorker::rowReady, this, &BenchmarkPage::onRow);
    connect(worker_.get(), &BenchmarkWorker::finished, this, &BenchmarkPage::onFinished);
    connect(worker_.get(), &BenchmarkWorker::failed, this, &BenchmarkPage::onFailed);
    connect(worker_.get(), &BenchmarkWorker::logMessage, this, &BenchmarkPage::logMessage);
    thread_.setObjectName(QStringLiteral("ponet-benchmark"));
    thread_.start();
}

BenchmarkPage::~BenchmarkPage() {
    // Closing mid-run: the harness stops at its next poll (between steps), then the thread is joined.
    worker_->requestCancel();
    thread_.quit();
    thread_.wait();
}

void BenchmarkPage::buildForm() {
    // ---- settings ----
    auto* mixerRow = new QVBoxLayout;
    mixerRow->setSpacing(2);
    for (int i = 0; i < 3; ++i) {
        mixerChecks_[i] = new QCheckBox(mixerTitle(QLatin1String(kMixers[i])), this);
        mixerChecks_[i]->setObjectName(QStringLiteral("benchMixer_%1").arg(QLatin1String(kMixers[i])));
        mixerChecks_[i]->setChecked(true);
        mixerRow->addWidget(mixerChecks_[i]);
        connect(mixerChecks_[i], &QCheckBox::toggled, this, [this] { saveSettings(); });
    }

    lengths_ = new QLineEdit(this);
    lengths_->setObjectName(QStringLiteral("benchLengths"));
    lengths_->setToolTip(tr("Comma-separated sequence lengths; 4K means 4,096"));
    connect(lengths_, &QLineEdit::editingFinished, this, [this] { saveSettings(); });

    preset_ = new QComboBox(this);
    preset_->setObjectName(QStringLiteral("benchPreset"));
    for (const std::string& p : ponet::bench::preset_names()) {
        preset_->addItem(qs(p), qs(p));
        preset_->setItemData(preset_->count() - 1, qs(ponet::bench::preset_description(p)), Qt::ToolTipRole);
    }
    mode_ = new QComboBox(this);
    mode_->setObjectName(QStringLiteral("benchMode"));
    mode_->addItem(tr("Training step"), QStringLiteral("train"));
    mode_->addItem(tr("Inference"), QStringLiteral("infer"));
    mode_->setItemData(0, tr("Forward, backward and the AdamW update"), Qt::ToolTipRole);
    mode_->setItemData(1, tr("Forward pass only, without gradients"), Qt::ToolTipRole);
    batch_ = new QSpinBox(this);
    batch_->setObjectName(QStringLiteral("benchBatch"));
    batch_->setRange(1, 4096);
    device_ = new QComboBox(this);
    device_->setObjectName(QStringLiteral("benchDevice"));
    for (const QString& d : devices_) device_->addItem(d, d);
    precision_ = new QComboBox(this);
    precision_->setObjectName(QStringLiteral("benchPrecision"));
    precision_->addItem(tr("auto"), QStringLiteral("auto"));
    precision_->setItemData(0, tr("bf16 autocast on CUDA, fp32 on the CPU"), Qt::ToolTipRole);
    for (const char* p : {"fp32", "bf16", "fp16"}) precision_->addItem(QLatin1String(p), QLatin1String(p));
    impl_ = new QComboBox(this);
    impl_->setObjectName(QStringLiteral("benchImpl"));
    impl_->addItem(tr("auto"), QStringLiteral("auto"));
    impl_->setItemData(0, tr("The fused kernels where they are built, else the reference"), Qt::ToolTipRole);
    impl_->addItem(tr("fused"), QStringLiteral("fused"));
    impl_->addItem(tr("reference"), QStringLiteral("reference"));
    graphs_ = new QComboBox(this);
    graphs_->setObjectName(QStringLiteral("benchGraphs"));
    graphs_->addItem(tr("auto"), QStringLiteral("auto"));
    graphs_->setItemData(0,
                         tr("Capture each step once as a CUDA graph and replay it where that was measured to gain "
                            "(batch × length up to %L1 tokens); CUDA only")
                             .arg(ponet::kGraphAutoTokens),
                         Qt::ToolTipRole);
    graphs_->addItem(tr("on"), QStringLiteral("on"));
    graphs_->setItemData(1, tr("Every cell as CUDA graph replays (a step that reads values back to the host, such as "
                               "the reference mixing, is timed as ordinary steps and says why)"),
                         Qt::ToolTipRole);
    graphs_->addItem(tr("off"), QStringLiteral("off"));
    graphs_->setItemData(2, tr("Ordinary steps: every operation launched from the host"), Qt::ToolTipRole);
    steps_ = new QSpinBox(this);
    steps_->setObjectName(QStringLiteral("benchSteps"));
    steps_->setRange(1, 1000);
    steps_->setToolTip(tr("Timed steps per cell; the median is reported"));
    warmup_ = new QSpinBox(this);
    warmup_->setObjectName(QStringLiteral("benchWarmup"));
    warmup_->setRange(0, 1000);
    warmup_->setToolTip(tr("Untimed steps before the timed ones (the first one allocates memory)"));
    for (QComboBox* c : {preset_, mode_, device_, precision_, impl_})
        connect(c, &QComboBox::currentIndexChanged, this, &BenchmarkPage::onSettingsChanged);
    connect(graphs_, &QComboBox::currentIndexChanged, this, &BenchmarkPage::onSettingsChanged);
    connect(batch_, &QSpinBox::valueChanged, this, &BenchmarkPage::onSettingsChanged);
    for (QSpinBox* s : {steps_, warmup_})
        connect(s, &QSpinBox::valueChanged, this, [this] { saveSettings(); });

    auto* form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    form->addRow(tr("Mixers:"), mixerRow);
    form->addRow(tr("&Lengths:"), lengths_);
    form->addRow(tr("&Model:"), preset_);
    form->addRow(tr("M&easure:"), mode_);
    form->addRow(tr("&Batch:"), batch_);
    form->addRow(tr("De&vice:"), device_);
    form->addRow(tr("&Precision:"), precision_);
    form->addRow(tr("PoNet mi&xing:"), impl_);
    form->addRow(tr("CUDA &graphs:"), graphs_);
    form->addRow(tr("&Timed steps:"), steps_);
    form->addRow(tr("&Warm-up steps:"), warmup_);

    runButton_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaPlay), tr("&Run Benchmark"), this);
    runButton_->setObjectName(QStringLiteral("runBenchmarkButton"));
    connect(runButton_, &QPushButton::clicked, this, &BenchmarkPage::start);
    cancelButton_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaStop), tr("&Cancel"), this);
    cancelButton_->setObjectName(QStringLiteral("cancelBenchmarkButton"));
    cancelButton_->setToolTip(tr("Stop after the step in progress"));
    cancelButton_->setEnabled(false);
    connect(cancelButton_, &QPushButton::clicked, this, &BenchmarkPage::cancel);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(runButton_);
    buttons->addWidget(cancelButton_);
    buttons->addStretch(1);

    progress_ = new QProgressBar(this);
    progress_->setObjectName(QStringLiteral("benchProgress"));
    progress_->setRange(0, 1);
    progress_->setValue(0);
    progress_->setTextVisible(false);
    hideKeepingRoom(progress_);  // until the first run
    status_ = new QLabel(tr("Not run in this session"), this);
    status_->setObjectName(QStringLiteral("benchStatus"));
    status_->setWordWrap(true);

    auto* settingsBox = new QGroupBox(tr("Benchmark"), this);
    auto* settingsLayout = new QVBoxLayout(settingsBox);
    auto* intro =
        new QLabel(tr("Times whole steps of a fresh model per mixer and sequence length on synthetic "
                      "tokens, like Table 2 of the PoNet paper."),
                   settingsBox);
    intro->setWordWrap(true);
    settingsLayout->addWidget(intro);
    settingsLayout->addLayout(form);
    settingsLayout->addLayout(buttons);
    settingsLayout->addWidget(progress_);
    settingsLayout->addWidget(status_);
    settingsLayout->addStretch(1);
    settingsBox->setMinimumWidth(270);
    // Scrolls rather than forcing a tall window.
    auto* settingsScroll = new QScrollArea(this);
    settingsScroll->setWidget(settingsBox);
    settingsScroll->setWidgetResizable(true);
    settingsScroll->setFrameShape(QFrame::NoFrame);
    settingsScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    settingsScroll->setMinimumWidth(settingsBox->minimumWidth() + 14);
    settingsScroll->setMaximumWidth(340);

    // ---- results ----
    speedQuantity_ = new QComboBox(this);
    speedQuantity_->setObjectName(QStringLiteral("benchSpeedQuantity"));
    speedQuantity_->addItem(tr("steps/s"), StepsPerSecond);
    speedQuantity_->addItem(tr("ms per step"), MsPerStep);
    speedQuantity_->addItem(tr("tokens/s"), TokensPerSecond);
    connect(speedQuantity_, &QComboBox::currentIndexChanged, this, [this] {
        refreshPlots();
        saveSettings();
    });
    compare_ = new QComboBox(this);
    compare_->setObjectName(QStringLiteral("benchCompare"));
    compare_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    compare_->setMinimumContentsLength(12);
    compare_->setToolTip(tr("Draw another device's (or an earlier) result dashed in the same charts"));
    connect(compare_, &QComboBox::currentIndexChanged, this, [this](int index) {
        comparison_ = index - 1;
        refreshPlots();
    });
    auto* loadButton =
        new QPushButton(style()->standardIcon(QStyle::SP_DialogOpenButton), tr("&Load…"), this);
    loadButton->setObjectName(QStringLiteral("benchLoadButton"));
    loadButton->setToolTip(tr("Load a saved benchmark report (JSON) to compare with"));
    connect(loadButton, &QPushButton::clicked, this, &BenchmarkPage::chooseLoadComparison);
    saveButton_ =
        new QPushButton(style()->standardIcon(QStyle::SP_DialogSaveButton), tr("&Save JSON…"), this);
    saveButton_->setObjectName(QStringLiteral("benchSaveButton"));
    connect(saveButton_, &QPushButton::clicked, this, &BenchmarkPage::chooseSaveReport);
    csvButton_ = new QPushButton(tr("CSV…"), this);
    csvButton_->setObjectName(QStringLiteral("benchCsvButton"));
    csvButton_->setToolTip(tr("Export the results table as CSV"));
    connect(csvButton_, &QPushButton::clicked, this, &BenchmarkPage::chooseExportCsv);
    pngButton_ = new QPushButton(tr("PNG…"), this);
    pngButton_->setObjectName(QStringLiteral("benchPngButton"));
    pngButton_->setToolTip(tr("Export both charts as one PNG image"));
    connect(pngButton_, &QPushButton::clicked, this, &BenchmarkPage::chooseExportPng);

    auto* toolbar = new QHBoxLayout;
    auto* speedLabel = new QLabel(tr("S&peed as:"), this);
    speedLabel->setBuddy(speedQuantity_);
    auto* compareLabel = new QLabel(tr("C&ompare with:"), this);
    compareLabel->setBuddy(compare_);
    toolbar->addWidget(speedLabel);
    toolbar->addWidget(speedQuantity_);
    toolbar->addSpacing(12);
    toolbar->addWidget(compareLabel);
    toolbar->addWidget(compare_, 1);
    toolbar->addWidget(loadButton);

    source_ = new QLabel(this);
    source_->setObjectName(QStringLiteral("benchSource"));
    source_->setTextFormat(Qt::PlainText);
    source_->setWordWrap(true);
    // Where the shown results come from, with the file actions beside it: two rows keep the page narrow
    // enough for small windows.
    auto* sourceRow = new QHBoxLayout;
    sourceRow->addWidget(source_, 1);
    sourceRow->addWidget(saveButton_);
    sourceRow->addWidget(csvButton_);
    sourceRow->addWidget(pngButton_);
    message_ = new InlineMessage(this);

    plots_ = new QWidget(this);
    plots_->setObjectName(QStringLiteral("benchPlots"));
    speedPlot_ = new BenchmarkPlot(tr("Training speed"), plots_);
    speedPlot_->setObjectName(QStringLiteral("benchSpeedPlot"));
    memoryPlot_ = new BenchmarkPlot(tr("Peak memory"), plots_);
    memoryPlot_->setObjectName(QStringLiteral("benchMemoryPlot"));
    auto* plotsLayout = new QHBoxLayout(plots_);
    plotsLayout->setContentsMargins(0, 0, 0, 0);
    plotsLayout->addWidget(speedPlot_);
    plotsLayout->addWidget(memoryPlot_);

    table_ = new QTableWidget(0, 8, this);
    table_->setObjectName(QStringLiteral("benchTable"));
    table_->setHorizontalHeaderLabels({tr("Mixer"), tr("Length"), tr("Status"), tr("Steps/s"), tr("ms/step"),
                                       tr("Tokens/s"), tr("Peak memory"), tr("Code path")});
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setAlternatingRowColors(true);
    table_->verticalHeader()->hide();
    table_->verticalHeader()->setDefaultSectionSize(table_->fontMetrics().height() + 6);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setStretchLastSection(true);

    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(plots_);
    split->addWidget(table_);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    split->setChildrenCollapsible(false);

    auto* results = new QVBoxLayout;
    results->addLayout(toolbar);
    results->addWidget(message_);
    results->addLayout(sourceRow);
    results->addWidget(split, 1);

    auto* layout = new QHBoxLayout(this);
    layout->addWidget(settingsScroll);
    layout->addLayout(results, 1);
}

void BenchmarkPage::restoreSettings() {
    QSettings s;
    const bool gpu = devices_.size() > 1;
    // A CPU-only machine gets a setting that finishes in a minute or two; a GPU gets the paper's Table 2.
    const QString defaultLengths =
        gpu ? QStringLiteral("512,1024,2048,4096,8192,16384") : QStringLiteral("256,512,1024,2048");
    const QStringList mixers =
        s.value(key::mixers,
                QStringList{QStringLiteral("ponet"), QStringLiteral("fnet"), QStringLiteral("attention")})
            .toStringList();
    for (int i = 0; i < 3; ++i) mixerChecks_[i]->setChecked(mixers.contains(QLatin1String(kMixers[i])));
    lengths_->setText(s.value(key::lengths, defaultLengths).toString());
    auto select = [](QComboBox* c, const QString& value) {
        const int i = c->findData(value);
        if (i >= 0) c->setCurrentIndex(i);
    };
    select(preset_, s.value(key::preset, QStringLiteral("lra-text")).toString());
    select(mode_, s.value(key::mode, QStringLiteral("train")).toString());
    batch_->setValue(s.value(key::batch, gpu ? 32 : 4).toInt());
    select(device_, s.value(key::device, devices_.value(gpu ? 1 : 0)).toString());
    select(precision_, s.value(key::precision, QStringLiteral("auto")).toString());
    select(impl_, s.value(key::impl, QStringLiteral("auto")).toString());
    select(graphs_, s.value(key::graphs, QStringLiteral("auto")).toString());
    steps_->setValue(s.value(key::steps, gpu ? 20 : 3).toInt());
    warmup_->setValue(s.value(key::warmup, gpu ? 5 : 1).toInt());
    speedQuantity_->setCurrentIndex(std::clamp(s.value(key::speedQuantity, 0).toInt(), 0, 2));
}

void BenchmarkPage::saveSettings() const {
    if (restoring_) return;
    QSettings s;
    QStringList mixers;
    for (int i = 0; i < 3; ++i)
        if (mixerChecks_[i]->isChecked()) mixers << QLatin1String(kMixers[i]);
    s.setValue(key::mixers, mixers);
    s.setValue(key::lengths, lengths_->text());
    s.setValue(key::preset, preset_->currentData());
    s.setValue(key::mode, mode_->currentData());
    s.setValue(key::batch, batch_->value());
    s.setValue(key::device, device_->currentData());
    s.setValue(key::precision, precision_->currentData());
    s.setValue(key::impl, impl_->currentData());
    s.setValue(key::graphs, graphs_->currentData());
    s.setValue(key::steps, steps_->value());
    s.setValue(key::warmup, warmup_->value());
    s.setValue(key::speedQuantity, speedQuantity_->currentIndex());
}

bool BenchmarkPage::readSpec(ponet::bench::BenchSpec* spec, QString* error) const {
    ponet::bench::BenchSpec s;
    s.mixers.clear();
    for (int i = 0; i < 3; ++i)
        if (mixerChecks_[i]->isChecked()) s.mixers.push_back(kMixers[i]);
    try {
        if (s.mixers.empty()) throw ponet::InvalidInput(tr("choose at least one mixer").toStdString());
        s.lengths = ponet::bench::parse_lengths(lengths_->text().toStdString());
        s.preset = preset_->currentData().toString().toStdString();
        s.mode = ponet::bench::bench_mode_from_string(mode_->currentData().toString().toStdString());
        s.batch = batch_->value();
        s.device = device_->currentData().toString().toStdString();
        s.precision = precision_->currentData().toString().toStdString();
        s.impl = impl_->currentData().toString().toStdString();
        s.cuda_graphs = graphs_->currentData().toString().toStdString();
        s.steps = steps_->value();
        s.warmup = warmup_->value();
        s.validate();
    } catch (const std::exception& e) {
        if (error) *error = QString::fromStdString(e.what());
        return false;
    }
    if (spec) *spec = s;
    return true;
}

void BenchmarkPage::setSpec(const ponet::bench::BenchSpec& spec) {
    for (int i = 0; i < 3; ++i)
        mixerChecks_[i]->setChecked(std::find(spec.mixers.begin(), spec.mixers.end(), kMixers[i]) !=
                                    spec.mixers.end());
    lengths_->setText(joinLengths(spec.lengths));
    auto select = [](QComboBox* c, const std::string& value) {
        const int i = c->findData(QString::fromStdString(value));
        if (i >= 0) c->setCurrentIndex(i);
    };
    select(preset_, spec.preset);
    select(mode_, ponet::bench::to_string(spec.mode));
    batch_->setValue(static_cast<int>(spec.batch));
    if (spec.device != "auto") select(device_, spec.device);
    select(precision_, spec.precision);
    select(impl_, spec.impl);
    select(graphs_, spec.cuda_graphs);
    steps_->setValue(static_cast<int>(spec.steps));
    warmup_->setValue(static_cast<int>(spec.warmup));
    saveSettings();
}

void BenchmarkPage::start() {
    if (running_) return;
    ponet::bench::BenchSpec spec;
    QString error;
    if (!readSpec(&spec, &error)) {
        message_->showMessage(InlineMessage::Kind::Error, tr("Cannot run the benchmark: %1").arg(error));
        return;
    }
    message_->dismiss();
    saveSettings();
    shown_ = ponet::bench::BenchReport();
    shown_.spec = spec;
    shown_.device = spec.device;
    shown_.device_name = spec.device;
    shown_.precision = resolvedPrecision().toStdString();
    haveRun_ = true;
    shownSource_ = tr("This run (in progress) on %1").arg(qs(spec.device));
    progress_->setRange(0, static_cast<int>(spec.mixers.size() * spec.lengths.size() *
                                            static_cast<size_t>(spec.warmup + spec.steps)));
    progress_->setValue(0);
    progress_->show();
    status_->setText(tr("Starting…"));
    setRunning(true);
    refreshViews();
    Q_EMIT logMessage(tr("Benchmark started: %1, %2 mixers × %3 lengths on %4")
                          .arg(qs(spec.preset))
                          .arg(spec.mixers.size())
                          .arg(spec.lengths.size())
                          .arg(qs(spec.device)));
    worker_->rearm();
    Q_EMIT runRequested(spec);
}

void BenchmarkPage::cancel() {
    if (!running_) return;
    worker_->requestCancel();
    cancelButton_->setEnabled(false);
    status_->setText(tr("Cancelling after the step in progress…"));
    Q_EMIT logMessage(tr("Benchmark: cancelling…"));
}

void BenchmarkPage::onProgress(const ponet::bench::BenchProgress& p) {
    const int per = static_cast<int>(p.steps);
    progress_->setValue(std::min(progress_->maximum(), p.row * per + static_cast<int>(p.step)));
    status_->setText(tr("%1 at %2 tokens (%3 of %4): %5 %6 of %7")
                         .arg(mixerTitle(qs(p.mixer)), QLocale().toString(static_cast<qint64>(p.length)))
                         .arg(p.row + 1)
                         .arg(p.rows)
                         .arg(p.timing ? tr("timed step") : tr("warm-up step"))
                         .arg(p.timing ? p.step - (p.steps - shown_.spec.steps) : p.step)
                         .arg(p.timing ? shown_.spec.steps : shown_.spec.warmup));
}

void BenchmarkPage::onRow(const ponet::bench::BenchRow& row) {
    shown_.rows.push_back(row);
    refreshViews();
}

void BenchmarkPage::onFinished(const ponet::bench::BenchReport& report) {
    shown_ = report;
    const int finishedCells = static_cast<int>(std::count_if(
        report.rows.begin(), report.rows.end(), [](const auto& r) { return r.status != "cancelled"; }));
    shownSource_ = report.cancelled
                       ? tr("This run (cancelled after %1 cells) on %2 (%3)")
                             .arg(finishedCells)
                             .arg(qs(report.device), qs(report.device_name))
                       : tr("This run on %1 (%2)").arg(qs(report.device), qs(report.device_name));
    if (!report.cancelled) progress_->setValue(progress_->maximum());
    int ok = 0, oom = 0, errors = 0;
    for (const auto& r : report.rows) {
        ok += r.status == "ok";
        oom += r.status == "oom";
        errors += r.status == "error";
    }
    status_->setText(report.cancelled
                         ? tr("Cancelled: %1 cells done").arg(ok + oom + errors)
                         : tr("Done: %1 ok, %2 out of memory, %3 errors").arg(ok).arg(oom).arg(errors));
    setRunning(false);
    reloadCache();
    refreshViews();
    Q_EMIT logMessage(
        report.cancelled
            ? tr("Benchmark cancelled")
            : tr("Benchmark finished: %1 ok, %2 out of memory, %3 errors").arg(ok).arg(oom).arg(errors));
    Q_EMIT finished(errors == 0, report.cancelled);
}

void BenchmarkPage::onFailed(const QString& message) {
    setRunning(false);
    progress_->setRange(0, 1);
    progress_->setValue(0);
    progress_->hide();
    status_->setText(tr("Stopped by an error"));
    message_->showMessage(InlineMessage::Kind::Error, tr("The benchmark could not run: %1").arg(message));
    haveRun_ = false;
    onSettingsChanged();
    Q_EMIT logMessage(tr("Benchmark stopped by an error: %1").arg(message));
    Q_EMIT finished(false, false);
}

void BenchmarkPage::setRunning(bool running) {
    running_ = running;
    runButton_->setEnabled(!running);
    cancelButton_->setEnabled(running);
    for (QWidget* w :
         std::initializer_list<QWidget*>{lengths_, preset_, mode_, batch_, device_, precision_, impl_, steps_,
                                         warmup_, mixerChecks_[0], mixerChecks_[1], mixerChecks_[2]})
        w->setEnabled(!running);
    Q_EMIT runningChanged(running);
}

QString BenchmarkPage::resolvedPrecision() const {
    const QString p = precision_->currentData().toString();
    if (p != QLatin1String("auto")) return p;
    return device_->currentData().toString().startsWith(QLatin1String("cuda")) ? QStringLiteral("bf16")
                                                                               : QStringLiteral("fp32");
}

QString BenchmarkPage::settingKeyOfForm() const {
    ponet::bench::BenchReport probe;
    probe.spec.preset = preset_->currentData().toString().toStdString();
    probe.spec.mode = mode_->currentData().toString() == QLatin1String("infer")
                          ? ponet::bench::BenchMode::Infer
                          : ponet::bench::BenchMode::Train;
    probe.spec.batch = batch_->value();
    probe.spec.impl = impl_->currentData().toString().toStdString();
    probe.spec.cuda_graphs = graphs_->currentData().toString().toStdString();
    probe.device = device_->currentData().toString().toStdString();
    probe.precision = resolvedPrecision().toStdString();
    return qs(ponet::bench::setting_key(probe));
}

void BenchmarkPage::onSettingsChanged() {
    saveSettings();
    if (running_) return;
    const QString keyOfForm = settingKeyOfForm();
    const std::string device = device_->currentData().toString().toStdString();
    // This session's run stays on screen while the form still describes it.
    if (haveRun_ && qs(ponet::bench::setting_key(shown_)) == keyOfForm && shown_.device == device) {
        refreshViews();
        return;
    }
    haveRun_ = false;
    // Otherwise: the cost preview, i.e. what this device measured earlier for this setting.
    for (const auto& r : cache_) {
        if (r.device == device && qs(ponet::bench::setting_key(r)) == keyOfForm) {
            showReport(r, tr("Cached results from %1 on %2 (%3): run again to refresh")
                              .arg(QDateTime::fromString(qs(r.started_at), Qt::ISODate)
                                       .toLocalTime()
                                       .toString(QStringLiteral("yyyy-MM-dd HH:mm")),
                                   qs(r.device), qs(r.device_name)));
            return;
        }
    }
    showReport(ponet::bench::BenchReport(),
               tr("No results for this setting on %1 yet: press Run Benchmark.").arg(qs(device)));
}

void BenchmarkPage::reloadCache() {
    std::vector<std::string> problems;
    cache_ = ponet::bench::load_cache(&problems);
    for (const auto& p : problems) Q_EMIT logMessage(tr("Benchmark cache: skipped %1").arg(qs(p)));
    refreshComparisons();
}

void BenchmarkPage::refreshComparisons() {
    const QString previous = compare_->currentIndex() > 0 ? compare_->currentText() : QString();
    choices_.clear();
    for (const auto& r : loaded_) choices_.push_back(r);
    for (const auto& r : cache_) choices_.push_back(r);
    const QSignalBlocker block(compare_);
    compare_->clear();
    compare_->addItem(tr("None"));
    for (size_t i = 0; i < choices_.size(); ++i) {
        const QString label = (i < loaded_.size() ? tr("File: ") : tr("Cache: ")) + reportLabel(choices_[i]);
        compare_->addItem(label);
        compare_->setItemData(compare_->count() - 1, label, Qt::ToolTipRole);
    }
    const int keep = previous.isEmpty() ? 0 : compare_->findText(previous);
    compare_->setCurrentIndex(std::max(0, keep));
    comparison_ = compare_->currentIndex() - 1;
}

int BenchmarkPage::comparisonCount() const {
    return static_cast<int>(choices_.size());
}

bool BenchmarkPage::selectComparison(int index) {
    if (index < 0 || index > comparisonCount()) return false;
    compare_->setCurrentIndex(index);
    return true;
}

void BenchmarkPage::showReport(const ponet::bench::BenchReport& report, const QString& source) {
    shown_ = report;
    shownSource_ = source;
    refreshViews();
}

QString BenchmarkPage::sourceText() const {
    return source_->text();
}

void BenchmarkPage::refreshViews() {
    source_->setText(shownSource_);
    const bool results = hasResults();
    saveButton_->setEnabled(results && !running_);
    csvButton_->setEnabled(results);
    pngButton_->setEnabled(results);
    refreshPlots();
    refreshTable();
}

void BenchmarkPage::refreshPlots() {
    const int quantity = speedQuantity_->currentData().toInt();
    auto speedValue = [quantity](const ponet::bench::BenchRow& r) {
        if (quantity == MsPerStep) return r.median_ms;
        if (quantity == TokensPerSecond) return r.tokens_per_second;
        return r.steps_per_second;
    };
    QVector<BenchmarkPlot::Series> speed, memory;
    auto add = [&](const ponet::bench::BenchReport& report, bool dashed, const QString& suffix) {
        std::vector<std::string> mixers = report.spec.mixers;
        for (const auto& r : report.rows)
            if (std::find(mixers.begin(), mixers.end(), r.mixer) == mixers.end()) mixers.push_back(r.mixer);
        for (const std::string& m : mixers) {
            BenchmarkPlot::Series s, mem;
            s.label = mem.label = mixerTitle(qs(m)) + suffix;
            s.color = mem.color = BenchmarkPlot::mixerColor(qs(m));
            s.dashed = mem.dashed = dashed;
            std::vector<const ponet::bench::BenchRow*> rows;
            for (const auto& r : report.rows)
                if (r.mixer == m) rows.push_back(&r);
            std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->length < b->length; });
            for (const auto* r : rows) {
                const double l = static_cast<double>(r->length);
                if (r->ok()) {
                    s.lengths << l;
                    s.values << speedValue(*r);
                    if (r->peak_bytes >= 0) {
                        mem.lengths << l;
                        mem.values << static_cast<double>(r->peak_bytes) / (1024.0 * 1024.0 * 1024.0);
                    }
                } else if (r->status == "oom") {
                    s.oomLengths << l;
                    mem.oomLengths << l;
                }
            }
            if (!s.lengths.isEmpty() || !s.oomLengths.isEmpty()) speed << s;
            if (!mem.lengths.isEmpty() || !mem.oomLengths.isEmpty()) memory << mem;
        }
    };
    add(shown_, false, QString());
    if (comparison_ >= 0 && comparison_ < static_cast<int>(choices_.size())) {
        const auto& c = choices_[static_cast<size_t>(comparison_)];
        add(c, true, QStringLiteral(" (%1)").arg(qs(c.device_name)));
    }
    const QString speedLabel = quantity == MsPerStep         ? tr("ms per step (median)")
                               : quantity == TokensPerSecond ? tr("tokens/s")
                                                             : tr("steps/s (median)");
    const QString empty = running_ ? tr("Running…") : tr("No results yet");
    speedPlot_->setTitle(shown_.spec.mode == ponet::bench::BenchMode::Infer ? tr("Inference speed")
                                                                            : tr("Training speed"));
    speedPlot_->setSeries(speed, speedLabel, empty);
    const bool cpu = shown_.device == "cpu";
    memoryPlot_->setSeries(memory, cpu ? tr("peak resident memory (GiB)") : tr("peak GPU memory (GiB)"),
                           empty);
    memoryPlot_->setToolTip(qs(shown_.memory_metric));
    speedPlot_->setToolTip(qs(shown_.timing_method));
}

void BenchmarkPage::refreshTable() {
    table_->setRowCount(0);
    table_->setRowCount(static_cast<int>(shown_.rows.size()));
    int row = 0;
    for (const auto& r : shown_.rows) {
        auto set = [&](int column, const QString& text, bool right = true) {
            auto* item = new QTableWidgetItem(text);
            item->setTextAlignment((right ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignVCenter);
            if (!r.message.empty()) item->setToolTip(qs(r.message));
            table_->setItem(row, column, item);
        };
        set(0, mixerTitle(qs(r.mixer)), false);
        set(1, QLocale().toString(static_cast<qint64>(r.length)));
        set(2, statusText(r), false);
        set(3, rate(r.steps_per_second));
        set(4, rate(r.median_ms));
        set(5, r.ok() ? QLocale().toString(std::llround(r.tokens_per_second)) : QStringLiteral("–"));
        set(6, r.ok() || r.status == "oom" ? gib(r.peak_bytes) : QStringLiteral("–"));
        QStringList path;
        if (!r.impl.empty() && r.impl != "-") path << qs(r.impl);
        if (r.cuda_graph) path << tr("CUDA graph");
        set(7, path.isEmpty() ? QStringLiteral("–") : path.join(QStringLiteral(", ")), false);
        if (!r.ok()) table_->item(row, 2)->setForeground(QColor(0xc0, 0x39, 0x2b));
        ++row;
    }
}

int BenchmarkPage::resultRowCount() const {
    return table_->rowCount();
}

// ---- files
// ----------------------------------------------------------------------------------------------------

bool BenchmarkPage::saveReport(const QString& path, QString* error) const {
    if (!hasResults()) {
        if (error) *error = tr("There are no results to save.");
        return false;
    }
    try {
        shown_.save(path.toStdString());
    } catch (const std::exception& e) {
        if (error) *error = tr("Could not save %1: %2").arg(path, QString::fromStdString(e.what()));
        return false;
    }
    return true;
}

bool BenchmarkPage::loadComparison(const QString& path, QString* error) {
    try {
        loaded_.insert(loaded_.begin(), ponet::bench::BenchReport::load(path.toStdString()));
    } catch (const std::exception& e) {
        if (error) *error = QString::fromStdString(e.what());
        return false;
    }
    refreshComparisons();
    compare_->setCurrentIndex(1);  // the file just loaded
    return true;
}

bool BenchmarkPage::exportCsv(const QString& path, QString* error) const {
    if (!hasResults()) {
        if (error) *error = tr("There are no results to export.");
        return false;
    }
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Text)) {
        if (error) *error = tr("Could not write %1: %2").arg(path, f.errorString());
        return false;
    }
    QStringList lines;
    lines << QStringLiteral(
        "device,device_name,preset,mode,batch,precision,mixer,length,status,median_ms,steps_per_second,"
        "tokens_per_second,peak_bytes,impl,cuda_graph,message");
    auto num = [](double v) { return std::isfinite(v) ? QString::number(v, 'g', 10) : QString(); };
    for (const auto& r : shown_.rows) {
        QStringList f2{qs(shown_.device),
                       qs(shown_.device_name),
                       qs(shown_.spec.preset),
                       qs(ponet::bench::to_string(shown_.spec.mode)),
                       QString::number(shown_.spec.batch),
                       qs(shown_.precision),
                       qs(r.mixer),
                       QString::number(r.length),
                       qs(r.status),
                       num(r.median_ms),
                       num(r.steps_per_second),
                       num(r.tokens_per_second),
                       r.peak_bytes >= 0 ? QString::number(r.peak_bytes) : QString(),
                       qs(r.impl),
                       r.cuda_graph ? QStringLiteral("yes") : QStringLiteral("no"),
                       qs(r.message)};
        for (QString& s : f2) s = csvField(s);
        lines << f2.join(QLatin1Char(','));
    }
    f.write((lines.join(QLatin1Char('\n')) + QLatin1Char('\n')).toUtf8());
    if (!f.commit()) {
        if (error) *error = tr("Could not write %1: %2").arg(path, f.errorString());
        return false;
    }
    return true;
}

bool BenchmarkPage::exportPng(const QString& path, QString* error) {
    const QPixmap image = plots_->grab();
    if (image.isNull() || !image.save(path, "PNG")) {
        if (error) *error = tr("Could not write the image %1").arg(path);
        return false;
    }
    return true;
}

namespace {

QString startFolder() {
    const QString last = QSettings().value(key::lastFolder).toString();
    return last.isEmpty() ? QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation) : last;
}

void rememberFolder(const QString& file) {
    QSettings().setValue(key::lastFolder, QFileInfo(file).absolutePath());
}

}  // namespace

void BenchmarkPage::chooseSaveReport() {
    const QString suggested =
        QDir(startFolder()).filePath(QStringLiteral("ponet-bench-%1.json").arg(qs(shown_.spec.preset)));
    const QString path = QFileDialog::getSaveFileName(this, tr("Save Benchmark Report"), suggested,
                                                      tr("Benchmark reports (*.json)"));
    if (path.isEmpty()) return;
    rememberFolder(path);
    QString error;
    if (!saveReport(path, &error)) return message_->showMessage(InlineMessage::Kind::Error, error);
    Q_EMIT logMessage(tr("Benchmark report saved to %1").arg(path));
}

void BenchmarkPage::chooseLoadComparison() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Load Benchmark Report"), startFolder(),
                                                      tr("Benchmark reports (*.json);;All files (*)"));
    if (path.isEmpty()) return;
    rememberFolder(path);
    QString error;
    if (!loadComparison(path, &error))
        return message_->showMessage(InlineMessage::Kind::Error,
                                     tr("Could not load the report: %1").arg(error));
    message_->dismiss();
    Q_EMIT logMessage(tr("Loaded benchmark report %1 for comparison").arg(path));
}

void BenchmarkPage::chooseExportCsv() {
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export Benchmark Table"), QDir(startFolder()).filePath(QStringLiteral("ponet-bench.csv")),
        tr("CSV files (*.csv)"));
    if (path.isEmpty()) return;
    rememberFolder(path);
    QString error;
    if (!exportCsv(path, &error)) return message_->showMessage(InlineMessage::Kind::Error, error);
    Q_EMIT logMessage(tr("Benchmark table exported to %1").arg(path));
}

void BenchmarkPage::chooseExportPng() {
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export Benchmark Charts"), QDir(startFolder()).filePath(QStringLiteral("ponet-bench.png")),
        tr("PNG images (*.png)"));
    if (path.isEmpty()) return;
    rememberFolder(path);
    QString error;
    if (!exportPng(path, &error)) return message_->showMessage(InlineMessage::Kind::Error, error);
    Q_EMIT logMessage(tr("Benchmark charts exported to %1").arg(path));
}

}  // namespace ponet::gui
