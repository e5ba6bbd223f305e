// A standalone SVG of a QCustomPlot, written from the plot's own content (axes, their current ranges and scale,
// the ticks its tickers generate, each visible graph, the legend and a title) rather than by painting widgets,
// so no Qt SVG module is needed and the file is clean, editable vector art that opens in any browser.
#pragma once
#include <QByteArray>
#include <QSize>
#include <QString>

class QCustomPlot;

namespace ponet::gui {

struct SvgExportOptions {
    QString title;           // drawn above the plot; empty: none
    QSize size{800, 480};    // the picture, in SVG user units (pixels)
    QString fontFamily = QStringLiteral("DejaVu Sans, Helvetica, Arial, sans-serif");
    double fontSize = 12;    // tick labels are a little smaller, the title a little larger
};

// The SVG document. Each visible graph becomes one <polyline> (class "graph", with data-name = its legend
// name) holding its finite points in the current key range and one point either side, clipped to the axis
// rectangle; graphs with a scatter style also get a <circle> per point. Tick labels are <text class="tick">.
QByteArray plotToSvg(const QCustomPlot& plot, const SvgExportOptions& options = {});

// Writes plotToSvg() atomically (QSaveFile). False with a reason in *error when the file cannot be written.
bool savePlotSvg(const QCustomPlot& plot, const QString& path, const SvgExportOptions& options = {},
                 QString* error = nullptr);

}  // namespace ponet::gui
