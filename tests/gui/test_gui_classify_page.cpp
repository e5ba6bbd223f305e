// ClassifyPage: a tiny byte-level classifier trained through the core, then the analyst's workflow on it.
// A dropped folder with valid, empty, binary, unsupported and unreadable files gives one row per document
// and a skipped entry with the reason for each of the others; the CSV export reads back to the same rows;
// the accuracy of a labelled folder is the one the core's evaluation (what `ponet eval` prints) reports.
#include <QDir>
#include <QFile>
#include <QMimeData>
#include <QSettings>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QUrl>
#include <QtTest>

#include <unistd.h>

#include "core/data/importers.h"
#include "core/util/compute_devices.h"
#include "core/train/run_config.h"
#include "core/train/trainer.h"
#include "gui_test_support.h"
#include "widgets/classify_page.h"
#include "widgets/explorer_page.h"
#include "widgets/main_window.h"

using ponet::gui::ClassifyPage;
using ponet::gui::ClassifyResultModel;
using ponet::gui::ClassifyRow;

namespace {

constexpr int kTimeoutMs = 120000;

void writeFile(const QString& path, const QByteArray& bytes) {
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(bytes);
}

QString docText(int i) {
    return i % 2 ? QStringLiteral("the cat sat on the mat and purred, cat number %1").arg(i)
                 : QStringLiteral("the dog barked at the mailman loudly, dog number %1").arg(i);
}

// RFC 4180 reader, enough for the page's own export.
QList<QStringList> readCsv(const QString& text) {
    QList<QStringList> rows;
    QStringList row;
    QString field;
    bool quoted = false;
    for (int i = 0; i < text.size(); ++i) {
        const QChar c = text.at(i);
        if (quoted) {
            if (c == QLatin1Char('"') && i + 1 < text.size() && text.at(i + 1) == QLatin1Char('"')) {
                field += c;
                ++i;
            } else if (c == QLatin1Char('"')) {
                quoted = false;
            } else {
                field += c;
            }
        } else if (c == QLatin1Char('"')) {
            quoted = true;
        } else if (c == QLatin1Char(',')) {
            row << field;
            field.clear();
        } else if (c == QLatin1Char('\n')) {
            row << field;
            field.clear();
            rows << row;
            row.clear();
        } else {
            field += c;
        }
    }
    return rows;
}

}  // namespace

class TestClassifyPage : public QObject {
    Q_OBJECT
  private:
    QTemporaryDir tmp_;
    QString run_;
    QString path(const QString& rel) const { return QDir(tmp_.path()).filePath(rel); }

    // A folder per label (cats, dogs) of 24 documents; written once.
    QString labelledFolder() {
        const QString in = path(QStringLiteral("labelled"));
        if (!QFileInfo::exists(in))
            for (int i = 100; i < 124; ++i)
                writeFile(in + (i % 2 ? QStringLiteral("/cats/") : QStringLiteral("/dogs/")) +
                              QStringLiteral("%1.txt").arg(i),
                          docText(i).toUtf8());
        return in;
    }

    bool classify(ClassifyPage& page, const QStringList& paths) {
        QSignalSpy done(&page, &ClassifyPage::classificationFinished);
        if (!page.classifyPaths(paths)) return false;
        return done.wait(kTimeoutMs) || done.count() > 0;
    }

  private Q_SLOTS:
    void initTestCase() {
        ponet::gui::test::isolateSettings();
        QVERIFY(tmp_.isValid());
        QByteArray jsonl;
        for (int i = 0; i < 64; ++i)
            jsonl += QStringLiteral("{\"text\": \"%1\", \"label\": \"%2\"}\n")
                         .arg(docText(i), i % 2 ? QStringLiteral("cats") : QStringLiteral("dogs"))
                         .toUtf8();
        writeFile(path(QStringLiteral("train.jsonl")), jsonl);
        ponet::RunConfig c = ponet::load_preset("tiny");
        c.task = ponet::TaskKind::Lra;  // byte-level: no vocabulary to fetch
        c.model.preset = "lra-text";    // with the tiny preset's 64-wide, 2-layer overrides
        c.data.dataset = path(QStringLiteral("train.jsonl")).toStdString();
        c.data.tokenizer = "byte";
        c.data.validation_fraction = 0.2;
        c.data.prefetch = 2;
        c.model.max_length = 64;
        c.train.device = "cpu";
        c.train.batch_size = 8;
        c.train.max_steps = 6;
        c.train.warmup_steps = 1;
        c.train.eval_every = 6;
        c.train.checkpoint_every = 0;
        run_ = path(QStringLiteral("run"));
        ponet::TrainObserver quiet;
        ponet::RunControl ctl;
        const ponet::RunOutcome o = ponet::Trainer().run(c, run_.toStdString(), quiet, ctl);
        QVERIFY2(o.status == "finished", o.message.c_str());
    }

