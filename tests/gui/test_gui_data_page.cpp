// The Data page: imports through the worker thread (folder-per-class, CSV, drag-and-drop), the report of what
// was skipped, bad files as messages rather than crashes, the balance and length counts, generated tasks,
// cancellation, and the data section a run gets.
#include <QApplication>
#include <QDir>
#include <QDropEvent>
#include <QFile>
#include <QMimeData>
#include <QGroupBox>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QUrl>

#include "core/data/dataset_profile.h"
#include "gui_test_support.h"
#include "widgets/data_page.h"
#include "widgets/document_table_model.h"
#include "widgets/main_window.h"

using ponet::gui::DataPage;
using ponet::gui::DocumentTableModel;

namespace {

constexpr int kJobTimeoutMs = 60000;

void writeFile(const QString& path, const QByteArray& bytes) {
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    QVERIFY2(f.open(QIODevice::WriteOnly), qPrintable(path));
    f.write(bytes);
}

QStringList columnTexts(const DocumentTableModel* m, int column) {
    QStringList out;
    for (int r = 0; r < m->rowCount(); ++r) out << m->index(r, column).data().toString();
    return out;
}

// Bytes measure lengths exactly (one token per byte) and need nothing fetched.
void useBytes(DataPage& page) {
    ponet::gui::TokenizerChoice bytes;
    bytes.kind = ponet::gui::TokenizerChoice::Kind::Bytes;
    page.setTokenizer(bytes);
}

bool idleWithLengths(const DataPage& page) {
    return !page.isBusy() && page.lengthHistogram().documents == page.documents()->rowCount() &&
           page.splitCounts().has_value();
}

}  // namespace

class TestDataPage : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void initTestCase();
    void builtInDatasetsListedWithStatus();
    void importsFolderPerClassWithReport();
    void fileColumnOnlyWhereItTellsSomething();
    void importsCsvAndReportsBadRows();
    void corruptFileShowsMessageAndKeepsDataset();
    void dropImportsTheDroppedFile();
    void generatesListOpsForAnLraRun();
    void cancelStopsALongJob();
    void hundredThousandRows();
    void screenshot();

  private:
    QTemporaryDir tmp_;
};

void TestDataPage::initTestCase() {
    ponet::gui::test::isolateSettings();
    QVERIFY(tmp_.isValid());
    // Recipes are looked up under an empty data folder: nothing is fetched in tests.
    qputenv("PONET_DATA_DIR", tmp_.filePath(QStringLiteral("data")).toUtf8());
}

void TestDataPage::builtInDatasetsListedWithStatus() {
    DataPage page;
    QTRY_COMPARE_WITH_TIMEOUT(page.recipeStatusText(QStringLiteral("brown")), DataPage::tr("not fetched"),
                              kJobTimeoutMs);
    QCOMPARE(page.recipeStatusText(QStringLiteral("bert-vocab")), DataPage::tr("not fetched"));
    QVERIFY(!page.dataConfig().has_value());  // nothing chosen yet: no data section to hand to a run
}

