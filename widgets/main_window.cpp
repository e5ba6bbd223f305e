#include "widgets/main_window.h"

#include <algorithm>

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QDockWidget>
#include <QFileInfo>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QLayout>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QSettings>
#include <QStackedWidget>
#include <QStatusBar>
#include <QStyle>
#include <QFileDialog>
#include <QLocale>
#include <QToolBar>

#include <climits>
#include <cmath>

#include "core/check/check_result.h"
#include "core/util/compute_devices.h"
#include "widgets/benchmark_page.h"
#include "widgets/classify_page.h"
#include "widgets/data_page.h"
#include "widgets/explorer_page.h"
#include "widgets/model_page.h"
#include "widgets/model_source.h"
#include "widgets/number_format.h"
#include "widgets/plot_controls.h"
#include "widgets/preferences_dialog.h"
#include "widgets/race_page.h"
#include "widgets/run_config_form.h"
#include "widgets/run_library.h"
#include "widgets/selftest_page.h"
#include "widgets/tokenizer_panel.h"
#include "widgets/train_page.h"
#include "widgets/training_worker.h"

#ifndef PONET_VERSION
#error "PONET_VERSION comes from ponet_core's public compile definitions"
#endif

namespace ponet::gui {
namespace {

const char kDataPage[] = "data";
const char kModelPage[] = "model";
const char kTrainPage[] = "train";
const char kRunsPage[] = "runs";
const char kSelfTestPage[] = "selftest";
const char kExplorerPage[] = "explore";
const char kBenchmarkPage[] = "benchmark";
const char kClassifyPage[] = "classify";
const char kRacePage[] = "race";
// Navigation order (the workflow's); createPages() adds the pages in this order.
const char* const kPageIds[] = {kDataPage,      kModelPage, kTrainPage,    kRunsPage,    kExplorerPage,
                                kBenchmarkPage, kRacePage,  kClassifyPage, kSelfTestPage};
const char kDefaultPage[] = "train";  // a first start opens on the ready ListOps example

constexpr int kMaxRecentRuns = 8;

namespace key {
const char geometry[] = "window/geometry";
const char state[] = "window/state";
const char page[] = "window/page";
const char modelDirectory[] = "model/directory";
const char sequenceLength[] = "model/sequenceLength";
const char computeDevice[] = "device/compute";
const char selfTestDevices[] = "selftest/devices";
const char selfTestCounts[] = "selftest/checkCounts";
const char trainPreset[] = "train/preset";
const char trainConfig[] = "train/config";
const char plotSmoothing[] = "plots/smoothing";
const char plotEmaWeight[] = "plots/emaWeight";
const char plotWindow[] = "plots/window";
const char plotLogY[] = "plots/logY";
const char plotXAxis[] = "plots/xAxis";
const char recentRuns[] = "runs/recent";
}  // namespace key

QString formatDuration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return QStringLiteral("–");
    const qint64 s = static_cast<qint64>(std::llround(seconds));
    if (s >= 3600)
        return QStringLiteral("%1:%2:%3")
            .arg(s / 3600)
            .arg((s / 60) % 60, 2, 10, QLatin1Char('0'))
            .arg(s % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
}

QStringList toQStringList(const std::vector<std::string>& v) {
    QStringList out;
    for (const std::string& s : v) out << QString::fromStdString(s);
    return out;
}

}  // namespace

MainWindow::MainWindow(const Options& options, QWidget* parent)
    : QMainWindow(parent), devices_(toQStringList(ponet::available_devices())) {
    setObjectName(QStringLiteral("mainWindow"));
    setWindowTitle(tr("PoNet Studio"));
    if (devices_.isEmpty()) devices_ << QStringLiteral("cpu");

    createPages();
    createActions();
    createMenus();
    createToolBar();
    createLogDock();
    createStatusBar();
    connectTrainPage();

    restoreSettings(options);
}

MainWindow::~MainWindow() = default;

QStringList MainWindow::pageIds() {
    QStringList ids;
    for (const char* id : kPageIds) ids << QString::fromLatin1(id);
    return ids;
}

void MainWindow::addPage(const QString& id, const QString& title, QStyle::StandardPixmap icon, const QString& tip,
                         QWidget* page) {
    Q_ASSERT(pageIds().value(stack_->count()) == id);
    page->setObjectName(id + QStringLiteral("Page"));
    auto* item = new QListWidgetItem(style()->standardIcon(icon), title, pageList_);
    item->setToolTip(tip);
    item->setSizeHint(QSize(0, 36));
    item->setData(Qt::UserRole, id);
    stack_->addWidget(page);
    const int width = pageList_->fontMetrics().horizontalAdvance(title) + pageList_->iconSize().width() + 48;
    pageList_->setFixedWidth(std::max(pageList_->minimumWidth(), width));
}

void MainWindow::createPages() {
    // Created before the pages so that it comes first in the tab order and takes the initial focus.
    pageList_ = new QListWidget(this);
    pageList_->setObjectName(QStringLiteral("pageList"));
    pageList_->setAccessibleName(tr("Pages"));
    pageList_->setIconSize(QSize(24, 24));
    pageList_->setSpacing(2);
    pageList_->setUniformItemSizes(true);
    pageList_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    pageList_->setFixedWidth(0);
    connect(pageList_, &QListWidget::currentRowChanged, this, [this](int row) {
        if (row < 0) return;
        stack_->setCurrentIndex(row);
        // The Model page's model in the status bar only beside that page: elsewhere (a run on the Train page, a
        // classifier, the race) another model is at work, and the label would name the wrong one.
        if (modelStatus_) modelStatus_->setVisible(stack_->currentWidget() == modelPage_);
        if (row < pageActions_.size()) pageActions_[row]->setChecked(true);
        if (!restoring_) QSettings().setValue(key::page, pageIds().value(row));
    });

    stack_ = new QStackedWidget(this);
    dataPage_ = new DataPage(this);
    addPage(QString::fromLatin1(kDataPage), tr("Data"), QStyle::SP_DriveHDIcon,
            tr("Datasets: built-in, generated and your own documents"), dataPage_);
    modelPage_ = new ModelPage(this);
    modelPage_->setDevices(devices_);
    addPage(QString::fromLatin1(kModelPage), tr("Model"), QStyle::SP_FileDialogDetailedView,
            tr("Model shapes: configuration, parameters, memory"), modelPage_);
    trainPage_ = new TrainPage(this);
    trainPage_->setLocalGpuCount(static_cast<int>(devices_.filter(QStringLiteral("cuda")).size()));
    addPage(QString::fromLatin1(kTrainPage), tr("Train"), QStyle::SP_MediaPlay,
            tr("Train a model: options, schedule and live curves"), trainPage_);
    runLibraryPage_ = new RunLibraryPage(this);
    addPage(QString::fromLatin1(kRunsPage), tr("Runs"), QStyle::SP_FileDialogListView,
            tr("The run library: compare, resume and tidy up runs"), runLibraryPage_);
    runLibraryPage_->setObjectName(QStringLiteral("runLibraryPage"));
    explorerPage_ = new ExplorerPage(this);
    addPage(QString::fromLatin1(kExplorerPage), tr("Explore"), QStyle::SP_FileDialogContentsView,
            tr("What GA, SMP and LMP see in a document"), explorerPage_);
    explorerPage_->setObjectName(QStringLiteral("explorerPage"));
    connect(explorerPage_, &ExplorerPage::logMessage, this, &MainWindow::appendLog);
    benchmarkPage_ = new BenchmarkPage(devices_, this);
    addPage(QString::fromLatin1(kBenchmarkPage), tr("Benchmark"), QStyle::SP_ComputerIcon,
            tr("Speed and memory against sequence length per mixer"), benchmarkPage_);
    benchmarkPage_->setObjectName(QStringLiteral("benchmarkPage"));
    connect(benchmarkPage_, &BenchmarkPage::logMessage, this, &MainWindow::appendLog);
    racePage_ = new RacePage(this);
    addPage(QString::fromLatin1(kRacePage), tr("Race"), QStyle::SP_MediaSeekForward,
            tr("The mixer race: PoNet, FNet and attention trained on one task, curves and costs side by side"),
            racePage_);
    connect(racePage_, &RacePage::logMessage, this, &MainWindow::appendLog);
    connect(racePage_, &RacePage::openRunRequested, this, [this](const QString& dir) {
        showPage(QString::fromLatin1(kTrainPage));
        trainPage_->openRun(dir);
    });
    classifyPage_ = new ClassifyPage(this);
    addPage(QString::fromLatin1(kClassifyPage), tr("Classify"), QStyle::SP_FileDialogInfoView,
            tr("Classify dropped documents with a fine-tuned model"), classifyPage_);
    classifyPage_->setObjectName(QStringLiteral("classifyPage"));
    connect(classifyPage_, &ClassifyPage::logMessage, this, &MainWindow::appendLog);
    // A result row opens in the explorer with the model that classified it.
    connect(classifyPage_, &ClassifyPage::openInExplorerRequested, this,
            [this](const QString& model, const QString& text, const QString& name) {
                showPage(QString::fromLatin1(kExplorerPage));
                explorerPage_->setModelPath(model);
                explorerPage_->setDocumentText(text, name);
                explorerPage_->inspect();
            });
    selfTestPage_ = new SelfTestPage(devices_, this);
    addPage(QString::fromLatin1(kSelfTestPage), tr("Self-test"), QStyle::SP_DialogApplyButton,
            tr("Check the numerics against the golden vectors"), selfTestPage_);
    selfTestPage_->setObjectName(QStringLiteral("selfTestPage"));

    auto* central = new QWidget(this);
    auto* layout = new QHBoxLayout(central);
    layout->setContentsMargins(6, 6, 6, 0);
    layout->addWidget(pageList_);
    layout->addWidget(stack_, 1);
    setCentralWidget(central);

    connect(dataPage_, &DataPage::logMessage, this, &MainWindow::appendLog);
    connect(runLibraryPage_, &RunLibraryPage::logMessage, this, &MainWindow::appendLog);
    // Resume from the run library: the Train page opens the run and continues it from its newest checkpoint.
    connect(runLibraryPage_, &RunLibraryPage::resumeRequested, this, [this](const QString& dir) {
        showPage(QString::fromLatin1(kTrainPage));
        if (trainPage_->openRun(dir)) trainPage_->continueActiveRun();
    });
    connect(modelPage_, &ModelPage::logMessage, this, &MainWindow::appendLog);
    connect(modelPage_, &ModelPage::modelShown, this, &MainWindow::onModelShown);
    // The Model page's tokenizer (a trained SentencePiece model, bytes, or the model's own) is the run's
    // data.tokenizer; the Data page's imported documents are offered to it as a training corpus.
    connect(modelPage_, &ModelPage::tokenizerChosen, this, [this](const QString& value) {
        trainPage_->form()->setValue(QStringLiteral("data.tokenizer"), value);
    });
    connect(dataPage_, &DataPage::datasetLoaded, this, [this](const QString& name, qint64) {
        const LoadedDataset& d = dataPage_->dataset();
        const bool text = d.origin == DatasetOrigin::Import && !d.images;
        modelPage_->tokenizerPanel()->setDatasetCorpus(text ? d.path : QString(), name);
    });
    connect(selfTestPage_, &SelfTestPage::logMessage, this, &MainWindow::appendLog);
    connect(selfTestPage_, &SelfTestPage::runningChanged, this, [this](bool running) {
        runSelfTestAction_->setEnabled(!running);
        cancelSelfTestAction_->setEnabled(running);
    });
    connect(selfTestPage_, &SelfTestPage::finished, this, [this](int passed, int failed, bool cancelled) {
        QSettings().setValue(key::selfTestCounts, selfTestPage_->checkCounts());
        statusBar()->showMessage(cancelled
                                     ? tr("Self-test cancelled: %1 passed, %2 failed").arg(passed).arg(failed)
                                     : tr("Self-test: %1 passed, %2 failed").arg(passed).arg(failed));
    });
}

void MainWindow::createActions() {
    openModelAction_ =
        new QAction(style()->standardIcon(QStyle::SP_DirOpenIcon), tr("&Open Model Directory…"), this);
    openModelAction_->setShortcut(QKeySequence::Open);
    openModelAction_->setStatusTip(tr("Open a directory holding a model's config.json"));
    connect(openModelAction_, &QAction::triggered, this, [this] {
        showPage(QString::fromLatin1(kModelPage));
        modelPage_->chooseModelDirectory();
    });

    quitAction_ = new QAction(tr("&Quit"), this);
    quitAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Q));
    quitAction_->setMenuRole(QAction::QuitRole);
    connect(quitAction_, &QAction::triggered, this, &MainWindow::close);

    runSelfTestAction_ = new QAction(style()->standardIcon(QStyle::SP_MediaPlay), tr("&Run Self-Test"), this);
    runSelfTestAction_->setShortcut(QKeySequence(Qt::Key_F5));
    runSelfTestAction_->setStatusTip(
        tr("Check every mixer against the golden vectors on the selected devices"));
    connect(runSelfTestAction_, &QAction::triggered, this, &MainWindow::runSelfTest);

    openRunAction_ = new QAction(tr("Open &Run Folder…"), this);
    openRunAction_->setObjectName(QStringLiteral("openRunAction"));
    openRunAction_->setStatusTip(tr("Show a run's options and curves on the Train page"));
    connect(openRunAction_, &QAction::triggered, this, &MainWindow::openRunFolder);

    cancelSelfTestAction_ =
        new QAction(style()->standardIcon(QStyle::SP_MediaStop), tr("&Cancel Self-Test"), this);
    cancelSelfTestAction_->setShortcut(QKeySequence(Qt::SHIFT | Qt::Key_F5));
    cancelSelfTestAction_->setEnabled(false);
    connect(cancelSelfTestAction_, &QAction::triggered, selfTestPage_, &SelfTestPage::cancel);

    preferencesAction_ = new QAction(tr("&Preferences…"), this);
    preferencesAction_->setObjectName(QStringLiteral("preferencesAction"));
    preferencesAction_->setShortcut(QKeySequence::Preferences);
    preferencesAction_->setMenuRole(QAction::PreferencesRole);
    preferencesAction_->setStatusTip(tr("Versions, the folders PoNet Studio uses, and where runs are saved"));
    connect(preferencesAction_, &QAction::triggered, this, &MainWindow::showPreferences);

    aboutAction_ = new QAction(tr("&About PoNet Studio"), this);
    aboutAction_->setObjectName(QStringLiteral("aboutAction"));
    aboutAction_->setMenuRole(QAction::AboutRole);
    connect(aboutAction_, &QAction::triggered, this, &MainWindow::showAbout);
    aboutQtAction_ = new QAction(tr("About &Qt"), this);
    aboutQtAction_->setMenuRole(QAction::AboutQtRole);
    connect(aboutQtAction_, &QAction::triggered, qApp, &QApplication::aboutQt);

    auto* group = new QActionGroup(this);
    for (int row = 0; row < pageList_->count(); ++row) {
        auto* action = new QAction(pageList_->item(row)->icon(), pageList_->item(row)->text(), group);
        action->setCheckable(true);
        action->setShortcut(QKeySequence(Qt::CTRL | static_cast<Qt::Key>(Qt::Key_1 + row)));
        connect(action, &QAction::triggered, this, [this, row] { pageList_->setCurrentRow(row); });
        pageActions_ << action;
    }
}

