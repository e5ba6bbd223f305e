// Keeps a plot's legend off its data: after every layout pass the legend moves to the corner of the axis rectangle
// that hides the least of the data (the newest points of a curve end up under a fixed top-right legend whenever the
// curve rises, and a benchmark's longest length always sits in that corner).
#pragma once
#include <QObject>
#include <QRect>

#include "widgets/qcp.h"

namespace ponet::gui {

// The legend's index in the axis rectangle's inset layout; -1 where the legend is elsewhere (MetricPlot's row).
int legendInsetIndex(const QCustomPlot& plot);

class LegendPlacer : public QObject {
    Q_OBJECT
public:
    // Owned by `plot`. The legend sits top right whenever that corner hides no more of the data than any other.
    explicit LegendPlacer(QCustomPlot* plot);

    // How much of the plot's visible graphs and texts `rect` (pixels, plus a few around it) would hide: the line
    // segments that cross it (the points, for graphs drawn without lines), and text items. Public for the tests.
    static int dataInside(const QCustomPlot& plot, const QRect& rect);
    // The rectangle a legend of `size` takes in `area` at `corner` (the inset layout's placement).
    static QRect cornerRect(const QRect& area, const QSize& size, Qt::Alignment corner);

private:
    void place();

    QCustomPlot* plot_;
};

}  // namespace ponet::gui