void TestDataPage::importsFolderPerClassWithReport() {
    const QString root = tmp_.filePath(QStringLiteral("reviews"));
    writeFile(root + "/pos/a.txt", "a fine film");
    writeFile(root + "/pos/a-review-with-a-long-name.txt", "great acting and a good story");
    writeFile(root + "/pos/c.md", "loved it");
    writeFile(root + "/neg/d.txt", "dull");
    writeFile(root + "/neg/e.txt", "far too long and slow");
    writeFile(root + "/neg/cover.png", QByteArray("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16));

    DataPage page;
    useBytes(page);
    QSignalSpy loaded(&page, &DataPage::datasetLoaded);
    page.importPath(root);
    QTRY_VERIFY_WITH_TIMEOUT(idleWithLengths(page), kJobTimeoutMs);
    QCOMPARE(loaded.count(), 1);

    const DocumentTableModel* docs = page.documents();
    QCOMPARE(docs->rowCount(), 5);
    QStringList labels = columnTexts(docs, DocumentTableModel::LabelColumn);
    labels.sort();
    QCOMPARE(labels, (QStringList{"neg", "neg", "pos", "pos", "pos"}));
    QVERIFY(columnTexts(docs, DocumentTableModel::TextColumn).contains(QStringLiteral("a fine film")));
    // Each id ("pos/a.txt") names its file: no File column repeating it, and the ids are not cut off (the longest
    // is wider than the 130 pixels the column had).
    auto* table = page.findChild<QTableView*>(QStringLiteral("documentTable"));
    QVERIFY(table);
    QVERIFY(table->isColumnHidden(DocumentTableModel::SourceColumn));
    QVERIFY(!table->isColumnHidden(DocumentTableModel::IdColumn));
    QVERIFY(table->fontMetrics().horizontalAdvance(QStringLiteral("pos/a-review-with-a-long-name.txt")) > 130);
    for (const QString& id : columnTexts(docs, DocumentTableModel::IdColumn))
        QVERIFY2(table->columnWidth(DocumentTableModel::IdColumn) >= table->fontMetrics().horizontalAdvance(id),
                 qPrintable(id));
    // The image is left out and the report says which file and why.
    QVERIFY2(page.reportText().contains(QStringLiteral("cover.png")), qPrintable(page.reportText()));
    QVERIFY(page.messageText().contains(QStringLiteral("import report")));

    // Balance: 2 neg, 3 pos. Lengths: bytes of each text.
    QCOMPARE(page.labelBalance().size(), size_t(2));
    QCOMPARE(page.labelBalance()[0].label, std::string("neg"));
    QCOMPARE(page.labelBalance()[0].documents, int64_t(2));
    QCOMPARE(page.labelBalance()[1].documents, int64_t(3));
    const ponet::LengthHistogram& h = page.lengthHistogram();
    QCOMPARE(h.documents, int64_t(5));
    QCOMPARE(h.max, int64_t(29));  // "great acting and a good story"
    QCOMPARE(h.min, int64_t(4));   // "dull"
    int64_t total = 0;
    for (int64_t c : h.counts) total += c;
    QCOMPARE(total, int64_t(5));
    for (int r = 0; r < docs->rowCount(); ++r)
        QCOMPARE(docs->length(r), int64_t(docs->document(r)->text.size()));

    // The split shown is the one the trainer will cut: all documents, in train, dev and test.
    const auto split = *page.splitCounts();
    QCOMPARE(split.train + split.dev + split.test, int64_t(5));

    // The data section a run gets.
    const auto data = page.dataConfig();
    QVERIFY(data.has_value());
    QCOMPARE(QString::fromStdString(data->dataset), QDir::cleanPath(root));
    QCOMPARE(data->format, std::string("folder"));
    QCOMPARE(data->tokenizer, std::string("byte"));
    // Labelled text read as bytes is the LRA byte-level classification task.
    QCOMPARE(page.suggestedTask(), ponet::TaskKind::Lra);
    ponet::RunConfig config;
    QVERIFY(page.applyTo(config));
    QCOMPARE(config.data.dataset, data->dataset);
    config.task = page.suggestedTask();
    config.validate_runnable();
}

void TestDataPage::fileColumnOnlyWhereItTellsSomething() {
    auto docs = [](std::vector<std::pair<std::string, std::string>> idSource) {
        auto v = std::make_shared<std::vector<ponet::Document>>();
        for (auto& [id, source] : idSource) {
            ponet::Document d;
            d.id = id;
            d.source = source;
            d.text = "text";
            v->push_back(d);
        }
        return std::shared_ptr<const std::vector<ponet::Document>>(v);
    };
    DocumentTableModel model;
    // A folder import: the ids are the files' paths below the folder.
    model.setDocuments(docs({{"pos/a.txt", "/data/pos/a.txt"}, {"neg/b.txt", "/data/neg/b.txt"}}), false);
    QVERIFY(model.sourceAddsNothing());
    // Lines of two JSONL files, ids made from them ("file:line").
    model.setDocuments(docs({{"x.jsonl:1", "/d/x.jsonl"}, {"y.jsonl:1", "/d/y.jsonl"}}), false);
    QVERIFY(model.sourceAddsNothing());
    // A file called "1" is not named by the id "q1" (nor "a" by "data").
    model.setDocuments(docs({{"q1", "/d/1"}, {"data", "/d/a"}}), false);
    QVERIFY(!model.sourceAddsNothing());
    // One file's own ids: every row would say the same file.
    model.setDocuments(docs({{"q1", "/d/x.jsonl"}, {"q2", "/d/x.jsonl"}}), false);
    QVERIFY(model.sourceAddsNothing());
    // Two files' own ids: only the File column tells them apart.
    model.setDocuments(docs({{"q1", "/d/x.jsonl"}, {"q2", "/d/y.jsonl"}}), false);
    QVERIFY(!model.sourceAddsNothing());
    QCOMPARE(model.data(model.index(1, DocumentTableModel::SourceColumn)).toString(), QStringLiteral("y.jsonl"));
}

void TestDataPage::importsCsvAndReportsBadRows() {
    const QString csv = tmp_.filePath(QStringLiteral("tickets.csv"));
    writeFile(csv,
              "text,label\n"
              "\"Printer on floor 3 is jammed, again\",hardware\n"
              "Cannot log in to the VPN,network\n"
              "\"unterminated quote,network\n");
    const QString tsvLike = tmp_.filePath(QStringLiteral("nolabel.csv"));
    writeFile(tsvLike, "body,category\nhello,greeting\n");

    DataPage page;
    useBytes(page);
    page.importPath(csv);
    QTRY_VERIFY_WITH_TIMEOUT(idleWithLengths(page), kJobTimeoutMs);
    const DocumentTableModel* docs = page.documents();
    QCOMPARE(docs->rowCount(), 2);
    QCOMPARE(columnTexts(docs, DocumentTableModel::LabelColumn), (QStringList{"hardware", "network"}));
    QCOMPARE(columnTexts(docs, DocumentTableModel::TextColumn).first(),
             QStringLiteral("Printer on floor 3 is jammed, again"));
    QVERIFY2(page.reportText().contains(QStringLiteral("tickets.csv")), qPrintable(page.reportText()));
    QCOMPARE(page.dataConfig()->format, std::string("csv"));

    // A CSV without the expected columns: the message names the columns it has, and the page keeps the
    // dataset it showed.
    page.importPath(tsvLike);
    QTRY_VERIFY_WITH_TIMEOUT(!page.isBusy() && !page.messageText().isEmpty(), kJobTimeoutMs);
    QVERIFY2(page.messageText().contains(QStringLiteral("no usable documents")), qPrintable(page.messageText()));
    QVERIFY2(page.messageText().contains(QStringLiteral("category")), qPrintable(page.messageText()));
    QCOMPARE(page.documents()->rowCount(), 2);
}

void TestDataPage::corruptFileShowsMessageAndKeepsDataset() {
    const QString good = tmp_.filePath(QStringLiteral("good.jsonl"));
    writeFile(good, "{\"text\": \"one\", \"label\": \"a\"}\n{\"text\": \"two\", \"label\": \"b\"}\n");
    const QString corrupt = tmp_.filePath(QStringLiteral("corrupt.jsonl"));
    QByteArray junk(4096, '\0');
    for (int i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 7919) % 256);
    writeFile(corrupt, junk);
    const QString broken = tmp_.filePath(QStringLiteral("broken.jsonl"));
    writeFile(broken, "{\"text\": \"fine\", \"label\": \"a\"\n[1, 2]\n{\"label\": \"b\"}\n");

    DataPage page;
    useBytes(page);
    page.importPath(good);
    QTRY_VERIFY_WITH_TIMEOUT(idleWithLengths(page), kJobTimeoutMs);
    QCOMPARE(page.documents()->rowCount(), 2);

    page.importPath(corrupt);
    QTRY_VERIFY_WITH_TIMEOUT(!page.isBusy() && !page.messageText().isEmpty(), kJobTimeoutMs);
    QVERIFY2(page.messageText().contains(QStringLiteral("binary file")), qPrintable(page.messageText()));
    QCOMPARE(page.documents()->rowCount(), 2);  // the good dataset is still there
    QCOMPARE(QString::fromStdString(page.dataConfig()->dataset), good);

    // Every line malformed in its own way: each is listed with its reason.
    page.importPath(broken);
    QTRY_VERIFY_WITH_TIMEOUT(!page.isBusy() && !page.messageText().isEmpty(), kJobTimeoutMs);
    QVERIFY(page.reportText().contains(QStringLiteral("invalid JSON")));
    QVERIFY(page.reportText().contains(QStringLiteral("not a JSON object")));
    QVERIFY(page.reportText().contains(QStringLiteral("no field 'text'")));

    // A path that is gone.
    page.importPath(tmp_.filePath(QStringLiteral("missing.jsonl")));
    QTRY_VERIFY_WITH_TIMEOUT(!page.isBusy() && page.messageText().contains(QStringLiteral("does not exist")),
                             kJobTimeoutMs);
    QCOMPARE(page.documents()->rowCount(), 2);
}

void TestDataPage::dropImportsTheDroppedFile() {
    const QString file = tmp_.filePath(QStringLiteral("corpus.txt"));
    writeFile(file, "Call me Ishmael. Some years ago, never mind how long precisely, I went to sea.\n");
    DataPage page;
    page.resize(900, 600);
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    useBytes(page);

    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(file)});
    const QPointF at(page.width() / 2.0, page.height() / 2.0);
    QDragEnterEvent enter(at.toPoint(), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&page, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(at, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&page, &drop);
    QVERIFY(page.isBusy());
    QTRY_VERIFY_WITH_TIMEOUT(idleWithLengths(page), kJobTimeoutMs);
    QCOMPARE(page.documents()->rowCount(), 1);
    QCOMPARE(page.suggestedTask(), ponet::TaskKind::Pretrain);  // plain text, no labels
    QCOMPARE(page.dataConfig()->format, std::string("text"));
    // Pre-training holds out validation text only, no test part.
    QCOMPARE(page.splitCounts()->test, int64_t(0));

    // Something that is not a local file is not taken.
    QMimeData remote;
    remote.setUrls({QUrl(QStringLiteral("https://example.org/data.csv"))});
    QDragEnterEvent refuse(at.toPoint(), Qt::CopyAction, &remote, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&page, &refuse);
    QVERIFY(!refuse.isAccepted());
}

