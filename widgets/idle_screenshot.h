// Saves a picture of a window once it has shown itself and has nothing left to compute; `--screenshot` uses
// it to make the documentation's screenshots reproducible.
#pragma once
#include <QObject>
#include <QPointer>
#include <QString>
#include <QTimer>

#include <functional>

class QWidget;

namespace ponet::gui {

class IdleScreenshot : public QObject {
    Q_OBJECT
  public:
    // `busy` says whether the window still expects results (a summary, a self-test) that change its looks.
    IdleScreenshot(QWidget* window, std::function<bool()> busy, QString path, QObject* parent = nullptr);

    // Gives up waiting after `timeoutMs` and saves what is there, reporting the timeout.
    void start(int timeoutMs);

  Q_SIGNALS:
    void done(bool ok, const QString& message);

  private:
    void poll();
    void save(bool timedOut);

    QPointer<QWidget> window_;
    std::function<bool()> busy_;
    QString path_;
    QTimer poll_;
    QTimer timeout_;
    int idlePolls_ = 0;
};

}  // namespace ponet::gui
