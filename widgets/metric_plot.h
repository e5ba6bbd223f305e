// A live metric plot (QCustomPlot) for training curves: several series, each keyed by (run id, metric), so
// one plot can follow a live run or overlay the curves of several runs. Points arrive at any rate and are
// drawn on a UI timer; each series is shown smoothed over its raw curve, drawn faint behind. The view follows
// the newest points until the user pans or zooms; a double click (or "Follow latest") brings it back.
#pragma once
#include <QColor>
#include <QHash>
#include <QString>
#include <QTimer>
#include <QVector>
#include <QWidget>

#include "widgets/smoothing.h"

class QCustomPlot;
class QCPGraph;
class QCPItemStraightLine;
class QCPLayoutGrid;
class QMouseEvent;

namespace ponet::gui {

struct MetricPoint {
    double step = 0;     // optimizer steps done
    double epoch = 0;    // fractional epoch
    double seconds = 0;  // wall time since the run started
    double value = 0;
};

enum class XAxisKind { Step, Epoch, WallTime };

// How every series of a plot is shown; the Train page shares one across its plots.
struct PlotStyle {
    Smoothing smoothing = Smoothing::Ema;
    double emaWeight = 0.6;  // 0 = raw, towards 1 = smoother
    int window = 10;         // moving-average points
    bool logY = false;
    XAxisKind xAxis = XAxisKind::Step;
    bool operator==(const PlotStyle& o) const;
    bool operator!=(const PlotStyle& o) const { return !(*this == o); }
};

struct SeriesOptions {
    QString label;           // legend text; empty: "<run> · <metric>" (or the metric alone for one run)
    QColor color;            // invalid: the next colour of the palette
    bool rightAxis = false;  // a second quantity with its own scale (memory beside tokens/s)
    bool markers = false;    // sparse points (evaluations): drawn as dots joined by a line, never smoothed
    bool smoothable = true;  // false for exact quantities (the learning rate): always drawn raw
};

class MetricPlot : public QWidget {
    Q_OBJECT
  public:
    explicit MetricPlot(const QString& title, QWidget* parent = nullptr);
    ~MetricPlot() override;

    QString title() const { return title_; }
    void setYLabel(const QString& text, const QString& rightText = {});

    // Adds (or replaces) the series (runId, metric) with `points`.
    void addSeries(const QString& runId, const QString& metric, const QVector<MetricPoint>& points,
                   const SeriesOptions& options = {});
    // Appends to the series, creating it with `options` when it does not exist yet.
    void appendPoints(const QString& runId, const QString& metric, const QVector<MetricPoint>& points,
                      const SeriesOptions& options = {});
    void removeRun(const QString& runId);
    void clear();

    int seriesCount() const { return static_cast<int>(series_.size()); }
    bool hasSeries(const QString& runId, const QString& metric) const;
    QVector<MetricPoint> points(const QString& runId, const QString& metric) const;
    int totalPoints() const;

    void setPlotStyle(const PlotStyle& style);
    PlotStyle plotStyle() const { return style_; }
    bool isFollowing() const { return following_; }
    void setFollowing(bool follow);

    // The hover read-out for x (in the current axis unit): the nearest point of each series, smoothed and
    // raw. Empty when there is no data.
    QString readoutAt(double x) const;

    // CSV with one row per point of every series: run,metric,step,epoch,seconds,value. Atomic (QSaveFile).
    bool exportCsv(const QString& path, QString* error = nullptr) const;
    // PNG, PDF or SVG by the file's suffix, at the widget's size (PNG at twice its pixels for sharp slides; SVG
    // written from the plot's content by svg_export.h).
    bool exportImage(const QString& path, QString* error = nullptr);
    static QStringList imageFormats();  // "png", "pdf", "svg"

    // Draws pending points at once instead of on the next timer tick (tests, screenshots).
    void redrawNow();
    QCustomPlot* customPlot() const { return plot_; }

    static constexpr int kRedrawIntervalMs = 250;

  Q_SIGNALS:
    void followingChanged(bool following);
    void pointsAppended(const QString& runId, const QString& metric, int count);
    void redrawn();

  protected:
    void contextMenuEvent(QContextMenuEvent* event) override;

  private:
    struct Series {
        QString runId, metric;
        SeriesOptions options;
        QVector<MetricPoint> points;
        QCPGraph* raw = nullptr;
        QCPGraph* smooth = nullptr;
    };
    static QString keyOf(const QString& runId, const QString& metric);
    Series& ensureSeries(const QString& runId, const QString& metric, const SeriesOptions& options);
    void scheduleRedraw();
    void rebuildGraphs();
    void showLegend(bool shown);
    void fitView();
    double xOf(const MetricPoint& p) const;
    QString xText(double x) const;
    void applyAxes();
    void onMouseMove(QMouseEvent* event);
    void onUserNavigates();
    void chooseCsvExport();
    void chooseImageExport();

    QString title_;
    QCustomPlot* plot_ = nullptr;
    // The legend's row: a spacer, the legend (no wider than its entries) and a spacer, so the entries sit centred
    // under the title; in the plot's layout only while the legend is shown.
    QCPLayoutGrid* legendRow_ = nullptr;
    QCPItemStraightLine* cursor_ = nullptr;
    QHash<QString, Series> series_;
    QStringList order_;  // keys in insertion order: legend order and colours
    PlotStyle style_;
    bool following_ = true;
    bool dirty_ = false;
    QTimer redrawTimer_;
    int nextColour_ = 0;
};

}  // namespace ponet::gui
