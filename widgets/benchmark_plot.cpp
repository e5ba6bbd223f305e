#include "widgets/benchmark_plot.h"

#include <QLocale>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "widgets/legend_placement.h"

namespace ponet::gui {

namespace {

QString lengthLabel(double length) {
    const auto n = static_cast<qint64>(std::llround(length));
    if (n >= 1024 && n % 1024 == 0) return QStringLiteral("%1K").arg(n / 1024);
    return QString::number(n);
}

// A tick's label: a plain number up to 9,999, then with a k, M or G suffix ("20M" tokens/s), never in exponent
// form (QCustomPlot draws "1e+03" as a power of ten, which reads oddly beside "700").
QString tickText(double v) {
    const QLocale locale;
    if (v >= 1e9) return locale.toString(v / 1e9, 'g', 4) + QLatin1Char('G');
    if (v >= 1e6) return locale.toString(v / 1e6, 'g', 4) + QLatin1Char('M');
    if (v >= 1e4) return locale.toString(v / 1e3, 'g', 4) + QLatin1Char('k');
    return locale.toString(v, 'g', 6);
}

// Labelled ticks at 1-2-5 steps per decade (1-1.5-2-3-5-7 when the range is narrow), so a log axis spanning
// less than a decade still reads.
QSharedPointer<QCPAxisTickerText> logTicks(double lo, double hi) {
    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    const int first = static_cast<int>(std::floor(std::log10(lo))),
              last = static_cast<int>(std::ceil(std::log10(hi)));
    for (const auto& steps : {std::vector<double>{1, 2, 5}, std::vector<double>{1, 1.5, 2, 3, 5, 7}}) {
        ticker->clear();
        int count = 0;
        for (int d = first; d <= last; ++d) {
            for (double m : steps) {
                const double v = m * std::pow(10.0, d);
                if (v < lo || v > hi) continue;
                ticker->addTick(v, tickText(v));
                ++count;
            }
        }
        if (count >= 4) break;
    }
    return ticker;
}

}  // namespace

BenchmarkPlot::BenchmarkPlot(const QString& title, QWidget* parent) : QCustomPlot(parent) {
    setMinimumSize(200, 170);
    plotLayout()->insertRow(0);
    QFont titleFont = font();
    titleFont.setBold(true);
    title_ = new QCPTextElement(this, title, titleFont);
    plotLayout()->addElement(0, 0, title_);

    xAxis->setScaleType(QCPAxis::stLogarithmic);
    yAxis->setScaleType(QCPAxis::stLogarithmic);
    xAxis->setLabel(tr("Sequence length (tokens)"));
    xAxis->grid()->setSubGridVisible(false);
    yAxis->grid()->setSubGridVisible(true);

    legend->setVisible(true);
    QFont legendFont = font();
    legendFont.setPointSizeF(std::max(7.0, legendFont.pointSizeF() * 0.9));
    legend->setFont(legendFont);
    legend->setBrush(QBrush(QColor(255, 255, 255, 220)));
    new LegendPlacer(this);  // top right unless that hides more points than another corner

    empty_ = new QCPItemText(this);
    empty_->setPositionAlignment(Qt::AlignCenter);
    empty_->position->setType(QCPItemPosition::ptAxisRectRatio);
    empty_->position->setCoords(0.5, 0.5);
    empty_->setColor(palette().color(QPalette::PlaceholderText));
    setSeries({}, QString(), QString());
}

QColor BenchmarkPlot::mixerColor(const QString& mixer) {
    if (mixer == QLatin1String("ponet")) return QColor(0x1f, 0x77, 0xb4);
    if (mixer == QLatin1String("fnet")) return QColor(0xe6, 0x7e, 0x22);
    if (mixer == QLatin1String("attention")) return QColor(0x2c, 0xa0, 0x2c);
    return QColor(0x7f, 0x7f, 0x7f);
}

void BenchmarkPlot::setSeries(const QVector<Series>& series, const QString& valueLabel,
                              const QString& emptyText) {
    clearGraphs();
    // Only the "no results" text is a permanent item; OOM marks are rebuilt each time.
    for (int i = itemCount() - 1; i >= 0; --i)
        if (item(i) != empty_) removeItem(i);

    std::set<double> ticks;
    double lo = HUGE_VAL, hi = 0;
    for (const Series& s : series) {
        for (double l : s.lengths) ticks.insert(l);
        for (double l : s.oomLengths) ticks.insert(l);
        for (double v : s.values)
            if (v > 0 && std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    }
    bool anyCurve = false;
    for (const Series& s : series) {
        if (s.lengths.isEmpty() && s.oomLengths.isEmpty()) continue;
        QCPGraph* g = addGraph();
        g->setName(s.label);
        QPen pen(s.color, s.dashed ? 1.5 : 2.2);
        if (s.dashed) pen.setStyle(Qt::DashLine);
        g->setPen(pen);
        g->setScatterStyle(QCPScatterStyle(s.dashed ? QCPScatterStyle::ssCircle : QCPScatterStyle::ssDisc,
                                           s.color, s.dashed ? 5 : 6));
        g->setData(s.lengths, s.values, true);
        anyCurve = anyCurve || !s.lengths.isEmpty();
        for (double l : s.oomLengths) {
            auto* mark = new QCPItemText(this);
            mark->position->setTypeX(QCPItemPosition::ptPlotCoords);
            mark->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
            // Stacked a little per curve so several OOM marks at one length stay readable.
            mark->position->setCoords(l, 0.06 + 0.07 * (graphCount() - 1));
            mark->setText(tr("OOM"));
            mark->setColor(s.color);
            QFont f = font();
            f.setBold(!s.dashed);
            f.setPointSizeF(std::max(7.0, f.pointSizeF() * 0.85));
            mark->setFont(f);
        }
    }

    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    for (double t : ticks) ticker->addTick(t, lengthLabel(t));
    xAxis->setTicker(ticker);
    if (!ticks.empty()) {
        xAxis->setRange(*ticks.begin() / 1.35, *ticks.rbegin() * 1.35);
    } else {
        xAxis->setRange(256, 32768);
    }
    // Leave room above for the legend and below for the OOM marks.
    const double yLo = hi > 0 ? lo / 2.2 : 0.1, yHi = hi > 0 ? hi * 3.0 : 100;
    yAxis->setRange(yLo, yHi);
    yAxis->setTicker(logTicks(yLo, yHi));
    yAxis->setLabel(valueLabel);
    legend->setVisible(graphCount() > 0);
    empty_->setText(anyCurve ? QString() : emptyText);
    empty_->setVisible(!anyCurve);
    replot();
}

}  // namespace ponet::gui