    void noModelIsAClearError() {
        ClassifyPage page;
        QVERIFY(!page.classifyPaths({tmp_.path()}));
        QVERIFY(!page.isBusy());
        page.setModelPath(path(QStringLiteral("no-such-model")));
        QVERIFY(classify(page, {tmp_.path()}));
        QVERIFY(!page.errorText().isEmpty());
        QCOMPARE(page.results()->rowCount(), 0);
    }

    void droppedFolderGivesRowsAndSkippedEntries() {
        const QString in = path(QStringLiteral("mixed"));
        writeFile(in + QStringLiteral("/a.txt"), docText(1).toUtf8());
        writeFile(in + QStringLiteral("/b.md"), "# Notes\n" + docText(2).toUtf8());
        writeFile(in + QStringLiteral("/c.html"),
                  "<html><body><p>" + docText(3).toUtf8() + "</p><script>x()</script></body></html>");
        writeFile(in + QStringLiteral("/d.jsonl"), "{\"text\": \"" + docText(4).toUtf8() +
                                                       "\"}\n{\"text\": \"" + docText(5).toUtf8() +
                                                       "\"}\nnot json\n");
        writeFile(in + QStringLiteral("/empty.txt"), "  \n");
        writeFile(in + QStringLiteral("/binary.txt"), QByteArray("\x00\x01\x02\x03 binary", 12));
        writeFile(in + QStringLiteral("/image.png"), "PNG");
        const QString locked = in + QStringLiteral("/locked.txt");
        writeFile(locked, docText(6).toUtf8());
        const bool root = ::geteuid() == 0;
        if (!root) QVERIFY(QFile::setPermissions(locked, QFileDevice::Permissions()));

        ClassifyPage page;
        page.resize(1100, 700);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        page.setModelPath(run_);
        // Dropped, as from a file manager.
        QMimeData mime;
        mime.setUrls({QUrl::fromLocalFile(in)});
        QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(&page, &enter);
        QVERIFY(enter.isAccepted());
        QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QSignalSpy done(&page, &ClassifyPage::classificationFinished);
        QApplication::sendEvent(&page, &drop);
        QVERIFY(page.isBusy());
        QVERIFY(done.wait(kTimeoutMs) || done.count() > 0);
        QVERIFY2(page.errorText().isEmpty(), qPrintable(page.errorText()));
        if (!root) QFile::setPermissions(locked, QFileDevice::ReadOwner | QFileDevice::WriteOwner);

        QStringList files;
        for (const auto& r : page.results()->rows()) {
            files << QFileInfo(r.file).fileName();
            QVERIFY(r.label == QLatin1String("cats") || r.label == QLatin1String("dogs"));
            QVERIFY(r.confidence >= 0.5 && r.confidence <= 1.0);
            QVERIFY(r.top3.startsWith(r.label + QLatin1Char(' ')));
            QVERIFY(r.tokens > 0);
            QVERIFY(r.gold.isEmpty());  // "mixed" is not a label
        }
        const QStringList expected{QStringLiteral("a.txt"), QStringLiteral("b.md"), QStringLiteral("c.html"),
                                   QStringLiteral("d.jsonl line 1"), QStringLiteral("d.jsonl line 2")};
        QCOMPARE(files, root ? expected + QStringList{QStringLiteral("locked.txt")} : expected);
        // The File column shows the paths below the dropped folder; the tooltip has the whole path.
        const QModelIndex first = page.results()->index(0, ClassifyResultModel::File);
        QCOMPARE(first.data().toString(), QStringLiteral("a.txt"));
        QCOMPARE(page.results()->index(3, ClassifyResultModel::File).data().toString(), QStringLiteral("d.jsonl line 1"));
        QCOMPARE(first.data(Qt::ToolTipRole).toString(), QDir::cleanPath(in + QStringLiteral("/a.txt")));
        // The HTML row counts the text, not the tags: same length as the plain text it wraps.
        QCOMPARE(page.results()->rows().at(2).tokens, qint64(docText(3).toUtf8().size()));

        auto reasonOf = [&](const QString& name) {
            for (const QString& s : page.skippedEntries())
                if (s.contains(name)) return s.section(QStringLiteral(" — "), 1);
            return QString();
        };
        QCOMPARE(reasonOf(QStringLiteral("empty.txt")), QStringLiteral("empty"));
        QCOMPARE(reasonOf(QStringLiteral("binary.txt")), QStringLiteral("binary"));
        QVERIFY(reasonOf(QStringLiteral("image.png")).startsWith(QStringLiteral("unsupported type")));
        QCOMPARE(reasonOf(QStringLiteral("d.jsonl line 3")), QStringLiteral("not a JSON object"));
        if (!root) QVERIFY(reasonOf(QStringLiteral("locked.txt")).startsWith(QStringLiteral("unreadable")));
        QCOMPARE(page.skippedEntries().size(), root ? 4 : 5);
        QVERIFY(!page.hasScore());

        // The threshold marks rows; the proxy sorts by the numeric confidence.
        page.setThreshold(1.0);
        QCOMPARE(page.results()->uncertainCount(), page.results()->rowCount());
        page.setThreshold(0.0);
        QCOMPARE(page.results()->uncertainCount(), 0);
        page.proxy()->sort(ClassifyResultModel::Confidence, Qt::DescendingOrder);
        for (int i = 1; i < page.proxy()->rowCount(); ++i)
            QVERIFY(
                page.proxy()->index(i - 1, ClassifyResultModel::Confidence).data(Qt::UserRole).toDouble() >=
                page.proxy()->index(i, ClassifyResultModel::Confidence).data(Qt::UserRole).toDouble());

        // CSV round trip.
        QString error;
        const QString csv = path(QStringLiteral("out/results.csv"));
        QDir().mkpath(path(QStringLiteral("out")));
        QVERIFY2(page.exportCsv(csv, &error), qPrintable(error));
        QFile f(csv);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QList<QStringList> rows = readCsv(QString::fromUtf8(f.readAll()));
        QCOMPARE(rows.size(), page.results()->rowCount() + 1);
        QCOMPARE(rows.first().first(), QStringLiteral("file"));
        for (int i = 0; i < page.results()->rowCount(); ++i) {
            const auto& r = page.results()->rows().at(i);
            const QStringList& c = rows.at(i + 1);
            QCOMPARE(c.size(), 8);
            QCOMPARE(c.at(0), r.file);
            QCOMPARE(c.at(2), r.label);
            QCOMPARE(c.at(3).toDouble(), r.confidence);
            QCOMPARE(c.at(4), r.top3);
            QCOMPARE(c.at(5).toLongLong(), r.tokens);
            QCOMPARE(c.at(6), r.truncated ? QStringLiteral("yes") : QStringLiteral("no"));
        }
        QVERIFY2(page.exportJson(path(QStringLiteral("out/results.json")), &error), qPrintable(error));
        QVERIFY(!page.exportCsv(path(QStringLiteral("no/such/dir/x.csv")), &error));
        QVERIFY(error.contains(QStringLiteral("x.csv")));
    }

