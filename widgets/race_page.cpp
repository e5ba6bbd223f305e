// RacePage (race_page.h): the GUI thread builds the race from the form and draws what comes back; the core's
// race runner trains on a worker QThread and reports through queued calls carrying its value structs.
#include "widgets/race_page.h"

#include <QCheckBox>
#include <QDateTime>
#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QThread>
#include <QVBoxLayout>

#include <climits>
#include <cmath>
#include <exception>

#include "core/data/xdg.h"
#include "core/util/error.h"
#include "widgets/inline_message.h"
#include "widgets/metric_plot.h"
#include "widgets/number_format.h"
#include "widgets/widget_helpers.h"

namespace ponet::gui {
namespace {

const char kTaskKey[] = "race/task";
const char kDatasetKey[] = "race/dataset";
const char kSizeKey[] = "race/size";
const char kBudgetKey[] = "race/budget";
const char kLengthKey[] = "race/length";

int defaultLength(const QString& task) {
    if (task == QLatin1String("listops")) return 32;  // the tiny-listops preset's
    return task == QLatin1String("bytes") ? 512 : 128;
}
const char kMixersKey[] = "race/mixers";

enum Column { MixerCol, StatusCol, StepsCol, FinalCol, BestCol, StepsPerSecCol, TokensCol, MemoryCol, WallCol, ColumnCount };

QColor mixerColour(const QString& mixer) {
    if (mixer == QLatin1String("ponet")) return QColor(31, 119, 180);
    if (mixer == QLatin1String("fnet")) return QColor(255, 127, 14);
    return QColor(44, 160, 44);
}

QString mixerTitle(const QString& mixer) {
    if (mixer == QLatin1String("ponet")) return QStringLiteral("PoNet");
    if (mixer == QLatin1String("fnet")) return QStringLiteral("FNet");
    return RacePage::tr("Attention");
}

QString number(double v, int decimals) {
    return std::isfinite(v) ? QString::number(v, 'f', decimals) : QStringLiteral("–");
}

}  // namespace

// What the worker and the page share: the stop flag. Everything else crosses as queued calls.
struct RacePage::Shared {
    ponet::RunControl control;
};

// The race's observer: it lives on the worker thread and reaches the page only through queued calls. The page
// outlives the thread (its destructor waits for it), and calls still queued when it is gone are dropped by Qt.
class RacePage::Forwarder : public ponet::RaceObserver {
  public:
    explicit Forwarder(RacePage* page) : page_(page) {}
    void on_run_started(int i, const std::string& mixer, const std::string& dir) override {
        post([i, m = QString::fromStdString(mixer), d = QString::fromStdString(dir)](RacePage* p) {
            p->onRunStarted(i, m, d);
        });
    }
    void on_step(int i, const ponet::StepMetrics& m) override {
        post([i, m](RacePage* p) { p->onStep(i, m); });
    }
    void on_eval(int i, const ponet::EvalMetrics& m, double seconds) override {
        post([i, m, seconds](RacePage* p) { p->onEval(i, m, seconds); });
    }
    void on_log(int i, const std::string& level, const std::string& message) override {
        if (level == "info") return;
        post([i, l = QString::fromStdString(level), t = QString::fromStdString(message)](RacePage* p) {
            Q_EMIT p->logMessage(QStringLiteral("%1: %2: %3").arg(p->raceMixers_.value(i), l, t));
        });
    }
    void on_run_finished(int i, const ponet::RaceEntry& e) override {
        post([i, e](RacePage* p) { p->onRunFinished(i, e); });
    }
    void fail(const QString& text) {
        post([text](RacePage* p) { p->message_->showMessage(InlineMessage::Kind::Error, text); });
    }