void TestDataPage::generatesListOpsForAnLraRun() {
    DataPage page;
    ponet::gui::GenerateRequest r;
    r.kind = ponet::gui::DatasetOrigin::ListOps;
    r.count = 40;
    r.seed = 3;
    r.maxLength = 64;
    page.generate(r);
    QTRY_VERIFY_WITH_TIMEOUT(idleWithLengths(page), kJobTimeoutMs);
    QCOMPARE(page.documents()->rowCount(), 40);
    int64_t labelled = 0;
    for (const auto& c : page.labelBalance()) {
        QVERIFY(c.label.size() == 1 && c.label[0] >= '0' && c.label[0] <= '9');
        labelled += c.documents;
    }
    QCOMPARE(labelled, int64_t(40));
    QVERIFY(page.lengthHistogram().max <= 64);
    QVERIFY(page.lengthHistogram().min >= 32);
    QCOMPARE(page.splitCounts()->dev, int64_t(4));
    QCOMPARE(page.suggestedTask(), ponet::TaskKind::Lra);
    QCOMPARE(page.dataConfig()->dataset, std::string("listops:train=40,seed=3,max_length=64,min_length=32"));
}

void TestDataPage::cancelStopsALongJob() {
    DataPage page;
    ponet::gui::GenerateRequest r;
    r.kind = ponet::gui::DatasetOrigin::ListOps;
    r.count = 1000000;
    r.maxLength = 64;
    page.generate(r);
    QVERIFY(page.isBusy());
    page.cancel();
    QTRY_VERIFY_WITH_TIMEOUT(!page.isBusy(), kJobTimeoutMs);
    QCOMPARE(page.messageText(), DataPage::tr("Cancelled."));
    QVERIFY(!page.dataConfig().has_value());
}

