#include "widgets/train_page.h"

#include <QAction>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardItemModel>
#include <QStyle>
#include <QToolButton>
#include <QVBoxLayout>

#include <cmath>
#include <ctime>
#include <exception>

#include "core/data/xdg.h"
#include "core/train/launcher.h"
#include "core/train/run_directory.h"
#include "core/train/schedule.h"
#include "widgets/distributed_run.h"
#include "widgets/inline_message.h"
#include "widgets/metrics_events.h"
#include "widgets/number_format.h"
#include "widgets/plot_controls.h"
#include "widgets/rank_throughput_view.h"
#include "widgets/qcp.h"
#include "widgets/run_config_form.h"
#include "widgets/training_worker.h"

namespace ponet::gui {
namespace {

// The schedule preview needs a horizon; with train.epochs it depends on the data's size, unknown before
// the data is read, so the preview assumes this many optimizer steps per epoch and says so.
constexpr int64_t kAssumedStepsPerEpoch = 1000;

double stepValue(const ponet::StepMetrics& m, const QString& key) {
    if (key == QLatin1String("loss")) return m.loss;
    if (key == QLatin1String("mlm_loss")) return m.mlm_loss;
    if (key == QLatin1String("mlm_accuracy")) return m.mlm_accuracy;
    if (key == QLatin1String("sso_loss")) return m.sso_loss;
    if (key == QLatin1String("sso_accuracy")) return m.sso_accuracy;
    if (key == QLatin1String("accuracy")) return m.accuracy;
    if (key == QLatin1String("lr")) return m.learning_rate;
    if (key == QLatin1String("tokens_per_second")) return m.tokens_per_second;
    if (key == QLatin1String("memory_bytes")) return m.memory_bytes > 0 ? static_cast<double>(m.memory_bytes) : NAN;
    return NAN;
}

}  // namespace

QList<TrainPage::PlotSpec> TrainPage::plotSpecs(ponet::TaskKind task) {
    const QString train = tr("train"), dev = tr("eval (dev)"), test = tr("test");
    auto pair = [&](const QString& id, const QString& title, const QString& y, const QString& key) {
        PlotSpec p{id, title, y, {}, {}};
        p.series << SeriesSpec{QStringLiteral("train"), train, false, key, false, 1};
        p.series << SeriesSpec{QStringLiteral("dev"), dev, true, key, false, 1};
        p.series << SeriesSpec{QStringLiteral("test"), test, true, key, false, 1};
        return p;
    };
    QList<PlotSpec> out;
    if (task == ponet::TaskKind::Pretrain) {
        out << pair(QStringLiteral("mlm_loss"), tr("MLM loss"), tr("loss"), QStringLiteral("mlm_loss"));
        out << pair(QStringLiteral("mlm_accuracy"), tr("MLM accuracy"), tr("accuracy"), QStringLiteral("mlm_accuracy"));
        out << pair(QStringLiteral("sso_loss"), tr("SSO loss"), tr("loss"), QStringLiteral("sso_loss"));
        out << pair(QStringLiteral("sso_accuracy"), tr("SSO accuracy"), tr("accuracy"), QStringLiteral("sso_accuracy"));
    } else {
        out << pair(QStringLiteral("loss"), tr("Loss"), tr("cross-entropy"), QStringLiteral("loss"));
        out << pair(QStringLiteral("accuracy"), tr("Accuracy"), tr("accuracy"), QStringLiteral("accuracy"));
        PlotSpec f1{QStringLiteral("macro_f1"), tr("Macro-F1 (evaluation)"), tr("macro-F1"), {}, {}};
        f1.series << SeriesSpec{QStringLiteral("dev"), dev, true, QStringLiteral("macro_f1"), false, 1};
        f1.series << SeriesSpec{QStringLiteral("test"), test, true, QStringLiteral("macro_f1"), false, 1};
        out << f1;
    }
    PlotSpec lr{QStringLiteral("lr"), tr("Learning rate"), tr("learning rate"), {}, {}};
    lr.series << SeriesSpec{QStringLiteral("lr"), tr("learning rate"), false, QStringLiteral("lr"), false, 1, false};
    out << lr;
    PlotSpec speed{QStringLiteral("throughput"), tr("Throughput and memory"), tr("tokens/s"), tr("MiB"), {}};
    speed.series << SeriesSpec{QStringLiteral("tokens_per_second"), tr("tokens/s"), false,
                               QStringLiteral("tokens_per_second"), false, 1};
    speed.series << SeriesSpec{QStringLiteral("memory"), tr("memory (MiB)"), false, QStringLiteral("memory_bytes"),
                               true, 1.0 / (1024.0 * 1024.0), false};
    out << speed;
    return out;
}

TrainPage::TrainPage(QWidget* parent) : QWidget(parent), runsDir_(qstr(ponet::runs_dir())) {
    worker_ = new TrainingWorker(this);
    distributed_ = new DistributedRun(this);

    // --- actions (the main window's toolbar and menus show the same ones)
    startAction_ = new QAction(style()->standardIcon(QStyle::SP_MediaPlay), tr("&Start Training"), this);
    startAction_->setObjectName(QStringLiteral("startTrainingAction"));
    startAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    startAction_->setStatusTip(tr("Start a new run with the options on the Train page"));
    startAction_->setIconText(tr("Start"));
    connect(startAction_, &QAction::triggered, this, &TrainPage::startTraining);
    pauseAction_ = new QAction(style()->standardIcon(QStyle::SP_MediaPause), tr("&Pause Training"), this);
    pauseAction_->setObjectName(QStringLiteral("pauseTrainingAction"));
    pauseAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_P));
    pauseAction_->setIconText(tr("Pause"));
    pauseAction_->setStatusTip(tr("Hold the run between two steps; Resume continues it"));
    connect(pauseAction_, &QAction::triggered, this, &TrainPage::togglePause);
    stopAction_ = new QAction(style()->standardIcon(QStyle::SP_MediaStop), tr("S&top Training"), this);
    stopAction_->setObjectName(QStringLiteral("stopTrainingAction"));
    stopAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Period));
    stopAction_->setIconText(tr("Stop"));
    stopAction_->setStatusTip(tr("End the run after the current step and save a checkpoint"));
    connect(stopAction_, &QAction::triggered, this, &TrainPage::stopTraining);
    continueAction_ = new QAction(style()->standardIcon(QStyle::SP_MediaSeekForward), tr("&Continue Run"), this);
    continueAction_->setObjectName(QStringLiteral("continueRunAction"));
    continueAction_->setStatusTip(tr("Continue the shown run from its newest checkpoint"));
    connect(continueAction_, &QAction::triggered, this, &TrainPage::continueActiveRun);

    // --- left column: what to train
    auto* left = new QWidget(this);
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 4, 0);
    auto* head = new QFormLayout;
    head->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    taskCombo_ = new QComboBox(left);
    taskCombo_->setObjectName(QStringLiteral("taskCombo"));
    taskCombo_->addItem(tr("Pre-train (MLM + SSO)"), static_cast<int>(ponet::TaskKind::Pretrain));
    taskCombo_->addItem(tr("Fine-tune classification"), static_cast<int>(ponet::TaskKind::Finetune));
    taskCombo_->addItem(tr("LRA task"), static_cast<int>(ponet::TaskKind::Lra));
    taskCombo_->setToolTip(tr("What the run trains: masked-language-model and sentence-structure pre-training, "
                              "a document classifier, or a Long Range Arena task"));
    auto* taskLabel = new QLabel(tr("T&ask:"), left);
    taskLabel->setBuddy(taskCombo_);
    head->addRow(taskLabel, taskCombo_);
    presetCombo_ = new QComboBox(left);
    presetCombo_->setObjectName(QStringLiteral("presetCombo"));
    for (const std::string& p : ponet::list_presets()) presetCombo_->addItem(qstr(p));
    presetCombo_->setToolTip(tr("Ready-made run configurations (resources/presets); choosing one fills the form"));
    auto* presetLabel = new QLabel(tr("&Preset:"), left);
    presetLabel->setBuddy(presetCombo_);
    head->addRow(presetLabel, presetCombo_);
    parallelCombo_ = new QComboBox(left);
    parallelCombo_->setObjectName(QStringLiteral("parallelismCombo"));
    parallelCombo_->setToolTip(tr("Train in this program on the toolbar's device, or data-parallel on several worker "
                                  "processes started through the ponet command (one per GPU, or CPU workers over "
                                  "Gloo); the batch size stays the global batch, split across the workers"));
    processSpin_ = new QSpinBox(left);
    processSpin_->setObjectName(QStringLiteral("processCount"));
    processSpin_->setRange(2, 64);
    processSpin_->setValue(2);
    processSpin_->setSuffix(tr(" processes"));
    processSpin_->setToolTip(tr("How many CPU worker processes share the run"));
    auto* parallelRow = new QHBoxLayout;
    parallelRow->setContentsMargins(0, 0, 0, 0);
    parallelRow->addWidget(parallelCombo_, 1);
    parallelRow->addWidget(processSpin_);
    auto* parallelLabel = new QLabel(tr("&Run on:"), left);
    parallelLabel->setBuddy(parallelCombo_);
    head->addRow(parallelLabel, parallelRow);
    leftLayout->addLayout(head);

    form_ = new RunConfigForm({QStringLiteral("task"), QStringLiteral("train.device")}, left);
    form_->setObjectName(QStringLiteral("runConfigForm"));
    leftLayout->addWidget(form_, 1);

    effectiveBatch_ = new QLabel(left);
    effectiveBatch_->setObjectName(QStringLiteral("effectiveBatch"));
    effectiveBatch_->setWordWrap(true);
    leftLayout->addWidget(effectiveBatch_);

    schedulePlot_ = new QCustomPlot(left);
    schedulePlot_->setObjectName(QStringLiteral("schedulePreview"));
    schedulePlot_->setMinimumHeight(110);
    schedulePlot_->setMaximumHeight(150);
    schedulePlot_->setAccessibleName(tr("Learning-rate schedule preview"));
    schedulePlot_->addGraph();
    schedulePlot_->graph(0)->setPen(QPen(QColor(0, 114, 178), 1.6));
    schedulePlot_->graph(0)->setBrush(QColor(0, 114, 178, 30));
    {
        QFont small = font();
        small.setPointSizeF(std::max(6.0, small.pointSizeF() - 1.5));
        schedulePlot_->xAxis->setTickLabelFont(small);
        schedulePlot_->yAxis->setTickLabelFont(small);
        schedulePlot_->xAxis->setLabelFont(small);
        schedulePlot_->xAxis->setLabel(tr("optimizer step"));
        schedulePlot_->yAxis->setNumberFormat(QStringLiteral("gb"));
        schedulePlot_->yAxis->setNumberPrecision(2);
    }
    scheduleNote_ = new QLabel(left);
    scheduleNote_->setObjectName(QStringLiteral("scheduleNote"));
    scheduleNote_->setWordWrap(true);
    auto* scheduleTitle = new QLabel(tr("<b>Learning-rate schedule</b>"), left);
    leftLayout->addWidget(scheduleTitle);
    leftLayout->addWidget(schedulePlot_);
    leftLayout->addWidget(scheduleNote_);

    auto* buttons = new QHBoxLayout;
    for (QAction* a : {startAction_, pauseAction_, stopAction_}) {
        auto* b = new QToolButton(left);
        b->setDefaultAction(a);
        b->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
        b->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
        b->setObjectName(a->objectName() + QStringLiteral("Button"));
        buttons->addWidget(b);
    }
    leftLayout->addLayout(buttons);

    // --- right: what the run does
    auto* right = new QWidget(this);
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(4, 0, 0, 0);
    message_ = new InlineMessage(right);
    message_->setObjectName(QStringLiteral("trainMessage"));
    rightLayout->addWidget(message_);
    plotControls_ = new PlotControls(right);
    plotControls_->setObjectName(QStringLiteral("plotControls"));
    rightLayout->addWidget(plotControls_);
    plotArea_ = new QWidget(right);
    plotGrid_ = new QGridLayout(plotArea_);
    plotGrid_->setContentsMargins(0, 0, 0, 0);
    plotGrid_->setSpacing(4);
    rightLayout->addWidget(plotArea_, 1);
    rankView_ = new RankThroughputView(plotArea_);
    rankView_->setObjectName(QStringLiteral("rankThroughput"));
    rankView_->hide();

    auto* splitter = new QSplitter(Qt::Horizontal, this);
    splitter->setObjectName(QStringLiteral("trainSplitter"));
    splitter->addWidget(left);
    splitter->addWidget(right);
    splitter->setStretchFactor(0, 0);
    splitter->setStretchFactor(1, 1);
    splitter->setChildrenCollapsible(false);
    left->setMinimumWidth(250);
    splitter->setSizes({360, 900});
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(splitter);

    // --- wiring
    connect(taskCombo_, &QComboBox::currentIndexChanged, this, [this] {
        if (!worker_->isActive() && activeRunDir_.isEmpty()) resetPlots(task());
        updatePreview();
    });
    connect(presetCombo_, &QComboBox::activated, this, [this](int index) { loadPreset(presetCombo_->itemText(index)); });
    connect(form_, &RunConfigForm::configChanged, this, &TrainPage::updatePreview);
    connect(form_, &RunConfigForm::validityChanged, this, &TrainPage::updateActions);

    connect(parallelCombo_, &QComboBox::currentIndexChanged, this, [this] {
        processSpin_->setVisible(parallelism() == Parallelism::CpuProcesses);
        updatePreview();
    });
    connect(processSpin_, &QSpinBox::valueChanged, this, &TrainPage::updatePreview);

    // The in-process worker and the data-parallel run report alike.
    connect(worker_, &TrainingWorker::stepReported, this, &TrainPage::onStep);
    connect(distributed_, &DistributedRun::stepReported, this, &TrainPage::onStep);
    const auto onEval = [this](const ponet::EvalMetrics& m) {
        addEval(activeRunName(), m);
        QStringList parts;
        for (const char* k : {"loss", "accuracy", "macro_f1", "mlm_loss", "mlm_accuracy", "sso_accuracy"}) {
            const auto it = m.values.find(k);
            if (it != m.values.end() && std::isfinite(it->second))
                parts << QStringLiteral("%1 %2").arg(QLatin1String(k)).arg(it->second, 0, 'g', 4);
        }
        Q_EMIT logMessage(tr("Evaluation (%1) at step %2: %3%4")
                              .arg(qstr(m.split))
                              .arg(m.step)
                              .arg(parts.join(QStringLiteral(", ")), m.is_best ? tr(" — best so far") : QString()));
    };
    connect(worker_, &TrainingWorker::evalReported, this, onEval);
    connect(distributed_, &DistributedRun::evalReported, this, onEval);
    const auto onCheckpoint = [this](const ponet::CheckpointEvent& e) {
        Q_EMIT logMessage(tr("Checkpoint at step %1: %2").arg(e.step).arg(qstr(e.path)));
    };
    connect(worker_, &TrainingWorker::checkpointSaved, this, onCheckpoint);
    connect(distributed_, &DistributedRun::checkpointSaved, this, onCheckpoint);
    const auto onLog = [this](const QString& level, const QString& text) {
        Q_EMIT logMessage(level == QLatin1String("info") ? text : QStringLiteral("%1: %2").arg(level, text));
    };
    connect(worker_, &TrainingWorker::logMessage, this, onLog);
    connect(distributed_, &DistributedRun::logMessage, this, onLog);
    connect(worker_, &TrainingWorker::stateChanged, this, &TrainPage::onRunStateChanged);
    connect(distributed_, &DistributedRun::stateChanged, this, &TrainPage::onRunStateChanged);
    connect(worker_, &TrainingWorker::finished, this, &TrainPage::onFinished);
    connect(distributed_, &DistributedRun::finished, this, &TrainPage::onFinished);
    updateParallelismChoices();

    presetCombo_->setCurrentText(QString::fromLatin1(kDefaultPreset));
    loadPreset(QString::fromLatin1(kDefaultPreset));
    if (plots_.isEmpty()) buildPlots(task());
    updateActions();
}

