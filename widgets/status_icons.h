// Pass/fail icons, drawn rather than loaded: they stay crisp at any scale and need no image plugin.
#pragma once
#include <QColor>
#include <QIcon>

namespace ponet::gui {

QColor passColor();
QColor failColor();
// Draws a fresh icon on each call: keep the result rather than calling this per paint.
QIcon statusIcon(bool passed);

}  // namespace ponet::gui
