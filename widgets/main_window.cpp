#include "widgets/main_window.h"

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
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QSettings>
#include <QStackedWidget>
#include <QStatusBar>
#include <QStyle>
#include <QToolBar>

#include "core/check/check_result.h"
#include "widgets/explorer_page.h"
#include "widgets/benchmark_page.h"
#include "widgets/data_page.h"
#include "widgets/model_page.h"
#include "widgets/model_source.h"
#include "widgets/number_format.h"
#include "widgets/run_library.h"
#include "widgets/preferences_dialog.h"
#include "widgets/selftest_page.h"

#ifndef PONET_VERSION
#error "PONET_VERSION comes from ponet_core's public compile definitions"
#endif

namespace ponet::gui {
namespace {

const char kDataPage[] = "data";
const char kModelPage[] = "model";
const char kRunsPage[] = "runs";
const char kSelfTestPage[] = "selftest";
const char kExplorerPage[] = "explore";
const char kBenchmarkPage[] = "benchmark";

namespace key {
const char geometry[] = "window/geometry";
const char state[] = "window/state";
const char page[] = "window/page";
const char modelDirectory[] = "model/directory";
const char sequenceLength[] = "model/sequenceLength";
const char computeDevice[] = "device/compute";
const char selfTestDevices[] = "selftest/devices";
const char selfTestCounts[] = "selftest/checkCounts";
}  // namespace key

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

    modelStatus_ = new QLabel(this);
    deviceStatus_ = new QLabel(this);
    statusBar()->addPermanentWidget(modelStatus_);
    statusBar()->addPermanentWidget(deviceStatus_);

