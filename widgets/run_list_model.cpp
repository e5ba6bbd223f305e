#include "widgets/run_list_model.h"

#include <QApplication>
#include <QDateTime>
#include <QLocale>
#include <QPalette>
#include <QStyle>

#include <cmath>

#include "core/train/run_notes.h"

namespace ponet::gui {

QString runStateText(ponet::RunState state) {
    switch (state) {
        case ponet::RunState::Running:
            return RunListModel::tr("running");
        case ponet::RunState::Finished:
            return RunListModel::tr("finished");
        case ponet::RunState::Failed:
            return RunListModel::tr("failed");
        case ponet::RunState::Stopped:
            return RunListModel::tr("stopped");
    }
    return {};
}

RunListModel::RunListModel(QObject* parent) : QAbstractTableModel(parent) {}

int RunListModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(runs_.size());
}

int RunListModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

int RunListModel::rowOf(const QString& path) const {
    for (int i = 0; i < runs_.size(); ++i)
        if (QString::fromStdString(runs_[i].summary.path) == path) return i;
    return -1;
}

void RunListModel::setRuns(const QList<RunRecord>& runs) {
    // Same paths in the same order: update in place (a live run's steps), so views keep their selection.
    bool samePaths = runs.size() == runs_.size();
    for (int i = 0; samePaths && i < runs.size(); ++i) samePaths = runs[i].summary.path == runs_[i].summary.path;
    if (samePaths) {
        runs_ = runs;
        if (!runs_.isEmpty()) Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
        return;
    }
    beginResetModel();
    runs_ = runs;
    endResetModel();
}

void RunListModel::setNotes(const QString& path, const ponet::RunNotes& notes) {
    const int row = rowOf(path);
    if (row < 0) return;
    runs_[row].notes = notes;
    runs_[row].notesProblem.clear();
    Q_EMIT dataChanged(index(row, TagsColumn), index(row, NotesColumn));
}

QVariant RunListModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= runs_.size()) return {};
    const RunRecord& r = runs_[index.row()];
    const ponet::RunSummary& s = r.summary;
    if (role == PathRole) return QString::fromStdString(s.path);
    if (role == Qt::DisplayRole || role == Qt::EditRole || role == SortRole) {
        switch (index.column()) {
            case NameColumn:
                return QString::fromStdString(s.name);
            case StatusColumn:
                return runStateText(s.state);
            case TaskColumn:
                return QString::fromStdString(s.task);
            case StepsColumn:
                return role == SortRole ? QVariant(static_cast<qlonglong>(s.steps))
                                        : QVariant(QLocale().toString(static_cast<qlonglong>(s.steps)));
            case BestColumn:
                if (!s.best_metric) return role == SortRole ? QVariant(-HUGE_VAL) : QVariant();
                if (role == SortRole) return *s.best_metric;
                return tr("%1 %2").arg(QString::fromStdString(s.best_metric_name),
                                       QLocale().toString(*s.best_metric, 'f', 4));
            case TagsColumn:
                return QString::fromStdString(ponet::join_tags(r.notes.tags));
            case NotesColumn:
                return role == Qt::DisplayRole ? QString::fromStdString(r.notes.notes).simplified()
                                               : QString::fromStdString(r.notes.notes);
            case ModifiedColumn: {
                const QDateTime t = QDateTime::fromSecsSinceEpoch(static_cast<qint64>(s.last_modified));
                if (role == SortRole) return static_cast<qlonglong>(s.last_modified);
                return QLocale().toString(t, QLocale::ShortFormat);
            }
        }
    } else if (role == Qt::ToolTipRole) {
        if (index.column() == StatusColumn && !s.message.empty()) return QString::fromStdString(s.message);
        if (index.column() == NotesColumn && !r.notesProblem.isEmpty()) return r.notesProblem;
        if (index.column() == NotesColumn) return QString::fromStdString(r.notes.notes);
        if (index.column() == NameColumn) return QString::fromStdString(s.path);
        if (index.column() == TagsColumn) return tr("Comma-separated; double-click to edit");
    } else if (role == Qt::DecorationRole && index.column() == StatusColumn) {
        QStyle* style = QApplication::style();
        switch (s.state) {
            case ponet::RunState::Running:
                return style->standardIcon(QStyle::SP_MediaPlay);
            case ponet::RunState::Finished:
                return style->standardIcon(QStyle::SP_DialogApplyButton);
            case ponet::RunState::Failed:
                return style->standardIcon(QStyle::SP_MessageBoxCritical);
            case ponet::RunState::Stopped:
                return style->standardIcon(QStyle::SP_MediaPause);
        }
    } else if (role == Qt::TextAlignmentRole && (index.column() == StepsColumn || index.column() == BestColumn)) {
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    }
    return {};
}

Qt::ItemFlags RunListModel::flags(const QModelIndex& index) const {
    Qt::ItemFlags f = QAbstractTableModel::flags(index);
    if (index.column() == TagsColumn || index.column() == NotesColumn) f |= Qt::ItemIsEditable;
    return f;
}

bool RunListModel::setData(const QModelIndex& index, const QVariant& value, int role) {
    if (role != Qt::EditRole || !index.isValid() || index.row() >= runs_.size()) return false;
    RunRecord& r = runs_[index.row()];
    ponet::RunNotes notes = r.notes;
    if (index.column() == TagsColumn) {
        notes.tags = ponet::parse_tags(value.toString().toStdString());
    } else if (index.column() == NotesColumn) {
        notes.notes = value.toString().toStdString();
    } else {
        return false;
    }
    if (notes.tags == r.notes.tags && notes.notes == r.notes.notes) return true;
    r.notes = notes;
    Q_EMIT dataChanged(index, index);
    Q_EMIT notesEdited(QString::fromStdString(r.summary.path), notes);
    return true;
}

QVariant RunListModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
        case NameColumn:
            return tr("Run");
        case StatusColumn:
            return tr("Status");
        case TaskColumn:
            return tr("Task");
        case StepsColumn:
            return tr("Steps");
        case BestColumn:
            return tr("Best");
        case TagsColumn:
            return tr("Tags");
        case NotesColumn:
            return tr("Notes");
        case ModifiedColumn:
            return tr("Changed");
    }
    return {};
}

}  // namespace ponet::gui
