#include "widgets/run_library.h"

#include <QComboBox>
#include <QDesktopServices>
#include <QDir>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QMessageBox>
#include <QMetaMethod>
#include <QPushButton>
#include <QSet>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStyle>
#include <QTableView>
#include <QTableWidget>
#include <QUrl>
#include <QVBoxLayout>

#include <algorithm>
#include <set>

#include "core/data/xdg.h"
#include "widgets/inline_message.h"
#include "widgets/legend_placement.h"
#include "widgets/qcp.h"
#include "widgets/run_list_model.h"

namespace ponet::gui {
namespace {

constexpr int kLivePollMs = 3000;

// Distinct colours for overlaid runs (colour-blind friendly: Okabe–Ito).
const QColor kRunColours[] = {QColor(0x00, 0x72, 0xb2), QColor(0xd5, 0x5e, 0x00), QColor(0x00, 0x9e, 0x73),
                              QColor(0xcc, 0x79, 0xa7), QColor(0xe6, 0x9f, 0x00), QColor(0x56, 0xb4, 0xe9),
                              QColor(0x00, 0x00, 0x00), QColor(0xf0, 0xe4, 0x42)};

// The curve shown first: the main training loss, else the first evaluation metric.
QString preferredMetric(const QStringList& names) {
    for (const char* n : {"train/loss", "dev/accuracy", "dev/loss"})
        if (names.contains(QLatin1String(n))) return QLatin1String(n);
    return names.value(0);
}

// Runs of one sweep share a long name prefix ("finetune-reviews-base", "finetune-reviews-bs32"): the diff's
// column headers show what tells them apart ("…base", "…bs32"); the tooltips keep the full paths.
QStringList distinctParts(const QStringList& names) {
    if (names.size() < 2) return names;
    qsizetype common = names.first().size();
    for (const QString& n : names) {
        qsizetype i = 0;
        while (i < common && i < n.size() && n[i] == names.first()[i]) ++i;
        common = i;
    }
    // Cut at a separator, so that "lr5e-4" is not shown as "5e-4".
    while (common > 0 && !QStringLiteral("-_. ").contains(names.first()[common - 1])) --common;
    if (common < 4) return names;
    QStringList out;
    for (const QString& n : names) out << (n.size() > common ? QStringLiteral("…") + n.mid(common) : n);
    return out;
}

}  // namespace

RunLibraryPage::RunLibraryPage(QWidget* parent)
    : QWidget(parent), runsDir_(QString::fromStdString(ponet::runs_dir())),
      worker_(std::make_unique<RunLibraryWorker>()) {
    registerRunLibraryMetaTypes();

    message_ = new InlineMessage(this);
    folderLabel_ = new QLabel(this);
    folderLabel_->setObjectName(QStringLiteral("runsFolderLabel"));
    folderLabel_->setTextFormat(Qt::PlainText);
    folderLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    // Wrapped, so that a long folder path never widens the window.
    folderLabel_->setWordWrap(true);
    folderLabel_->setMinimumWidth(200);
    auto* changeFolder = new QPushButton(style()->standardIcon(QStyle::SP_DirIcon), tr("C&hange Folder…"), this);
    connect(changeFolder, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Runs Folder"), runsDir_);
        if (!dir.isEmpty()) setRunsFolder(dir);
    });
    auto* refreshButton = new QPushButton(style()->standardIcon(QStyle::SP_BrowserReload), tr("&Refresh"), this);
    connect(refreshButton, &QPushButton::clicked, this, &RunLibraryPage::refresh);
    resumeButton_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaPlay), tr("Res&ume"), this);
    resumeButton_->setObjectName(QStringLiteral("resumeRunButton"));
    resumeButton_->setToolTip(tr("Continue the selected run from its newest checkpoint"));
    connect(resumeButton_, &QPushButton::clicked, this, &RunLibraryPage::resumeSelected);
    openButton_ = new QPushButton(style()->standardIcon(QStyle::SP_DirOpenIcon), tr("&Open Folder"), this);
    openButton_->setObjectName(QStringLiteral("openRunFolderButton"));
    connect(openButton_, &QPushButton::clicked, this, &RunLibraryPage::openSelectedFolder);
    deleteButton_ = new QPushButton(style()->standardIcon(QStyle::SP_TrashIcon), tr("&Delete…"), this);
    deleteButton_->setObjectName(QStringLiteral("deleteRunButton"));
    connect(deleteButton_, &QPushButton::clicked, this, &RunLibraryPage::deleteSelected);

    auto* top = new QHBoxLayout;
    top->addWidget(folderLabel_, 1);
    top->addWidget(changeFolder);
    top->addWidget(refreshButton);
    top->addSpacing(16);
    top->addWidget(resumeButton_);
    top->addWidget(openButton_);
    top->addWidget(deleteButton_);

    model_ = new RunListModel(this);
    proxy_ = new QSortFilterProxyModel(this);
    proxy_->setSourceModel(model_);
    proxy_->setSortRole(RunListModel::SortRole);
    table_ = new QTableView(this);
    table_->setObjectName(QStringLiteral("runTable"));
    table_->setModel(proxy_);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
    table_->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed);
    table_->setAlternatingRowColors(true);
    table_->setWordWrap(false);
    table_->verticalHeader()->hide();
    table_->verticalHeader()->setDefaultSectionSize(table_->fontMetrics().height() + 8);
    QHeaderView* header = table_->horizontalHeader();
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->setSectionResizeMode(RunListModel::NotesColumn, QHeaderView::Stretch);
    header->resizeSection(RunListModel::NameColumn, 190);
    header->resizeSection(RunListModel::StatusColumn, 95);
    header->resizeSection(RunListModel::TaskColumn, 75);
    header->resizeSection(RunListModel::StepsColumn, 60);
    header->resizeSection(RunListModel::BestColumn, 140);
    header->resizeSection(RunListModel::TagsColumn, 130);
    header->setSectionResizeMode(RunListModel::ModifiedColumn, QHeaderView::ResizeToContents);
    header->setSortIndicator(-1, Qt::AscendingOrder);  // newest first, as scanned, until a header is clicked
    table_->setSortingEnabled(true);
    connect(table_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &RunLibraryPage::onSelectionChanged);
    connect(table_, &QTableView::activated, this, [this](const QModelIndex& index) {
        // Enter or a double-click on a read-only cell resumes, as a file manager opens.
        if (!(index.flags() & Qt::ItemIsEditable)) resumeSelected();
    });

    metricCombo_ = new QComboBox(this);
    metricCombo_->setObjectName(QStringLiteral("runMetricCombo"));
    metricCombo_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    connect(metricCombo_, &QComboBox::currentIndexChanged, this, &RunLibraryPage::updatePlot);
    auto* metricLabel = new QLabel(tr("&Curve:"), this);
    metricLabel->setBuddy(metricCombo_);
    plot_ = new QCustomPlot(this);
    plot_->setObjectName(QStringLiteral("runCurvesPlot"));
    plot_->setMinimumHeight(180);
    plot_->setBackground(palette().color(QPalette::Base));
    plot_->legend->setVisible(true);
    plot_->legend->setBrush(QColor(255, 255, 255, 210));
    new LegendPlacer(plot_);  // top right unless that hides more points than another corner
    plot_->xAxis->setLabel(tr("step"));
    plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    auto* curves = new QWidget(this);
    auto* cl = new QVBoxLayout(curves);
    cl->setContentsMargins(0, 0, 0, 0);
    auto* metricRow = new QHBoxLayout;
    metricRow->addWidget(metricLabel);
    metricRow->addWidget(metricCombo_);
    metricRow->addStretch(1);
    cl->addLayout(metricRow);
    cl->addWidget(plot_, 1);

    diff_ = new QTableWidget(this);
    diff_->setObjectName(QStringLiteral("configDiffTable"));
    diff_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    diff_->setAlternatingRowColors(true);
    diff_->verticalHeader()->setDefaultSectionSize(diff_->fontMetrics().height() + 6);
    // Columns share the width (names elide, their tooltips have them whole) rather than scroll sideways.
    diff_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    diffNote_ = new QLabel(this);
    diffNote_->setWordWrap(true);
    diffNote_->setTextFormat(Qt::PlainText);
    auto* diffBox = new QWidget(this);
    auto* dl = new QVBoxLayout(diffBox);
    dl->setContentsMargins(0, 0, 0, 0);
    auto* diffTitle = new QLabel(tr("<b>Configuration differences</b>"), this);
    dl->addWidget(diffTitle);
    dl->addWidget(diffNote_);
    dl->addWidget(diff_, 1);

    auto* bottom = new QSplitter(Qt::Horizontal, this);
    bottom->addWidget(curves);
    bottom->addWidget(diffBox);
    bottom->setSizes({600, 400});
    auto* vertical = new QSplitter(Qt::Vertical, this);
    vertical->setChildrenCollapsible(false);
    vertical->addWidget(table_);
    vertical->addWidget(bottom);
    vertical->setSizes({200, 340});

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(message_);
    layout->addLayout(top);
    layout->addWidget(vertical, 1);

    worker_->moveToThread(&thread_);
    connect(this, &RunLibraryPage::scanRequested, worker_.get(), &RunLibraryWorker::scan);
    connect(this, &RunLibraryPage::detailsRequested, worker_.get(), &RunLibraryWorker::loadDetails);
    connect(this, &RunLibraryPage::saveNotesRequested, worker_.get(), &RunLibraryWorker::saveNotes);
    connect(this, &RunLibraryPage::removeRequested, worker_.get(), &RunLibraryWorker::remove);
    connect(worker_.get(), &RunLibraryWorker::scanned, this, &RunLibraryPage::onScanned);
    connect(worker_.get(), &RunLibraryWorker::detailsLoaded, this, &RunLibraryPage::onDetails);
    connect(worker_.get(), &RunLibraryWorker::notesSaved, this, &RunLibraryPage::onNotesSaved);
    connect(worker_.get(), &RunLibraryWorker::removed, this, &RunLibraryPage::onRemoved);
    connect(model_, &RunListModel::notesEdited, this, &RunLibraryPage::saveNotesRequested);
    thread_.setObjectName(QStringLiteral("ponet-runs"));
    thread_.start();

    rescanDebounce_.setSingleShot(true);
    rescanDebounce_.setInterval(250);
    connect(&rescanDebounce_, &QTimer::timeout, this, &RunLibraryPage::refresh);
    // A new run folder appears before the trainer has written its config.json: look again once it settled.
    settleRescan_.setSingleShot(true);
    settleRescan_.setInterval(2000);
    connect(&settleRescan_, &QTimer::timeout, this, &RunLibraryPage::refresh);
    connect(&watcher_, &QFileSystemWatcher::directoryChanged, this, [this] {
        rescanDebounce_.start();
        settleRescan_.start();
    });
    livePoll_.setInterval(kLivePollMs);
    connect(&livePoll_, &QTimer::timeout, this, &RunLibraryPage::refresh);

    updateButtons();
    onSelectionChanged();  // the empty state: no curves, and a hint where the diff goes
    setRunsFolder(runsDir_);
}

