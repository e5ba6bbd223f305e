// The run library's worker: scans the runs folder, reads the selected runs' curves and configurations, saves
// notes and deletes runs, on its own QThread, so a folder of many large runs never stalls the GUI thread.
#pragma once
#include <QList>
#include <QMetaType>
#include <QObject>
#include <QString>
#include <QStringList>

#include <vector>

#include "core/train/run_compare.h"
#include "core/train/run_directory.h"
#include "core/train/run_notes.h"

namespace ponet::gui {

struct RunRecord {
    ponet::RunSummary summary;
    ponet::RunNotes notes;
    QString notesProblem;  // why notes.json could not be read; empty when it could
};

struct RunDetails {
    QStringList paths;                     // the runs asked for, in order
    QStringList names;
    std::vector<ponet::RunMetrics> metrics;  // one per run
    std::vector<ponet::ConfigDifference> differences;
    QStringList problems;  // runs whose metrics or configuration could not be read, and why
};

class RunLibraryWorker : public QObject {
    Q_OBJECT
  public:
    using QObject::QObject;

    Q_SLOT void scan(quint64 id, const QString& runsDir);
    Q_SLOT void loadDetails(quint64 id, const QStringList& paths);
    Q_SLOT void saveNotes(const QString& path, const ponet::RunNotes& notes);
    Q_SLOT void remove(const QString& path);

  Q_SIGNALS:
    void scanned(quint64 id, const QList<ponet::gui::RunRecord>& runs);
    void detailsLoaded(quint64 id, const ponet::gui::RunDetails& details);
    void notesSaved(const QString& path, bool ok, const QString& message);
    void removed(const QString& path, bool ok, const QString& message);
};

void registerRunLibraryMetaTypes();

}  // namespace ponet::gui

Q_DECLARE_METATYPE(ponet::gui::RunRecord)
Q_DECLARE_METATYPE(ponet::gui::RunDetails)
Q_DECLARE_METATYPE(ponet::RunNotes)