  private:
    template <class F>
    void post(F f) {
        RacePage* page = page_;
        QMetaObject::invokeMethod(page, [page, f] { f(page); }, Qt::QueuedConnection);
    }
    RacePage* page_;
};

QStringList RacePage::taskIds() {
    return {QStringLiteral("listops"), QStringLiteral("bytes"), QStringLiteral("finetune")};
}
QStringList RacePage::sizeIds() {
    return {QStringLiteral("tiny"), QStringLiteral("small")};
}
QStringList RacePage::plotIds() {
    return {QStringLiteral("accuracy-steps"), QStringLiteral("accuracy-time"), QStringLiteral("loss-steps"),
            QStringLiteral("loss-time")};
}

RacePage::RacePage(QWidget* parent) : QWidget(parent), runsDir_(QString::fromStdString(ponet::runs_dir())) {
    auto* layout = new QVBoxLayout(this);

    auto* form = new QGridLayout;
    form->addWidget(new QLabel(tr("Task:"), this), 0, 0);
    taskCombo_ = new QComboBox(this);
    taskCombo_->setObjectName(QStringLiteral("raceTask"));
    taskCombo_->addItem(tr("ListOps (LRA, generated on the spot)"), QStringLiteral("listops"));
    taskCombo_->addItem(tr("Text classification, byte level (your labelled documents)"), QStringLiteral("bytes"));
    taskCombo_->addItem(tr("Text classification, fine-tuning with WordPiece (your labelled documents)"),
                        QStringLiteral("finetune"));
    taskCombo_->setToolTip(tr("ListOps needs no download; the text tasks read a folder with one sub-folder per "
                              "label, or a JSONL/CSV file with text and label"));
    form->addWidget(taskCombo_, 0, 1);
    form->addWidget(new QLabel(tr("Data:"), this), 0, 2);
    datasetEdit_ = new QLineEdit(this);
    datasetEdit_->setObjectName(QStringLiteral("raceDataset"));
    datasetEdit_->setPlaceholderText(tr("a folder per label, or a JSONL / CSV file with text and label"));
    form->addWidget(datasetEdit_, 0, 3);
    datasetButton_ = new QPushButton(tr("Choose…"), this);
    form->addWidget(datasetButton_, 0, 4);

    auto* row = new QHBoxLayout;
    row->addWidget(new QLabel(tr("Model:"), this));
    sizeCombo_ = new QComboBox(this);
    sizeCombo_->setObjectName(QStringLiteral("raceSize"));
    sizeCombo_->addItem(tr("tiny: 2 layers, 64 wide"), QStringLiteral("tiny"));
    sizeCombo_->addItem(tr("small: 4 layers, 256 wide"), QStringLiteral("small"));
    row->addWidget(sizeCombo_);
    row->addSpacing(12);
    row->addWidget(new QLabel(tr("Budget:"), this));
    budgetSpin_ = new QSpinBox(this);
    budgetSpin_->setObjectName(QStringLiteral("raceBudget"));
    budgetSpin_->setRange(1, 1000000);
    budgetSpin_->setValue(300);
    budgetSpin_->setSuffix(tr(" steps"));
    budgetSpin_->setToolTip(tr("Optimizer steps for each mixer; about ten evaluations along the way"));
    row->addWidget(budgetSpin_);
    row->addSpacing(12);
    row->addWidget(new QLabel(tr("Length:"), this));
    lengthSpin_ = new QSpinBox(this);
    lengthSpin_->setObjectName(QStringLiteral("raceLength"));
    lengthSpin_->setRange(8, 16384);
    lengthSpin_->setSuffix(tr(" tokens"));
    lengthSpin_->setToolTip(tr("The model's maximum length. ListOps expressions are generated up to it (the paper's "
                               "ListOps has 2,048 tokens); longer documents are truncated to it. PoNet's cost grows "
                               "linearly with it, attention's quadratically"));
    row->addWidget(lengthSpin_);
    row->addSpacing(12);
    row->addWidget(new QLabel(tr("Mixers:"), this));
    ponetCheck_ = new QCheckBox(QStringLiteral("PoNet"), this);
    fnetCheck_ = new QCheckBox(QStringLiteral("FNet"), this);
    attentionCheck_ = new QCheckBox(tr("Attention"), this);
    for (QCheckBox* c : {ponetCheck_, fnetCheck_, attentionCheck_}) {
        c->setChecked(true);
        row->addWidget(c);
    }
    row->addSpacing(12);
    deviceLabel_ = new QLabel(this);
    deviceLabel_->setToolTip(tr("The races run on the window's compute device (the toolbar's Device)"));
    row->addWidget(deviceLabel_);
    row->addStretch(1);
    form->addLayout(row, 1, 0, 1, 5);
    form->setColumnStretch(1, 2);
    form->setColumnStretch(3, 3);
    layout->addLayout(form);

    auto* actions = new QHBoxLayout;
    startButton_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaPlay), tr("Start Race"), this);
    startButton_->setObjectName(QStringLiteral("raceStart"));
    stopButton_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaStop), tr("Stop"), this);
    stopButton_->setObjectName(QStringLiteral("raceStop"));
    stopButton_->setEnabled(false);
    stopButton_->setToolTip(tr("Stops the current run with a checkpoint and skips the rest"));
    progress_ = new QProgressBar(this);
    progress_->setObjectName(QStringLiteral("raceProgress"));
    progress_->setRange(0, 1);
    progress_->setValue(0);
    hideKeepingRoom(progress_);  // until the first run
    actions->addWidget(startButton_);
    actions->addWidget(stopButton_);
    actions->addWidget(progress_, 1);
    layout->addLayout(actions);
    status_ = new QLabel(tr("Each mixer trains the same task with the same data, seed and budget, one after "
                            "the other; the runs go to the runs folder, tagged with the race."),
                         this);
    status_->setWordWrap(true);
    layout->addWidget(status_);
    message_ = new InlineMessage(this);
    layout->addWidget(message_);

    auto* plots = new QWidget(this);
    auto* grid = new QGridLayout(plots);
    grid->setContentsMargins(0, 0, 0, 0);
    accuracySteps_ = new MetricPlot(tr("Dev accuracy against steps"), plots);
    accuracyTime_ = new MetricPlot(tr("Dev accuracy against wall time"), plots);
    lossSteps_ = new MetricPlot(tr("Training loss against steps"), plots);
    lossTime_ = new MetricPlot(tr("Training loss against wall time"), plots);
    const QStringList ids = plotIds();
    int i = 0;
    for (MetricPlot* p : {accuracySteps_, accuracyTime_, lossSteps_, lossTime_}) {
        p->setObjectName(QStringLiteral("racePlot-") + ids.at(i));
        PlotStyle s = p->plotStyle();
        s.xAxis = (i % 2 == 1) ? XAxisKind::WallTime : XAxisKind::Step;
        s.smoothing = i < 2 ? Smoothing::None : Smoothing::Ema;
        p->setPlotStyle(s);
        p->setYLabel(i < 2 ? tr("accuracy") : tr("loss"));
        p->setMinimumHeight(120);
        grid->addWidget(p, i / 2, i % 2);
        ++i;
    }

    table_ = new QTableWidget(0, ColumnCount, this);
    table_->setObjectName(QStringLiteral("raceSummary"));
    table_->setHorizontalHeaderLabels({tr("Mixer"), tr("Status"), tr("Steps"), tr("Final accuracy"),
                                       tr("Best accuracy"), tr("Steps/s"), tr("Tokens/s"), tr("Peak memory"),
                                       tr("Wall time")});
    table_->horizontalHeaderItem(FinalCol)->setToolTip(tr("Dev accuracy at the last evaluation"));
    table_->horizontalHeaderItem(BestCol)->setToolTip(tr("The best dev accuracy of the run"));
    table_->horizontalHeaderItem(StepsPerSecCol)
        ->setToolTip(tr("Median over the step reports; evaluation pauses are left out"));
    table_->horizontalHeaderItem(MemoryCol)
        ->setToolTip(tr("On a GPU the CUDA allocator's high-water mark (activations included); on the CPU the "
                        "process's resident memory, which the runs of one race share"));
    table_->horizontalHeaderItem(WallCol)
        ->setToolTip(tr("The whole run: data, model, training, evaluations and checkpoints"));
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    table_->setToolTip(tr("Double-click a row to open its run on the Train page"));
    // One row per mixer, all three in view without scrolling.
    table_->setMinimumHeight(table_->horizontalHeader()->sizeHint().height() +
                             3 * table_->verticalHeader()->defaultSectionSize() + 2 * table_->frameWidth() + 2);
    table_->setVerticalScrollBarPolicy(Qt::ScrollBarAsNeeded);
    verdict_ = new QLabel(this);
    verdict_->setObjectName(QStringLiteral("raceVerdict"));
    verdict_->setWordWrap(true);
    auto* bottom = new QWidget(this);
    auto* bottomLayout = new QVBoxLayout(bottom);
    bottomLayout->setContentsMargins(0, 0, 0, 0);
    bottomLayout->addWidget(table_, 1);
    bottomLayout->addWidget(verdict_);

    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(plots);
    split->addWidget(bottom);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 1);
    split->setChildrenCollapsible(false);
    layout->addWidget(split, 1);

    QSettings s;
    setTask(s.value(QLatin1String(kTaskKey), QStringLiteral("listops")).toString());
    datasetEdit_->setText(s.value(QLatin1String(kDatasetKey)).toString());
    setModelSize(s.value(QLatin1String(kSizeKey), QStringLiteral("tiny")).toString());
    budgetSpin_->setValue(s.value(QLatin1String(kBudgetKey), 300).toInt());
    lengthSpin_->setValue(s.value(QLatin1String(kLengthKey), defaultLength(task())).toInt());
    if (s.contains(QLatin1String(kMixersKey))) setMixers(s.value(QLatin1String(kMixersKey)).toStringList());
    setDevice(device_);

    connect(taskCombo_, &QComboBox::currentIndexChanged, this, [this] {
        lengthSpin_->setValue(defaultLength(task()));
        updateTaskWidgets();
    });
    connect(datasetButton_, &QPushButton::clicked, this, &RacePage::chooseDataset);
    connect(startButton_, &QPushButton::clicked, this, &RacePage::start);
    connect(stopButton_, &QPushButton::clicked, this, &RacePage::stop);
    connect(table_, &QTableWidget::cellActivated, this, [this](int row, int) {
        if (row >= 0 && row < static_cast<int>(entries_.size()) &&
            QFileInfo(QString::fromStdString(entries_[static_cast<size_t>(row)].run_dir)).isDir())
            Q_EMIT openRunRequested(QString::fromStdString(entries_[static_cast<size_t>(row)].run_dir));
    });
    updateTaskWidgets();
}

