#include "widgets/selftest_worker.h"

#include <QElapsedTimer>

#include <exception>

namespace ponet::gui {

void SelfTestWorker::run(const QStringList& devices) {
    QElapsedTimer clock;
    clock.start();
    ponet::SelfTestOptions options;
    for (const QString& d : devices) options.devices.push_back(d.toStdString());
    options.cancel = &cancel_;
    // Emitting from whichever thread the core reports on is safe: the receivers live on the GUI thread, so
    // Qt queues the signal.
    options.on_result = [this](const ponet::CheckResult& r) { Q_EMIT resultReady(r); };
    try {
        const ponet::SelfTestReport report = ponet::run_selftest(options);
        Q_EMIT finished(report.passed(), report.failed(), report.cancelled, clock.elapsed());
    } catch (const std::exception& e) {
        Q_EMIT failed(QString::fromStdString(e.what()));
    } catch (...) {
        Q_EMIT failed(tr("The self-test stopped with an unknown error."));
    }
}

}  // namespace ponet::gui