TrainPage::~TrainPage() = default;

void TrainPage::onStep(const ponet::StepMetrics& m) {
    lastStep_ = m;
    addStep(activeRunName(), m);
    if (!m.rank_tokens_per_second.empty()) {
        showRankView(true, m.world_size);
        rankView_->setRankThroughput(m.step, m.world_size,
                                     QVector<double>(m.rank_tokens_per_second.begin(), m.rank_tokens_per_second.end()));
    }
    Q_EMIT progressChanged(m.step, m.max_steps, m.eta_seconds, m.tokens_per_second);
}

void TrainPage::onRunStateChanged() {
    updateActions();
    QString state;
    if (distributed_->isActive()) {
        state = distributed_->state() == DistributedRun::State::Stopping
                    ? tr("stopping…")
                    : tr("training on %n processes", nullptr, distributed_->processes());
    } else {
        const TrainingWorker::State s = worker_->state();
        state = s == TrainingWorker::State::Paused     ? tr("paused")
                : s == TrainingWorker::State::Stopping ? tr("stopping…")
                : s == TrainingWorker::State::Running  ? tr("training")
                                                       : QString();
    }
    if (!state.isEmpty()) Q_EMIT activeRunChanged(activeRunName(), state);
}

void TrainPage::setLocalGpuCount(int count) {
    localGpus_ = std::max(0, count);
    updateParallelismChoices();
}