RacePage::~RacePage() {
    if (thread_) {
        shared_->control.stop = true;
        thread_->wait();
    }
}

void RacePage::setTask(const QString& id) {
    const int i = taskCombo_->findData(id);
    if (i >= 0) taskCombo_->setCurrentIndex(i);
    updateTaskWidgets();
}
QString RacePage::task() const {
    return taskCombo_->currentData().toString();
}
void RacePage::setDataset(const QString& path) {
    datasetEdit_->setText(path);
}
void RacePage::setModelSize(const QString& id) {
    const int i = sizeCombo_->findData(id);
    if (i >= 0) sizeCombo_->setCurrentIndex(i);
}
void RacePage::setBudget(int steps) {
    budgetSpin_->setValue(steps);
}
void RacePage::setMaxLength(int tokens) {
    lengthSpin_->setValue(tokens);
}
void RacePage::setMixers(const QStringList& mixers) {
    ponetCheck_->setChecked(mixers.contains(QLatin1String("ponet")));
    fnetCheck_->setChecked(mixers.contains(QLatin1String("fnet")));
    attentionCheck_->setChecked(mixers.contains(QLatin1String("attention")));
}
QStringList RacePage::mixers() const {
    QStringList out;
    if (ponetCheck_->isChecked()) out << QStringLiteral("ponet");
    if (fnetCheck_->isChecked()) out << QStringLiteral("fnet");
    if (attentionCheck_->isChecked()) out << QStringLiteral("attention");
    return out;
}
void RacePage::setDevice(const QString& device) {
    device_ = device.isEmpty() ? QStringLiteral("cpu") : device;
    deviceLabel_->setText(tr("Device: %1").arg(device_));
}
void RacePage::setRunsDirectory(const QString& dir) {
    runsDir_ = dir;
}
MetricPlot* RacePage::plot(const QString& id) const {
    const int i = static_cast<int>(plotIds().indexOf(id));
    const MetricPlot* plots[] = {accuracySteps_, accuracyTime_, lossSteps_, lossTime_};
    return i >= 0 ? const_cast<MetricPlot*>(plots[i]) : nullptr;
}
QString RacePage::errorText() const {
    return !message_->isHidden() && message_->kind() == InlineMessage::Kind::Error ? message_->text() : QString();
}

