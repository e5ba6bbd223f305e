#include "widgets/selftest_page.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QStyle>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>

#include "widgets/check_result_model.h"
#include "widgets/selftest_worker.h"
#include "widgets/status_icons.h"
#include "widgets/widget_helpers.h"

namespace ponet::gui {
namespace {

// The checks-count memory is keyed by selection; "" (all devices) needs a visible key in QSettings.
QString countKey(const QString& selection) {
    return selection.isEmpty() ? QStringLiteral("all") : selection;
}

}  // namespace

SelfTestPage::SelfTestPage(const QStringList& devices, QWidget* parent)
    : QWidget(parent), worker_(std::make_unique<SelfTestWorker>()) {
    registerCoreMetaTypes();

    auto* intro =
        new QLabel(tr("The self-test checks every token mixer against golden vectors computed with the "
                      "PoNet authors' own code, and runs independent consistency checks, on each "
                      "device. Run it after installing or updating, or when results look wrong."),
                   this);
    intro->setWordWrap(true);

    deviceCombo_ = new QComboBox(this);
    deviceCombo_->setObjectName(QStringLiteral("selfTestDeviceCombo"));
    deviceCombo_->addItem(tr("All devices"), QString());
    for (const QString& d : devices) deviceCombo_->addItem(d, d);
    connect(deviceCombo_, &QComboBox::currentIndexChanged, this,
            [this] { Q_EMIT deviceSelectionChanged(deviceSelection()); });
    auto* deviceLabel = new QLabel(tr("&Devices:"), this);
    deviceLabel->setBuddy(deviceCombo_);

    runButton_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaPlay), tr("&Run Self-Test"), this);
    runButton_->setObjectName(QStringLiteral("runSelfTestButton"));
    runButton_->setToolTip(tr("Run every check on the selected devices (F5)"));
    connect(runButton_, &QPushButton::clicked, this, &SelfTestPage::start);
    cancelButton_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaStop), tr("&Cancel"), this);
    cancelButton_->setObjectName(QStringLiteral("cancelSelfTestButton"));
    cancelButton_->setToolTip(tr("Stop after the check in progress"));
    cancelButton_->setEnabled(false);
    connect(cancelButton_, &QPushButton::clicked, this, &SelfTestPage::cancel);

    failuresOnly_ = new QCheckBox(tr("Show &failures only"), this);
    failuresOnly_->setObjectName(QStringLiteral("failuresOnlyCheck"));
    connect(failuresOnly_, &QCheckBox::toggled, this, &SelfTestPage::updateFilter);

    auto* controls = new QHBoxLayout;
    controls->addWidget(deviceLabel);
    controls->addWidget(deviceCombo_);
    controls->addWidget(runButton_);
    controls->addWidget(cancelButton_);
    controls->addStretch(1);
    controls->addWidget(failuresOnly_);

    progress_ = new QProgressBar(this);
    progress_->setObjectName(QStringLiteral("selfTestProgress"));
    progress_->setRange(0, 1);
    progress_->setValue(0);
    progress_->setTextVisible(false);
    hideKeepingRoom(progress_);  // until the first run
    summary_ = new QLabel(this);
    summary_->setObjectName(QStringLiteral("selfTestSummary"));
    summary_->setTextFormat(Qt::PlainText);
    summary_->setMinimumWidth(
        summary_->fontMetrics().horizontalAdvance(QStringLiteral("0000 passed, 0000 failed in 000.0 s")));
    auto* status = new QHBoxLayout;
    status->addWidget(progress_, 1);
    status->addWidget(summary_);

    model_ = new CheckResultModel(this);
    proxy_ = new QSortFilterProxyModel(this);
    proxy_->setSourceModel(model_);
    proxy_->setSortRole(CheckResultModel::SortRole);
    proxy_->setFilterRole(CheckResultModel::SortRole);
    proxy_->setFilterKeyColumn(CheckResultModel::StatusColumn);

    table_ = new QTableView(this);
    table_->setObjectName(QStringLiteral("selfTestTable"));
    table_->setModel(proxy_);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setAlternatingRowColors(true);
    table_->setWordWrap(false);
    table_->verticalHeader()->hide();
    table_->verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    QHeaderView* header = table_->horizontalHeader();
    header->setSectionResizeMode(QHeaderView::ResizeToContents);
    header->setStretchLastSection(true);
    // Rows stay in the order the checks ran until the user clicks a header.
    header->setSortIndicator(-1, Qt::AscendingOrder);
    table_->setSortingEnabled(true);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addLayout(controls);
    layout->addLayout(status);
    layout->addWidget(table_, 1);
    updateSummary();

    worker_->moveToThread(&thread_);
    connect(this, &SelfTestPage::runRequested, worker_.get(), &SelfTestWorker::run);
    connect(worker_.get(), &SelfTestWorker::resultReady, this, &SelfTestPage::onResult);
    connect(worker_.get(), &SelfTestWorker::finished, this, &SelfTestPage::onFinished);
    connect(worker_.get(), &SelfTestWorker::failed, this, &SelfTestPage::onFailed);
    thread_.setObjectName(QStringLiteral("ponet-selftest"));
    thread_.start();
}