void TrainPage::updateParallelismChoices() {
    const Parallelism current = parallelCombo_->count() > 0 ? parallelism() : Parallelism::ThisDevice;
    const QSignalBlocker block(parallelCombo_);
    parallelCombo_->clear();
    parallelCombo_->addItem(tr("This device (%1)").arg(device_), static_cast<int>(Parallelism::ThisDevice));
    parallelCombo_->setItemData(0, tr("One process: this program trains on the toolbar's device"), Qt::ToolTipRole);
    if (localGpus_ >= 2) {
        parallelCombo_->addItem(tr("All local GPUs (%1)").arg(localGpus_), static_cast<int>(Parallelism::AllGpus));
        parallelCombo_->setItemData(parallelCombo_->count() - 1,
                                    tr("One worker process per GPU (cuda:0 to cuda:%1), NCCL between them")
                                        .arg(localGpus_ - 1),
                                    Qt::ToolTipRole);
    }
    parallelCombo_->addItem(tr("CPU processes (Gloo)"), static_cast<int>(Parallelism::CpuProcesses));
    const int cpuIndex = parallelCombo_->count() - 1;
    std::string why;
    if (ponet::c10d_backend_available("cpu", &why)) {
        parallelCombo_->setItemData(cpuIndex,
                                    tr("Advanced: several CPU worker processes over Gloo on loopback, to try "
                                       "data-parallel training without GPUs"),
                                    Qt::ToolTipRole);
    } else if (auto* model = qobject_cast<QStandardItemModel*>(parallelCombo_->model())) {
        model->item(cpuIndex)->setEnabled(false);
        parallelCombo_->setItemData(cpuIndex, qstr(why), Qt::ToolTipRole);
    }
    const int i = parallelCombo_->findData(static_cast<int>(current));
    parallelCombo_->setCurrentIndex(i >= 0 ? i : 0);
    processSpin_->setVisible(parallelism() == Parallelism::CpuProcesses);
}