void MainWindow::createMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(openModelAction_);
    file->addAction(openRunAction_);
    recentRunsMenu_ = file->addMenu(tr("&Recent Runs"));
    recentRunsMenu_->setObjectName(QStringLiteral("recentRunsMenu"));
    file->addSeparator();
    file->addAction(quitAction_);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    view->setObjectName(QStringLiteral("viewMenu"));
    view->addActions(pageActions_);
    view->addSeparator();

    QMenu* run = menuBar()->addMenu(tr("&Run"));
    run->addAction(trainPage_->startAction());
    run->addAction(trainPage_->pauseAction());
    run->addAction(trainPage_->stopAction());
    run->addSeparator();
    run->addAction(trainPage_->continueAction());

    QMenu* tools = menuBar()->addMenu(tr("&Tools"));
    tools->addAction(runSelfTestAction_);
    tools->addAction(cancelSelfTestAction_);
    tools->addSeparator();
    tools->addAction(preferencesAction_);

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(aboutAction_);
    help->addAction(aboutQtAction_);
}

void MainWindow::createToolBar() {
    QToolBar* bar = addToolBar(tr("Main Toolbar"));
    bar->setObjectName(QStringLiteral("mainToolBar"));
    bar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    bar->setMovable(false);
    // The toolbar holds what any page may want: the active run and its controls, and the device. (The
    // self-test and opening a model have their buttons on their pages and entries in the menus.)
    activeRun_ = new QLabel(tr("No run"), bar);
    activeRun_->setObjectName(QStringLiteral("activeRunLabel"));
    activeRun_->setToolTip(tr("The run the Train page shows"));
    activeRun_->setContentsMargins(6, 0, 10, 0);
    bar->addWidget(activeRun_);
    bar->addAction(trainPage_->startAction());
    bar->addAction(trainPage_->pauseAction());
    bar->addAction(trainPage_->stopAction());

    auto* spacer = new QWidget(bar);
    spacer->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    bar->addWidget(spacer);

    deviceCombo_ = new QComboBox(bar);
    deviceCombo_->setObjectName(QStringLiteral("deviceCombo"));
    for (const ponet::ComputeDevice& d : ponet::compute_devices()) {
        const QString id = QString::fromStdString(d.id);
        const QString memory = d.memory_bytes > 0 ? formatBytes(d.memory_bytes) : tr("memory unknown");
        const QString text = d.id == "cpu" ? tr("CPU · %1 RAM").arg(memory) : tr("%1 · %2 · %3").arg(id, QString::fromStdString(d.name), memory);
        deviceCombo_->addItem(text, id);
        deviceCombo_->setItemData(deviceCombo_->count() - 1, QString::fromStdString(d.name), Qt::ToolTipRole);
    }
    deviceCombo_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    deviceCombo_->setToolTip(tr("The device training and the Model page's estimates use: the CPU, or a CUDA GPU when one is present"));
    auto* label = new QLabel(tr("&Device:"), bar);
    label->setBuddy(deviceCombo_);
    label->setContentsMargins(0, 0, 4, 0);
    bar->addWidget(label);
    bar->addWidget(deviceCombo_);
    connect(deviceCombo_, &QComboBox::currentIndexChanged, this, &MainWindow::onComputeDeviceChanged);
}

