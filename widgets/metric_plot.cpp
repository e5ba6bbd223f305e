#include "widgets/metric_plot.h"

#include <QContextMenuEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QLocale>
#include <QMenu>
#include <QMessageBox>
#include <QSaveFile>
#include <QToolTip>
#include <QVBoxLayout>

#include <cmath>
#include <limits>

#include "widgets/qcp.h"
#include "widgets/svg_export.h"

namespace ponet::gui {
namespace {

// Steps on the x axis: whole numbers only (a four-step race was labelled 1, 1.5, 2, … 4).
class StepTicker : public QCPAxisTicker {
  protected:
    double getTickStep(const QCPRange& range) override {
        const double step = QCPAxisTicker::getTickStep(range);
        return step < 1 ? 1 : std::floor(step);
    }
    int getSubTickCount(double tickStep) override {
        return tickStep <= 1 ? 0 : QCPAxisTicker::getSubTickCount(tickStep);
    }
};

// Elapsed wall time on the x axis: hours, minutes and seconds for anything from ten seconds up, and plain
// seconds with decimals below that (a short race lasts two seconds, and a time format stops at whole seconds:
// it gave such an axis a single tick).
class ElapsedTimeTicker : public QCPAxisTickerTime {
  public:
    ElapsedTimeTicker() { setTimeFormat(QStringLiteral("%h:%m:%s")); }

  protected:
    double getTickStep(const QCPRange& range) override {
        fine_ = range.size() < 10;
        return fine_ ? QCPAxisTicker::getTickStep(range) : QCPAxisTickerTime::getTickStep(range);
    }
    int getSubTickCount(double tickStep) override {
        return fine_ ? QCPAxisTicker::getSubTickCount(tickStep) : QCPAxisTickerTime::getSubTickCount(tickStep);
    }
    QString getTickLabel(double tick, const QLocale& locale, QChar formatChar, int precision) override {
        if (!fine_) return QCPAxisTickerTime::getTickLabel(tick, locale, formatChar, precision);
        return QCPAxisTicker::getTickLabel(tick, locale, formatChar, precision) + QStringLiteral(" s");
    }

