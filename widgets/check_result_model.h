// The self-test's results as a table model: one row per ponet::CheckResult, appended as checks finish.
#pragma once
#include <QAbstractTableModel>
#include <QIcon>

#include <vector>

#include "widgets/core_metatypes.h"

namespace ponet::gui {

class CheckResultModel : public QAbstractTableModel {
    Q_OBJECT
  public:
    enum Column {
        StatusColumn,
        NameColumn,
        DeviceColumn,
        ErrorColumn,
        ToleranceColumn,
        MetricColumn,
        DetailColumn,
        ColumnCount
    };
    // Sorts the status column failures-first and the numeric columns by value, not by their text.
    static constexpr int SortRole = Qt::UserRole + 1;

    explicit CheckResultModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    void append(const ponet::CheckResult& result);
    void clear();
    const ponet::CheckResult& result(int row) const { return results_[static_cast<size_t>(row)]; }
    int passed() const { return passed_; }
    int failed() const { return static_cast<int>(results_.size()) - passed_; }

  private:
    std::vector<ponet::CheckResult> results_;
    int passed_ = 0;
    QIcon passIcon_;
    QIcon failIcon_;
};

}  // namespace ponet::gui