RunLibraryPage::~RunLibraryPage() {
    thread_.quit();
    thread_.wait();
}

void RunLibraryPage::setRunsFolder(const QString& dir) {
    runsDir_ = QDir::cleanPath(dir);
    folderLabel_->setText(tr("Runs in %1").arg(QDir::toNativeSeparators(runsDir_)));
    watchFolder();
    refresh();
}

void RunLibraryPage::watchFolder() {
    if (!watcher_.directories().isEmpty()) watcher_.removePaths(watcher_.directories());
    // A runs folder that does not exist yet is watched through its parent, so the first run shows up too.
    QString watched = runsDir_;
    while (!watched.isEmpty() && !QFileInfo(watched).isDir()) {
        const QString parent = QFileInfo(watched).absolutePath();
        if (parent == watched) break;
        watched = parent;
    }
    if (QFileInfo(watched).isDir()) watcher_.addPath(watched);
}

void RunLibraryPage::refresh() {
    if (scanning_) {
        rescanPending_ = true;
        return;
    }
    scanning_ = true;
    Q_EMIT scanRequested(++scanId_, runsDir_);
}

void RunLibraryPage::onScanned(quint64 id, const QList<RunRecord>& runs) {
    if (id != scanId_) return;
    scanning_ = false;
    if (watcher_.directories().value(0) != runsDir_) watchFolder();  // the folder was just created
    const QStringList selected = selectedRuns();
    model_->setRuns(runs);
    selectRuns(selected);
    const QString folder = QDir::toNativeSeparators(runsDir_);
    folderLabel_->setText(runs.isEmpty() ? tr("No runs in %1 yet: runs started here or with the ponet command "
                                              "appear by themselves.")
                                               .arg(folder)
                                         : tr("Runs in %1").arg(folder));
    const bool live = std::any_of(runs.begin(), runs.end(),
                                  [](const RunRecord& r) { return r.summary.state == ponet::RunState::Running; });
    if (live && !livePoll_.isActive()) livePoll_.start();
    if (!live) livePoll_.stop();
    // Curves of a live run grow: reload them with each scan.
    if (live && !selectedRuns().isEmpty()) onSelectionChanged();
    updateButtons();
    Q_EMIT runsChanged(static_cast<int>(runs.size()));
    if (rescanPending_) {
        rescanPending_ = false;
        refresh();
    }
}