    void labelledFolderAccuracyMatchesTheCoreEvaluation() {
        const QString in = labelledFolder();
        ClassifyPage page;
        page.setModelPath(run_);
        QVERIFY(classify(page, {in}));
        QVERIFY2(page.errorText().isEmpty(), qPrintable(page.errorText()));
        QCOMPARE(page.results()->rowCount(), 24);
        QVERIFY(page.hasScore());

        // What `ponet eval` computes for the same files.
        const torch::Device cpu(torch::kCPU);
        ponet::InferenceModel im = ponet::load_inference_model(run_.toStdString(), "best", cpu);
        const ponet::ImportResult r = ponet::import_documents(in.toStdString(), ponet::ImportFormat::Folder);
        QCOMPARE(r.documents.size(), size_t(24));
        const auto ex = ponet::classification_examples(r.documents, im.data.tokenizer.get(), im.data.labels,
                                                       im.max_length, im.data.lra_kind);
        const ponet::EvalMetrics m =
            ponet::evaluate_examples(*im.model, ex, im.data, ponet::EvalSettings{}, cpu);
        QCOMPARE(page.batchAccuracy(), m.values.at("accuracy"));
        QCOMPARE(page.batchMacroF1(), m.values.at("macro_f1"));
        // Recent models remember the one that worked.
        QCOMPARE(QSettings().value(QStringLiteral("classify/recentModels")).toStringList().value(0), run_);
    }

