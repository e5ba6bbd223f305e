// The run library on run folders written through the core's RunDirectory (the same calls the trainer makes):
// listing with status and best metric, overlaid curves, a diff of only the differing options, tags and notes
// saved in the run folder, delete that asks first, resume, and new runs appearing by themselves.
#include <QApplication>
#include <QDir>
#include <QMessageBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <cmath>

#include "core/train/run_directory.h"
#include "core/train/run_notes.h"
#include "gui_test_support.h"
#include "widgets/main_window.h"
#include "widgets/run_library.h"
#include "widgets/run_list_model.h"

using ponet::gui::RunLibraryPage;
using ponet::gui::RunListModel;

namespace {

constexpr int kTimeoutMs = 30000;

struct RunSpec {
    QString name;
    double lr = 1e-3;
    int64_t batch = 16;
    int64_t steps = 300;
    ponet::RunState state = ponet::RunState::Finished;
    double lossScale = 1.0;  // how fast the loss falls
    bool evals = true;
};

// A run folder as the trainer leaves it: config.json, status.json and metrics.jsonl with step and eval events.
QString makeRun(const QString& runsDir, const RunSpec& spec) {
    const std::string path = (runsDir + "/" + spec.name).toStdString();
    const ponet::RunDirectory dir = ponet::RunDirectory::create(path);
    ponet::RunConfig c = ponet::load_preset("tiny");
    const bool pretrain = spec.name.startsWith(QLatin1String("pretrain"));
    c.task = pretrain ? ponet::TaskKind::Pretrain : ponet::TaskKind::Finetune;
    c.name = spec.name.toStdString();
    c.data.dataset = "reviews.jsonl";
    c.train.lr = spec.lr;
    c.train.batch_size = spec.batch;
    c.train.max_steps = spec.steps;
    dir.save_config(c);
    double best = 0;
    for (int64_t s = 10; s <= spec.steps; s += 10) {
        const double loss = 1.6 * std::exp(-spec.lossScale * static_cast<double>(s) / 150.0) + 0.25 +
                            0.04 * std::sin(static_cast<double>(s) * 0.7);
        dir.append_metrics(QStringLiteral(R"({"event":"step","step":%1,"max_steps":%2,"loss":%3,"lr":%4,)"
                                          R"("accuracy":null,"tokens_per_second":5000})")
                               .arg(s).arg(spec.steps).arg(loss).arg(spec.lr)
                               .toStdString());
        if (spec.evals && s % 50 == 0) {
            const double acc = 0.5 + 0.4 * (1 - std::exp(-spec.lossScale * static_cast<double>(s) / 120.0));
            best = std::max(best, acc);
            dir.append_metrics(
                QStringLiteral(R"({"event":"eval","step":%1,"split":"dev","values":{"accuracy":%2,"loss":%3}})")
                    .arg(s).arg(acc).arg(loss + 0.1).toStdString());
        }
    }
    ponet::RunStatus st;
    st.state = spec.state;
    st.task = pretrain ? "pretrain" : "finetune";
    st.step = spec.steps;
    st.max_steps = spec.steps;
    if (spec.evals) {
        st.best_metric_name = "accuracy";
        st.best_metric = best;
        st.best_step = spec.steps;
    }
    dir.write_status(st);
    return QString::fromStdString(path);
}

// Clicks the button with `text` in the delete confirmation once it is open.
void answerDeleteDialog(const QString& text) {
    QTimer::singleShot(0, [text] {
        for (int tries = 0; tries < 200; ++tries) {
            if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
                for (QAbstractButton* b : box->buttons()) {
                    if (b->text() == text) {
                        b->click();
                        return;
                    }
                }
            }
            QTest::qWait(10);
        }
    });
}

}  // namespace

class TestRunLibrary : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void initTestCase();
    void init();
    void listsRunsWithStatusTaskAndBest();
    void overlaysCurvesOfTheSelectedRuns();
    void diffShowsOnlyDifferingKeys();
    void tagsAndNotesAreSavedInTheRunFolder();
    void deleteAsksFirstAndRemoves();
    void resumeEmitsTheRunPath();
    void newRunsAppearByThemselves();
    void screenshot();

  private:
    QString runsDir() const { return dir_->filePath(QStringLiteral("runs")); }
    std::unique_ptr<QTemporaryDir> dir_;
    QStringList runs_;
};