QStringList RunLibraryPage::selectedRuns() const {
    QStringList out;
    for (const QModelIndex& index : table_->selectionModel()->selectedRows())
        out << index.data(RunListModel::PathRole).toString();
    // In table order, so the curve colours and diff columns follow what the user sees.
    std::sort(out.begin(), out.end(), [this](const QString& a, const QString& b) {
        return proxy_->mapFromSource(model_->index(model_->rowOf(a), 0)).row() <
               proxy_->mapFromSource(model_->index(model_->rowOf(b), 0)).row();
    });
    return out;
}

void RunLibraryPage::selectRuns(const QStringList& paths) {
    QItemSelection selection;
    for (const QString& p : paths) {
        const int row = model_->rowOf(p);
        if (row < 0) continue;
        const QModelIndex index = proxy_->mapFromSource(model_->index(row, 0));
        selection.select(index, index.siblingAtColumn(RunListModel::ColumnCount - 1));
    }
    table_->selectionModel()->select(selection, QItemSelectionModel::ClearAndSelect);
}

void RunLibraryPage::onSelectionChanged() {
    updateButtons();
    const QStringList paths = selectedRuns();
    if (paths.isEmpty()) {
        details_ = {};
        loadingDetails_ = false;
        ++detailsId_;
        updatePlot();
        diff_->clear();
        diff_->setRowCount(0);
        diff_->setColumnCount(0);
        diffNote_->setText(tr("Select runs to compare their curves and configurations."));
        return;
    }
    loadingDetails_ = true;
    Q_EMIT detailsRequested(++detailsId_, paths);
}

