// Small helpers the pages share.
#pragma once
#include <QSizePolicy>
#include <QWidget>

namespace ponet::gui {

// Hides `w` but keeps its room in the layout, so that showing it later moves nothing: the pages' progress bars
// before their first run (an empty bar reads as an empty text field).
inline void hideKeepingRoom(QWidget* w) {
    QSizePolicy policy = w->sizePolicy();
    policy.setRetainSizeWhenHidden(true);
    w->setSizePolicy(policy);
    w->hide();
}

}  // namespace ponet::gui