void RacePage::updateTaskWidgets() {
    const bool needsData = task() != QLatin1String("listops");
    datasetEdit_->setEnabled(needsData && !isRunning());
    datasetButton_->setEnabled(needsData && !isRunning());
}

void RacePage::chooseDataset() {
    const QString dir = QFileDialog::getExistingDirectory(
        this, tr("Choose a folder with one sub-folder per label (cancel to pick a file)"), datasetEdit_->text());
    if (!dir.isEmpty()) {
        datasetEdit_->setText(dir);
        return;
    }
    const QString file = QFileDialog::getOpenFileName(this, tr("Choose a labelled JSONL or CSV file"),
                                                      datasetEdit_->text(),
                                                      tr("Labelled documents (*.jsonl *.csv *.tsv);;All files (*)"));
    if (!file.isEmpty()) datasetEdit_->setText(file);
}

bool RacePage::buildRace(ponet::RaceConfig& race, QString* error) const {
    try {
        const QString t = task();
        const QString data = datasetEdit_->text().trimmed();
        if (t != QLatin1String("listops")) {
            if (data.isEmpty())
                throw ponet::InvalidInput(
                    tr("Choose the labelled documents to race on (a folder per label, or a JSONL/CSV file).")
                        .toStdString());
            if (!QFileInfo::exists(data))
                throw ponet::InvalidInput(tr("%1 does not exist.").arg(data).toStdString());
        }
        ponet::RunConfig c;
        const int length = lengthSpin_->value();
        if (t == QLatin1String("listops")) {
            c = ponet::load_preset("tiny-listops");
            if (length != 32) {
                // Expressions from half the model's length to just under it (as the preset's 3..30 for 32), deeper
                // trees when long.
                c.model.max_length = length;
                c.data.dataset = QStringLiteral("listops:train=3000,dev=300,test=300,min_length=%1,max_length=%2,"
                                                "max_depth=%3")
                                     .arg(std::max(3, length / 2))
                                     .arg(length - 2)
                                     .arg(length <= 64 ? 3 : 10)
                                     .toStdString();
            }
        } else {
            c = ponet::load_preset("tiny");  // its schedule; the model and task follow
            c.data.dataset = data.toStdString();
            c.data.validation_fraction = 0.1;
            c.train.eval_batches = 0;
            if (t == QLatin1String("bytes")) {
                c.task = ponet::TaskKind::Lra;
                c.model.preset = "lra-text";
                c.data.tokenizer = "byte";
                c.model.max_length = length;
            } else {
                c.task = ponet::TaskKind::Finetune;
                c.model.max_length = length;
            }
        }
        if (sizeCombo_->currentData().toString() == QLatin1String("small")) {
            c.model.hidden_size = 256;
            c.model.num_layers = 4;
            c.model.num_heads = 4;
            c.model.intermediate_size = 1024;
            c.train.lr = std::min(c.train.lr, 5e-4);
        }
        c.train.device = device_.toStdString();
        ponet::apply_race_budget(c, budgetSpin_->value());
        race.base = c;
        QStringList m = mixers();
        if (m.isEmpty()) throw ponet::InvalidInput(tr("Tick at least one mixer.").toStdString());
        race.mixers.clear();
        for (const QString& x : m) race.mixers.push_back(x.toStdString());
        race.runs_dir = runsDir_.toStdString();
        return true;
    } catch (const std::exception& e) {
        if (error) *error = QString::fromUtf8(e.what());
        return false;
    }
}