  private:
    bool fine_ = false;
};

// Colour-blind-friendly qualitative palette (Okabe & Ito), in the order series are added.
const QColor kPalette[] = {QColor(0, 114, 178), QColor(213, 94, 0),  QColor(0, 158, 115),
                           QColor(204, 121, 167), QColor(230, 159, 0), QColor(86, 180, 233),
                           QColor(120, 120, 120), QColor(240, 228, 66)};

QString number(double v) {
    if (!std::isfinite(v)) return QStringLiteral("–");
    const double a = std::fabs(v);
    if (a != 0 && (a < 1e-3 || a >= 1e6)) return QString::number(v, 'e', 3);
    return QString::number(v, 'g', 5);
}

QString csvField(const QString& s) {
    if (!s.contains(QLatin1Char(',')) && !s.contains(QLatin1Char('"')) && !s.contains(QLatin1Char('\n')))
        return s;
    QString q = s;
    q.replace(QLatin1Char('"'), QStringLiteral("\"\""));
    return QLatin1Char('"') + q + QLatin1Char('"');
}

// The shortest text that reads back to the same double; empty for NaN (a missing value).
QByteArray csvNumber(double v) {
    if (!std::isfinite(v)) return {};
    return QString::number(v, 'g', QLocale::FloatingPointShortest).toUtf8();
}

}  // namespace

bool PlotStyle::operator==(const PlotStyle& o) const {
    return smoothing == o.smoothing && emaWeight == o.emaWeight && window == o.window && logY == o.logY &&
           xAxis == o.xAxis;
}

MetricPlot::MetricPlot(const QString& title, QWidget* parent) : QWidget(parent), title_(title) {
    setAccessibleName(title);
    plot_ = new QCustomPlot(this);
    plot_->setObjectName(QStringLiteral("customPlot"));
    plot_->setMinimumSize(200, 120);
    plot_->setMouseTracking(true);
    plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    plot_->setNoAntialiasingOnDrag(true);
    plot_->setToolTip(tr("Drag to pan, wheel to zoom, double-click to follow the newest points; right-click "
                         "for export and options"));

    QFont titleFont = font();
    titleFont.setBold(true);
    plot_->plotLayout()->insertRow(0);
    auto* titleElement = new QCPTextElement(plot_, title, titleFont);
    titleElement->setMargins(QMargins(0, 2, 0, 0));
    plot_->plotLayout()->addElement(0, 0, titleElement);

    QFont small = font();
    small.setPointSizeF(std::max(6.0, small.pointSizeF() - 1.5));
    plot_->xAxis->setTickLabelFont(small);
    plot_->yAxis->setTickLabelFont(small);
    plot_->yAxis2->setTickLabelFont(small);
    plot_->xAxis->setLabelFont(small);
    plot_->yAxis->setLabelFont(small);
    plot_->yAxis2->setLabelFont(small);
    plot_->legend->setFont(small);
    // The legend is a row under the title, out of the data's way: these plots are small (a three-entry legend
    // inside one of the Train page's took over half its height and hid the newest points whatever the corner).
    // It joins the layout only while there is more than one series to name (showLegend).
    plot_->legend->setVisible(false);
    plot_->legend->setBrush(Qt::NoBrush);
    plot_->legend->setBorderPen(Qt::NoPen);
    plot_->legend->setFillOrder(QCPLegend::foColumnsFirst);
    plot_->legend->setColumnSpacing(12);
    plot_->legend->setMargins(QMargins(4, 0, 4, 0));
    plot_->axisRect()->insetLayout()->take(plot_->legend);
    plot_->axisRect()->insetLayout()->simplify();
    // Centred in its row: the legend's column is capped at the entries' width (updated before every replot, as
    // entries come and go), and the two spacers beside it share what is left.
    legendRow_ = new QCPLayoutGrid;
    legendRow_->setParent(plot_);  // deleted with the plot while out of its layout
    legendRow_->setColumnSpacing(0);
    legendRow_->addElement(0, 0, new QCPLayoutElement(plot_));
    legendRow_->addElement(0, 1, plot_->legend);
    legendRow_->addElement(0, 2, new QCPLayoutElement(plot_));
    plot_->legend->setSizeConstraintRect(QCPLayoutElement::scrOuterRect);
    connect(plot_, &QCustomPlot::beforeReplot, this, [this] {
        if (plot_->legend->visible())
            plot_->legend->setMaximumSize(plot_->legend->minimumOuterSizeHint().width(), QWIDGETSIZE_MAX);
    });
    plot_->axisRect()->setRangeZoomAxes(plot_->xAxis, plot_->yAxis);
    plot_->axisRect()->setRangeDragAxes(plot_->xAxis, plot_->yAxis);

    cursor_ = new QCPItemStraightLine(plot_);
    cursor_->setPen(QPen(QColor(120, 120, 120), 1, Qt::DashLine));
    cursor_->setVisible(false);
    cursor_->setSelectable(false);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(plot_);

    redrawTimer_.setSingleShot(true);
    redrawTimer_.setInterval(kRedrawIntervalMs);
    connect(&redrawTimer_, &QTimer::timeout, this, &MetricPlot::redrawNow);

    connect(plot_, &QCustomPlot::mousePress, this, [this](QMouseEvent* e) {
        if (e->button() == Qt::LeftButton) onUserNavigates();
    });
    connect(plot_, &QCustomPlot::mouseWheel, this, [this](QWheelEvent*) { onUserNavigates(); });
    connect(plot_, &QCustomPlot::mouseDoubleClick, this, [this](QMouseEvent*) { setFollowing(true); });
    connect(plot_, &QCustomPlot::mouseMove, this, &MetricPlot::onMouseMove);
    applyAxes();
    plot_->replot();
}

MetricPlot::~MetricPlot() = default;

void MetricPlot::setYLabel(const QString& text, const QString& rightText) {
    plot_->yAxis->setLabel(text);
    plot_->yAxis2->setLabel(rightText);
    scheduleRedraw();
}

void MetricPlot::showLegend(bool shown) {
    QCPLayoutGrid* layout = plot_->plotLayout();
    const bool placed = legendRow_->layout() == layout;
    if (shown && !placed) {
        layout->insertRow(1);  // under the title
        layout->addElement(1, 0, legendRow_);
        layout->setRowStretchFactor(1, 0.001);  // as tall as its entries, the rest to the axes
    } else if (!shown && placed) {
        layout->take(legendRow_);  // handed back to the plot as its QObject parent
        layout->simplify();  // drops the emptied row
    }
    plot_->legend->setVisible(shown);
}

QString MetricPlot::keyOf(const QString& runId, const QString& metric) {
    return runId + QChar(0x1f) + metric;
}

MetricPlot::Series& MetricPlot::ensureSeries(const QString& runId, const QString& metric,
                                             const SeriesOptions& options) {
    const QString key = keyOf(runId, metric);
    auto it = series_.find(key);
    if (it != series_.end()) return *it;
    Series s;
    s.runId = runId;
    s.metric = metric;
    s.options = options;
    if (!s.options.color.isValid()) s.options.color = kPalette[nextColour_++ % std::size(kPalette)];
    QCPAxis* y = options.rightAxis ? plot_->yAxis2 : plot_->yAxis;
    s.raw = plot_->addGraph(plot_->xAxis, y);
    s.smooth = plot_->addGraph(plot_->xAxis, y);
    order_ << key;
    return *series_.insert(key, s);
}

void MetricPlot::addSeries(const QString& runId, const QString& metric, const QVector<MetricPoint>& points,
                           const SeriesOptions& options) {
    const QString key = keyOf(runId, metric);
    if (series_.contains(key)) {
        Series& s = series_[key];
        s.options = options;
        if (!s.options.color.isValid()) s.options.color = kPalette[order_.indexOf(key) % std::size(kPalette)];
        s.points = points;
    } else {
        ensureSeries(runId, metric, options).points = points;
    }
    Q_EMIT pointsAppended(runId, metric, static_cast<int>(points.size()));
    scheduleRedraw();
}

void MetricPlot::appendPoints(const QString& runId, const QString& metric, const QVector<MetricPoint>& points,
                              const SeriesOptions& options) {
    if (points.isEmpty()) return;
    ensureSeries(runId, metric, options).points += points;
    Q_EMIT pointsAppended(runId, metric, static_cast<int>(points.size()));
    scheduleRedraw();
}

void MetricPlot::removeRun(const QString& runId) {
    for (auto it = series_.begin(); it != series_.end();) {
        if (it->runId == runId) {
            plot_->removeGraph(it->raw);
            plot_->removeGraph(it->smooth);
            order_.removeAll(it.key());
            it = series_.erase(it);
        } else {
            ++it;
        }
    }
    scheduleRedraw();
}

void MetricPlot::clear() {
    for (const Series& s : std::as_const(series_)) {
        plot_->removeGraph(s.raw);
        plot_->removeGraph(s.smooth);
    }
    series_.clear();
    order_.clear();
    nextColour_ = 0;
    setFollowing(true);
    scheduleRedraw();
}

bool MetricPlot::hasSeries(const QString& runId, const QString& metric) const {
    return series_.contains(keyOf(runId, metric));
}

QVector<MetricPoint> MetricPlot::points(const QString& runId, const QString& metric) const {
    return series_.value(keyOf(runId, metric)).points;
}

int MetricPlot::totalPoints() const {
    int n = 0;
    for (const Series& s : series_) n += static_cast<int>(s.points.size());
    return n;
}

void MetricPlot::setPlotStyle(const PlotStyle& style) {
    if (style == style_) return;
    const bool axisChanged = style.xAxis != style_.xAxis || style.logY != style_.logY;
    style_ = style;
    applyAxes();
    if (axisChanged) setFollowing(true);
    dirty_ = true;
    redrawNow();
}

void MetricPlot::setFollowing(bool follow) {
    if (follow == following_) {
        if (follow) scheduleRedraw();
        return;
    }
    following_ = follow;
    Q_EMIT followingChanged(follow);
    if (follow) scheduleRedraw();
}

void MetricPlot::onUserNavigates() {
    if (!series_.isEmpty()) setFollowing(false);
}

void MetricPlot::scheduleRedraw() {
    dirty_ = true;
    if (!redrawTimer_.isActive()) redrawTimer_.start();
}

double MetricPlot::xOf(const MetricPoint& p) const {
    switch (style_.xAxis) {
        case XAxisKind::Epoch:
            return p.epoch;
        case XAxisKind::WallTime:
            return p.seconds;
        case XAxisKind::Step:
            break;
    }
    return p.step;
}

QString MetricPlot::xText(double x) const {
    switch (style_.xAxis) {
        case XAxisKind::Epoch:
            return tr("epoch %1").arg(QString::number(x, 'f', 2));
        case XAxisKind::WallTime: {
            const qint64 s = static_cast<qint64>(std::llround(x));
            return tr("%1:%2:%3 elapsed")
                .arg(s / 3600)
                .arg((s / 60) % 60, 2, 10, QLatin1Char('0'))
                .arg(s % 60, 2, 10, QLatin1Char('0'));
        }
        case XAxisKind::Step:
            break;
    }
    return tr("step %1").arg(static_cast<qint64>(std::llround(x)));
}

void MetricPlot::applyAxes() {
    switch (style_.xAxis) {
        case XAxisKind::Step:
            plot_->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new StepTicker));
            plot_->xAxis->setLabel(tr("step"));
            break;
        case XAxisKind::Epoch:
            plot_->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
            plot_->xAxis->setLabel(tr("epoch"));
            break;
        case XAxisKind::WallTime: {
            plot_->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new ElapsedTimeTicker));
            plot_->xAxis->setLabel(tr("wall time"));
            break;
        }
    }
    if (style_.logY) {
        plot_->yAxis->setScaleType(QCPAxis::stLogarithmic);
        plot_->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTickerLog));
    } else {
        plot_->yAxis->setScaleType(QCPAxis::stLinear);
        plot_->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    }
}