void RunLibraryPage::onDetails(quint64 id, const RunDetails& details) {
    if (id != detailsId_) return;
    loadingDetails_ = false;
    details_ = details;

    // Curves: every series any selected run has.
    std::set<std::string> names;
    for (const auto& m : details_.metrics)
        for (const auto& s : m.series) names.insert(s.name);
    QStringList metricNames;
    for (const auto& n : names) metricNames << QString::fromStdString(n);
    const QString keep = metricCombo_->currentText();
    {
        const QSignalBlocker block(metricCombo_);
        metricCombo_->clear();
        metricCombo_->addItems(metricNames);
        const int index = metricCombo_->findText(metricNames.contains(keep) ? keep : preferredMetric(metricNames));
        metricCombo_->setCurrentIndex(std::max(0, index));
    }
    updatePlot();

    // Diff: only the options whose values differ.
    diff_->clear();
    diff_->setColumnCount(static_cast<int>(details_.names.size()));
    diff_->setHorizontalHeaderLabels(distinctParts(details_.names));
    for (int c = 0; c < diff_->columnCount(); ++c) diff_->horizontalHeaderItem(c)->setToolTip(details_.paths.value(c));
    diff_->setRowCount(static_cast<int>(details_.differences.size()));
    QStringList keys;
    for (int r = 0; r < static_cast<int>(details_.differences.size()); ++r) {
        const auto& d = details_.differences[static_cast<size_t>(r)];
        keys << QString::fromStdString(d.key);
        for (int c = 0; c < static_cast<int>(d.values.size()); ++c) {
            auto* item = new QTableWidgetItem(QString::fromStdString(d.values[static_cast<size_t>(c)]));
            item->setToolTip(item->text());
            diff_->setItem(r, c, item);
        }
    }
    diff_->setVerticalHeaderLabels(keys);
    QString note;
    if (details_.paths.size() < 2) {
        note = tr("Select two or more runs to see where their configurations differ.");
    } else if (details_.differences.empty() && details_.problems.isEmpty()) {
        note = tr("The configurations are identical (apart from the run names).");
    } else {
        note = details_.differences.size() == 1
                   ? tr("One option differs; all others are equal.")
                   : tr("%1 options differ; all others are equal.").arg(details_.differences.size());
    }
    if (!details_.problems.isEmpty()) note += QLatin1Char('\n') + details_.problems.join(QLatin1Char('\n'));
    diffNote_->setText(note);
    Q_EMIT detailsShown();
}