QString RacePage::runningText() const {
    return tr("A race is running; stop it first.");
}

bool RacePage::start() {
    if (isRunning()) {
        message_->showMessage(InlineMessage::Kind::Error, runningText());
        return false;
    }
    ponet::RaceConfig race;
    QString error;
    if (!buildRace(race, &error)) {
        message_->showMessage(InlineMessage::Kind::Error, error);
        return false;
    }
    // The name is fixed here, so the checks below and the runs agree on it.
    {
        const QString stamp = QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss"));
        QString name = QStringLiteral("race-") + stamp;
        for (int n = 2;; ++n) {
            bool taken = false;
            for (const auto& m : race.mixers)
                taken = taken || QFileInfo(runsDir_ + QLatin1Char('/') + name + QLatin1Char('-') +
                                           QString::fromStdString(m))
                                     .exists();
            if (!taken) break;
            name = QStringLiteral("race-%1-%2").arg(stamp).arg(n);
        }
        race.name = name.toStdString();
        try {
            ponet::validate_race(race);
        } catch (const std::exception& e) {
            message_->showMessage(InlineMessage::Kind::Error, QString::fromUtf8(e.what()));
            return false;
        }
    }
    QSettings s;
    s.setValue(QLatin1String(kTaskKey), task());
    s.setValue(QLatin1String(kDatasetKey), datasetEdit_->text().trimmed());
    s.setValue(QLatin1String(kSizeKey), sizeCombo_->currentData().toString());
    s.setValue(QLatin1String(kBudgetKey), budgetSpin_->value());
    s.setValue(QLatin1String(kLengthKey), lengthSpin_->value());
    s.setValue(QLatin1String(kMixersKey), mixers());

    message_->dismiss();
    raceName_ = QString::fromStdString(race.name);
    raceMixers_ = mixers();
    budget_ = race.base.train.max_steps;
    entries_.assign(race.mixers.size(), ponet::RaceEntry{});
    for (MetricPlot* p : {accuracySteps_, accuracyTime_, lossSteps_, lossTime_}) p->clear();
    table_->setRowCount(static_cast<int>(race.mixers.size()));
    for (size_t i = 0; i < race.mixers.size(); ++i) {
        ponet::RaceEntry e;
        e.mixer = race.mixers[i];
        e.run_dir = race.runs_dir + "/" + race.name + "-" + race.mixers[i];
        e.status = "waiting";
        entries_[i] = e;
        setRow(static_cast<int>(i), e);
    }
    verdict_->clear();
    progress_->setRange(0, static_cast<int>(std::min<qint64>(budget_ * static_cast<qint64>(race.mixers.size()), INT_MAX)));
    progress_->setValue(0);
    progress_->show();

    shared_ = std::make_shared<Shared>();
    auto shared = shared_;
    thread_ = QThread::create([race, shared, page = this] {
        Forwarder forward(page);
        try {
            ponet::run_race(race, forward, shared->control);
        } catch (const std::exception& e) {
            forward.fail(QString::fromUtf8(e.what()));
        }
    });
    connect(thread_, &QThread::finished, this, &RacePage::onThreadFinished);
    setRunning(true);
    status_->setText(tr("Race %1: preparing %2…").arg(raceName_, mixerTitle(raceMixers_.value(0))));
    thread_->start(QThread::LowPriority);  // the GUI keeps its share of the CPU
    Q_EMIT logMessage(tr("Race %1 started: %2, %3 steps each on %4")
                          .arg(raceName_, raceMixers_.join(QLatin1String(", ")))
                          .arg(budget_)
                          .arg(device_));
    return true;
}

