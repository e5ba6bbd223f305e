#include "widgets/idle_screenshot.h"

#include <QDir>
#include <QFileInfo>
#include <QImageWriter>
#include <QPixmap>
#include <QWidget>

#include <utility>

namespace ponet::gui {
namespace {

// Idle for this many consecutive polls: queued results and the repaints they trigger have landed.
constexpr int kIdlePollsNeeded = 3;
constexpr int kPollIntervalMs = 100;

}  // namespace

IdleScreenshot::IdleScreenshot(QWidget* window, std::function<bool()> busy, QString path, QObject* parent)
    : QObject(parent), window_(window), busy_(std::move(busy)), path_(std::move(path)) {
    poll_.setInterval(kPollIntervalMs);
    connect(&poll_, &QTimer::timeout, this, &IdleScreenshot::poll);
    timeout_.setSingleShot(true);
    connect(&timeout_, &QTimer::timeout, this, [this] { save(true); });
}

void IdleScreenshot::start(int timeoutMs) {
    idlePolls_ = 0;
    poll_.start();
    timeout_.start(timeoutMs);
}

void IdleScreenshot::poll() {
    if (!window_) {
        poll_.stop();
        timeout_.stop();
        Q_EMIT done(false, tr("The window closed before the screenshot was taken"));
        return;
    }
    const bool idle = window_->isVisible() && !(busy_ && busy_());
    idlePolls_ = idle ? idlePolls_ + 1 : 0;
    if (idlePolls_ >= kIdlePollsNeeded) save(false);
}

void IdleScreenshot::save(bool timedOut) {
    poll_.stop();
    timeout_.stop();
    if (!window_) return;
    const QFileInfo target(path_);
    QDir().mkpath(target.absolutePath());
    QImageWriter writer(target.absoluteFilePath(), "png");
    if (!writer.write(window_->grab().toImage())) {
        Q_EMIT done(false,
                    tr("Cannot write the screenshot “%1”: %2")
                        .arg(QDir::toNativeSeparators(target.absoluteFilePath()), writer.errorString()));
        return;
    }
    const QString saved = QDir::toNativeSeparators(target.absoluteFilePath());
    if (timedOut) {
        Q_EMIT done(false, tr("Saved “%1”, but the window was still busy when the wait ran out").arg(saved));
    } else {
        Q_EMIT done(true, tr("Saved “%1”").arg(saved));
    }
}

}  // namespace ponet::gui
