#include "widgets/legend_placement.h"

#include <algorithm>
#include <array>
#include <cmath>

#include <QFontMetrics>

namespace ponet::gui {

namespace {

constexpr int kSlack = 4;            // pixels around the legend that still count as covered (a marker's radius)
constexpr int kMaxChecksPerGraph = 1000;  // points examined per graph and corner: a stride over dense curves

}  // namespace

int legendInsetIndex(const QCustomPlot& plot) {
    if (!plot.legend || !plot.axisRect()) return -1;
    QCPLayoutInset* inset = plot.axisRect()->insetLayout();
    for (int i = 0; i < inset->elementCount(); ++i)
        if (inset->elementAt(i) == plot.legend) return i;
    return -1;
}

LegendPlacer::LegendPlacer(QCustomPlot* plot) : QObject(plot), plot_(plot) {
    connect(plot_, &QCustomPlot::afterLayout, this, &LegendPlacer::place);
}

QRect LegendPlacer::cornerRect(const QRect& area, const QSize& size, Qt::Alignment corner) {
    // As QCPLayoutInset places it: the right (bottom) edge on x + width (y + height), one past the area's last
    // pixel; neither flag of a direction centres it.
    const int x = (corner & Qt::AlignLeft)    ? area.left()
                  : (corner & Qt::AlignRight) ? area.x() + area.width() + 1 - size.width()
                                              : int(area.x() + area.width() * 0.5 - size.width() * 0.5);
    const int y = (corner & Qt::AlignTop)      ? area.top()
                  : (corner & Qt::AlignBottom) ? area.y() + area.height() + 1 - size.height()
                                               : int(area.y() + area.height() * 0.5 - size.height() * 0.5);
    return QRect(QPoint(x, y), size);
}

namespace {

// Whether the segment a-b meets `r` (Liang-Barsky clipping against the rectangle's four sides).
bool segmentMeets(QPointF a, QPointF b, const QRectF& r) {
    const double dx = b.x() - a.x(), dy = b.y() - a.y();
    double t0 = 0, t1 = 1;
    const double p[4] = {-dx, dx, -dy, dy};
    const double q[4] = {a.x() - r.left(), r.right() - a.x(), a.y() - r.top(), r.bottom() - a.y()};
    for (int i = 0; i < 4; ++i) {
        if (p[i] == 0) {
            if (q[i] < 0) return false;
            continue;
        }
        const double t = q[i] / p[i];
        if (p[i] < 0) t0 = std::max(t0, t);
        else t1 = std::min(t1, t);
        if (t0 > t1) return false;
    }
    return true;
}

}  // namespace

int LegendPlacer::dataInside(const QCustomPlot& plot, const QRect& rect) {
    const QRectF covered = QRectF(rect).adjusted(-kSlack, -kSlack, kSlack, kSlack);
    int count = 0;
    for (int g = 0; g < plot.graphCount(); ++g) {
        QCPGraph* graph = plot.graph(g);
        if (!graph->visible() || graph->data()->isEmpty()) continue;
        QCPAxis* keyAxis = graph->keyAxis();
        QCPAxis* valueAxis = graph->valueAxis();
        if (!keyAxis || !valueAxis) continue;
        const bool lines = graph->lineStyle() != QCPGraph::lsNone;
        // Only the keys under the rectangle's width (and, for lines, the points either side): a binary search,
        // then a bounded walk with a stride over dense curves.
        double k1 = keyAxis->pixelToCoord(covered.left()), k2 = keyAxis->pixelToCoord(covered.right());
        if (k1 > k2) std::swap(k1, k2);
        auto begin = graph->data()->findBegin(k1, lines);
        auto end = graph->data()->findEnd(k2, lines);
        const auto n = static_cast<int>(end - begin);
        if (n <= 0) continue;
        const int stride = std::max(1, n / kMaxChecksPerGraph);
        int hits = 0;
        bool havePrevious = false;
        QPointF previous;
        for (auto it = begin;; it += stride) {
            const QPointF here(keyAxis->coordToPixel(it->key), valueAxis->coordToPixel(it->value));
            if (!std::isfinite(it->value) || !std::isfinite(here.y())) {
                havePrevious = false;  // a gap in the curve
            } else {
                if (lines && havePrevious ? segmentMeets(previous, here, covered) : covered.contains(here)) ++hits;
                previous = here;
                havePrevious = true;
            }
            if (end - it <= stride) break;
        }
        count += hits * stride;
    }
    // Text on the plot (the benchmark's OOM marks at the longest lengths) weighs as much as a stretch of curve.
    constexpr int kTextWeight = 10;
    for (int i = 0; i < plot.itemCount(); ++i) {
        auto* text = qobject_cast<QCPItemText*>(plot.item(i));
        if (!text || !text->visible() || text->text().isEmpty()) continue;
        const QPointF at = text->position->pixelPosition();
        const QSize box = QFontMetrics(text->font()).size(0, text->text());
        const Qt::Alignment a = text->positionAlignment();
        const double left = (a & Qt::AlignLeft) ? at.x() : (a & Qt::AlignRight) ? at.x() - box.width() : at.x() - box.width() / 2.0;
        const double top = (a & Qt::AlignTop) ? at.y() : (a & Qt::AlignBottom) ? at.y() - box.height() : at.y() - box.height() / 2.0;
        if (covered.intersects(QRectF(left, top, box.width(), box.height()))) count += kTextWeight;
    }
    return count;
}

void LegendPlacer::place() {
    const int index = legendInsetIndex(*plot_);
    if (index < 0 || !plot_->legend->visible()) return;
    QCPLegend* legend = plot_->legend;
    QCPLayoutInset* inset = plot_->axisRect()->insetLayout();
    if (inset->insetPlacement(index) != QCPLayoutInset::ipBorderAligned) return;
    const QSize size = legend->outerRect().size();
    const QRect area = inset->rect();  // the axis rectangle less the inset layout's margins
    if (size.isEmpty() || area.isEmpty()) return;

    const Qt::Alignment now = inset->insetAlignment(index);
    const std::array<Qt::Alignment, 4> corners = {Qt::AlignTop | Qt::AlignRight, Qt::AlignTop | Qt::AlignLeft,
                                                  Qt::AlignBottom | Qt::AlignRight, Qt::AlignBottom | Qt::AlignLeft};
    std::array<int, 4> covers{};
    for (size_t i = 0; i < corners.size(); ++i) covers[i] = dataInside(*plot_, cornerRect(area, size, corners[i]));
    const int least = *std::min_element(covers.begin(), covers.end());
    auto coverOf = [&](Qt::Alignment a) {
        for (size_t i = 0; i < corners.size(); ++i)
            if (corners[i] == a) return covers[i];
        return dataInside(*plot_, cornerRect(area, size, a));  // a centred alignment someone set
    };
    // Top right whenever it is as clear as any; else where the legend is, if that is as clear (so it does not hop
    // between equally good corners as a curve grows); else the first clearest corner.
    Qt::Alignment best = now;
    if (covers[0] == least) {
        best = corners[0];
    } else if (coverOf(now) != least) {
        best = corners[static_cast<size_t>(std::find(covers.begin(), covers.end(), least) - covers.begin())];
    }
    if (best == now) return;
    inset->setInsetAlignment(index, best);
    inset->update(QCPLayoutElement::upLayout);
}

}  // namespace ponet::gui