bool TrainPage::setParallelism(Parallelism p, int cpuProcesses) {
    const int i = parallelCombo_->findData(static_cast<int>(p));
    if (p == Parallelism::AllGpus && i < 0) {
        showError(tr("“All local GPUs” needs at least 2 CUDA devices; this machine has %1.").arg(localGpus_));
        return false;
    }
    if (p == Parallelism::CpuProcesses) {
        std::string why;
        if (!ponet::c10d_backend_available("cpu", &why)) {
            showError(tr("CPU worker processes are not available: %1").arg(qstr(why)));
            return false;
        }
        if (cpuProcesses < processSpin_->minimum() || cpuProcesses > processSpin_->maximum()) {
            showError(tr("The number of CPU processes must be between %1 and %2, not %3.")
                          .arg(processSpin_->minimum())
                          .arg(processSpin_->maximum())
                          .arg(cpuProcesses));
            return false;
        }
        processSpin_->setValue(cpuProcesses);
    }
    parallelCombo_->setCurrentIndex(std::max(0, i));
    return true;
}

TrainPage::Parallelism TrainPage::parallelism() const {
    return static_cast<Parallelism>(parallelCombo_->currentData().toInt());
}

int TrainPage::workerProcesses() const {
    switch (parallelism()) {
        case Parallelism::AllGpus: return localGpus_;
        case Parallelism::CpuProcesses: return processSpin_->value();
        case Parallelism::ThisDevice: break;
    }
    return 1;
}