void MetricPlot::rebuildGraphs() {
    int runs = 0;
    {
        QStringList seen;
        for (const Series& s : series_) {
            if (!seen.contains(s.runId)) seen << s.runId;
        }
        runs = static_cast<int>(seen.size());
    }
    bool right = false;
    plot_->legend->clearItems();
    for (const QString& key : std::as_const(order_)) {
        Series& s = series_[key];
        right = right || s.options.rightAxis;
        std::vector<double> xs, ys;
        xs.reserve(static_cast<size_t>(s.points.size()));
        ys.reserve(static_cast<size_t>(s.points.size()));
        for (const MetricPoint& p : std::as_const(s.points)) {
            // A log axis cannot show zero or negative values; they become gaps rather than a wrong scale.
            const bool usable = std::isfinite(p.value) && (!style_.logY || s.options.rightAxis || p.value > 0);
            xs.push_back(xOf(p));
            ys.push_back(usable ? p.value : std::numeric_limits<double>::quiet_NaN());
        }
        std::vector<double> smooth;
        const bool smoothed = !s.options.markers && s.options.smoothable && style_.smoothing != Smoothing::None;
        if (smoothed) {
            smooth = style_.smoothing == Smoothing::Ema ? emaBiasCorrected(ys, style_.emaWeight)
                                                         : trailingMovingAverage(ys, style_.window);
        }
        const QVector<double> keys(xs.begin(), xs.end());
        const QColor c = s.options.color;
        QColor faint = c;
        faint.setAlpha(60);
        s.raw->setData(keys, QVector<double>(ys.begin(), ys.end()), true);
        s.raw->setPen(QPen(smoothed ? faint : c, smoothed ? 1.0 : 1.6));
        s.raw->setLineStyle(QCPGraph::lsLine);
        s.raw->setScatterStyle(s.options.markers ? QCPScatterStyle(QCPScatterStyle::ssDisc, c, c, 5)
                                                 : QCPScatterStyle());
        s.smooth->setVisible(smoothed);
        if (smoothed) {
            s.smooth->setData(keys, QVector<double>(smooth.begin(), smooth.end()), true);
            s.smooth->setPen(QPen(c, 1.8));
        } else {
            s.smooth->data()->clear();
        }
        QString name = s.options.label;
        if (name.isEmpty()) name = runs > 1 ? tr("%1 · %2").arg(s.runId, s.metric) : s.metric;
        QCPGraph* shown = smoothed ? s.smooth : s.raw;
        shown->setName(name);
        shown->addToLegend();
    }
    showLegend(order_.size() > 1);
    plot_->yAxis2->setVisible(right);
}

