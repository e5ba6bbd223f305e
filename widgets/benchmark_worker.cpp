#include "widgets/benchmark_worker.h"

#include <exception>

#include "core/bench/bench_cache.h"

namespace ponet::gui {

void BenchmarkWorker::registerMetaTypes() {
    qRegisterMetaType<ponet::bench::BenchSpec>();
    qRegisterMetaType<ponet::bench::BenchRow>();
    qRegisterMetaType<ponet::bench::BenchReport>();
    qRegisterMetaType<ponet::bench::BenchProgress>();
}

void BenchmarkWorker::run(const ponet::bench::BenchSpec& spec) {
    ponet::bench::BenchCallbacks cb;
    cb.cancel = &cancel_;
    // The receivers live on the GUI thread, so these signals are queued.
    cb.on_progress = [this](const ponet::bench::BenchProgress& p) { Q_EMIT progress(p); };
    cb.on_row = [this](const ponet::bench::BenchRow& r) { Q_EMIT rowReady(r); };
    cb.on_log = [this](const std::string& s) { Q_EMIT logMessage(QString::fromStdString(s)); };
    try {
        const ponet::bench::BenchReport report = ponet::bench::run_bench(spec, cb);
        try {
            ponet::bench::update_cache(report);
        } catch (const std::exception& e) {
            Q_EMIT logMessage(
                tr("Benchmark results were not cached: %1").arg(QString::fromStdString(e.what())));
        }
        Q_EMIT finished(report);
    } catch (const std::exception& e) {
        Q_EMIT failed(QString::fromStdString(e.what()));
    } catch (...) {
        Q_EMIT failed(tr("The benchmark stopped with an unknown error."));
    }
}

}  // namespace ponet::gui
