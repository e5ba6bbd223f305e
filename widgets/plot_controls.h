// One row of controls that sets the PlotStyle of a group of MetricPlots: smoothing (EMA with its weight, or a
// moving average with its window), log-y, the x axis (step, epoch, wall time), "Follow latest" and export.
#pragma once
#include <QList>
#include <QPointer>
#include <QWidget>

#include "widgets/metric_plot.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QSpinBox;
class QToolButton;

namespace ponet::gui {

class PlotControls : public QWidget {
    Q_OBJECT
  public:
    explicit PlotControls(QWidget* parent = nullptr);

    // The plots this row drives; they receive the current style at once.
    void setPlots(const QList<MetricPlot*>& plots);
    PlotStyle plotStyle() const { return style_; }
    void setPlotStyle(const PlotStyle& style);

    // All plots' data as one CSV (a `plot` column first), atomically.
    bool exportCsv(const QString& path, QString* error = nullptr) const;

  Q_SIGNALS:
    void plotStyleChanged(const ponet::gui::PlotStyle& style);

  private:
    void readWidgets();
    void updateWidgets();
    void chooseExport();

    PlotStyle style_;
    QList<QPointer<MetricPlot>> plots_;
    QComboBox* smoothing_ = nullptr;
    QDoubleSpinBox* weight_ = nullptr;
    QSpinBox* window_ = nullptr;
    QCheckBox* logY_ = nullptr;
    QComboBox* xAxis_ = nullptr;
    QToolButton* follow_ = nullptr;
    QToolButton* export_ = nullptr;
    bool updating_ = false;
};

}  // namespace ponet::gui