void MainWindow::createLogDock() {
    log_ = new QPlainTextEdit(this);
    log_->setObjectName(QStringLiteral("logView"));
    log_->setReadOnly(true);
    log_->setMaximumBlockCount(5000);
    log_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    log_->setAccessibleName(tr("Log"));

    logDock_ = new QDockWidget(tr("Log"), this);
    logDock_->setObjectName(QStringLiteral("logDock"));
    logDock_->setWidget(log_);
    logDock_->setAllowedAreas(Qt::BottomDockWidgetArea | Qt::RightDockWidgetArea);
    addDockWidget(Qt::BottomDockWidgetArea, logDock_);
    resizeDocks({logDock_}, {120}, Qt::Vertical);

    QAction* toggle = logDock_->toggleViewAction();
    toggle->setText(tr("&Log"));
    toggle->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
    findChild<QMenu*>(QStringLiteral("viewMenu"))->addAction(toggle);
}

void MainWindow::restoreSettings(const Options& options) {
    QSettings settings;
    if (!restoreGeometry(settings.value(key::geometry).toByteArray())) resize(1180, 760);
    restoreState(settings.value(key::state).toByteArray());

    const int deviceIndex = deviceCombo_->findData(settings.value(key::computeDevice).toString());
    deviceCombo_->setCurrentIndex(deviceIndex >= 0 ? deviceIndex : 0);
    onComputeDeviceChanged(deviceCombo_->currentIndex());

    selfTestPage_->setCheckCounts(settings.value(key::selfTestCounts).toMap());
    selfTestPage_->setDeviceSelection(settings.value(key::selfTestDevices).toString());
    connect(selfTestPage_, &SelfTestPage::deviceSelectionChanged, this,
            [](const QString& device) { QSettings().setValue(key::selfTestDevices, device); });

    // Training options: the last ones used, else the first-run example.
    const QString preset = settings.value(key::trainPreset).toString();
    if (!preset.isEmpty()) trainPage_->loadPreset(preset);
    const QString config = settings.value(key::trainConfig).toString();
    if (!config.isEmpty()) trainPage_->restoreConfigJson(config);
    PlotStyle plotStyle;
    plotStyle.smoothing = static_cast<Smoothing>(
        std::clamp(settings.value(key::plotSmoothing, static_cast<int>(plotStyle.smoothing)).toInt(), 0, 2));
    plotStyle.emaWeight = settings.value(key::plotEmaWeight, plotStyle.emaWeight).toDouble();
    plotStyle.window = settings.value(key::plotWindow, plotStyle.window).toInt();
    plotStyle.logY = settings.value(key::plotLogY, plotStyle.logY).toBool();
    plotStyle.xAxis =
        static_cast<XAxisKind>(std::clamp(settings.value(key::plotXAxis, static_cast<int>(plotStyle.xAxis)).toInt(), 0, 2));
    trainPage_->plotControls()->setPlotStyle(plotStyle);
    updateRecentRunsMenu();

    const int seqLen = settings.value(key::sequenceLength, 0).toInt();
    if (seqLen > 0) modelPage_->setRequestedSequenceLength(seqLen);

    // Model: the command line wins; then the last model; then the default shape. A failure leaves its
    // message on the page and falls back, so the page is never empty when any shape exists.
    bool opened = false;
    if (!options.modelPath.isEmpty()) {
        opened = modelPage_->openModelDirectory(options.modelPath);
    } else {
        QString last = settings.value(key::modelDirectory).toString();
        if (!last.isEmpty() && !QFileInfo::exists(last)) {
            // Built-in shapes move when the app is installed elsewhere; their names do not.
            const QString name = QFileInfo(last).fileName();
            last.clear();
            for (const BuiltinModel& m : builtinModels()) {
                if (m.name == name) last = m.directory;
            }
        }
        if (!last.isEmpty()) opened = modelPage_->openModelDirectory(last);
    }
    if (!opened) modelPage_->showDefaultModel();
    modelPage_->tokenizerPanel()->chooseTokenizer(trainPage_->form()->valueText(QStringLiteral("data.tokenizer")));

    QString page = options.page.isEmpty() ? settings.value(key::page).toString() : options.page;
    if (!pageIds().contains(page)) page = QString::fromLatin1(kDefaultPage);
    showPage(page);
    restoring_ = false;
}

