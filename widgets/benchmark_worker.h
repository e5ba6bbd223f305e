// Runs ponet::bench::run_bench on its own QThread for the Benchmark page and reports as queued signals.
#pragma once
#include <QMetaType>
#include <QObject>
#include <QString>

#include <atomic>

#include "core/bench/bench.h"

Q_DECLARE_METATYPE(ponet::bench::BenchSpec)
Q_DECLARE_METATYPE(ponet::bench::BenchRow)
Q_DECLARE_METATYPE(ponet::bench::BenchReport)
Q_DECLARE_METATYPE(ponet::bench::BenchProgress)

namespace ponet::gui {

class BenchmarkWorker : public QObject {
    Q_OBJECT
  public:
    using QObject::QObject;

    // Idempotent; call before connecting across threads.
    static void registerMetaTypes();

    // Thread-safe: the harness polls the flag between steps and between cells.
    void requestCancel() { cancel_.store(true); }
    // Called from the GUI thread just before queueing run(), so an early cancel is not lost.
    void rearm() { cancel_.store(false); }

    // Runs every cell of `spec`, then records the finished cells in the per-device cache.
    Q_SLOT void run(const ponet::bench::BenchSpec& spec);

  Q_SIGNALS:
    void progress(const ponet::bench::BenchProgress& progress);
    void rowReady(const ponet::bench::BenchRow& row);
    void logMessage(const QString& text);
    void finished(const ponet::bench::BenchReport& report);
    void failed(const QString& message);

  private:
    std::atomic<bool> cancel_{false};
};

}  // namespace ponet::gui
