// `ponet bench` end to end through QProcess: a short CPU run prints the table and writes the JSON report and
// the per-device cache; bad arguments exit with 2 and a one-line reason; --help and the man page list the
// options.
#include <nlohmann/json.hpp>

#include <cmath>

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QProcessEnvironment>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include "tests/cli_process.h"

namespace {

using Run = ponet::test::CliRun;

}  // namespace

class TestCliBench : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    void initTestCase();
    void tinyRunWritesTableAndJson();
    void badArguments_data();
    void badArguments();
    void helpAndManPage();

  private:
    Run ponet(const QStringList& args);
    QString binary_;
    QTemporaryDir tmp_;
};

Run TestCliBench::ponet(const QStringList& args) {
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("XDG_CACHE_HOME"), tmp_.filePath(QStringLiteral("cache")));
    return ponet::test::runCli(binary_, args, 300000, env);
}

void TestCliBench::initTestCase() {
    QVERIFY(tmp_.isValid());
    // Test executables live in <build>/tests/, the CLI in <build>/.
    binary_ = QFileInfo(QCoreApplication::applicationDirPath() + "/../ponet").absoluteFilePath();
    QVERIFY2(QFileInfo(binary_).isExecutable(),
             qPrintable("the ponet binary is not at " + binary_ + "; build the 'ponet' target first"));
}

void TestCliBench::tinyRunWritesTableAndJson() {
    const QString json = tmp_.filePath(QStringLiteral("x.json"));
    const Run r = ponet({"bench", "--preset", "tiny", "--lens", "64,128", "--steps", "2", "--warmup", "1",
                         "--device", "cpu", "--batch", "2", "--json", json});
    QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
    // The table: a header row with the lengths, one row per mixer, then tokens/s.
    QVERIFY2(r.out.contains(QRegularExpression(QStringLiteral("steps/s \\(peak GiB\\) +\\| +64 \\| +128"))),
             qPrintable(r.out));
    for (const char* m : {"ponet", "fnet", "attention"})
        QVERIFY2(r.out.contains(QRegularExpression(
                     QStringLiteral("\\n%1 +\\| +[0-9.]+ \\([0-9.]+\\) \\|").arg(QLatin1String(m)))),
                 qPrintable(r.out));
    QVERIFY(r.out.contains(QStringLiteral("tokens/s")));
    QVERIFY(r.out.contains(QStringLiteral("PoNet mixing implementation: ")));
    QVERIFY(r.out.contains(QStringLiteral("device: cpu (")));

    QFile f(json);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const auto j = nlohmann::json::parse(f.readAll().toStdString());
    QCOMPARE(j.at("format").get<std::string>(), std::string("ponet-bench"));
    QCOMPARE(j.at("device").get<std::string>(), std::string("cpu"));
    QCOMPARE(j.at("precision").get<std::string>(), std::string("fp32"));
    QCOMPARE(j.at("spec").at("preset").get<std::string>(), std::string("tiny"));
    QCOMPARE(j.at("spec").at("steps").get<int>(), 2);
    QCOMPARE(j.at("rows").size(), size_t{6});
    size_t i = 0;
    for (const char* m : {"ponet", "fnet", "attention"}) {
        for (int len : {64, 128}) {
            const auto& row = j.at("rows").at(i++);
            QCOMPARE(row.at("mixer").get<std::string>(), std::string(m));
            QCOMPARE(row.at("length").get<int>(), len);
            QCOMPARE(row.at("status").get<std::string>(), std::string("ok"));
            const double sps = row.at("steps_per_second").get<double>();
            QVERIFY(sps > 0);
            QVERIFY(std::abs(row.at("tokens_per_second").get<double>() - sps * 2 * len) < 1e-6 * sps * len);
            QCOMPARE(row.at("step_ms").size(), size_t{2});
            QVERIFY(row.at("peak_bytes").get<int64_t>() > 0);
        }
    }
    // The run also went to the per-device cache the Benchmark page previews.
    const QStringList cached =
        QDir(tmp_.filePath(QStringLiteral("cache/ponet-studio/bench"))).entryList({QStringLiteral("*.json")});
    QCOMPARE(cached.size(), 1);

    // --no-cache leaves the cache alone (same file, same content).
    QFile cacheFile(tmp_.filePath(QStringLiteral("cache/ponet-studio/bench/")) + cached[0]);
    QVERIFY(cacheFile.open(QIODevice::ReadOnly));
    const QByteArray before = cacheFile.readAll();
    cacheFile.close();
    const Run again = ponet({"bench", "--preset", "tiny", "--mixers", "fnet", "--lens", "32", "--steps", "1",
                             "--warmup", "0", "--device", "cpu", "--batch", "1", "--no-cache"});
    QVERIFY2(again.exitCode == 0, qPrintable(again.err));
    QVERIFY(cacheFile.open(QIODevice::ReadOnly));
    QCOMPARE(cacheFile.readAll(), before);
}