void MetricPlot::fitView() {
    if (series_.isEmpty()) {
        plot_->xAxis->setRange(0, 1);
        plot_->yAxis->setRange(style_.logY ? 0.1 : 0, 1);
        return;
    }
    plot_->rescaleAxes(true);
    // The data's own extent on an axis (QCustomPlot widens a single value to ±0.5 when it rescales).
    auto dataRange = [this](QCPAxis* axis, bool keys, bool* found) {
        QCPRange all;
        *found = false;
        for (int i = 0; i < plot_->graphCount(); ++i) {
            QCPGraph* g = plot_->graph(i);
            if (!g->visible() || (keys ? g->keyAxis() : g->valueAxis()) != axis) continue;
            bool ok = false;
            const QCPRange r = keys ? g->getKeyRange(ok) : g->getValueRange(ok);
            if (!ok) continue;
            all = *found ? QCPRange(std::min(all.lower, r.lower), std::max(all.upper, r.upper)) : r;
            *found = true;
        }
        return all;
    };
    // A little head room so the newest point is not glued to the frame; a lone value (the first evaluation)
    // sits inside a range from zero instead of in the middle of a ±0.5 band around it.
    auto pad = [&](QCPAxis* axis) {
        bool found = false;
        const QCPRange data = dataRange(axis, false, &found);
        const QCPRange r = axis->range();
        if (axis->scaleType() == QCPAxis::stLogarithmic) {
            if (found && data.size() <= 0 && data.lower > 0)
                axis->setRange(data.lower / 2, data.lower * 2);
            else if (r.lower > 0)
                axis->setRange(r.lower / 1.15, r.upper * 1.15);
            return;
        }
        if (found && data.size() <= 0) {
            const double v = data.lower;
            axis->setRange(v > 0 ? QCPRange(0, 1.25 * v) : v < 0 ? QCPRange(1.25 * v, 0) : QCPRange(0, 1));
            return;
        }
        const double span = r.size() > 0 ? r.size() : std::max(1e-9, std::fabs(r.lower));
        axis->setRange(r.lower - 0.05 * span, r.upper + 0.05 * span);
    };
    pad(plot_->yAxis);
    if (plot_->yAxis2->visible()) pad(plot_->yAxis2);
    // Steps, epochs and seconds all start at zero: a lone point is shown from there.
    bool found = false;
    const QCPRange keys = dataRange(plot_->xAxis, true, &found);
    if (found && keys.size() <= 0)
        plot_->xAxis->setRange(keys.lower > 0 ? QCPRange(0, 1.05 * keys.lower) : QCPRange(keys.lower - 0.5, keys.upper + 0.5));
    else if (found)  // room for the last marker (an evaluation at the final step) to show whole
        plot_->xAxis->setRange(keys.lower, keys.upper + 0.02 * keys.size());
}