void TestRunLibrary::initTestCase() {
    ponet::gui::test::isolateSettings();
}

void TestRunLibrary::init() {
    dir_ = std::make_unique<QTemporaryDir>();
    QVERIFY(dir_->isValid());
    runs_.clear();
    runs_ << makeRun(runsDir(), {QStringLiteral("baseline"), 1e-3, 16, 300, ponet::RunState::Finished, 1.0, true});
    runs_ << makeRun(runsDir(), {QStringLiteral("low-lr"), 5e-4, 16, 300, ponet::RunState::Stopped, 0.6, true});
    runs_ << makeRun(runsDir(), {QStringLiteral("big-batch"), 1e-3, 32, 200, ponet::RunState::Failed, 1.3, false});
    // Not a run: no config.json or status.json. It must not be listed.
    QDir().mkpath(runsDir() + "/scratch");
}

void TestRunLibrary::listsRunsWithStatusTaskAndBest() {
    RunLibraryPage page;
    QSignalSpy changed(&page, &RunLibraryPage::runsChanged);
    page.setRunsFolder(runsDir());
    QTRY_VERIFY_WITH_TIMEOUT(!page.isBusy() && page.runs()->rowCount() == 3, kTimeoutMs);
    const RunListModel* m = page.runs();
    const int row = m->rowOf(runs_[0]);
    QVERIFY(row >= 0);
    QCOMPARE(m->index(row, RunListModel::NameColumn).data().toString(), QStringLiteral("baseline"));
    QCOMPARE(m->index(row, RunListModel::StatusColumn).data().toString(), RunListModel::tr("finished"));
    QCOMPARE(m->index(row, RunListModel::TaskColumn).data().toString(), QStringLiteral("finetune"));
    QVERIFY(m->index(row, RunListModel::BestColumn).data().toString().startsWith(QStringLiteral("accuracy 0.8")));
    QCOMPARE(m->index(m->rowOf(runs_[2]), RunListModel::StatusColumn).data().toString(), RunListModel::tr("failed"));
    QCOMPARE(m->index(m->rowOf(runs_[1]), RunListModel::StatusColumn).data().toString(), RunListModel::tr("stopped"));
}

void TestRunLibrary::overlaysCurvesOfTheSelectedRuns() {
    RunLibraryPage page;
    page.setRunsFolder(runsDir());
    QTRY_VERIFY_WITH_TIMEOUT(!page.isBusy() && page.runs()->rowCount() == 3, kTimeoutMs);
    QSignalSpy shown(&page, &RunLibraryPage::detailsShown);
    page.selectRuns({runs_[0], runs_[1]});
    QTRY_VERIFY_WITH_TIMEOUT(shown.count() >= 1 && !page.isBusy(), kTimeoutMs);
    QCOMPARE(page.currentMetric(), QStringLiteral("train/loss"));
    QCOMPARE(page.curveCount(), 2);

    page.selectRuns(runs_);
    QTRY_VERIFY_WITH_TIMEOUT(shown.count() >= 2 && !page.isBusy(), kTimeoutMs);
    QCOMPARE(page.curveCount(), 3);
    // big-batch never evaluated: the dev curve overlays the two runs that did.
    page.setCurrentMetric(QStringLiteral("dev/accuracy"));
    QCOMPARE(page.curveCount(), 2);
}

void TestRunLibrary::diffShowsOnlyDifferingKeys() {
    RunLibraryPage page;
    page.setRunsFolder(runsDir());
    QTRY_VERIFY_WITH_TIMEOUT(!page.isBusy() && page.runs()->rowCount() == 3, kTimeoutMs);
    QSignalSpy shown(&page, &RunLibraryPage::detailsShown);
    page.selectRuns({runs_[0], runs_[1]});
    QTRY_VERIFY_WITH_TIMEOUT(shown.count() >= 1 && !page.isBusy(), kTimeoutMs);
    QCOMPARE(page.differingKeys(), QStringList{QStringLiteral("train.lr")});

    page.selectRuns({runs_[0], runs_[2]});
    QTRY_VERIFY_WITH_TIMEOUT(shown.count() >= 2 && !page.isBusy(), kTimeoutMs);
    QCOMPARE(page.differingKeys(), (QStringList{QStringLiteral("train.batch_size"), QStringLiteral("train.max_steps")}));
}