void TestDataPage::hundredThousandRows() {
    const QString file = tmp_.filePath(QStringLiteral("many.jsonl"));
    QByteArray lines;
    for (int i = 0; i < 100000; ++i)
        lines += "{\"text\": \"document number " + QByteArray::number(i) + "\", \"label\": \"" +
                 QByteArray(i % 3 == 0 ? "x" : "y") + "\"}\n";
    writeFile(file, lines);
    DataPage page;
    page.resize(1000, 700);
    page.show();
    useBytes(page);
    page.importPath(file);
    QTRY_VERIFY_WITH_TIMEOUT(idleWithLengths(page), kJobTimeoutMs);
    const DocumentTableModel* docs = page.documents();
    QCOMPARE(docs->rowCount(), 100000);
    QCOMPARE(docs->index(99999, DocumentTableModel::TextColumn).data().toString(),
             QStringLiteral("document number 99999"));
    QCOMPARE(page.labelBalance()[0].documents, int64_t(33334));
    const auto split = *page.splitCounts();
    QCOMPARE(split.train + split.dev + split.test, int64_t(100000));
}

// The documentation's picture of the page: the Hyperpartisan articles measured with the BERT vocabulary.
void TestDataPage::screenshot() {
    const QString shared = QStringLiteral(PONET_SHARED_DIR) + QStringLiteral("/datasets");
    if (!QFileInfo::exists(shared + "/hyperpartisan/train.jsonl")) QSKIP("the shared datasets are not here");
    ponet::gui::MainWindow w({QStringLiteral("data"), {}});
    w.resize(1280, 800);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    DataPage* page = w.dataPage();
    ponet::gui::TokenizerChoice bert;
    bert.kind = ponet::gui::TokenizerChoice::Kind::File;
    bert.path = shared + "/bert-base-uncased-vocab.txt";
    page->setTokenizer(bert);
    page->importPath(shared + "/hyperpartisan/train.jsonl");
    QTRY_VERIFY_WITH_TIMEOUT(idleWithLengths(*page) && !w.isBusy(), 120000);
    QCOMPARE(page->documents()->rowCount(), 516);
    QCOMPARE(page->suggestedTask(), ponet::TaskKind::Finetune);  // labels and a WordPiece vocabulary
    QTest::qWait(200);  // queued replots
    // An import selected offers no Get or Generate: the dataset list takes the height, no blank band is left
    // under it (the action stack kept its tallest page's height).
    auto* sources = w.findChild<QWidget*>(QStringLiteral("dataSources"));
    auto* importBox = sources->parentWidget()->findChild<QGroupBox*>();
    QVERIFY(sources && importBox);
    QVERIFY2(importBox->geometry().top() - sources->geometry().bottom() < 40,
             qPrintable(QStringLiteral("%1 px between the list and the import box")
                            .arg(importBox->geometry().top() - sources->geometry().bottom())));
    const QImage image = w.grab().toImage();
    QVERIFY(ponet::gui::test::distinctColours(image) >= 32);
    QVERIFY(image.save(ponet::gui::test::screenshotPath(QStringLiteral("studio-data.png"))));
}

QTEST_MAIN(TestDataPage)
#include "test_gui_data_page.moc"
