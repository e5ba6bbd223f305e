// Runs ponet::run_selftest on its own QThread and reports each check as a queued signal.
#pragma once
#include <QObject>
#include <QStringList>

#include <atomic>

#include "widgets/core_metatypes.h"

namespace ponet::gui {

class SelfTestWorker : public QObject {
    Q_OBJECT
  public:
    using QObject::QObject;

    // Thread-safe, called from the GUI thread while run() is busy: the checks poll the flag between steps.
    void requestCancel() { cancel_.store(true); }
    // Called from the GUI thread just before queueing run(), so a cancel that arrives before the run starts
    // is not lost by a reset inside run().
    void rearm() { cancel_.store(false); }

    // Empty `devices`: every device present.
    Q_SLOT void run(const QStringList& devices);

  Q_SIGNALS:
    void resultReady(const ponet::CheckResult& result);
    void finished(int passed, int failed, bool cancelled, qint64 elapsedMs);
    void failed(const QString& message);

  private:
    std::atomic<bool> cancel_{false};
};

}  // namespace ponet::gui