void TestRunLibrary::tagsAndNotesAreSavedInTheRunFolder() {
    {
        RunLibraryPage page;
        page.setRunsFolder(runsDir());
        QTRY_VERIFY_WITH_TIMEOUT(!page.isBusy() && page.runs()->rowCount() == 3, kTimeoutMs);
        auto* m = const_cast<RunListModel*>(page.runs());
        const int row = m->rowOf(runs_[1]);
        QVERIFY(m->setData(m->index(row, RunListModel::TagsColumn), QStringLiteral(" sweep, lr ,sweep,")));
        QVERIFY(m->setData(m->index(row, RunListModel::NotesColumn), QStringLiteral("Slower start,\nsame end.")));
        QTRY_COMPARE_WITH_TIMEOUT(ponet::read_run_notes(runs_[1].toStdString()).notes,
                                  std::string("Slower start,\nsame end."), kTimeoutMs);
        const ponet::RunNotes saved = ponet::read_run_notes(runs_[1].toStdString());
        QCOMPARE(saved.tags, (std::vector<std::string>{"sweep", "lr"}));
    }
    // A new page (a restart) reads them back from the folder.
    RunLibraryPage again;
    again.setRunsFolder(runsDir());
    QTRY_VERIFY_WITH_TIMEOUT(!again.isBusy() && again.runs()->rowCount() == 3, kTimeoutMs);
    const int row = again.runs()->rowOf(runs_[1]);
    QCOMPARE(again.runs()->index(row, RunListModel::TagsColumn).data().toString(), QStringLiteral("sweep, lr"));
    QCOMPARE(again.runs()->index(row, RunListModel::NotesColumn).data().toString(),
             QStringLiteral("Slower start, same end."));

    // Notes that cannot be read say so in the row instead of hiding the run.
    QFile bad(QString::fromStdString(ponet::run_notes_path(runs_[2].toStdString())));
    QVERIFY(bad.open(QIODevice::WriteOnly));
    bad.write("{ not json");
    bad.close();
    again.refresh();
    QTRY_VERIFY_WITH_TIMEOUT(
        !again.runs()->index(again.runs()->rowOf(runs_[2]), RunListModel::NotesColumn).data(Qt::ToolTipRole)
             .toString().isEmpty(),
        kTimeoutMs);
    QCOMPARE(again.runs()->rowCount(), 3);
}

