// Trains a SentencePiece tokenizer (ponet::train_tokenizer) on its own QThread for the Model page and reports
// as queued signals; Cancel ends the training within a fraction of a second (the core kills the trainer).
#pragma once
#include <QObject>
#include <QString>

#include <atomic>

namespace ponet::gui {

class TokenizerWorker : public QObject {
    Q_OBJECT
  public:
    using QObject::QObject;

    // Thread-safe.
    void requestCancel() { cancel_.store(true); }
    // Called from the GUI thread just before queueing train(), so an early cancel is not lost.
    void rearm() { cancel_.store(false); }

    // `outputRoot` empty: the application's tokenizers folder.
    Q_SLOT void train(const QString& corpus, const QString& name, const QString& modelType, qint64 vocabSize,
                      const QString& outputRoot);

  Q_SIGNALS:
    // phase: 0 reading the corpus, 1 training, 2 saving.
    void progress(int phase, qint64 documents, qint64 bytes);
    void finished(const QString& name, const QString& directory, const QString& modelType, qint64 vocabSize,
                  qint64 lines);
    void failed(const QString& message);
    void cancelled();

  private:
    std::atomic<bool> cancel_{false};
};

}  // namespace ponet::gui