void RacePage::stop() {
    if (!thread_) return;
    shared_->control.stop = true;
    stopButton_->setEnabled(false);
    status_->setText(tr("Stopping after the current step (with a checkpoint)…"));
}

void RacePage::setRunning(bool running) {
    startButton_->setEnabled(!running);
    stopButton_->setEnabled(running);
    for (QWidget* w : std::initializer_list<QWidget*>{taskCombo_, sizeCombo_, budgetSpin_, lengthSpin_, ponetCheck_, fnetCheck_,
                                                      attentionCheck_})
        w->setEnabled(!running);
    updateTaskWidgets();
    Q_EMIT runningChanged(running);
}

void RacePage::setRow(int index, const ponet::RaceEntry& e) {
    const QString mixer = QString::fromStdString(e.mixer);
    const bool done = e.status == "finished" || e.status == "stopped" || e.status == "failed";
    const QStringList cells = {
        mixerTitle(mixer),
        QString::fromStdString(e.status),
        QString::number(e.steps),
        number(e.final_metric, 4),
        number(e.best_metric, 4),
        done ? number(e.steps_per_second, 2) : QStringLiteral("–"),
        done ? (std::isfinite(e.tokens_per_second) ? formatCount(std::llround(e.tokens_per_second))
                                                   : QStringLiteral("–"))
             : QStringLiteral("–"),
        e.peak_memory_bytes > 0 ? formatBytes(e.peak_memory_bytes) : QStringLiteral("–"),
        done ? tr("%1 s").arg(e.wall_seconds, 0, 'f', 1) : QStringLiteral("–")};
    for (int c = 0; c < ColumnCount; ++c) {
        auto* item = new QTableWidgetItem(cells.at(c));
        if (c >= StepsCol) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        if (c == MixerCol) {
            item->setForeground(mixerColour(mixer));
            item->setToolTip(QString::fromStdString(e.run_dir));
        }
        if (c == StatusCol && !e.message.empty()) item->setToolTip(QString::fromStdString(e.message));
        table_->setItem(index, c, item);
    }
}