void MainWindow::saveWindowSettings() {
    QSettings settings;
    settings.setValue(key::geometry, saveGeometry());
    settings.setValue(key::state, saveState());
    settings.setValue(key::page, currentPage());
    settings.setValue(key::trainPreset, trainPage_->presetName());
    settings.setValue(key::trainConfig, trainPage_->configJson());
    const PlotStyle plots = trainPage_->plotControls()->plotStyle();
    settings.setValue(key::plotSmoothing, static_cast<int>(plots.smoothing));
    settings.setValue(key::plotEmaWeight, plots.emaWeight);
    settings.setValue(key::plotWindow, plots.window);
    settings.setValue(key::plotLogY, plots.logY);
    settings.setValue(key::plotXAxis, static_cast<int>(plots.xAxis));
}

QString MainWindow::currentPage() const {
    return pageIds().value(stack_->currentIndex());
}

void MainWindow::showPage(const QString& id) {
    const int row = static_cast<int>(pageIds().indexOf(id));
    if (row >= 0) pageList_->setCurrentRow(row);
}

QString MainWindow::computeDevice() const {
    return deviceCombo_->currentData().toString();
}

QStringList MainWindow::recentRuns() const {
    return QSettings().value(key::recentRuns).toStringList();
}

QString MainWindow::logText() const {
    return log_->toPlainText();
}