void TrainPage::showRankView(bool show, int worldSize) {
    if (show && worldSize > 1 && rankView_->worldSize() != worldSize)
        rankView_->setRankThroughput(0, worldSize, {});
    if (!show) rankView_->clear();
    if (show == rankViewShown_) return;
    rankViewShown_ = show;
    placeRankView();
}

void TrainPage::placeRankView() {
    const int n = static_cast<int>(specs_.size());
    if (n == 0) return;
    MetricPlot* last = plots_.value(specs_.last().id);
    plotGrid_->removeWidget(last);
    plotGrid_->removeWidget(rankView_);
    const int row = (n - 1) / 2, col = (n - 1) % 2;
    if (!rankViewShown_) {
        rankView_->hide();
        plotGrid_->addWidget(last, row, col, 1, n % 2 == 1 ? 2 : 1);
        plotGrid_->setRowStretch(n / 2, n % 2 == 0 ? 0 : 1);
        return;
    }
    // Beside the last plot (throughput and memory) when it was alone on its row, else on a row of its own.
    plotGrid_->addWidget(last, row, col);
    if (n % 2 == 1) {
        plotGrid_->addWidget(rankView_, row, 1);
    } else {
        plotGrid_->addWidget(rankView_, n / 2, 0, 1, 2);
        plotGrid_->setRowStretch(n / 2, 1);
    }
    rankView_->show();
}

ponet::TaskKind TrainPage::task() const {
    return static_cast<ponet::TaskKind>(taskCombo_->currentData().toInt());
}

void TrainPage::setTask(ponet::TaskKind task) {
    taskCombo_->setCurrentIndex(taskCombo_->findData(static_cast<int>(task)));
}

QString TrainPage::presetName() const {
    return presetCombo_->currentText();
}

ponet::RunConfig TrainPage::currentConfig() const {
    ponet::RunConfig c = form_->config();
    c.task = task();
    c.train.device = device_.toStdString();
    return c;
}

QString TrainPage::configJson() const {
    return qstr(currentConfig().to_json_text());
}

bool TrainPage::restoreConfigJson(const QString& json) {
    try {
        const ponet::RunConfig c = ponet::RunConfig::from_json_text(json.toStdString(), "saved Train page");
        form_->setConfig(c);
        setTask(c.task);
        return true;
    } catch (const std::exception& e) {
        Q_EMIT logMessage(tr("The saved training options could not be read (%1); the preset is shown instead.")
                              .arg(qstr(e.what())));
        return false;
    }
}

bool TrainPage::loadPreset(const QString& name) {
    try {
        const ponet::RunConfig c = ponet::load_preset(name.toStdString());
        form_->setConfig(c);
        setTask(c.task);
        const int i = presetCombo_->findText(name);
        if (i >= 0) presetCombo_->setCurrentIndex(i);
        return true;
    } catch (const std::exception& e) {
        showError(qstr(e.what()));
        return false;
    }
}

void TrainPage::setDevice(const QString& deviceId) {
    device_ = deviceId.isEmpty() ? QStringLiteral("cpu") : deviceId;
    parallelCombo_->setItemText(0, tr("This device (%1)").arg(device_));
}

QString TrainPage::activeRunName() const {
    return activeRunDir_.isEmpty() ? QString() : QFileInfo(activeRunDir_).fileName();
}

bool TrainPage::isTraining() const {
    return worker_->isActive() || distributed_->isActive();
}

QString TrainPage::errorText() const {
    return !message_->isHidden() && message_->kind() == InlineMessage::Kind::Error ? message_->text() : QString();
}

QList<MetricPlot*> TrainPage::plots() const {
    QList<MetricPlot*> out;
    for (const PlotSpec& s : specs_) out << plots_.value(s.id);
    return out;
}

QString TrainPage::effectiveBatchText() const {
    return effectiveBatch_->text();
}

void TrainPage::showError(const QString& text) {
    message_->showMessage(InlineMessage::Kind::Error, text);
    Q_EMIT logMessage(text);
}

void TrainPage::showInfo(const QString& text) {
    message_->showMessage(InlineMessage::Kind::Information, text);
    Q_EMIT logMessage(text);
}

void TrainPage::resetPlots(ponet::TaskKind task) {
    if (task != plotsTask_ || plots_.isEmpty()) {
        buildPlots(task);
        return;
    }
    // The same plots stay (whoever holds them keeps valid pointers); only their curves go.
    for (MetricPlot* p : std::as_const(plots_)) p->clear();
}