void RacePage::onRunStarted(int index, const QString& mixer, const QString& runDir) {
    if (index < 0 || index >= static_cast<int>(entries_.size())) return;
    entries_[static_cast<size_t>(index)].status = "running";
    setRow(index, entries_[static_cast<size_t>(index)]);
    status_->setText(tr("Race %1: training %2 (%3 of %4)…")
                         .arg(raceName_, mixerTitle(mixer))
                         .arg(index + 1)
                         .arg(entries_.size()));
    Q_EMIT logMessage(tr("Race %1: %2 → %3").arg(raceName_, mixer, runDir));
}

void RacePage::onStep(int index, const ponet::StepMetrics& m) {
    if (index < 0 || index >= static_cast<int>(entries_.size())) return;
    const QString mixer = raceMixers_.value(index);
    SeriesOptions o;
    o.label = mixerTitle(mixer);
    o.color = mixerColour(mixer);
    const MetricPoint point{static_cast<double>(m.step), m.epoch, m.elapsed_seconds, m.loss};
    lossSteps_->appendPoints(mixer, QStringLiteral("loss"), {point}, o);
    lossTime_->appendPoints(mixer, QStringLiteral("loss"), {point}, o);
    ponet::RaceEntry& e = entries_[static_cast<size_t>(index)];
    e.steps = m.step;
    e.peak_memory_bytes = std::max(e.peak_memory_bytes, std::max(m.memory_bytes, m.peak_memory_bytes));
    setRow(index, e);
    progress_->setValue(static_cast<int>(std::min<qint64>(budget_ * index + m.step, progress_->maximum())));
    status_->setText(tr("Race %1: training %2 (%3 of %4), step %5 of %6, %7 tokens/s")
                         .arg(raceName_, mixerTitle(mixer))
                         .arg(index + 1)
                         .arg(entries_.size())
                         .arg(m.step)
                         .arg(m.max_steps)
                         .arg(formatCount(std::llround(m.tokens_per_second))));
}