    restoreSettings(options);
}

MainWindow::~MainWindow() = default;

QStringList MainWindow::pageIds() {
    // The order of the page list and the stack.
    return {QString::fromLatin1(kDataPage),     QString::fromLatin1(kModelPage),    QString::fromLatin1(kRunsPage),
            QString::fromLatin1(kSelfTestPage), QString::fromLatin1(kExplorerPage), QString::fromLatin1(kBenchmarkPage)};
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
    const struct {
        QString text;
        QStyle::StandardPixmap icon;
        QString tip;
    } pages[] = {
        {tr("Data"), QStyle::SP_DriveHDIcon, tr("Datasets: built-in, generated and your own documents")},
        {tr("Model"), QStyle::SP_FileDialogDetailedView,
         tr("Model shapes: configuration, parameters, memory")},
        {tr("Runs"), QStyle::SP_FileDialogListView, tr("The run library: compare, resume and tidy up runs")},
        {tr("Self-test"), QStyle::SP_DialogApplyButton, tr("Check the numerics against the golden vectors")},
        {tr("Explore"), QStyle::SP_FileDialogContentsView, tr("What GA, SMP and LMP see in a document")},
        {tr("Benchmark"), QStyle::SP_ComputerIcon, tr("Speed and memory against sequence length per mixer")},
    };
    int width = 0;
    for (const auto& p : pages) {
        auto* item = new QListWidgetItem(style()->standardIcon(p.icon), p.text, pageList_);
        item->setToolTip(p.tip);
        item->setSizeHint(QSize(0, 36));
        width = std::max(width, pageList_->fontMetrics().horizontalAdvance(p.text));
    }
    pageList_->setFixedWidth(width + pageList_->iconSize().width() + 48);
    connect(pageList_, &QListWidget::currentRowChanged, this, [this](int row) {
        if (row < 0) return;
        stack_->setCurrentIndex(row);
        if (row < pageActions_.size()) pageActions_[row]->setChecked(true);
        if (!restoring_) QSettings().setValue(key::page, pageIds().value(row));
    });

    dataPage_ = new DataPage(this);
    dataPage_->setObjectName(QStringLiteral("dataPage"));
    modelPage_ = new ModelPage(this);
    modelPage_->setObjectName(QStringLiteral("modelPage"));
    runLibraryPage_ = new RunLibraryPage(this);
    runLibraryPage_->setObjectName(QStringLiteral("runLibraryPage"));
    selfTestPage_ = new SelfTestPage(devices_, this);
    selfTestPage_->setObjectName(QStringLiteral("selfTestPage"));
    stack_ = new QStackedWidget(this);
    stack_->addWidget(dataPage_);
    stack_->addWidget(modelPage_);
    stack_->addWidget(runLibraryPage_);
    stack_->addWidget(selfTestPage_);
    explorerPage_ = new ExplorerPage(this);
    explorerPage_->setObjectName(QStringLiteral("explorerPage"));
    stack_->addWidget(explorerPage_);
    connect(explorerPage_, &ExplorerPage::logMessage, this, &MainWindow::appendLog);
    benchmarkPage_ = new BenchmarkPage(devices_, this);
    benchmarkPage_->setObjectName(QStringLiteral("benchmarkPage"));
    stack_->addWidget(benchmarkPage_);
    connect(benchmarkPage_, &BenchmarkPage::logMessage, this, &MainWindow::appendLog);

    auto* central = new QWidget(this);
    auto* layout = new QHBoxLayout(central);
    layout->setContentsMargins(6, 6, 6, 0);
    layout->addWidget(pageList_);
    layout->addWidget(stack_, 1);
    setCentralWidget(central);

    connect(dataPage_, &DataPage::logMessage, this, &MainWindow::appendLog);
    connect(runLibraryPage_, &RunLibraryPage::logMessage, this, &MainWindow::appendLog);
    connect(modelPage_, &ModelPage::logMessage, this, &MainWindow::appendLog);
    connect(modelPage_, &ModelPage::modelShown, this, &MainWindow::onModelShown);
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
    file->addSeparator();
    file->addAction(quitAction_);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    view->setObjectName(QStringLiteral("viewMenu"));
    view->addActions(pageActions_);
    view->addSeparator();

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
    // Opening a model has its button on the Model page; the toolbar holds what any page may want.
    bar->addAction(runSelfTestAction_);
    bar->addAction(cancelSelfTestAction_);

    auto* spacer = new QWidget(bar);
    spacer->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    bar->addWidget(spacer);

    deviceCombo_ = new QComboBox(bar);
    deviceCombo_->setObjectName(QStringLiteral("deviceCombo"));
    deviceCombo_->addItems(devices_);
    deviceCombo_->setToolTip(tr("The device models run on: the CPU, or a CUDA GPU when one is present"));
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

    const int deviceIndex = deviceCombo_->findText(settings.value(key::computeDevice).toString());
    deviceCombo_->setCurrentIndex(deviceIndex >= 0 ? deviceIndex : 0);
    onComputeDeviceChanged(deviceCombo_->currentIndex());

    selfTestPage_->setCheckCounts(settings.value(key::selfTestCounts).toMap());
    selfTestPage_->setDeviceSelection(settings.value(key::selfTestDevices).toString());
    connect(selfTestPage_, &SelfTestPage::deviceSelectionChanged, this,
            [](const QString& device) { QSettings().setValue(key::selfTestDevices, device); });

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

    QString page = options.page.isEmpty() ? settings.value(key::page).toString() : options.page;
    if (!pageIds().contains(page)) page = QString::fromLatin1(kModelPage);
    showPage(page);
    restoring_ = false;
}

void MainWindow::saveWindowSettings() {
    QSettings settings;
    settings.setValue(key::geometry, saveGeometry());
    settings.setValue(key::state, saveState());
    settings.setValue(key::page, currentPage());
}

QString MainWindow::currentPage() const {
    return pageIds().value(stack_->currentIndex());
}

void MainWindow::showPage(const QString& id) {
    const int row = static_cast<int>(pageIds().indexOf(id));
    if (row >= 0) pageList_->setCurrentRow(row);
}

QString MainWindow::computeDevice() const {
    return deviceCombo_->currentText();
}

QString MainWindow::logText() const {
    return log_->toPlainText();
}

bool MainWindow::isBusy() const {
    return modelPage_->isBusy() || selfTestPage_->isRunning() || dataPage_->isBusy() || runLibraryPage_->isBusy() ||
           explorerPage_->isBusy() || benchmarkPage_->isRunning();
}

void MainWindow::runSelfTest() {
    showPage(QString::fromLatin1(kSelfTestPage));
    selfTestPage_->start();
}

void MainWindow::closeEvent(QCloseEvent* event) {
    saveWindowSettings();
    // The page joins its thread when destroyed; cancelling now makes that join quick.
    selfTestPage_->cancel();
    benchmarkPage_->cancel();
    event->accept();
}

void MainWindow::appendLog(const QString& text) {
    const QString stamp = QDateTime::currentDateTime().toString(QStringLiteral("HH:mm:ss"));
    log_->appendPlainText(QStringLiteral("%1  %2").arg(stamp, text));
    statusBar()->showMessage(text, 8000);
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
    const QString device = deviceCombo_->itemText(index);
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