void TrainPage::buildPlots(ponet::TaskKind task) {
    for (MetricPlot* p : std::as_const(plots_)) {
        plotGrid_->removeWidget(p);
        delete p;
    }
    plots_.clear();
    plotsTask_ = task;
    specs_ = plotSpecs(task);
    const int n = static_cast<int>(specs_.size());
    for (int i = 0; i < n; ++i) {
        const PlotSpec& s = specs_[i];
        auto* p = new MetricPlot(s.title, plotArea_);
        p->setObjectName(QStringLiteral("plot:") + s.id);
        p->setYLabel(s.yLabel, s.rightLabel);
        plots_.insert(s.id, p);
        const bool lastAlone = i == n - 1 && n % 2 == 1;
        plotGrid_->addWidget(p, i / 2, i % 2, 1, lastAlone ? 2 : 1);
    }
    for (int r = 0; r < (n + 1) / 2; ++r) plotGrid_->setRowStretch(r, 1);
    plotControls_->setPlots(plots());
    placeRankView();
}

void TrainPage::addStep(const QString& run, const ponet::StepMetrics& m) {
    for (const PlotSpec& spec : std::as_const(specs_)) {
        MetricPlot* plot = plots_.value(spec.id);
        for (const SeriesSpec& s : spec.series) {
            if (s.eval) continue;
            const double v = stepValue(m, s.key);
            if (!std::isfinite(v)) continue;
            SeriesOptions o;
            o.label = s.label;
            o.rightAxis = s.rightAxis;
            o.smoothable = s.smoothable;
            plot->appendPoints(run, s.metric,
                               {MetricPoint{static_cast<double>(m.step), m.epoch, m.elapsed_seconds, v * s.scale}}, o);
        }
    }
}

void TrainPage::addEval(const QString& run, const ponet::EvalMetrics& m) {
    // An evaluation sits where the training curve was at its step.
    const double epoch = lastStep_.step > 0 ? lastStep_.epoch * m.step / lastStep_.step : 0;
    const double seconds = lastStep_.step > 0 ? lastStep_.elapsed_seconds * m.step / lastStep_.step : 0;
    const QString split = qstr(m.split);
    for (const PlotSpec& spec : std::as_const(specs_)) {
        MetricPlot* plot = plots_.value(spec.id);
        for (const SeriesSpec& s : spec.series) {
            if (!s.eval || s.metric != split) continue;
            const auto it = m.values.find(s.key.toStdString());
            if (it == m.values.end() || !std::isfinite(it->second)) continue;
            SeriesOptions o;
            o.label = s.label;
            o.markers = true;
            plot->appendPoints(run, s.metric, {MetricPoint{static_cast<double>(m.step), epoch, seconds, it->second}}, o);
        }
    }
}

void TrainPage::updatePreview() {
    const ponet::RunConfig c = currentConfig();
    const int64_t batch = c.train.batch_size, accum = c.train.grad_accum;
    QString batchText = tr("Effective batch: %1 × %2 accumulated = <b>%3</b> examples per optimizer step")
                            .arg(batch)
                            .arg(accum)
                            .arg(QLocale().toString(static_cast<qlonglong>(batch * accum)));
    if (const int workers = workerProcesses(); workers > 1)
        batchText += QLatin1Char(' ') + tr("(each batch split across %1 worker processes, about %2 rows each)")
                                            .arg(workers)
                                            .arg(std::max<qint64>(1, batch / workers));
    effectiveBatch_->setText(batchText);
    const bool fromEpochs = c.train.max_steps <= 0;
    const int64_t total = fromEpochs ? c.train.epochs * kAssumedStepsPerEpoch : c.train.max_steps;
    QVector<double> xs, ys;
    try {
        const ponet::LrSchedule schedule = ponet::LrSchedule::from_config(c.train, std::max<int64_t>(1, total));
        const int samples = static_cast<int>(std::min<int64_t>(total, 400));
        for (int i = 0; i <= samples; ++i) {
            const int64_t t = samples > 0 ? total * i / samples : 0;
            xs << static_cast<double>(t);
            ys << schedule.lr(t);
        }
        scheduleNote_->setText(
            fromEpochs ? tr("%1 schedule, peak %2, %3 warm-up steps; %4 epochs shown as %5 steps each (the real "
                            "length depends on the data)")
                             .arg(qstr(ponet::to_string(c.train.schedule)))
                             .arg(c.train.lr)
                             .arg(c.train.warmup_steps)
                             .arg(c.train.epochs)
                             .arg(kAssumedStepsPerEpoch)
                       : tr("%1 schedule, peak %2, %3 warm-up steps, %4 steps")
                             .arg(qstr(ponet::to_string(c.train.schedule)))
                             .arg(c.train.lr)
                             .arg(c.train.warmup_steps)
                             .arg(QLocale().toString(static_cast<qlonglong>(total))));
    } catch (const std::exception& e) {
        scheduleNote_->setText(tr("No schedule: %1").arg(qstr(e.what())));
    }
    schedulePlot_->graph(0)->setData(xs, ys, true);
    schedulePlot_->rescaleAxes();
    schedulePlot_->yAxis->setRangeLower(0);
    if (!ys.isEmpty()) {
        const double top = *std::max_element(ys.cbegin(), ys.cend());
        schedulePlot_->yAxis->setRangeUpper(top > 0 ? top * 1.1 : 1);
    }
    schedulePlot_->replot(QCustomPlot::rpQueuedReplot);
    updateActions();
}