void RacePage::onEval(int index, const ponet::EvalMetrics& m, double seconds) {
    if (index < 0 || index >= static_cast<int>(entries_.size()) || m.split != "dev") return;
    const auto it = m.values.find("accuracy");
    if (it == m.values.end() || !std::isfinite(it->second)) return;
    const QString mixer = raceMixers_.value(index);
    SeriesOptions o;
    o.label = mixerTitle(mixer);
    o.color = mixerColour(mixer);
    o.markers = true;
    const MetricPoint point{static_cast<double>(m.step), 0, seconds, it->second};
    accuracySteps_->appendPoints(mixer, QStringLiteral("accuracy"), {point}, o);
    accuracyTime_->appendPoints(mixer, QStringLiteral("accuracy"), {point}, o);
    ponet::RaceEntry& e = entries_[static_cast<size_t>(index)];
    e.final_metric = it->second;
    if (!std::isfinite(e.best_metric) || it->second > e.best_metric) e.best_metric = it->second;
    setRow(index, e);
}

void RacePage::onRunFinished(int index, const ponet::RaceEntry& e) {
    if (index < 0 || index >= static_cast<int>(entries_.size())) return;
    entries_[static_cast<size_t>(index)] = e;
    setRow(index, e);
    if (e.status == "failed")
        message_->showMessage(InlineMessage::Kind::Error, tr("%1 failed: %2")
                                                              .arg(mixerTitle(QString::fromStdString(e.mixer)),
                                                                   QString::fromStdString(e.message)));
    for (MetricPlot* p : {accuracySteps_, accuracyTime_, lossSteps_, lossTime_}) p->redrawNow();
    Q_EMIT logMessage(tr("Race %1: %2 %3 after %4 steps%5")
                          .arg(raceName_, QString::fromStdString(e.mixer), QString::fromStdString(e.status))
                          .arg(e.steps)
                          .arg(e.message.empty() ? QString() : QStringLiteral(" (%1)").arg(QString::fromStdString(e.message))));
    updateVerdict();
}

void RacePage::updateVerdict() {
    const ponet::RaceEntry* att = nullptr;
    for (const auto& e : entries_)
        if (e.mixer == "attention" && e.status == "finished") att = &e;
    QStringList lines;
    if (att && std::isfinite(att->steps_per_second) && att->steps_per_second > 0) {
        for (const auto& e : entries_) {
            if (&e == att || e.status != "finished" || !std::isfinite(e.steps_per_second)) continue;
            QString line = tr("%1 trains at %2× attention's steps/s")
                               .arg(mixerTitle(QString::fromStdString(e.mixer)))
                               .arg(e.steps_per_second / att->steps_per_second, 0, 'f', 2);
            if (std::isfinite(e.best_metric) && std::isfinite(att->best_metric))
                line += tr(", best dev accuracy %1 against attention's %2")
                            .arg(e.best_metric, 0, 'f', 3)
                            .arg(att->best_metric, 0, 'f', 3);
            lines << line + QLatin1Char('.');
        }
    }
    verdict_->setText(lines.join(QLatin1Char(' ')));
}

void RacePage::onThreadFinished() {
    thread_->deleteLater();
    thread_ = nullptr;
    const bool stopped = shared_ && shared_->control.stop.load();
    shared_.reset();
    progress_->setValue(progress_->maximum());
    int finished = 0;
    for (const auto& e : entries_) finished += e.status == "finished" ? 1 : 0;
    status_->setText(stopped ? tr("Race %1 stopped: %2 of %3 runs finished.").arg(raceName_).arg(finished).arg(entries_.size())
                             : tr("Race %1 done: %2 of %3 runs finished. The runs are in the run library, tagged %1.")
                                   .arg(raceName_)
                                   .arg(finished)
                                   .arg(entries_.size()));
    for (MetricPlot* p : {accuracySteps_, accuracyTime_, lossSteps_, lossTime_}) p->redrawNow();
    setRunning(false);
    // "A race is running" is no longer true once it has ended.
    if (message_->text() == runningText()) message_->dismiss();
    Q_EMIT logMessage(status_->text());
    Q_EMIT raceFinished(stopped);
}

}  // namespace ponet::gui