void MetricPlot::redrawNow() {
    redrawTimer_.stop();
    if (!dirty_) return;
    dirty_ = false;
    rebuildGraphs();
    if (following_) fitView();
    plot_->replot(QCustomPlot::rpQueuedReplot);
    Q_EMIT redrawn();
}

QString MetricPlot::readoutAt(double x) const {
    QStringList lines;
    double nearestX = std::numeric_limits<double>::quiet_NaN();
    for (const QString& key : order_) {
        const Series& s = series_[key];
        if (s.points.isEmpty()) continue;
        int best = -1;
        double bestDistance = std::numeric_limits<double>::infinity();
        for (int i = 0; i < s.points.size(); ++i) {
            const double d = std::fabs(xOf(s.points[i]) - x);
            if (d < bestDistance && std::isfinite(s.points[i].value)) {
                bestDistance = d;
                best = i;
            }
        }
        if (best < 0) continue;
        if (std::isnan(nearestX)) nearestX = xOf(s.points[best]);
        const QString name = s.options.label.isEmpty() ? s.metric : s.options.label;
        const QString run = series_.size() > 1 && !s.runId.isEmpty() ? QStringLiteral(" [%1]").arg(s.runId)
                                                                      : QString();
        QCPGraph* smooth = s.smooth;
        const bool smoothed = smooth && smooth->visible() && best < smooth->data()->size();
        if (smoothed) {
            const double sv = (smooth->data()->constBegin() + best)->value;
            lines << tr("%1%2: %3 (raw %4) at %5")
                         .arg(name, run, number(sv), number(s.points[best].value), xText(xOf(s.points[best])));
        } else {
            lines << tr("%1%2: %3 at %4").arg(name, run, number(s.points[best].value), xText(xOf(s.points[best])));
        }
    }
    return lines.join(QLatin1Char('\n'));
}