void RunLibraryPage::updatePlot() {
    plot_->clearGraphs();
    const std::string metric = metricCombo_->currentText().toStdString();
    double xmin = 0, xmax = 1, ymin = 0, ymax = 1;
    bool any = false;
    for (size_t i = 0; i < details_.metrics.size(); ++i) {
        const ponet::MetricSeries* s = details_.metrics[i].find(metric);
        if (!s || s->points.empty()) continue;
        QCPGraph* g = plot_->addGraph();
        g->setName(details_.names.value(static_cast<int>(i)));
        const QColor colour = kRunColours[i % std::size(kRunColours)];
        g->setPen(QPen(colour, 1.8));
        QVector<double> x, y;
        x.reserve(static_cast<int>(s->points.size()));
        y.reserve(static_cast<int>(s->points.size()));
        for (const auto& p : s->points) {
            x << static_cast<double>(p.step);
            y << p.value;
        }
        // Evaluations are few: mark each one.
        if (!metric.empty() && metric.rfind("train/", 0) != 0 && s->points.size() < 200) g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 4));
        g->setData(x, y, true);
        const auto [lo, hi] = std::minmax_element(y.begin(), y.end());
        if (!any) {
            xmin = x.front(), xmax = x.back(), ymin = *lo, ymax = *hi;
        } else {
            xmin = std::min(xmin, x.front()), xmax = std::max(xmax, x.back());
            ymin = std::min(ymin, *lo), ymax = std::max(ymax, *hi);
        }
        any = true;
    }
    if (ymax - ymin < 1e-12) ymin -= 0.5, ymax += 0.5;
    if (xmax - xmin < 1e-12) xmax = xmin + 1;
    const double pad = (ymax - ymin) * 0.06;
    plot_->xAxis->setRange(xmin, xmax);
    plot_->yAxis->setRange(ymin - pad, ymax + pad);
    plot_->yAxis->setLabel(metricCombo_->currentText());
    plot_->legend->setVisible(any);
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void RunLibraryPage::updateButtons() {
    const int n = static_cast<int>(table_->selectionModel()->selectedRows().size());
    // Resuming is done by whoever listens (the main window's training worker); without one the button would
    // do nothing, so it is not shown.
    resumeButton_->setVisible(isSignalConnected(QMetaMethod::fromSignal(&RunLibraryPage::resumeRequested)));
    resumeButton_->setEnabled(n == 1);
    openButton_->setEnabled(n == 1);
    deleteButton_->setEnabled(n >= 1);
}

