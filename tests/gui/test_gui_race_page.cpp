// RacePage: a real race of three tiny ListOps runs (PoNet, FNet, attention; a few steps each) on the CPU. Each
// mixer's loss and accuracy curves get points against steps and wall time, the summary table fills, the runs are
// real run directories tagged with the race; Stop ends the current run and skips the rest; bad choices are
// clear errors that start nothing.
#include <QDir>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include "core/train/race.h"
#include "core/train/run_directory.h"
#include "core/train/run_notes.h"
#include "gui_test_support.h"
#include "widgets/metric_plot.h"
#include "widgets/race_page.h"

using ponet::gui::MetricPlot;
using ponet::gui::RacePage;

namespace {
constexpr int kTimeoutMs = 300000;
const QStringList kMixers{QStringLiteral("ponet"), QStringLiteral("fnet"), QStringLiteral("attention")};
}  // namespace

class TestRacePage : public QObject {
    Q_OBJECT
  private:
    QTemporaryDir runs_;

    void prepare(RacePage& page, int steps) {
        page.setRunsDirectory(runs_.path());
        page.setTask(QStringLiteral("listops"));
        page.setModelSize(QStringLiteral("tiny"));
        page.setBudget(steps);
        page.setMixers(kMixers);
        page.setDevice(QStringLiteral("cpu"));
    }

  private Q_SLOTS:
    void initTestCase() {
        ponet::gui::test::isolateSettings();
        QVERIFY(runs_.isValid());
    }

    void badChoicesStartNothing() {
        RacePage page;
        prepare(page, 4);
        page.setMixers({});
        QVERIFY(!page.start());
        QVERIFY(!page.isRunning());
        QVERIFY(page.errorText().contains(QStringLiteral("mixer")));

        page.setMixers(kMixers);
        page.setTask(QStringLiteral("bytes"));
        page.setDataset(QString());
        QVERIFY(!page.start());
        QVERIFY(page.errorText().contains(QStringLiteral("labelled documents")));
        page.setDataset(QDir(runs_.path()).filePath(QStringLiteral("no-such-folder")));
        QVERIFY(!page.start());
        QVERIFY(page.errorText().contains(QStringLiteral("does not exist")));
        QVERIFY(QDir(runs_.path()).entryList(QDir::Dirs | QDir::NoDotAndDotDot).isEmpty());
    }

    // The form's choices become the race: task, size, length, budget, device, mixers.
    void choicesMakeTheRace() {
        RacePage page;
        prepare(page, 40);
        page.setMaxLength(128);
        page.setModelSize(QStringLiteral("small"));
        page.setMixers({QStringLiteral("fnet"), QStringLiteral("attention")});
        ponet::RaceConfig race;
        QString error;
        QVERIFY2(page.buildRace(race, &error), qPrintable(error));
        QCOMPARE(race.mixers, (std::vector<std::string>{"fnet", "attention"}));
        QCOMPARE(race.base.task, ponet::TaskKind::Lra);
        QCOMPARE(race.base.model.max_length, int64_t(128));
        QVERIFY(race.base.data.dataset.find("max_length=126") != std::string::npos);
        QCOMPARE(race.base.model.hidden_size, int64_t(256));
        QCOMPARE(race.base.train.max_steps, int64_t(40));
        QCOMPARE(race.base.train.eval_every, int64_t(4));
        QCOMPARE(race.base.train.device, std::string("cpu"));
        QCOMPARE(race.runs_dir, runs_.path().toStdString());

        const QString data = QDir(runs_.path()).filePath(QStringLiteral("reviews.jsonl"));
        page.setTask(QStringLiteral("bytes"));
        page.setDataset(data);
        QVERIFY(!page.buildRace(race, &error));  // not there yet
        QFile f(data);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("{\"text\": \"good\", \"label\": \"pos\"}\n{\"text\": \"bad\", \"label\": \"neg\"}\n");
        f.close();
        QVERIFY2(page.buildRace(race, &error), qPrintable(error));
        QCOMPARE(race.base.data.dataset, data.toStdString());
        QCOMPARE(race.base.data.tokenizer, std::string("byte"));
        QCOMPARE(race.base.model.max_length, int64_t(512));  // the byte-level task's default length
        QFile::remove(data);
    }

