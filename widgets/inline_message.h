// A dismissable message strip shown inside a page, so an error stays next to what caused it instead of in
// a modal box that hides the page.
#pragma once
#include <QFrame>

class QLabel;
class QToolButton;

namespace ponet::gui {

class InlineMessage : public QFrame {
    Q_OBJECT
  public:
    enum class Kind { Information, Error };

    explicit InlineMessage(QWidget* parent = nullptr);

    void showMessage(Kind kind, const QString& text);
    void dismiss();
    QString text() const;
    Kind kind() const { return kind_; }

  private:
    QLabel* icon_ = nullptr;
    QLabel* label_ = nullptr;
    QToolButton* close_ = nullptr;
    Kind kind_ = Kind::Information;
};

}  // namespace ponet::gui
