#include "widgets/inline_message.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QStyle>
#include <QToolButton>

namespace ponet::gui {

InlineMessage::InlineMessage(QWidget* parent) : QFrame(parent) {
    setObjectName(QStringLiteral("inlineMessage"));
    setFrameShape(QFrame::StyledPanel);
    setAutoFillBackground(true);

    icon_ = new QLabel(this);
    label_ = new QLabel(this);
    label_->setObjectName(QStringLiteral("inlineMessageText"));
    label_->setWordWrap(true);
    label_->setTextFormat(Qt::PlainText);  // messages quote user paths, which must not be read as markup
    label_->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    label_->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    close_ = new QToolButton(this);
    close_->setAutoRaise(true);
    close_->setIcon(style()->standardIcon(QStyle::SP_TitleBarCloseButton));
    close_->setToolTip(tr("Dismiss"));
    close_->setAccessibleName(tr("Dismiss message"));
    connect(close_, &QToolButton::clicked, this, &InlineMessage::dismiss);

    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(8, 6, 4, 6);
    layout->addWidget(icon_, 0, Qt::AlignTop);
    layout->addWidget(label_, 1);
    layout->addWidget(close_, 0, Qt::AlignTop);
    hide();
}

void InlineMessage::showMessage(Kind kind, const QString& text) {
    kind_ = kind;
    const bool error = kind == Kind::Error;
    const int iconSize = style()->pixelMetric(QStyle::PM_SmallIconSize, nullptr, this);
    icon_->setPixmap(
        style()
            ->standardIcon(error ? QStyle::SP_MessageBoxCritical : QStyle::SP_MessageBoxInformation)
            .pixmap(iconSize, iconSize));
    // Tinted from the palette's own colours so the strip reads well with light and dark themes alike.
    QPalette pal = palette();
    const QColor base = pal.color(QPalette::Window);
    const QColor tint = error ? QColor(0xd3, 0x2f, 0x2f) : QColor(0x19, 0x76, 0xd2);
    const auto mix = [&](int a, int b) { return (a * 80 + b * 20) / 100; };
    pal.setColor(QPalette::Window, QColor(mix(base.red(), tint.red()), mix(base.green(), tint.green()),
                                          mix(base.blue(), tint.blue())));
    setPalette(pal);
    label_->setText(text);
    show();
}

void InlineMessage::dismiss() {
    label_->clear();
    hide();
}

QString InlineMessage::text() const {
    return isHidden() ? QString() : label_->text();
}

}  // namespace ponet::gui