void MetricPlot::onMouseMove(QMouseEvent* event) {
    if (series_.isEmpty() || !plot_->axisRect()->rect().contains(event->pos())) {
        if (cursor_->visible()) {
            cursor_->setVisible(false);
            plot_->replot(QCustomPlot::rpQueuedReplot);
        }
        QToolTip::hideText();
        return;
    }
    const double x = plot_->xAxis->pixelToCoord(event->pos().x());
    cursor_->point1->setCoords(x, 0);
    cursor_->point2->setCoords(x, 1);
    cursor_->setVisible(true);
    plot_->replot(QCustomPlot::rpQueuedReplot);
    const QString text = readoutAt(x);
    if (!text.isEmpty()) QToolTip::showText(event->globalPosition().toPoint(), text, plot_);
}

bool MetricPlot::exportCsv(const QString& path, QString* error) const {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Text)) {
        if (error) *error = tr("Cannot write %1: %2").arg(path, file.errorString());
        return false;
    }
    QByteArray out = "run,metric,step,epoch,seconds,value\n";
    for (const QString& key : order_) {
        const Series& s = series_[key];
        for (const MetricPoint& p : s.points) {
            out += csvField(s.runId).toUtf8() + ',' + csvField(s.metric).toUtf8() + ',' + csvNumber(p.step) + ',' +
                   csvNumber(p.epoch) + ',' + csvNumber(p.seconds) + ',' + csvNumber(p.value) + '\n';
        }
    }
    file.write(out);
    if (!file.commit()) {
        if (error) *error = tr("Cannot write %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

QStringList MetricPlot::imageFormats() {
    return {QStringLiteral("png"), QStringLiteral("pdf"), QStringLiteral("svg")};
}

bool MetricPlot::exportImage(const QString& path, QString* error) {
    redrawNow();
    const QString suffix = QFileInfo(path).suffix().toLower();
    bool ok = false;
    if (suffix == QLatin1String("png")) {
        ok = plot_->savePng(path, plot_->width(), plot_->height(), 2.0);
    } else if (suffix == QLatin1String("pdf")) {
        ok = plot_->savePdf(path, plot_->width(), plot_->height(), QCP::epNoCosmetic, title_);
    } else if (suffix == QLatin1String("svg")) {
        SvgExportOptions o;
        o.title = title_;
        if (plot_->width() >= 200 && plot_->height() >= 150) o.size = plot_->size();
        return savePlotSvg(*plot_, path, o, error);
    } else {
        if (error) *error = tr("Cannot save “%1”: choose a .png, .pdf or .svg file name.").arg(path);
        return false;
    }
    if (!ok && error) *error = tr("Could not write the image %1.").arg(path);
    return ok;
}

void MetricPlot::chooseCsvExport() {
    const QString path = QFileDialog::getSaveFileName(this, tr("Export Plot Data"),
                                                      title_ + QStringLiteral(".csv"), tr("CSV files (*.csv)"));
    if (path.isEmpty()) return;
    QString error;
    if (!exportCsv(path, &error)) QMessageBox::warning(this, tr("Export Plot Data"), error);
}

void MetricPlot::chooseImageExport() {
    const QString path = QFileDialog::getSaveFileName(this, tr("Export Plot Image"),
                                                      title_ + QStringLiteral(".png"),
                                                      tr("PNG images (*.png);;PDF documents (*.pdf);;SVG images (*.svg)"));
    if (path.isEmpty()) return;
    QString error;
    if (!exportImage(path, &error)) QMessageBox::warning(this, tr("Export Plot Image"), error);
}

void MetricPlot::contextMenuEvent(QContextMenuEvent* event) {
    QMenu menu(this);
    QAction* follow = menu.addAction(tr("&Follow Latest"));
    follow->setCheckable(true);
    follow->setChecked(following_);
    connect(follow, &QAction::toggled, this, &MetricPlot::setFollowing);
    QAction* logY = menu.addAction(tr("&Logarithmic Y Axis"));
    logY->setCheckable(true);
    logY->setChecked(style_.logY);
    connect(logY, &QAction::toggled, this, [this](bool on) {
        PlotStyle s = style_;
        s.logY = on;
        setPlotStyle(s);
    });
    menu.addSeparator();
    menu.addAction(tr("Export &Data (CSV)…"), this, &MetricPlot::chooseCsvExport)->setEnabled(!series_.isEmpty());
    menu.addAction(tr("Export &Image (PNG, PDF, SVG)…"), this, &MetricPlot::chooseImageExport);
    menu.exec(event->globalPos());
}

}  // namespace ponet::gui
