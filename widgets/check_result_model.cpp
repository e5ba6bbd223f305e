#include "widgets/check_result_model.h"

#include <QBrush>

#include "widgets/number_format.h"
#include "widgets/status_icons.h"

namespace ponet::gui {

CheckResultModel::CheckResultModel(QObject* parent)
    : QAbstractTableModel(parent), passIcon_(statusIcon(true)), failIcon_(statusIcon(false)) {}

int CheckResultModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(results_.size());
}

int CheckResultModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant CheckResultModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount()) return {};
    const ponet::CheckResult& r = result(index.row());
    const int column = index.column();
    switch (role) {
        case Qt::DisplayRole:
            switch (column) {
                case StatusColumn:
                    return r.passed ? tr("passed") : tr("FAILED");
                case NameColumn:
                    return qstr(r.name);
                case DeviceColumn:
                    return qstr(r.device);
                case ErrorColumn:
                    return formatMeasure(r.error);
                case ToleranceColumn:
                    return formatMeasure(r.tolerance);
                case MetricColumn:
                    return qstr(r.metric);
                case DetailColumn:
                    return qstr(r.detail);
            }
            break;
        case SortRole:
            switch (column) {
                case StatusColumn:
                    return r.passed ? 1 : 0;
                case ErrorColumn:
                    return r.error;
                case ToleranceColumn:
                    return r.tolerance;
                default:
                    return data(index, Qt::DisplayRole);
            }
        case Qt::DecorationRole:
            if (column == StatusColumn) return r.passed ? passIcon_ : failIcon_;
            break;
        case Qt::ForegroundRole:
            if (column == StatusColumn && !r.passed) return QBrush(failColor());
            break;
        case Qt::ToolTipRole:
            if (column == NameColumn || column == DetailColumn) {
                return qstr(r.detail.empty() ? r.name : r.name + "\n" + r.detail);
            }
            break;
        case Qt::TextAlignmentRole:
            if (column == ErrorColumn || column == ToleranceColumn) {
                return static_cast<int>(Qt::AlignRight | Qt::AlignVCenter);
            }
            break;
        default:
            break;
    }
    return {};
}

QVariant CheckResultModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
        case StatusColumn:
            return tr("Status");
        case NameColumn:
            return tr("Check");
        case DeviceColumn:
            return tr("Device");
        case ErrorColumn:
            return tr("Error");
        case ToleranceColumn:
            return tr("Tolerance");
        case MetricColumn:
            return tr("Metric");
        case DetailColumn:
            return tr("Detail");
    }
    return {};
}

void CheckResultModel::append(const ponet::CheckResult& result) {
    const int row = rowCount();
    beginInsertRows({}, row, row);
    results_.push_back(result);
    if (result.passed) ++passed_;
    endInsertRows();
}

void CheckResultModel::clear() {
    beginResetModel();
    results_.clear();
    passed_ = 0;
    endResetModel();
}

}  // namespace ponet::gui