bool MainWindow::isBusy() const {
    return modelPage_->isBusy() || selfTestPage_->isRunning() || trainPage_->isTraining() || dataPage_->isBusy() ||
           runLibraryPage_->isBusy() || explorerPage_->isBusy() || benchmarkPage_->isRunning() ||
           classifyPage_->isBusy() || racePage_->isRunning();
}

void MainWindow::runSelfTest() {
    showPage(QString::fromLatin1(kSelfTestPage));
    selfTestPage_->start();
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (trainPage_->isTraining()) {
        // The run saves a checkpoint as it stops; the window closes when that is done (the worker's
        // finished signal), and stays usable until then.
        closeAfterStop_ = true;
        trainPage_->stopTraining();
        statusBar()->showMessage(tr("Saving a checkpoint before closing…"));
        event->ignore();
        return;
    }
    saveWindowSettings();
    // The page joins its thread when destroyed; cancelling now makes that join quick.
    selfTestPage_->cancel();
    benchmarkPage_->cancel();
    classifyPage_->cancel();
    racePage_->stop();  // its current run saves a checkpoint; the page waits for it when destroyed
    event->accept();
}

void MainWindow::appendLog(const QString& text) {
    const QString stamp = QDateTime::currentDateTime().toString(QStringLiteral("HH:mm:ss"));
    log_->appendPlainText(QStringLiteral("%1  %2").arg(stamp, text));
    // The status bar shows the message beside its permanent widgets and cuts what does not fit; a message that
    // ends in a path (a checkpoint, a run folder) keeps its end, elided in the middle. The log has it whole.
    int room = statusBar()->width() - 24;
    for (const QWidget* w : {static_cast<QWidget*>(progress_), static_cast<QWidget*>(etaStatus_),
                             static_cast<QWidget*>(speedStatus_), static_cast<QWidget*>(modelStatus_),
                             static_cast<QWidget*>(deviceStatus_)})
        if (w && w->isVisible()) room -= w->width() + statusBar()->layout()->spacing();
    const QString line = text.simplified();
    statusBar()->showMessage(statusBar()->fontMetrics().elidedText(line, Qt::ElideMiddle, std::max(120, room)), 8000);
}