void TrainPage::updateActions() {
    const TrainingWorker::State s = worker_->state();
    const bool multi = distributed_->isActive();
    const bool idle = s == TrainingWorker::State::Idle && !multi;
    startAction_->setEnabled(idle && form_->errors().isEmpty());
    // The worker processes of a data-parallel run cannot hold between steps; Stop saves a checkpoint instead.
    pauseAction_->setEnabled(s == TrainingWorker::State::Running || s == TrainingWorker::State::Paused);
    pauseAction_->setToolTip(multi ? tr("A multi-process run cannot pause; Stop saves a checkpoint and Continue "
                                        "resumes it")
                                   : QString());
    const bool paused = s == TrainingWorker::State::Paused;
    pauseAction_->setText(paused ? tr("&Resume Training") : tr("&Pause Training"));
    pauseAction_->setIconText(paused ? tr("Resume") : tr("Pause"));
    pauseAction_->setIcon(style()->standardIcon(paused ? QStyle::SP_MediaPlay : QStyle::SP_MediaPause));
    stopAction_->setEnabled(s == TrainingWorker::State::Running || s == TrainingWorker::State::Paused ||
                            distributed_->state() == DistributedRun::State::Running);
    bool canContinue = false;
    if (idle && !activeRunDir_.isEmpty()) {
        const QDir checkpoints(QDir(activeRunDir_).filePath(QStringLiteral("checkpoints")));
        const bool hasCheckpoint =
            !checkpoints.entryList({QStringLiteral("step-*")}, QDir::Dirs | QDir::NoDotAndDotDot).isEmpty();
        bool finished = false;
        try {
            const auto status = ponet::RunDirectory::open(activeRunDir_.toStdString()).read_status();
            finished = status && status->state == ponet::RunState::Finished;
        } catch (const std::exception&) {
        }
        canContinue = hasCheckpoint && !finished;
    }
    continueAction_->setEnabled(canContinue);
    taskCombo_->setEnabled(idle);
    presetCombo_->setEnabled(idle);
    parallelCombo_->setEnabled(idle);
    processSpin_->setEnabled(idle);
    form_->setEnabled(idle);
}

void TrainPage::setActiveRun(const QString& dir, const QString& state) {
    activeRunDir_ = dir;
    Q_EMIT activeRunChanged(activeRunName(), state);
    updateActions();
}

QString TrainPage::uniqueRunDirectory(const QString& name, bool userChosen, QString* error) const {
    const QDir runs(runsDir_);
    QString dir = runs.filePath(name);
    if (!QFileInfo::exists(dir)) return dir;
    if (userChosen) {
        *error = tr("A run named “%1” already exists in %2. Choose another name (Run tab), or open that run "
                    "from File › Recent Runs to continue it.")
                     .arg(name, runsDir_);
        return {};
    }
    for (int i = 2;; ++i) {
        dir = runs.filePath(QStringLiteral("%1-%2").arg(name).arg(i));
        if (!QFileInfo::exists(dir)) return dir;
    }
}

bool TrainPage::startTraining() {
    if (isTraining()) return false;
    const QStringList errors = form_->errors();
    if (!errors.isEmpty()) {
        showError(tr("Fix the marked options first: %1").arg(errors.join(QStringLiteral("; "))));
        return false;
    }
    ponet::RunConfig c = currentConfig();
    const Parallelism parallel = parallelism();
    const int workers = workerProcesses();
    if (parallel != Parallelism::ThisDevice) {
        // Each worker picks cuda:LOCAL_RANK for "cuda"; CPU workers talk over Gloo.
        c.train.device = parallel == Parallelism::AllGpus ? "cuda" : "cpu";
        std::string why;
        if (!ponet::c10d_backend_available(c.train.device, &why)) {
            showError(tr("A data-parallel run cannot start: %1").arg(qstr(why)));
            return false;
        }
    }
    try {
        c.validate_runnable();
    } catch (const std::exception& e) {
        showError(tr("This configuration cannot run: %1").arg(qstr(e.what())));
        return false;
    }
    const bool userChosen = !c.name.empty();
    const QString name = userChosen ? qstr(c.name) : qstr(ponet::default_run_name(c.task, std::time(nullptr)));
    if (name.contains(QLatin1Char('/')) || name == QLatin1String("..") || name == QLatin1String(".")) {
        showError(tr("The run name “%1” cannot be a folder name; use letters, digits, - and _.").arg(name));
        return false;
    }
    QString error;
    const QString dir = uniqueRunDirectory(name, userChosen, &error);
    if (dir.isEmpty()) {
        showError(error);
        return false;
    }
    c.name = QFileInfo(dir).fileName().toStdString();
    message_->dismiss();
    resetPlots(c.task);
    lastStep_ = ponet::StepMetrics();
    showRankView(parallel != Parallelism::ThisDevice, workers);
    setActiveRun(dir, tr("starting"));
    if (parallel != Parallelism::ThisDevice) {
        QString launchError;
        if (!distributed_->start(c, dir, workers, &launchError)) {
            showError(launchError);
            setActiveRun(QString(), QString());
            return false;
        }
        Q_EMIT logMessage(tr("Training %1 in %2 on %3 worker processes (%4)")
                              .arg(qstr(ponet::to_string(c.task)), dir)
                              .arg(workers)
                              .arg(parallel == Parallelism::AllGpus ? tr("one per GPU, NCCL") : tr("CPU, Gloo")));
    } else {
        if (!worker_->start(c, dir)) return false;
        Q_EMIT logMessage(tr("Training %1 in %2 on %3").arg(qstr(ponet::to_string(c.task)), dir, device_));
    }
    Q_EMIT trainingActiveChanged(true);
    Q_EMIT runStarted(dir);
    return true;
}

