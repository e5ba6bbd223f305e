// The Model page's tokenizer panel: a SentencePiece model trained on a few KB of text from the GUI's worker
// thread is saved under its name, listed, chosen as the run's tokenizer, loads and encodes; bad input gets a
// clear message; Cancel stops a training in progress and leaves nothing behind.
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "core/text/sentencepiece_tokenizer.h"
#include "core/text/tokenizer.h"
#include "gui_test_support.h"
#include "widgets/tokenizer_panel.h"

using ponet::gui::TokenizerPanel;

namespace {

constexpr int kTrainTimeoutMs = 120000;

const char* const kWords[] = {"the",   "pooling", "network", "mixes",  "tokens", "with",    "global",  "aggregation",
                              "segment", "max",   "local",   "fusion", "linear", "cost",    "in",      "sequence",
                              "length", "a",      "model",   "learns", "from",   "text",    "every",   "layer",
                              "keeps", "its",     "shape",   "while",  "long",   "documents", "become", "cheap",
                              "to",    "read",    "and",     "classify", "quickly", "on",    "laptop",  "cpu"};

// About `bytes` of sentences from a small vocabulary: enough for a tokenizer of a couple of hundred pieces.
QByteArray sentences(int bytes, quint32 seed) {
    QRandomGenerator rng(seed);
    QByteArray out;
    while (out.size() < bytes) {
        const int n = 5 + static_cast<int>(rng.bounded(10));
        for (int i = 0; i < n; ++i) {
            out += kWords[rng.bounded(static_cast<quint32>(std::size(kWords)))];
            out += i + 1 < n ? ' ' : '.';
        }
        out += '\n';
    }
    return out;
}

// Many distinct made-up words: a corpus SentencePiece needs a while to train a large vocabulary on.
QByteArray manyWords(int bytes, quint32 seed) {
    QRandomGenerator rng(seed);
    QByteArray out;
    while (out.size() < bytes) {
        for (int w = 0; w < 12; ++w) {
            const int len = 3 + static_cast<int>(rng.bounded(8));
            for (int i = 0; i < len; ++i) out += static_cast<char>('a' + rng.bounded(26));
            out += ' ';
        }
        out += '\n';
    }
    return out;
}

bool writeFile(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size();
}

}  // namespace