void TestRunLibrary::deleteAsksFirstAndRemoves() {
    RunLibraryPage page;
    page.setRunsFolder(runsDir());
    page.show();
    QTRY_VERIFY_WITH_TIMEOUT(!page.isBusy() && page.runs()->rowCount() == 3, kTimeoutMs);
    page.selectRuns({runs_[2]});

    answerDeleteDialog(QMessageBox::tr("Cancel"));
    QVERIFY(!page.deleteSelected());
    QVERIFY(QFileInfo(runs_[2]).isDir());

    answerDeleteDialog(RunLibraryPage::tr("Delete"));
    QVERIFY(page.deleteSelected());
    QTRY_VERIFY_WITH_TIMEOUT(!QFileInfo::exists(runs_[2]), kTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(page.runs()->rowCount(), 2, kTimeoutMs);
    QCOMPARE(page.runs()->rowOf(runs_[2]), -1);
    QVERIFY(QFileInfo(runs_[0]).isDir());  // the others are untouched

    // A running run is refused with a message, without asking.
    const QString live = makeRun(runsDir(), {QStringLiteral("live"), 1e-3, 16, 100, ponet::RunState::Running, 1.0, false});
    QTRY_COMPARE_WITH_TIMEOUT(page.runs()->rowCount(), 3, kTimeoutMs);
    page.selectRuns({live});
    page.setDeleteConfirmation([](const QStringList&) {
        qFatal("a running run must not reach the confirmation");
        return false;
    });
    QVERIFY(!page.deleteSelected());
    QVERIFY(page.messageText().contains(QStringLiteral("still running")));
    QVERIFY(QFileInfo(live).isDir());
}

void TestRunLibrary::resumeEmitsTheRunPath() {
    RunLibraryPage page;
    page.setRunsFolder(runsDir());
    QTRY_VERIFY_WITH_TIMEOUT(!page.isBusy() && page.runs()->rowCount() == 3, kTimeoutMs);
    QSignalSpy resume(&page, &RunLibraryPage::resumeRequested);
    page.selectRuns({runs_[1]});
    page.resumeSelected();
    QCOMPARE(resume.count(), 1);
    QCOMPARE(resume.first().first().toString(), runs_[1]);
    // Two selected: resume is for one run only.
    page.selectRuns({runs_[0], runs_[1]});
    page.resumeSelected();
    QCOMPARE(resume.count(), 1);
}

void TestRunLibrary::newRunsAppearByThemselves() {
    RunLibraryPage page;
    page.setRunsFolder(runsDir());
    QTRY_VERIFY_WITH_TIMEOUT(!page.isBusy() && page.runs()->rowCount() == 3, kTimeoutMs);
    const QString added = makeRun(runsDir(), {QStringLiteral("from-the-cli"), 2e-3, 16, 50, ponet::RunState::Finished, 1.0, true});
    QTRY_VERIFY_WITH_TIMEOUT(page.runs()->rowOf(added) >= 0, kTimeoutMs);
}

void TestRunLibrary::screenshot() {
    // The main window's library reads <data dir>/runs.
    const QString data = dir_->filePath(QStringLiteral("screenshot-data"));
    qputenv("PONET_DATA_DIR", data.toUtf8());
    QStringList shown;
    shown << makeRun(data + "/runs", {QStringLiteral("finetune-reviews-base"), 1e-3, 16, 300, ponet::RunState::Finished, 1.0, true});
    shown << makeRun(data + "/runs", {QStringLiteral("finetune-reviews-lr5e-4"), 5e-4, 16, 300, ponet::RunState::Finished, 0.6, true});
    shown << makeRun(data + "/runs", {QStringLiteral("finetune-reviews-bs32"), 1e-3, 32, 300, ponet::RunState::Stopped, 1.4, true});
    makeRun(data + "/runs", {QStringLiteral("pretrain-brown-tiny"), 1e-3, 16, 120, ponet::RunState::Failed, 1.0, false});
    ponet::write_run_notes(shown[0].toStdString(), {{"baseline"}, "Tiny preset, 10% validation."});
    ponet::write_run_notes(shown[1].toStdString(), {{"lr sweep"}, "Half the learning rate: slower, same end."});
    ponet::write_run_notes(shown[2].toStdString(), {{"batch sweep"}, "Stopped early to free the CPU."});

    ponet::gui::MainWindow w({QStringLiteral("runs"), {}});
    w.resize(1280, 800);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    RunLibraryPage* page = w.runLibraryPage();
    QTRY_VERIFY_WITH_TIMEOUT(!page->isBusy() && page->runs()->rowCount() == 4, kTimeoutMs);
    QSignalSpy details(page, &RunLibraryPage::detailsShown);
    page->selectRuns(shown);
    QTRY_VERIFY_WITH_TIMEOUT(details.count() >= 1 && !w.isBusy(), 120000);
    QCOMPARE(page->curveCount(), 3);
    QTest::qWait(200);  // queued replots
    const QImage image = w.grab().toImage();
    QVERIFY(ponet::gui::test::distinctColours(image) >= 32);
    QVERIFY(image.save(ponet::gui::test::screenshotPath(QStringLiteral("studio-runs.png"))));
    qunsetenv("PONET_DATA_DIR");
}

QTEST_MAIN(TestRunLibrary)
#include "test_gui_run_library.moc"
