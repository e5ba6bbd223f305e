#include "widgets/status_icons.h"

#include <QPainter>
#include <QPainterPath>
#include <QPixmap>

namespace ponet::gui {
namespace {

QPixmap drawStatus(bool passed, int size) {
    QPixmap pixmap(size, size);
    pixmap.fill(Qt::transparent);
    QPainter p(&pixmap);
    p.setRenderHint(QPainter::Antialiasing);
    const qreal s = size;
    p.setPen(Qt::NoPen);
    p.setBrush(passed ? passColor() : failColor());
    p.drawEllipse(QRectF(0.5, 0.5, s - 1.0, s - 1.0));
    QPen mark(Qt::white, std::max<qreal>(1.5, s * 0.13), Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin);
    p.setPen(mark);
    p.setBrush(Qt::NoBrush);
    if (passed) {
        QPainterPath tick;
        tick.moveTo(s * 0.27, s * 0.52);
        tick.lineTo(s * 0.44, s * 0.69);
        tick.lineTo(s * 0.74, s * 0.34);
        p.drawPath(tick);
    } else {
        p.drawLine(QPointF(s * 0.33, s * 0.33), QPointF(s * 0.67, s * 0.67));
        p.drawLine(QPointF(s * 0.67, s * 0.33), QPointF(s * 0.33, s * 0.67));
    }
    return pixmap;
}

}  // namespace

QColor passColor() {
    return QColor(0x2e, 0x7d, 0x32);
}
QColor failColor() {
    return QColor(0xc6, 0x28, 0x28);
}

QIcon statusIcon(bool passed) {
    QIcon icon;
    for (int size : {16, 24, 32, 48}) icon.addPixmap(drawStatus(passed, size));
    return icon;
}

}  // namespace ponet::gui
