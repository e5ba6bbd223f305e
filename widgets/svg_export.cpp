#include "widgets/svg_export.h"

#include <QCoreApplication>
#include <QSaveFile>
#include <QXmlStreamWriter>

#include <algorithm>
#include <cmath>
#include <limits>

#include "widgets/legend_placement.h"
#include "widgets/qcp.h"

namespace ponet::gui {
namespace {

QString num(double v) {
    return QString::number(v, 'f', 2);
}

// An empty <rect> at (x, y) of w × h; the caller adds its other attributes.
void writeRect(QXmlStreamWriter& xml, double x, double y, double w, double h) {
    xml.writeEmptyElement(QStringLiteral("rect"));
    xml.writeAttribute(QStringLiteral("x"), num(x));
    xml.writeAttribute(QStringLiteral("y"), num(y));
    xml.writeAttribute(QStringLiteral("width"), num(w));
    xml.writeAttribute(QStringLiteral("height"), num(h));
}

QString colour(const QColor& c) {
    return c.name(QColor::HexRgb);
}

// Text widths are estimated (no font metrics in a file that any renderer may draw with its own fonts): a
// generous average advance keeps labels clear of the axes.
double textWidth(const QString& s, double fontSize) {
    return 0.62 * fontSize * static_cast<double>(s.size());
}

struct AxisTicks {
    QVector<double> values;
    QVector<QString> labels;
};

AxisTicks ticksOf(const QCPAxis* axis, const QLocale& locale) {
    AxisTicks t;
    QVector<double> ticks;
    QVector<QString> labels;
    const QString format = axis->numberFormat();
    axis->ticker()->generate(axis->range(), locale, format.isEmpty() ? QLatin1Char('g') : format.at(0),
                             axis->numberPrecision(), ticks, nullptr, &labels);
    const QCPRange r = axis->range();
    for (int i = 0; i < ticks.size(); ++i) {
        if (ticks[i] < r.lower - 1e-9 * std::abs(r.size()) || ticks[i] > r.upper + 1e-9 * std::abs(r.size()))
            continue;
        t.values << ticks[i];
        t.labels << (i < labels.size() ? labels[i] : QString());
    }
    return t;
}

// Where a value lies along an axis of `length` pixels, 0..1 from the range's lower end; NaN when a log axis
// cannot show it.
double fraction(const QCPAxis* axis, double v) {
    const QCPRange r = axis->range();
    if (axis->scaleType() == QCPAxis::stLogarithmic) {
        if (!(v > 0) || !(r.lower > 0) || !(r.upper > 0) || r.upper == r.lower)
            return std::numeric_limits<double>::quiet_NaN();
        return std::log(v / r.lower) / std::log(r.upper / r.lower);
    }
    if (r.upper == r.lower) return 0.5;
    return (v - r.lower) / (r.upper - r.lower);
}

}  // namespace

QByteArray plotToSvg(const QCustomPlot& plot, const SvgExportOptions& options) {
    const double W = std::max(200, options.size.width()), H = std::max(150, options.size.height());
    const double fs = options.fontSize, tickFs = std::max(7.0, fs - 2), titleFs = fs + 2;
    const QLocale locale = plot.locale();

    QCPAxis* x = plot.xAxis;
    QCPAxis* y = plot.yAxis;
    QCPAxis* y2 = plot.yAxis2;
    bool rightUsed = false;
    for (int i = 0; i < plot.graphCount(); ++i)
        rightUsed = rightUsed || (plot.graph(i)->visible() && plot.graph(i)->valueAxis() == y2);
    const bool right = y2->visible() || rightUsed;

    const AxisTicks xt = ticksOf(x, locale), yt = ticksOf(y, locale);
    const AxisTicks y2t = right ? ticksOf(y2, locale) : AxisTicks{};
    auto widest = [&](const AxisTicks& t) {
        double w = 0;
        for (const QString& l : t.labels) w = std::max(w, textWidth(l, tickFs));
        return w;
    };

    // The legend's entries; drawn in a corner of the axis rectangle where the plot has it there (its inset layout),
    // else in a row under the title, as MetricPlot shows it.
    QVector<QPair<QString, QColor>> entries;
    if (plot.legend->visible()) {
        for (int i = 0; i < plot.legend->itemCount(); ++i) {
            auto* item = qobject_cast<QCPPlottableLegendItem*>(plot.legend->item(i));
            if (item && item->plottable()) entries.append({item->plottable()->name(), item->plottable()->pen().color()});
        }
    }
    const int legendInset = legendInsetIndex(plot);
    const double legendRowH = tickFs * 1.5, swatch = 18;
    const bool legendRow = !entries.isEmpty() && legendInset < 0;
    auto entryWidth = [&](int i) { return swatch + 4 + textWidth(entries[i].first, tickFs); };  // swatch, gap, text

    // The axis rectangle: room for the title, the legend's rows, the tick labels and the axis labels around it.
    const double left = 12 + (y->label().isEmpty() ? 0 : fs * 1.5) + widest(yt) + 8;
    const double rightMargin = right ? 12 + (y2->label().isEmpty() ? 0 : fs * 1.5) + widest(y2t) + 8 : 18;
    const double aw = std::max(20.0, W - left - rightMargin);
    // The row legend's entries packed into lines as wide as the axis rectangle, each line centred.
    constexpr double kLegendGap = 16;
    QVector<QVector<int>> legendLines;
    QVector<double> legendLineWidths;
    if (legendRow) {
        for (int i = 0; i < entries.size(); ++i) {
            const double width = entryWidth(i);
            if (legendLines.isEmpty() || legendLineWidths.back() + kLegendGap + width > aw) {
                legendLines.append(QVector<int>());
                legendLineWidths.append(-kLegendGap);
            }
            legendLines.back().append(i);
            legendLineWidths.back() += kLegendGap + width;
        }
    }
    const double titleBottom = (options.title.isEmpty() ? 10 : titleFs * 1.6 + 10);
    const double top = titleBottom + (legendRow ? legendRowH * legendLines.size() + 4 : 0);
    const double bottom = 12 + tickFs * 1.4 + (x->label().isEmpty() ? 0 : fs * 1.6);
    const double ax = left, ay = top, ah = std::max(20.0, H - top - bottom);
    auto px = [&](double k) { return ax + fraction(x, k) * aw; };
    auto py = [&](const QCPAxis* axis, double v) { return ay + ah - fraction(axis, v) * ah; };

    QByteArray out;
    QXmlStreamWriter w(&out);
    w.setAutoFormatting(true);
    w.setAutoFormattingIndent(1);
    w.writeStartDocument();
    w.writeStartElement(QStringLiteral("svg"));
    w.writeDefaultNamespace(QStringLiteral("http://www.w3.org/2000/svg"));
    w.writeAttribute(QStringLiteral("version"), QStringLiteral("1.1"));
    w.writeAttribute(QStringLiteral("width"), num(W));
    w.writeAttribute(QStringLiteral("height"), num(H));
    w.writeAttribute(QStringLiteral("viewBox"), QStringLiteral("0 0 %1 %2").arg(num(W), num(H)));
    w.writeAttribute(QStringLiteral("font-family"), options.fontFamily);
    w.writeAttribute(QStringLiteral("font-size"), num(fs));
    if (!options.title.isEmpty()) w.writeTextElement(QStringLiteral("title"), options.title);

    w.writeStartElement(QStringLiteral("defs"));
    w.writeStartElement(QStringLiteral("clipPath"));
    w.writeAttribute(QStringLiteral("id"), QStringLiteral("plot-area"));
    writeRect(w, ax, ay, aw, ah);
    w.writeEndElement();  // clipPath
    w.writeEndElement();  // defs

    w.writeEmptyElement(QStringLiteral("rect"));
    w.writeAttribute(QStringLiteral("width"), QStringLiteral("100%"));
    w.writeAttribute(QStringLiteral("height"), QStringLiteral("100%"));
    w.writeAttribute(QStringLiteral("fill"), QStringLiteral("#ffffff"));

    if (!options.title.isEmpty()) {
        w.writeStartElement(QStringLiteral("text"));
        w.writeAttribute(QStringLiteral("class"), QStringLiteral("title"));
        w.writeAttribute(QStringLiteral("x"), num(ax + aw / 2));
        w.writeAttribute(QStringLiteral("y"), num(titleFs * 1.3));
        w.writeAttribute(QStringLiteral("text-anchor"), QStringLiteral("middle"));
        w.writeAttribute(QStringLiteral("font-size"), num(titleFs));
        w.writeAttribute(QStringLiteral("font-weight"), QStringLiteral("bold"));
        w.writeCharacters(options.title);
        w.writeEndElement();
    }

    // Grid and ticks.
    auto line = [&](double x1, double y1, double x2, double y2v, const QString& stroke, const QString& cls) {
        w.writeEmptyElement(QStringLiteral("line"));
        if (!cls.isEmpty()) w.writeAttribute(QStringLiteral("class"), cls);
        w.writeAttribute(QStringLiteral("x1"), num(x1));
        w.writeAttribute(QStringLiteral("y1"), num(y1));
        w.writeAttribute(QStringLiteral("x2"), num(x2));
        w.writeAttribute(QStringLiteral("y2"), num(y2v));
        w.writeAttribute(QStringLiteral("stroke"), stroke);
        w.writeAttribute(QStringLiteral("stroke-width"), QStringLiteral("1"));
    };
    auto text = [&](double tx, double ty, const QString& s, const QString& anchor, const QString& cls,
                    double size, const QString& transform = {}) {
        w.writeStartElement(QStringLiteral("text"));
        w.writeAttribute(QStringLiteral("class"), cls);
        w.writeAttribute(QStringLiteral("x"), num(tx));
        w.writeAttribute(QStringLiteral("y"), num(ty));
        w.writeAttribute(QStringLiteral("text-anchor"), anchor);
        w.writeAttribute(QStringLiteral("font-size"), num(size));
        if (!transform.isEmpty()) w.writeAttribute(QStringLiteral("transform"), transform);
        w.writeCharacters(s);
        w.writeEndElement();
    };

    w.writeStartElement(QStringLiteral("g"));
    w.writeAttribute(QStringLiteral("class"), QStringLiteral("axes"));
    for (int i = 0; i < xt.values.size(); ++i) {
        const double p = px(xt.values[i]);
        if (!std::isfinite(p)) continue;
        line(p, ay, p, ay + ah, QStringLiteral("#e6e6e6"), QStringLiteral("grid"));
        line(p, ay + ah, p, ay + ah + 5, QStringLiteral("#333333"), {});
        text(p, ay + ah + 6 + tickFs, xt.labels[i], QStringLiteral("middle"), QStringLiteral("tick x"), tickFs);
    }
    for (int i = 0; i < yt.values.size(); ++i) {
        const double p = py(y, yt.values[i]);
        if (!std::isfinite(p)) continue;
        line(ax, p, ax + aw, p, QStringLiteral("#e6e6e6"), QStringLiteral("grid"));
        line(ax - 5, p, ax, p, QStringLiteral("#333333"), {});
        text(ax - 7, p + tickFs * 0.35, yt.labels[i], QStringLiteral("end"), QStringLiteral("tick y"), tickFs);
    }
    for (int i = 0; i < y2t.values.size(); ++i) {
        const double p = py(y2, y2t.values[i]);
        if (!std::isfinite(p)) continue;
        line(ax + aw, p, ax + aw + 5, p, QStringLiteral("#333333"), {});
        text(ax + aw + 7, p + tickFs * 0.35, y2t.labels[i], QStringLiteral("start"), QStringLiteral("tick y2"),
             tickFs);
    }
    writeRect(w, ax, ay, aw, ah);
    w.writeAttribute(QStringLiteral("class"), QStringLiteral("frame"));
    w.writeAttribute(QStringLiteral("fill"), QStringLiteral("none"));
    w.writeAttribute(QStringLiteral("stroke"), QStringLiteral("#333333"));
    if (!x->label().isEmpty())
        text(ax + aw / 2, H - 10, x->label(), QStringLiteral("middle"), QStringLiteral("label x"), fs);
    if (!y->label().isEmpty()) {
        const double lx = 12 + fs, ly = ay + ah / 2;
        text(lx, ly, y->label(), QStringLiteral("middle"), QStringLiteral("label y"), fs,
             QStringLiteral("rotate(-90 %1 %2)").arg(num(lx), num(ly)));
    }
    if (right && !y2->label().isEmpty()) {
        const double lx = W - 12 - fs * 0.3, ly = ay + ah / 2;
        text(lx, ly, y2->label(), QStringLiteral("middle"), QStringLiteral("label y2"), fs,
             QStringLiteral("rotate(90 %1 %2)").arg(num(lx), num(ly)));
    }
    w.writeEndElement();  // g axes

    // Graphs: the finite points inside the key range, and one either side so lines run to the edge.
    w.writeStartElement(QStringLiteral("g"));
    w.writeAttribute(QStringLiteral("class"), QStringLiteral("graphs"));
    w.writeAttribute(QStringLiteral("clip-path"), QStringLiteral("url(#plot-area)"));
    const QCPRange kr = x->range();
    for (int i = 0; i < plot.graphCount(); ++i) {
        const QCPGraph* g = plot.graph(i);
        if (!g->visible()) continue;
        const QCPAxis* va = g->valueAxis();
        QVector<QPointF> pts;
        const auto data = g->data();
        const auto first = data->findBegin(kr.lower, true), last = data->findEnd(kr.upper, true);
        for (auto it = first; it != last; ++it) {
            const double kx = px(it->key), vy = py(va, it->value);
            if (std::isfinite(it->key) && std::isfinite(it->value) && std::isfinite(kx) && std::isfinite(vy))
                pts << QPointF(kx, vy);
        }
        const QPen pen = g->pen();
        const QColor c = pen.color();
        QString points;
        for (const QPointF& p : std::as_const(pts))
            points += (points.isEmpty() ? QString() : QStringLiteral(" ")) + num(p.x()) + QLatin1Char(',') + num(p.y());
        w.writeEmptyElement(QStringLiteral("polyline"));
        w.writeAttribute(QStringLiteral("class"), QStringLiteral("graph"));
        w.writeAttribute(QStringLiteral("data-name"), g->name());
        w.writeAttribute(QStringLiteral("points"), points);
        w.writeAttribute(QStringLiteral("fill"), QStringLiteral("none"));
        const bool drawn = g->lineStyle() != QCPGraph::lsNone && pen.style() != Qt::NoPen;
        w.writeAttribute(QStringLiteral("stroke"), drawn ? colour(c) : QStringLiteral("none"));
        w.writeAttribute(QStringLiteral("stroke-width"), num(std::max(1.0, pen.widthF())));
        w.writeAttribute(QStringLiteral("stroke-linejoin"), QStringLiteral("round"));
        if (c.alpha() < 255) w.writeAttribute(QStringLiteral("stroke-opacity"), num(c.alphaF()));
        if (g->scatterStyle().shape() != QCPScatterStyle::ssNone) {
            const double r = std::max(1.5, g->scatterStyle().size() / 2);
            const QColor fill = g->scatterStyle().brush().style() != Qt::NoBrush ? g->scatterStyle().brush().color() : c;
            for (const QPointF& p : std::as_const(pts)) {
                w.writeEmptyElement(QStringLiteral("circle"));
                w.writeAttribute(QStringLiteral("class"), QStringLiteral("marker"));
                w.writeAttribute(QStringLiteral("cx"), num(p.x()));
                w.writeAttribute(QStringLiteral("cy"), num(p.y()));
                w.writeAttribute(QStringLiteral("r"), num(r));
                w.writeAttribute(QStringLiteral("fill"), colour(fill));
            }
        }
    }
    w.writeEndElement();  // g graphs

    auto legendEntry = [&](double x0, double cy, const QPair<QString, QColor>& e) {
        QColor c = e.second;
        c.setAlpha(255);
        w.writeEmptyElement(QStringLiteral("line"));
        w.writeAttribute(QStringLiteral("x1"), num(x0));
        w.writeAttribute(QStringLiteral("y1"), num(cy));
        w.writeAttribute(QStringLiteral("x2"), num(x0 + swatch));
        w.writeAttribute(QStringLiteral("y2"), num(cy));
        w.writeAttribute(QStringLiteral("stroke"), colour(c));
        w.writeAttribute(QStringLiteral("stroke-width"), QStringLiteral("2"));
        text(x0 + swatch + 4, cy + tickFs * 0.35, e.first, QStringLiteral("start"), QStringLiteral("legend-entry"),
             tickFs);
    };
    // Legend: rows under the title, each centred over the axis rectangle.
    if (legendRow) {
        w.writeStartElement(QStringLiteral("g"));
        w.writeAttribute(QStringLiteral("class"), QStringLiteral("legend"));
        for (int line = 0; line < legendLines.size(); ++line) {
            double x0 = ax + std::max(0.0, (aw - legendLineWidths[line]) / 2);
            const double cy = titleBottom + legendRowH * (line + 0.5);
            for (int i : legendLines[line]) {
                legendEntry(x0, cy, entries[i]);
                x0 += entryWidth(i) + kLegendGap;
            }
        }
        w.writeEndElement();  // g legend
    }
    // Legend: in its corner of the axis rectangle.
    if (!entries.isEmpty() && legendInset >= 0) {
        double textW = 0;
        for (const auto& e : entries) textW = std::max(textW, textWidth(e.first, tickFs));
        const double bw = swatch + 14 + textW, bh = legendRowH * entries.size() + 8;
        const Qt::Alignment a = plot.axisRect()->insetLayout()->insetAlignment(legendInset);
        const double bx = (a & Qt::AlignLeft) ? ax + 8 : (a & Qt::AlignHCenter) ? ax + (aw - bw) / 2 : ax + aw - bw - 8;
        const double by = (a & Qt::AlignBottom) ? ay + ah - bh - 8 : (a & Qt::AlignVCenter) ? ay + (ah - bh) / 2 : ay + 8;
        w.writeStartElement(QStringLiteral("g"));
        w.writeAttribute(QStringLiteral("class"), QStringLiteral("legend"));
        writeRect(w, bx, by, bw, bh);
        w.writeAttribute(QStringLiteral("fill"), QStringLiteral("#ffffff"));
        w.writeAttribute(QStringLiteral("fill-opacity"), QStringLiteral("0.85"));
        w.writeAttribute(QStringLiteral("stroke"), QStringLiteral("#c8c8c8"));
        for (int i = 0; i < entries.size(); ++i) legendEntry(bx + 6, by + 4 + legendRowH * (i + 0.5), entries[i]);
        w.writeEndElement();  // g legend
    }

    w.writeEndElement();  // svg
    w.writeEndDocument();
    return out;
}

bool savePlotSvg(const QCustomPlot& plot, const QString& path, const SvgExportOptions& options, QString* error) {
    const QByteArray svg = plotToSvg(plot, options);
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(svg) != svg.size() || !file.commit()) {
        if (error) *error = QCoreApplication::translate("ponet::gui::SvgExport", "Cannot write %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

}  // namespace ponet::gui