void MainWindow::onModelShown(const QString& name, const QString& directory) {
    setWindowTitle(tr("%1 — PoNet Studio").arg(name));
    if (const auto summary = modelPage_->currentSummary()) {
        modelStatus_->setText(
            tr("%1 · %2 parameters").arg(name, formatCompactCount(summary->total_parameters)));
    }
    if (!restoring_) {
        QSettings settings;
        settings.setValue(key::modelDirectory, directory);
        settings.setValue(key::sequenceLength, modelPage_->requestedSequenceLength());
    }
}

void MainWindow::onComputeDeviceChanged(int index) {
    if (index < 0) return;
    const QString device = deviceCombo_->itemData(index).toString();
    trainPage_->setDevice(device);
    modelPage_->setDevice(device);
    racePage_->setDevice(device);
    deviceStatus_->setText(tr("Device: %1").arg(device));
    if (!restoring_) {
        QSettings().setValue(key::computeDevice, device);
        appendLog(tr("Compute device: %1").arg(device));
    }
}

PreferencesDialog* MainWindow::showPreferences() {
    auto* dialog = new PreferencesDialog(devices_, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &PreferencesDialog::runsDirectoryChanged, this,
            [this](const QString& dir) { appendLog(tr("Runs folder: %1").arg(QDir::toNativeSeparators(dir))); });
    dialog->open();
    return dialog;
}