SelfTestPage::~SelfTestPage() {
    // Closing the window mid-run: stop the checks at their next poll and join, so the thread is never
    // destroyed while running.
    worker_->requestCancel();
    thread_.quit();
    thread_.wait();
}

void SelfTestPage::start() {
    if (running_) return;
    model_->clear();
    runKey_ = deviceSelection();
    const int expected = checkCounts_.value(countKey(runKey_)).toInt();
    progress_->setRange(0, expected > 0 ? expected : 0);  // 0..0: busy indicator until a count is known
    progress_->setValue(0);
    progress_->show();
    cancelRequested_ = false;
    setRunning(true);
    clock_.start();
    const QStringList devices = runKey_.isEmpty() ? QStringList() : QStringList{runKey_};
    Q_EMIT logMessage(tr("Self-test started on %1").arg(runKey_.isEmpty() ? tr("all devices") : runKey_));
    worker_->rearm();
    Q_EMIT runRequested(devices);
}

void SelfTestPage::cancel() {
    if (!running_ || cancelRequested_) return;
    cancelRequested_ = true;
    worker_->requestCancel();
    cancelButton_->setEnabled(false);
    updateSummary();
    Q_EMIT logMessage(tr("Self-test: cancelling after the check in progress…"));
}

QString SelfTestPage::deviceSelection() const {
    return deviceCombo_->currentData().toString();
}

void SelfTestPage::setDeviceSelection(const QString& device) {
    const int index = deviceCombo_->findData(device);
    deviceCombo_->setCurrentIndex(index >= 0 ? index : 0);
}

void SelfTestPage::onResult(const ponet::CheckResult& result) {
    model_->append(result);
    if (progress_->maximum() > 0) {
        // An earlier run's count is a guess: grow the range rather than overflow it.
        if (model_->rowCount() > progress_->maximum()) progress_->setMaximum(model_->rowCount());
        progress_->setValue(model_->rowCount());
    }
    if (!result.passed) {
        Q_EMIT logMessage(
            tr("Self-test FAILED: %1").arg(QString::fromStdString(ponet::format_result_line(result))));
    }
    updateSummary();
}

void SelfTestPage::onFinished(int passed, int failed, bool cancelled, qint64 elapsedMs) {
    const int count = model_->rowCount();
    if (!cancelled && count > 0) checkCounts_.insert(countKey(runKey_), count);
    // A cancelled run keeps the expected total, so the bar shows how far it got.
    progress_->setRange(0, std::max({1, count, cancelled ? progress_->maximum() : 0}));
    progress_->setValue(count);
    cancelRequested_ = cancelled;  // a cancel that came too late to stop anything is no cancellation
    setRunning(false);
    updateSummary();
    const QString seconds = QLocale().toString(static_cast<double>(elapsedMs) / 1000.0, 'f', 1);
    Q_EMIT logMessage(
        cancelled
            ? tr("Self-test cancelled after %1 s: %2 passed, %3 failed").arg(seconds).arg(passed).arg(failed)
            : tr("Self-test finished in %1 s: %2 passed, %3 failed").arg(seconds).arg(passed).arg(failed));
    Q_EMIT finished(passed, failed, cancelled);
}

void SelfTestPage::onFailed(const QString& message) {
    progress_->setRange(0, 1);
    progress_->setValue(0);
    progress_->hide();  // an empty bar says nothing; the summary says what stopped it
    setRunning(false);
    summary_->setText(tr("Stopped by an error"));
    summary_->setToolTip(message);
    Q_EMIT logMessage(tr("Self-test stopped by an error: %1").arg(message));
    Q_EMIT finished(model_->passed(), model_->failed() + 1, false);
}

void SelfTestPage::setRunning(bool running) {
    running_ = running;
    runButton_->setEnabled(!running);
    cancelButton_->setEnabled(running);
    deviceCombo_->setEnabled(!running);
    Q_EMIT runningChanged(running);
}

QString SelfTestPage::summaryText() const {
    return summary_->text();
}

void SelfTestPage::updateSummary() {
    summary_->setToolTip(QString());
    const int passed = model_->passed();
    const int failed = model_->failed();
    QString text;
    if (running_) {
        text = cancelRequested_ ? tr("Cancelling… %1 passed, %2 failed").arg(passed).arg(failed)
                                : tr("Running… %1 passed, %2 failed").arg(passed).arg(failed);
    } else if (!clock_.isValid()) {
        text = tr("Not run yet");
    } else {
        text = tr("%1 passed, %2 failed").arg(passed).arg(failed);
        if (cancelRequested_) text += tr(" (cancelled)");
    }
    summary_->setText(text);
    QPalette pal = summary_->palette();
    pal.setColor(QPalette::WindowText, failed > 0 ? failColor() : palette().color(QPalette::WindowText));
    summary_->setPalette(pal);
}

void SelfTestPage::updateFilter() {
    proxy_->setFilterFixedString(failuresOnly_->isChecked() ? QStringLiteral("0") : QString());
}

}  // namespace ponet::gui