void RunLibraryPage::resumeSelected() {
    const QStringList paths = selectedRuns();
    if (paths.size() != 1) return;
    const int row = model_->rowOf(paths.first());
    if (row >= 0 && model_->run(row).summary.state == ponet::RunState::Running) {
        message_->showMessage(InlineMessage::Kind::Information,
                              tr("%1 is still running.").arg(QFileInfo(paths.first()).fileName()));
        return;
    }
    Q_EMIT logMessage(tr("Resuming %1").arg(paths.first()));
    Q_EMIT resumeRequested(paths.first());
}

void RunLibraryPage::openSelectedFolder() {
    const QStringList paths = selectedRuns();
    if (paths.size() != 1) return;
    if (!QDesktopServices::openUrl(QUrl::fromLocalFile(paths.first())))
        message_->showMessage(InlineMessage::Kind::Error,
                              tr("No file manager could open %1.").arg(paths.first()));
}

bool RunLibraryPage::deleteSelected() {
    const QStringList paths = selectedRuns();
    if (paths.isEmpty()) return false;
    QStringList names;
    for (const QString& p : paths) names << QFileInfo(p).fileName();
    for (const QString& p : paths) {
        const int row = model_->rowOf(p);
        if (row >= 0 && model_->run(row).summary.state == ponet::RunState::Running) {
            message_->showMessage(InlineMessage::Kind::Error,
                                  tr("%1 is still running; stop it before deleting it.").arg(QFileInfo(p).fileName()));
            return false;
        }
    }
    bool yes = false;
    if (confirm_) {
        yes = confirm_(names);
    } else {
        QMessageBox box(QMessageBox::Warning, tr("Delete Runs"),
                        names.size() == 1
                            ? tr("Delete the run %1 with its checkpoints and metrics? This cannot be undone.")
                                  .arg(names.first())
                            : tr("Delete %1 runs with their checkpoints and metrics? This cannot be undone.")
                                  .arg(names.size()),
                        QMessageBox::Cancel, this);
        box.setObjectName(QStringLiteral("deleteRunsDialog"));
        box.setInformativeText(names.join(QLatin1Char('\n')));
        QPushButton* del = box.addButton(tr("Delete"), QMessageBox::DestructiveRole);
        box.setDefaultButton(QMessageBox::Cancel);
        box.exec();
        yes = box.clickedButton() == del;
    }
    if (!yes) return false;
    for (const QString& p : paths) {
        ++pendingRemovals_;
        Q_EMIT removeRequested(p);
    }
    return true;
}

void RunLibraryPage::onRemoved(const QString& path, bool ok, const QString& message) {
    --pendingRemovals_;
    if (ok) {
        Q_EMIT logMessage(tr("Deleted %1").arg(path));
    } else {
        message_->showMessage(InlineMessage::Kind::Error, message);
    }
    if (pendingRemovals_ == 0) refresh();
}

void RunLibraryPage::onNotesSaved(const QString& path, bool ok, const QString& message) {
    if (ok) return;
    message_->showMessage(InlineMessage::Kind::Error,
                          tr("The notes of %1 were not saved: %2").arg(QFileInfo(path).fileName(), message));
    refresh();  // show what is on disk again
}

QString RunLibraryPage::currentMetric() const {
    return metricCombo_->currentText();
}

void RunLibraryPage::setCurrentMetric(const QString& name) {
    const int index = metricCombo_->findText(name);
    if (index >= 0) metricCombo_->setCurrentIndex(index);
}

int RunLibraryPage::curveCount() const {
    return plot_->graphCount();
}

QStringList RunLibraryPage::differingKeys() const {
    QStringList keys;
    for (int r = 0; r < diff_->rowCount(); ++r) keys << diff_->verticalHeaderItem(r)->text();
    return keys;
}

QString RunLibraryPage::messageText() const {
    return message_->text();
}

}  // namespace ponet::gui
