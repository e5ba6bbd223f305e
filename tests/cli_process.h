// Runs the `ponet` binary under test and collects what it printed: shared by the CLI tests.
#pragma once
#include <QProcess>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

namespace ponet::test {

struct CliRun {
    int exitCode = -1;  // -1: did not finish normally (crash, or the time limit)
    QString out, err;
};

// `binary args`, waiting up to `timeoutMs`; `env` replaces the environment when not empty.
inline CliRun runCli(const QString& binary, const QStringList& args, int timeoutMs,
                     const QProcessEnvironment& env = {}) {
    QProcess p;
    if (!env.isEmpty()) p.setProcessEnvironment(env);
    p.start(binary, args);
    CliRun r;
    if (!p.waitForStarted(30000) || !p.waitForFinished(timeoutMs)) {
        r.err = "ponet did not run to the end: " + p.errorString();
        p.kill();
        p.waitForFinished(5000);
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

}  // namespace ponet::test