void MainWindow::createStatusBar() {
    progress_ = new QProgressBar(this);
    progress_->setObjectName(QStringLiteral("trainingProgress"));
    progress_->setMaximumWidth(220);
    progress_->setTextVisible(true);
    progress_->setFormat(tr("step %v of %m"));
    progress_->setAccessibleName(tr("Training progress"));
    progress_->setVisible(false);
    etaStatus_ = new QLabel(this);
    etaStatus_->setObjectName(QStringLiteral("etaStatus"));
    speedStatus_ = new QLabel(this);
    speedStatus_->setObjectName(QStringLiteral("speedStatus"));
    modelStatus_ = new QLabel(this);
    modelStatus_->setObjectName(QStringLiteral("modelStatus"));
    modelStatus_->setVisible(stack_->currentWidget() == modelPage_);
    deviceStatus_ = new QLabel(this);
    statusBar()->addPermanentWidget(progress_);
    statusBar()->addPermanentWidget(etaStatus_);
    statusBar()->addPermanentWidget(speedStatus_);
    statusBar()->addPermanentWidget(modelStatus_);
    statusBar()->addPermanentWidget(deviceStatus_);
}

void MainWindow::connectTrainPage() {
    connect(trainPage_, &TrainPage::logMessage, this, &MainWindow::appendLog);
    connect(trainPage_, &TrainPage::activeRunChanged, this, [this](const QString& name, const QString& state) {
        activeRun_->setText(name.isEmpty() ? tr("No run") : tr("%1 · %2").arg(name, state));
    });
    connect(trainPage_, &TrainPage::progressChanged, this,
            [this](qint64 step, qint64 maxSteps, double eta, double tokensPerSecond) {
                progress_->setVisible(true);
                progress_->setRange(0, static_cast<int>(std::min<qint64>(maxSteps, INT_MAX)));
                progress_->setValue(static_cast<int>(std::min<qint64>(step, INT_MAX)));
                etaStatus_->setText(tr("ETA %1").arg(formatDuration(eta)));
                speedStatus_->setText(tr("%1 tokens/s").arg(QLocale().toString(tokensPerSecond, 'f', 0)));
            });
    connect(trainPage_, &TrainPage::runStarted, this, [this](const QString& dir) {
        rememberRun(dir);
        progress_->setValue(0);
        progress_->setVisible(true);
        etaStatus_->setText(tr("ETA –"));
        speedStatus_->clear();
    });
    connect(trainPage_, &TrainPage::runFinished, this, [this](const ponet::RunOutcome& o) {
        etaStatus_->setText(o.status == "finished" ? tr("done") : QString::fromStdString(o.status));
        updateRecentRunsMenu();
        if (closeAfterStop_) {
            closeAfterStop_ = false;
            close();
        }
    });
}