class TestTokenizerPanel : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void initTestCase() {
        ponet::gui::test::isolateSettings();
        std::string reason;
        if (!ponet::sentencepiece_available(&reason))
            QSKIP(qPrintable(QStringLiteral("SentencePiece is unavailable: ") + QString::fromStdString(reason)));
    }

    void trainsSavesListsAndChooses() {
        QTemporaryDir tmp, root;
        const QString corpus = tmp.filePath(QStringLiteral("corpus.txt"));
        QVERIFY(writeFile(corpus, sentences(6000, 7)));
        TokenizerPanel panel;
        panel.setTokenizersRoot(root.path());
        panel.show();
        QCOMPARE(panel.savedTokenizerDirectories().size(), 0);
        panel.setCorpus(corpus);
        panel.setTrainingOptions(QStringLiteral("demo-unigram"), QStringLiteral("unigram"), 60);
        QSignalSpy finished(&panel, &TokenizerPanel::trainingFinished);
        QSignalSpy chosen(&panel, &TokenizerPanel::tokenizerChosen);
        QVERIFY(panel.startTraining());
        QVERIFY(panel.isTraining());
        QVERIFY(!panel.startTraining());  // one at a time
        QVERIFY(finished.wait(kTrainTimeoutMs));
        QCOMPARE(finished.front().at(0).toBool(), true);
        const QString dir = QDir(root.path()).filePath(QStringLiteral("demo-unigram"));
        QCOMPARE(finished.front().at(1).toString(), dir);
        QVERIFY(QFile::exists(dir + QStringLiteral("/spm.model")));
        QVERIFY(QFile::exists(dir + QStringLiteral("/trained.json")));
        QVERIFY2(panel.statusText().contains(QStringLiteral("demo-unigram")), qPrintable(panel.statusText()));

        // Listed, chosen as the run's tokenizer (data.tokenizer) and announced.
        QCOMPARE(panel.savedTokenizerDirectories(), QStringList{dir});
        QCOMPARE(panel.chosenTokenizer(), dir);
        QVERIFY(!chosen.isEmpty());
        QCOMPARE(chosen.back().front().toString(), dir);

        // The saved folder loads as a tokenizer and encodes inside its vocabulary.
        const auto tok = ponet::load_tokenizer(dir.toStdString());
        QCOMPARE(tok->kind(), std::string("sentencepiece"));
        QCOMPARE(tok->vocab_size(), int64_t{60});
        const std::vector<int64_t> ids = tok->encode("the pooling network mixes tokens");
        QVERIFY(!ids.empty());
        for (int64_t id : ids) QVERIFY(id > 4 && id < 60);  // no [UNK]: every word was in the corpus
        QCOMPARE(tok->special_tokens().mask, int64_t{4});

        // A second panel (the app's next start) lists it too; back to the model's own vocabulary.
        TokenizerPanel again;
        again.setTokenizersRoot(root.path());
        QCOMPARE(again.savedTokenizerDirectories(), QStringList{dir});
        QVERIFY(again.chooseTokenizer(QString()));
        QCOMPARE(again.chosenTokenizer(), QString());
        QVERIFY(again.chooseTokenizer(QStringLiteral("byte")));
    }

    void badInputGetsAClearMessage() {
        QTemporaryDir tmp, root;
        TokenizerPanel panel;
        panel.setTokenizersRoot(root.path());
        QSignalSpy finished(&panel, &TokenizerPanel::trainingFinished);

        // No corpus, a missing one, a bad name: refused before anything runs.
        panel.setTrainingOptions(QStringLiteral("x"), QStringLiteral("bpe"), 100);
        QVERIFY(!panel.startTraining());
        QVERIFY2(panel.messageText().contains(QStringLiteral("corpus")), qPrintable(panel.messageText()));
        panel.setCorpus(tmp.filePath(QStringLiteral("missing.txt")));
        panel.setTrainingOptions(QStringLiteral("x"), QStringLiteral("bpe"), 100);
        QVERIFY(!panel.startTraining());
        QVERIFY2(panel.messageText().contains(QStringLiteral("does not exist")), qPrintable(panel.messageText()));
        const QString corpus = tmp.filePath(QStringLiteral("small.txt"));
        QVERIFY(writeFile(corpus, sentences(3000, 3)));
        panel.setCorpus(corpus);
        panel.setTrainingOptions(QStringLiteral("no spaces/please"), QStringLiteral("bpe"), 100);
        QVERIFY(!panel.startTraining());
        QVERIFY2(panel.messageText().contains(QStringLiteral("letters, digits")), qPrintable(panel.messageText()));
        QCOMPARE(finished.count(), 0);

        // A corpus of blank lines: the worker says there is no text.
        const QString blank = tmp.filePath(QStringLiteral("blank.txt"));
        QVERIFY(writeFile(blank, "\n   \n\t\n"));
        panel.setCorpus(blank);
        panel.setTrainingOptions(QStringLiteral("blank"), QStringLiteral("unigram"), 100);
        QVERIFY(panel.startTraining());
        QVERIFY(finished.wait(kTrainTimeoutMs));
        QCOMPARE(finished.back().front().toBool(), false);
        QVERIFY2(panel.messageText().contains(QStringLiteral("no text")), qPrintable(panel.messageText()));

        // More pieces than a few KB of forty words support: the message names the most it allows.
        panel.setCorpus(corpus);
        panel.setTrainingOptions(QStringLiteral("too-big"), QStringLiteral("unigram"), 50000);
        QVERIFY(panel.startTraining());
        QVERIFY(finished.wait(kTrainTimeoutMs));
        QCOMPARE(finished.back().front().toBool(), false);
        QVERIFY2(panel.messageText().contains(QStringLiteral("at most")), qPrintable(panel.messageText()));
        QVERIFY(!panel.isTraining());
        QCOMPARE(QDir(root.path()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden), QStringList());
        QCOMPARE(panel.savedTokenizerDirectories().size(), 0);
    }

    void cancelStopsTrainingAndKeepsNothing() {
        QTemporaryDir tmp, root;
        const QString corpus = tmp.filePath(QStringLiteral("large.txt"));
        QVERIFY(writeFile(corpus, manyWords(3 << 20, 11)));
        TokenizerPanel panel;
        panel.setTokenizersRoot(root.path());
        panel.setCorpus(corpus);
        panel.setTrainingOptions(QStringLiteral("cancelled"), QStringLiteral("unigram"), 20000);
        QSignalSpy finished(&panel, &TokenizerPanel::trainingFinished);
        QVERIFY(panel.startTraining());
        // Cancel while SentencePiece itself is training (the step that cannot stop on its own).
        QTRY_VERIFY_WITH_TIMEOUT(panel.statusText().startsWith(QStringLiteral("Training on")) || !finished.isEmpty(),
                                 kTrainTimeoutMs);
        QVERIFY2(finished.isEmpty(), "the training finished before it could be cancelled");
        panel.cancel();
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty(), 10000);
        QCOMPARE(finished.front().front().toBool(), false);
        QVERIFY(!panel.isTraining());
        QVERIFY2(panel.statusText().contains(QStringLiteral("cancelled")), qPrintable(panel.statusText()));
        QCOMPARE(QDir(root.path()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden), QStringList());
        QCOMPARE(panel.savedTokenizerDirectories().size(), 0);
    }
};

QTEST_MAIN(TestTokenizerPanel)
#include "test_gui_tokenizer_panel.moc"
