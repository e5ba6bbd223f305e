// The run library: every run in the runs folder with its status, task, best metric, tags and notes; the
// curves of the selected runs overlaid; the options in which their configurations differ; and resume, open
// folder and delete. The folder is watched, so a run started elsewhere (the CLI) appears by itself.
#pragma once
#include <QFileSystemWatcher>
#include <QThread>
#include <QTimer>
#include <QWidget>

#include <functional>
#include <memory>

#include "widgets/run_library_worker.h"

class QComboBox;
class QLabel;
class QPushButton;
class QSortFilterProxyModel;
class QTableView;
class QTableWidget;
class QCustomPlot;

namespace ponet::gui {

class InlineMessage;
class RunListModel;

class RunLibraryPage : public QWidget {
    Q_OBJECT
  public:
    explicit RunLibraryPage(QWidget* parent = nullptr);
    ~RunLibraryPage() override;

    // Default: ponet::runs_dir(). Rescans at once.
    void setRunsFolder(const QString& dir);
    QString runsFolder() const { return runsDir_; }
    void refresh();

    // Selection by run folder path (tests, and the main window after a run starts).
    void selectRuns(const QStringList& paths);
    QStringList selectedRuns() const;

    void resumeSelected();
    void openSelectedFolder();
    // Asks, then deletes the selected runs' folders. Returns false when the user said no.
    bool deleteSelected();
    // Replaces the confirmation dialog (tests): receives the run names, returns whether to delete.
    void setDeleteConfirmation(std::function<bool(const QStringList&)> confirm) { confirm_ = std::move(confirm); }

    bool isBusy() const { return scanning_ || loadingDetails_; }

    // What the page shows, for tests.
    const RunListModel* runs() const { return model_; }
    QString currentMetric() const;
    void setCurrentMetric(const QString& name);
    int curveCount() const;               // graphs in the overlay plot
    QStringList differingKeys() const;    // the diff table's rows
    QString messageText() const;

  Q_SIGNALS:
    // The main window (TrainingWorker) continues the run from its newest checkpoint.
    void resumeRequested(const QString& runPath);
    void runsChanged(int count);
    void detailsShown();
    void logMessage(const QString& text);

    // Internal: queued commands to the worker.
    void scanRequested(quint64 id, const QString& dir);
    void detailsRequested(quint64 id, const QStringList& paths);
    void saveNotesRequested(const QString& path, const ponet::RunNotes& notes);
    void removeRequested(const QString& path);

  private:
    void onScanned(quint64 id, const QList<RunRecord>& runs);
    void onDetails(quint64 id, const RunDetails& details);
    void onSelectionChanged();
    void onNotesSaved(const QString& path, bool ok, const QString& message);
    void onRemoved(const QString& path, bool ok, const QString& message);
    void updatePlot();
    void updateButtons();
    void watchFolder();

    QString runsDir_;
    RunDetails details_;
    std::function<bool(const QStringList&)> confirm_;

    InlineMessage* message_ = nullptr;
    QLabel* folderLabel_ = nullptr;
    QTableView* table_ = nullptr;
    RunListModel* model_ = nullptr;
    QSortFilterProxyModel* proxy_ = nullptr;
    QPushButton* resumeButton_ = nullptr;
    QPushButton* openButton_ = nullptr;
    QPushButton* deleteButton_ = nullptr;
    QComboBox* metricCombo_ = nullptr;
    QCustomPlot* plot_ = nullptr;
    QTableWidget* diff_ = nullptr;
    QLabel* diffNote_ = nullptr;

    QFileSystemWatcher watcher_;
    QTimer rescanDebounce_;  // collapses a burst of file-system events into one scan
    QTimer settleRescan_;    // and once more when the burst is over
    QTimer livePoll_;        // running runs change inside their folders, which the watcher does not see
    quint64 scanId_ = 0, detailsId_ = 0;
    bool scanning_ = false, loadingDetails_ = false, rescanPending_ = false;
    int pendingRemovals_ = 0;

    QThread thread_;
    std::unique_ptr<RunLibraryWorker> worker_;
};

}  // namespace ponet::gui