    void threeMixersRaceWithLiveCurvesAndSummary() {
        RacePage page;
        page.resize(1280, 800);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        prepare(page, 4);
        QSignalSpy finished(&page, &RacePage::raceFinished);
        QSignalSpy running(&page, &RacePage::runningChanged);
        QVERIFY2(page.start(), qPrintable(page.errorText()));
        QVERIFY(page.isRunning());
        QVERIFY(!page.start());  // one race at a time
        QVERIFY(page.errorText().contains(QStringLiteral("running")));
        QVERIFY(finished.wait(kTimeoutMs) || finished.count() > 0);
        QCOMPARE(finished.first().first().toBool(), false);
        QVERIFY(!page.isRunning());
        QVERIFY2(page.errorText().isEmpty(), qPrintable(page.errorText()));  // no longer true: gone
        QCOMPARE(running.count(), 2);

        for (const QString& m : kMixers) {
            for (const QString& id : {QStringLiteral("loss-steps"), QStringLiteral("loss-time")}) {
                MetricPlot* p = page.plot(id);
                QVERIFY2(p->hasSeries(m, QStringLiteral("loss")), qPrintable(m + " " + id));
                QCOMPARE(p->points(m, QStringLiteral("loss")).size(), 4);  // log_every 1 for a 4-step budget
            }
            for (const QString& id : {QStringLiteral("accuracy-steps"), QStringLiteral("accuracy-time")}) {
                MetricPlot* p = page.plot(id);
                QVERIFY2(p->hasSeries(m, QStringLiteral("accuracy")), qPrintable(m + " " + id));
                const auto pts = p->points(m, QStringLiteral("accuracy"));
                QCOMPARE(pts.size(), 4);  // eval_every 1
                for (const auto& pt : pts) {
                    QVERIFY(pt.value >= 0.0 && pt.value <= 1.0);
                    QVERIFY(pt.seconds > 0.0);
                }
                QCOMPARE(pts.last().step, 4.0);
            }
        }

        QTableWidget* t = page.summaryTable();
        QCOMPARE(t->rowCount(), 3);
        const QStringList titles{QStringLiteral("PoNet"), QStringLiteral("FNet"), QStringLiteral("Attention")};
        for (int r = 0; r < 3; ++r) {
            QCOMPARE(t->item(r, 0)->text(), titles.at(r));
            QCOMPARE(t->item(r, 1)->text(), QStringLiteral("finished"));
            QCOMPARE(t->item(r, 2)->text(), QStringLiteral("4"));
            bool ok = false;
            const double final = t->item(r, 3)->text().toDouble(&ok);
            QVERIFY2(ok && final >= 0 && final <= 1, qPrintable(t->item(r, 3)->text()));
            const double best = t->item(r, 4)->text().toDouble(&ok);
            QVERIFY(ok && best >= final);
            QVERIFY(t->item(r, 5)->text().toDouble(&ok) > 0 && ok);  // steps/s
            QVERIFY(t->item(r, 6)->text() != QStringLiteral("–"));    // tokens/s
            QVERIFY(t->item(r, 7)->text() != QStringLiteral("–"));    // peak memory
            QVERIFY(t->item(r, 8)->text().endsWith(QStringLiteral(" s")));
        }

        // Real runs in the runs folder, tagged with the race, so the run library lists them together.
        int ofThisRace = 0;
        for (const auto& run : ponet::list_runs(runs_.path().toStdString()))
            ofThisRace += QString::fromStdString(run.name).startsWith(page.raceName() + QLatin1Char('-')) ? 1 : 0;
        QCOMPARE(ofThisRace, 3);
        for (const QString& m : kMixers) {
            const QString dir = QDir(runs_.path()).filePath(page.raceName() + QLatin1Char('-') + m);
            QVERIFY2(QFileInfo::exists(dir + QStringLiteral("/metrics.jsonl")), qPrintable(dir));
            const auto notes = ponet::read_run_notes(dir.toStdString());
            QVERIFY(std::find(notes.tags.begin(), notes.tags.end(), page.raceName().toStdString()) !=
                    notes.tags.end());
            QCOMPARE(ponet::RunDirectory::open(dir.toStdString()).load_config().model.mixer, m.toStdString());
        }

        // A summary row opens its run.
        QSignalSpy open(&page, &RacePage::openRunRequested);
        Q_EMIT t->cellActivated(1, 0);
        QCOMPARE(open.count(), 1);
        QVERIFY(open.first().first().toString().endsWith(QStringLiteral("-fnet")));

        const QImage shot = page.grab().toImage();
        QVERIFY(ponet::gui::test::distinctColours(shot) >= 32);
        QVERIFY(shot.save(ponet::gui::test::screenshotPath(QStringLiteral("studio-race.png"))));
    }