void MainWindow::rememberRun(const QString& dir) {
    QStringList runs = recentRuns();
    runs.removeAll(dir);
    runs.prepend(dir);
    while (runs.size() > kMaxRecentRuns) runs.removeLast();
    QSettings().setValue(key::recentRuns, runs);
    updateRecentRunsMenu();
}

void MainWindow::updateRecentRunsMenu() {
    recentRunsMenu_->clear();
    const QStringList runs = recentRuns();
    for (const QString& dir : runs) {
        const bool exists = QFileInfo(dir).isDir();
        QAction* a = recentRunsMenu_->addAction(QFileInfo(dir).fileName());
        a->setToolTip(dir);
        a->setStatusTip(exists ? dir : tr("%1 (no longer there)").arg(dir));
        a->setEnabled(exists);
        connect(a, &QAction::triggered, this, [this, dir] {
            showPage(QString::fromLatin1(kTrainPage));
            trainPage_->openRun(dir);
        });
    }
    recentRunsMenu_->setEnabled(!runs.isEmpty());
}

void MainWindow::openRunFolder() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open Run Folder"), trainPage_->runsDirectory());
    if (dir.isEmpty()) return;
    showPage(QString::fromLatin1(kTrainPage));
    if (trainPage_->openRun(dir)) rememberRun(trainPage_->activeRunDirectory());
}

void MainWindow::showAbout() {
    const QString text =
        tr("<h3>PoNet Studio %1</h3>"
           "<p>Train, benchmark and look inside PoNet models: token mixing by global aggregation, segment "
           "max-pooling and local max-pooling, in linear time in the sequence length.</p>"
           "<p>Licence: GPL-3.0-or-later. This program comes with ABSOLUTELY NO WARRANTY.</p>"
           "<p>If you use PoNet, please cite:<br>Chao-Hong Tan, Qian Chen, Wen Wang, Qinglin Zhang, Siqi "
           "Zheng "
           "and Zhen-Hua Ling. <i>PoNet: Pooling Network for Efficient Token Mixing in Long Sequences.</i> "
           "International Conference on Learning Representations (ICLR), 2022. arXiv:2110.02442.</p>")
            .arg(QStringLiteral(PONET_VERSION));
    QMessageBox::about(this, tr("About PoNet Studio"), text);
}

}  // namespace ponet::gui