void TestCliBench::badArguments_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("reason");
    const QStringList quick{"--preset", "tiny", "--device", "cpu", "--steps", "1", "--warmup", "0"};
    QTest::newRow("unknown mixer") << (QStringList{"--mixers", "ponet,linformer"} + quick)
                                   << "unknown mixer 'linformer' (known: ponet, fnet, attention)";
    QTest::newRow("bad length") << (QStringList{"--lens", "512,4q"} + quick) << "bad sequence length '4q'";
    QTest::newRow("length too short")
        << (QStringList{"--lens", "1"} + quick) << "sequence length 1 is out of range";
    QTest::newRow("duplicate length") << (QStringList{"--lens", "64,64"} + quick) << "listed twice";
    QTest::newRow("unknown preset") << QStringList{"--preset", "large", "--device", "cpu"}
                                    << "unknown preset 'large'";
    QTest::newRow("batch not a number")
        << (QStringList{"--batch", "many"} + quick) << "--batch must be a whole number";
    QTest::newRow("unknown device") << QStringList{"--device", "tpu", "--preset", "tiny"}
                                    << "unknown device 'tpu'";
    QTest::newRow("bf16 on cpu") << (QStringList{"--precision", "bf16"} + quick) << "needs a CUDA device";
    QTest::newRow("unknown impl") << (QStringList{"--impl", "fast"} + quick)
                                  << "unknown mixer implementation 'fast'";
    QTest::newRow("unknown mode") << (QStringList{"--mode", "eval"} + quick)
                                  << "unknown benchmark mode 'eval'";
    QTest::newRow("unknown option") << QStringList{"--length", "512"} << "unknown option --length";
}

void TestCliBench::badArguments() {
    QFETCH(QStringList, args);
    QFETCH(QString, reason);
    const Run r = ponet(QStringList{"bench"} + args);
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains(reason), qPrintable("stderr: " + r.err));
    QCOMPARE(r.err.trimmed().count(QLatin1Char('\n')), 0);  // one line
    QVERIFY(r.out.isEmpty());
}

void TestCliBench::helpAndManPage() {
    const Run help = ponet({"bench", "--help"});
    QCOMPARE(help.exitCode, 0);
    for (const char* o : {"--mixers", "--lens", "--preset", "--batch", "--impl", "--device", "--steps",
                          "--warmup", "--mode", "--precision", "--json", "--no-cache"})
        QVERIFY2(help.out.contains(QLatin1String(o)), o);
    const Run all = ponet({"--help"});
    QVERIFY(all.out.contains(QStringLiteral("bench")));
    const Run man = ponet({"--man"});
    QCOMPARE(man.exitCode, 0);
    QVERIFY(man.out.contains(QStringLiteral("bench")));
    QVERIFY(man.out.contains(QStringLiteral("no\\-cache")));
}

QTEST_GUILESS_MAIN(TestCliBench)
#include "test_cli_bench.moc"
