// `ponet race` end to end through QProcess: two tiny ListOps runs (PoNet and FNet, 3 steps each) on the CPU print
// the summary table, write the JSON summary and two tagged run directories; bad mixers, budgets and a reused race
// name are usage errors (exit 2) that start nothing. Also the core's mixer-list parser and budget rules.
#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include "core/train/race.h"
#include "core/train/run_directory.h"
#include "core/train/run_notes.h"
#include "core/util/error.h"
#include "tests/cli_process.h"

namespace {
using Run = ponet::test::CliRun;
}  // namespace

class TestCliRace : public QObject {
    Q_OBJECT
  private:
    QString binary_;
    QTemporaryDir tmp_;

    Run ponet(const QStringList& args) { return ponet::test::runCli(binary_, args, 600000); }

  private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        binary_ = QFileInfo(QCoreApplication::applicationDirPath() + "/../ponet").absoluteFilePath();
        QVERIFY2(QFileInfo(binary_).isExecutable(),
                 qPrintable("the ponet binary is not at " + binary_ + "; build the 'ponet' target first"));
    }

    void mixerListsAreChecked() {
        QCOMPARE(ponet::parse_mixers(" PoNet, fnet ,attention"),
                 (std::vector<std::string>{"ponet", "fnet", "attention"}));
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, ponet::parse_mixers("ponet,lstm"));
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, ponet::parse_mixers("fnet,fnet"));
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, ponet::parse_mixers(" , "));
    }

    void budgetSetsStepsEvaluationsAndReports() {
        ponet::RunConfig c = ponet::load_preset("tiny-listops");
        ponet::apply_race_budget(c, 200);
        QCOMPARE(c.train.max_steps, int64_t(200));
        QCOMPARE(c.train.eval_every, int64_t(20));
        QCOMPARE(c.train.log_every, int64_t(2));
        QCOMPARE(c.train.warmup_steps, int64_t(20));  // the preset's 30, capped at a tenth
        QCOMPARE(c.train.checkpoint_every, int64_t(0));
        c.validate_runnable();
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, ponet::apply_race_budget(c, 0));
    }

    void raceTwoMixers() {
        const QString runs = tmp_.filePath("runs"), json = tmp_.filePath("race.json");
        const Run r = ponet({"race", "--mixers", "ponet,fnet", "--steps", "3", "--device", "cpu", "--name", "r1",
                             "--runs-dir", runs, "--json", json});
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        QVERIFY2(r.out.contains("MIXER"), qPrintable(r.out));
        int rows = 0;
        for (const QString& line : r.out.split('\n'))
            if ((line.startsWith("ponet ") || line.startsWith("fnet ")) && line.contains(" finished ")) ++rows;
        QCOMPARE(rows, 2);

        QFile f(json);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonObject o = QJsonDocument::fromJson(f.readAll()).object();
        QCOMPARE(o["race"].toString(), QStringLiteral("r1"));
        const QJsonArray a = o["runs"].toArray();
        QCOMPARE(a.size(), 2);
        for (int i = 0; i < 2; ++i) {
            const QJsonObject e = a[i].toObject();
            QCOMPARE(e["mixer"].toString(), i == 0 ? QStringLiteral("ponet") : QStringLiteral("fnet"));
            QCOMPARE(e["status"].toString(), QStringLiteral("finished"));
            QCOMPARE(e["steps"].toInt(), 3);
            QVERIFY(e["best"].toDouble() >= e["final"].toDouble());
            QVERIFY(e["steps_per_second"].toDouble() > 0);
            QVERIFY(e["tokens_per_second"].toDouble() > 0);
            QVERIFY(e["wall_seconds"].toDouble() > 0);
            const std::string dir = e["run_dir"].toString().toStdString();
            QCOMPARE(ponet::RunDirectory::open(dir).load_config().model.mixer, e["mixer"].toString().toStdString());
            const auto tags = ponet::read_run_notes(dir).tags;
            QVERIFY(std::find(tags.begin(), tags.end(), "r1") != tags.end());
        }
        QCOMPARE(ponet::list_runs(runs.toStdString()).size(), size_t(2));

        // The same name again would overwrite the runs: refused before anything starts.
        const Run again = ponet({"race", "--mixers", "ponet", "--steps", "3", "--device", "cpu", "--name", "r1",
                                 "--runs-dir", runs});
        QVERIFY2(again.exitCode == 2, qPrintable(again.err));
        QVERIFY2(again.err.contains("already exists"), qPrintable(again.err));
    }

    void badArgumentsAreUsageErrors() {
        const QString runs = tmp_.filePath("bad-runs");
        const Run lstm = ponet({"race", "--mixers", "ponet,lstm", "--runs-dir", runs});
        QVERIFY2(lstm.exitCode == 2, qPrintable(lstm.err));
        QVERIFY2(lstm.err.contains("unknown mixer 'lstm'"), qPrintable(lstm.err));
        const Run zero = ponet({"race", "--steps", "0", "--runs-dir", runs});
        QCOMPARE(zero.exitCode, 2);
        QVERIFY2(zero.err.contains("--steps"), qPrintable(zero.err));
        const Run device = ponet({"race", "--device", "tpu", "--runs-dir", runs});
        QCOMPARE(device.exitCode, 2);
        QVERIFY(!QFileInfo::exists(runs) || QDir(runs).isEmpty());
        const Run help = ponet({"race", "--help"});
        QCOMPARE(help.exitCode, 0);
        QVERIFY(help.out.contains("--mixers"));
    }
};

QTEST_GUILESS_MAIN(TestCliRace)
#include "test_cli_race.moc"