    // Cancel stops between batches: the page is idle again with at most the rows classified before it.
    void cancelStopsBetweenBatches() {
        ClassifyPage page;
        page.setModelPath(run_);
        QSignalSpy done(&page, &ClassifyPage::classificationFinished);
        QVERIFY(page.classifyPaths({path(QStringLiteral("labelled"))}));
        page.cancel();
        QVERIFY(done.wait(kTimeoutMs) || done.count() > 0);
        QVERIFY(!page.isBusy());
        QVERIFY(page.errorText().isEmpty());
        QVERIFY(page.results()->rowCount() < 24);
        // The page takes the next batch.
        QVERIFY(classify(page, {path(QStringLiteral("labelled"))}));
        QCOMPARE(page.results()->rowCount(), 24);
    }

    // The device choice offers the CPU and each CUDA card the core sees (only the CPU where there is no CUDA),
    // remembers the choice, falls back to the CPU when the remembered card is gone, and the model runs there.
    void deviceChoice() {
        QStringList expected;
        for (const auto& d : ponet::compute_devices()) expected << QString::fromStdString(d.id);
        QSettings().setValue(QStringLiteral("classify/device"), QStringLiteral("cuda:77"));
        ClassifyPage page;
        QCOMPARE(page.deviceIds(), expected);
        QCOMPARE(page.deviceIds().first(), QStringLiteral("cpu"));
        QCOMPARE(page.device(), QStringLiteral("cpu"));  // cuda:77 is not here
        QVERIFY(!page.setDevice(QStringLiteral("cuda:77")));
        QVERIFY(page.setDevice(QStringLiteral("cpu")));
        QCOMPARE(QSettings().value(QStringLiteral("classify/device")).toString(), QStringLiteral("cpu"));
        {
            ClassifyPage again;
            QCOMPARE(again.device(), QStringLiteral("cpu"));
        }
        page.setModelPath(run_);
        QVERIFY(classify(page, {labelledFolder()}));
        QVERIFY2(page.errorText().isEmpty(), qPrintable(page.errorText()));
        QCOMPARE(page.classifierDevice(), QStringLiteral("cpu"));
    }

    // Double-clicking a result row opens that document on the Explore page with the same model, which
    // inspects it.
    void rowOpensInExplorer() {
        ponet::gui::MainWindow w;
        w.resize(1280, 800);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        ClassifyPage* page = w.classifyPage();
        w.showPage(QStringLiteral("classify"));
        page->setModelPath(run_);
        QVERIFY(classify(*page, {labelledFolder()}));
        QVERIFY(page->results()->rowCount() > 2);
        auto* view = page->findChild<QTableView*>(QStringLiteral("classifyResults"));
        QVERIFY(view);
        const QModelIndex index = view->model()->index(2, ClassifyResultModel::File);
        const ClassifyRow row = page->results()->rows().at(page->proxy()->mapToSource(index).row());
        QVERIFY(!row.text.isEmpty());
        QSignalSpy inspected(w.explorerPage(), &ponet::gui::ExplorerPage::inspected);
        QSignalSpy failed(w.explorerPage(), &ponet::gui::ExplorerPage::failed);
        const QPoint at = view->visualRect(index).center();
        QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, at);  // the press that the double click completes
        QTest::mouseDClick(view->viewport(), Qt::LeftButton, {}, at);
        QCOMPARE(w.currentPage(), QStringLiteral("explore"));
        QCOMPARE(w.explorerPage()->modelPath(), run_);
        QCOMPARE(w.explorerPage()->documentName(), row.file);
        QVERIFY(inspected.wait(kTimeoutMs) || inspected.count() > 0);
        QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().first().toString()));
        QVERIFY(w.explorerPage()->inspection());
    }

    // The page as a user sees it after a batch (docs/images/studio-classify.png when PONET_SCREENSHOT_DIR is
    // set).
    void screenshot() {
        ClassifyPage page;
        page.resize(1280, 800);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        page.setModelPath(run_);
        // The mixed folder of the drop test too, when it ran first (skipped files in the picture).
        QStringList inputs{labelledFolder()};
        if (QFileInfo::exists(path(QStringLiteral("mixed")))) inputs << path(QStringLiteral("mixed"));
        QVERIFY(classify(page, inputs));
        QVERIFY(page.hasScore());
        page.setThreshold(0.55);
        QTest::qWait(50);
        const QImage shot = page.grab().toImage();
        QVERIFY(ponet::gui::test::distinctColours(shot) >= 32);
        QVERIFY(shot.save(ponet::gui::test::screenshotPath(QStringLiteral("studio-classify.png"))));
    }
};

QTEST_MAIN(TestClassifyPage)
#include "test_gui_classify_page.moc"