void TrainPage::togglePause() {
    if (worker_->state() == TrainingWorker::State::Paused)
        worker_->resume();
    else
        worker_->pause();
}

void TrainPage::stopTraining() {
    if (distributed_->isActive()) {
        distributed_->stop();
        Q_EMIT logMessage(tr("Stopping: every worker finishes its step, then rank 0 saves a checkpoint."));
        return;
    }
    if (!worker_->isActive()) return;
    worker_->stop();
    Q_EMIT logMessage(tr("Stopping after the current step; a checkpoint is saved first."));
}

bool TrainPage::continueActiveRun() {
    if (isTraining() || activeRunDir_.isEmpty()) return false;
    message_->dismiss();
    if (parallelism() != Parallelism::ThisDevice) {
        QString error;
        if (!distributed_->continueRun(activeRunDir_, workerProcesses(), &error)) {
            showError(error);
            return false;
        }
        showRankView(true, workerProcesses());
    } else if (!worker_->continueRun(activeRunDir_)) {
        return false;
    }
    Q_EMIT trainingActiveChanged(true);
    Q_EMIT runStarted(activeRunDir_);
    return true;
}

void TrainPage::onFinished(const ponet::RunOutcome& o) {
    const QString status = qstr(o.status), message = qstr(o.message);
    if (o.status == "failed") {
        showError(tr("The run failed: %1").arg(message));
    } else {
        QString text = o.status != "stopped" ? tr("Finished %1 steps.").arg(o.steps)
                       : o.steps == 0       ? tr("Stopped before the first step; there was nothing to save.")
                                            : tr("Stopped after %1 steps; the checkpoint is in %2.")
                                                  .arg(o.steps)
                                                  .arg(activeRunDir_);
        if (std::isfinite(o.best_metric))
            text += QLatin1Char(' ') + tr("Best %1: %2.").arg(qstr(o.best_metric_name)).arg(o.best_metric, 0, 'g', 4);
        if (o.status == "finished" && !message.isEmpty()) text += QLatin1Char(' ') + message;
        showInfo(text);
    }
    for (MetricPlot* p : std::as_const(plots_)) p->redrawNow();
    const QString state = o.status == "failed" ? tr("failed") : o.status == "stopped" ? tr("stopped") : tr("finished");
    setActiveRun(activeRunDir_, state);
    Q_EMIT trainingActiveChanged(false);
    Q_EMIT runFinished(o);
}

bool TrainPage::openRun(const QString& runDir) {
    if (isTraining()) {
        showError(tr("A run is in progress; stop it before opening another."));
        return false;
    }
    QFile config(QDir(runDir).filePath(QStringLiteral("config.json")));
    if (!config.open(QIODevice::ReadOnly)) {
        showError(tr("%1 is not a run folder: it has no readable config.json.").arg(runDir));
        return false;
    }
    ponet::RunConfig c;
    try {
        c = ponet::RunConfig::from_json_text(config.readAll().toStdString(), config.fileName().toStdString());
    } catch (const std::exception& e) {
        showError(qstr(e.what()));
        return false;
    }
    message_->dismiss();
    form_->setConfig(c);
    setTask(c.task);
    resetPlots(c.task);
    lastStep_ = ponet::StepMetrics();
    setActiveRun(QDir(runDir).absolutePath(), tr("opened"));
    const QString run = activeRunName();
    QFile metrics(QDir(runDir).filePath(QStringLiteral("metrics.jsonl")));
    int lineNo = 0, bad = 0;
    ponet::StepMetrics lastRanks;
    if (metrics.open(QIODevice::ReadOnly)) {
        while (!metrics.atEnd()) {
            ++lineNo;
            const MetricsEvent e = parseMetricsLine(metrics.readLine());
            if (e.kind == MetricsEvent::Kind::Step) {
                lastStep_ = e.step;
                if (!e.step.rank_tokens_per_second.empty()) lastRanks = e.step;
                addStep(run, e.step);
            } else if (e.kind == MetricsEvent::Kind::Eval) {
                addEval(run, e.eval);
            } else if (e.kind == MetricsEvent::Kind::None) {
                ++bad;
            }
        }
    }
    // A data-parallel run shows its ranks' throughput at its last logging step.
    showRankView(!lastRanks.rank_tokens_per_second.empty(), lastRanks.world_size);
    if (!lastRanks.rank_tokens_per_second.empty())
        rankView_->setRankThroughput(lastRanks.step, lastRanks.world_size,
                                     QVector<double>(lastRanks.rank_tokens_per_second.begin(),
                                                     lastRanks.rank_tokens_per_second.end()));
    if (bad > 0) Q_EMIT logMessage(tr("%1: %2 of %3 lines were not metric events and were skipped").arg(metrics.fileName()).arg(bad).arg(lineNo));
    for (MetricPlot* p : std::as_const(plots_)) p->redrawNow();
    Q_EMIT logMessage(tr("Opened run %1").arg(runDir));
    return true;
}

}  // namespace ponet::gui
