// The run library's table: one row per run directory (name, status, task, steps, best metric, tags, notes,
// last change). Tags and notes are edited in place; the model says so through notesEdited and the page saves
// them in the run's folder.
#pragma once
#include <QAbstractTableModel>
#include <QList>

#include "widgets/run_library_worker.h"

namespace ponet::gui {

class RunListModel : public QAbstractTableModel {
    Q_OBJECT
  public:
    enum Column {
        NameColumn,
        StatusColumn,
        TaskColumn,
        StepsColumn,
        BestColumn,
        TagsColumn,
        NotesColumn,
        ModifiedColumn,
        ColumnCount
    };
    static constexpr int PathRole = Qt::UserRole + 1;
    static constexpr int SortRole = Qt::UserRole + 2;

    explicit RunListModel(QObject* parent = nullptr);

    // Replaces the rows, keeping unchanged rows in place so that the selection survives a rescan.
    void setRuns(const QList<RunRecord>& runs);
    void setNotes(const QString& path, const ponet::RunNotes& notes);
    int rowOf(const QString& path) const;  // -1 when absent
    const RunRecord& run(int row) const { return runs_[row]; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

  Q_SIGNALS:
    void notesEdited(const QString& path, const ponet::RunNotes& notes);

  private:
    QList<RunRecord> runs_;
};

QString runStateText(ponet::RunState state);

}  // namespace ponet::gui