    // A run that cannot train (here: documents with one label) fails with the core's reason on the page; the
    // other mixers still get their turn (and fail the same way), and the page is ready for the next race.
    void failedRunsSayWhy() {
        const QString data = QDir(runs_.path()).filePath(QStringLiteral("one-label.jsonl"));
        QFile f(data);
        QVERIFY(f.open(QIODevice::WriteOnly));
        for (int i = 0; i < 20; ++i) f.write(QStringLiteral("{\"text\": \"doc %1\", \"label\": \"only\"}\n").arg(i).toUtf8());
        f.close();
        RacePage page;
        prepare(page, 2);
        page.setTask(QStringLiteral("bytes"));
        page.setDataset(data);
        QSignalSpy finished(&page, &RacePage::raceFinished);
        QVERIFY2(page.start(), qPrintable(page.errorText()));
        QVERIFY(finished.wait(kTimeoutMs) || finished.count() > 0);
        for (int r = 0; r < 3; ++r) QCOMPARE(page.summaryTable()->item(r, 1)->text(), QStringLiteral("failed"));
        QVERIFY2(page.errorText().contains(QStringLiteral("two labels")), qPrintable(page.errorText()));
        QVERIFY(!page.isRunning());
    }

    void stopEndsTheCurrentRunAndSkipsTheRest() {
        RacePage page;
        prepare(page, 5000);
        QSignalSpy finished(&page, &RacePage::raceFinished);
        QVERIFY2(page.start(), qPrintable(page.errorText()));
        MetricPlot* loss = page.plot(QStringLiteral("loss-steps"));
        QTRY_VERIFY_WITH_TIMEOUT(loss->hasSeries(QStringLiteral("ponet"), QStringLiteral("loss")), kTimeoutMs);
        page.stop();
        QVERIFY(finished.wait(kTimeoutMs) || finished.count() > 0);
        QCOMPARE(finished.first().first().toBool(), true);
        QTableWidget* t = page.summaryTable();
        QCOMPARE(t->item(0, 1)->text(), QStringLiteral("stopped"));
        QVERIFY(t->item(0, 2)->text().toInt() < 5000);
        QCOMPARE(t->item(1, 1)->text(), QStringLiteral("not run"));
        QCOMPARE(t->item(2, 1)->text(), QStringLiteral("not run"));
        // The stopped run is resumable: it saved a checkpoint.
        const QString dir = QDir(runs_.path()).filePath(page.raceName() + QStringLiteral("-ponet"));
        QVERIFY(!QDir(dir + QStringLiteral("/checkpoints")).entryList(QDir::Dirs | QDir::NoDotAndDotDot).isEmpty());
    }
};

QTEST_MAIN(TestRacePage)
#include "test_gui_race_page.moc"
